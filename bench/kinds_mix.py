"""Kinds bench: a delivery of 100 mixed kinds against a delivery of 100 texts (issue 28).

Issue 28 says: a delivery of 100 mixed kinds costs no more per message than 100 texts do,
within 20%. Both sides send signed WhatsApp Cloud API deliveries of 100 messages each
through the edge function behind nginx (nginx -> Deno -> nginx -> PostgREST -> Postgres),
one delivery at a time, alternating sides round by round, each side for its own bench user
and connection. Side "texts": 100 text messages. Side "mixed": the same conversations and
times, the messages cycling through 20 kinds as Meta's webhook reference shows them (media
of five kinds, a sticker, a place, shared contacts, button, list and Flow replies, a
template button, an order, a reaction, an ad referral, a forward, a reply, an unsupported
message with its error, a first contact and a frequently forwarded text). The figure is the
median time per delivery over 100, per side, and their ratio (goal: at most 1.2).

    python -m bench.kinds_mix [--scale 0.2]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg

from crm_messaging.config import Settings, load_settings, read_env

APP_SECRET = "bench-kinds-secret"
PER_DELIVERY = 100
CONVERSATIONS = 10
GOAL_RATIO = 1.2
PHONE_ID = "106540352242922"


def _text(i: int) -> str:
    words = ["hola", "pedido", "talla", "envío", "gracias", "mañana", "precio", "stock"]
    return " ".join(words[(i + k) % len(words)] for k in range(3 + i % 6))


def _kind(i: int, mid: str, wa_id: str, earlier: str) -> dict[str, Any]:
    """The i-th message of the mixed side: its kind's fields as Meta documents them."""
    media = {"mime_type": "image/jpeg", "sha256": hashlib.sha256(mid.encode()).hexdigest(),
             "id": f"{1000000 + i}"}  # fmt: skip
    kinds: list[dict[str, Any]] = [
        {"type": "text", "text": {"body": _text(i)}},
        {"type": "image", "image": {**media, "caption": "la talla M"}},
        {"type": "audio", "audio": {**media, "mime_type": "audio/ogg; codecs=opus", "voice": True}},
        {"type": "video", "video": {**media, "mime_type": "video/mp4"}},
        {"type": "document", "document": {**media, "mime_type": "application/pdf",
                                          "filename": "factura.pdf", "caption": "factura"}},
        {"type": "sticker", "sticker": {**media, "mime_type": "image/webp", "animated": False}},
        {"type": "location", "location": {"latitude": 40.4168, "longitude": -3.7038,
                                          "name": "Tienda Sol", "address": "Puerta del Sol 1, Madrid",
                                          "url": "https://example.com/tienda"}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Ana Ruiz", "first_name": "Ana"},
                                           "phones": [{"phone": "+34 600 111 222", "wa_id": "34600111222",
                                                       "type": "CELL"}]}]},
        {"type": "interactive", "interactive": {"type": "button_reply",
                                                "button_reply": {"id": "talla-m", "title": "Talla M"}}},
        {"type": "interactive", "interactive": {"type": "list_reply",
                                                "list_reply": {"id": "envio-24", "title": "Envío 24 h",
                                                               "description": "Llega mañana"}}},
        {"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {
            "name": "flow", "body": "Sent",
            "response_json": json.dumps({"talla": "M", "color": "azul", "flow_token": "t1"})}}},
        {"type": "button", "button": {"payload": "CONFIRMAR", "text": "Confirmar"}},
        {"type": "order", "order": {"catalog_id": "830157561870104", "text": "para el viernes",
                                    "product_items": [{"product_retailer_id": "camiseta-m", "quantity": 2,
                                                       "item_price": 19.9, "currency": "EUR"}]}},
        {"type": "reaction", "reaction": {"message_id": earlier, "emoji": "\U0001f44d"}},
        {"type": "text", "text": {"body": _text(i)},
         "referral": {"source_url": "https://fb.me/ad1", "source_id": "120210", "source_type": "ad",
                      "headline": "Rebajas", "body": "Todo al 50%", "media_type": "image",
                      "image_url": "https://example.com/ad.jpg", "ctwa_clid": f"clid{i}"}},
        {"type": "text", "text": {"body": _text(i)}, "context": {"forwarded": True}},
        {"type": "text", "text": {"body": _text(i)}, "context": {"from": wa_id, "id": earlier}},
        {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown",
                                            "message": "Message type unknown",
                                            "error_data": {"details": "Message type is currently not supported."}}],
         "unsupported": {"type": "edit"}},
        {"type": "request_welcome"},
        {"type": "text", "text": {"body": _text(i)}, "context": {"frequently_forwarded": True}},
    ]  # fmt: skip
    return kinds[i % len(kinds)]


def _delivery(side: str, tag: str, start: int) -> dict[str, Any]:
    """One WhatsApp webhook body of PER_DELIVERY messages (texts, or the mixed kinds)."""
    messages, contacts = [], {}
    for i in range(PER_DELIVERY):
        wa_id = f"3461{i % CONVERSATIONS:07d}"
        contacts[wa_id] = {"profile": {"name": f"Cliente {wa_id[-3:]}"}, "wa_id": wa_id}
        mid = f"wamid.kinds.{side}.{tag}.{i}"
        # a reaction and a reply name the conversation's message one round of kinds before
        earlier = f"wamid.kinds.{side}.{tag}.{i % CONVERSATIONS}"
        body = (
            {"type": "text", "text": {"body": _text(i)}}
            if side == "texts"
            else _kind(i, mid, wa_id, earlier)
        )
        messages.append({"from": wa_id, "id": mid, "timestamp": str(start + i), **body})
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783882", "phone_number_id": PHONE_ID},
             "contacts": list(contacts.values()), "messages": messages}  # fmt: skip
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340399", "changes": [{"field": "messages", "value": value}]}],
    }


def _stored(db: psycopg.Connection[Any], user: str) -> int:
    row = db.execute(
        "select coalesce(sum(message_count), 0) from public.chat_conversations where user_id = %s",
        (user,),
    ).fetchone()
    return int(row[0]) if row else 0


def run(settings: Settings, scale: float, log: Callable[[str], None] = print) -> dict[str, Any]:
    if not settings.db_url or not settings.service_role_key:
        raise RuntimeError(
            "the kinds bench needs DB_URL and SERVICE_ROLE_KEY (make stack writes them)"
        )
    functions_url = (read_env().get("FUNCTIONS_URL") or f"{settings.api_url}/functions/v1").rstrip(
        "/"
    )
    per_round = max(4, int(20 * scale))
    rounds = 5
    sides = ("texts", "mixed")
    users = {side: str(uuid.uuid4()) for side in sides}
    service = {"apikey": settings.service_role_key,
               "authorization": f"Bearer {settings.service_role_key}"}  # fmt: skip
    db = psycopg.connect(settings.db_url, autocommit=True)
    times: dict[str, list[float]] = {side: [] for side in sides}
    expected = dict.fromkeys(sides, 0)
    try:
        for side, uid in users.items():
            db.execute(
                "insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)"
                " values (%s, 'authenticated', 'authenticated', %s, '{}', '{}')",
                (uid, f"bench-kinds-{side}-{uid[:8]}@bench.example"),
            )
        with httpx.Client(timeout=120) as client:
            urls = {}
            for side, uid in users.items():
                res = client.post(
                    f"{settings.api_url}/rest/v1/rpc/add_messaging_connection", headers=service,
                    json={"platform": "whatsapp", "account_identifier": "+15550783882",
                          "secrets": {"app_secret": APP_SECRET, "verify_token": "bench"}, "user_id": uid},
                )  # fmt: skip
                res.raise_for_status()
                urls[side] = f"{functions_url}/messaging-ingest/whatsapp/{res.json()}"

            def send(side: str, tag: str, start: int) -> float:
                delivery = _delivery(side, tag, start)
                # a reaction is an update of a stored message, not a message of its own
                sent = delivery["entry"][0]["changes"][0]["value"]["messages"]
                expected[side] += sum(1 for m in sent if m["type"] != "reaction")
                body = json.dumps(delivery, ensure_ascii=False).encode()
                sig = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
                headers = {
                    "content-type": "application/json",
                    "x-hub-signature-256": f"sha256={sig}",
                }
                t0 = time.perf_counter()
                res = client.post(urls[side], content=body, headers=headers)
                took = time.perf_counter() - t0
                if res.status_code != 200:
                    raise RuntimeError(f"{side}: {res.status_code} {res.text[:300]}")
                return took

            start = int(time.time()) - 30 * 86400
            for side in sides:  # warm up (the function's connection cache, plan caches)
                send(side, "warm", start - 10_000)
            for r in range(rounds):
                for side in sides:
                    took = [send(side, f"r{r}d{d}", start + (r * per_round + d) * PER_DELIVERY)
                            for d in range(per_round)]  # fmt: skip
                    times[side].extend(took)
                    log(f"kinds round {r + 1}/{rounds} {side:5}: {statistics.median(took) * 1000:.1f} ms"
                        f" per delivery of {PER_DELIVERY}")  # fmt: skip
        stored = {side: _stored(db, uid) for side, uid in users.items()}
        if stored != expected:
            raise RuntimeError(
                f"stored {stored} messages, expected {expected}: something was refused"
            )
    finally:
        db.execute("delete from auth.users where id = any(%s::uuid[])", (list(users.values()),))
        db.close()
    result: dict[str, Any] = {
        "deliveries_per_side": rounds * per_round,
        "messages_per_delivery": PER_DELIVERY,
    }
    for side in sides:
        result[f"{side}.ms_per_message"] = statistics.median(times[side]) * 1000 / PER_DELIVERY
    result["ratio"] = result["mixed.ms_per_message"] / result["texts.ms_per_message"]
    result["goals"] = {"ratio": ["<=", GOAL_RATIO]}
    result["met"] = result["ratio"] <= GOAL_RATIO
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=0.2, help="1.0: 20 deliveries a round and side"
    )
    args = parser.parse_args()
    print(json.dumps(run(load_settings(), args.scale), indent=2))


if __name__ == "__main__":
    main()
