"""The messaging-ingest edge function through the gateway: nginx -> Deno -> PostgREST -> Postgres.

Each platform's deliveries are signed (or carry their token) exactly as the platform does,
sent to FUNCTIONS_URL/messaging-ingest/<platform>/<connection id>, and checked in the
database. Every refusal is checked to change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st
from postgrest.exceptions import APIError

WA_ID = "34611222333"
CONV = f"+{WA_ID}"


@dataclass
class Conn:
    id: str
    platform: str
    secrets: dict[str, str]


@pytest.fixture
def owner(make_user):
    return make_user("hooks")


@pytest.fixture
def connect(service, owner) -> Callable[..., Conn]:
    def add(platform: str, secrets: dict[str, str], account: str | None = None) -> Conn:
        cid = (
            service.rpc(
                "add_messaging_connection",
                {
                    "platform": platform,
                    "account_identifier": account or f"{platform}-{uuid.uuid4().hex[:6]}",
                    "secrets": secrets,
                    "user_id": owner.id,
                },
            )
            .execute()
            .data
        )
        return Conn(str(cid), platform, secrets)

    return add


def snapshot(db, user_id: str) -> Any:
    """Everything a delivery could change: the user's conversations, archives and connections
    (a refusal is counted on its connection, with its reason and last_error: what
    tests/test_connection_refusals.py checks; nothing else may change)."""
    return db.execute(
        "select jsonb_build_object("
        " 'conversations', (select coalesce(jsonb_agg(to_jsonb(c) - 'search_document' order by c.id), '[]')"
        "   from chat_conversations c where c.user_id = %(u)s),"
        " 'archives', (select count(*) from chat_conversation_archives a where a.user_id = %(u)s),"
        " 'connections', (select jsonb_agg(jsonb_build_array(m.id, m.status, m.last_synced_at)"
        "   order by m.id) from messaging_connections m where m.user_id = %(u)s))",
        {"u": user_id},
    ).fetchone()[0]


def stored(db, user_id: str, conv: str) -> dict[str, Any] | None:
    row = db.execute(
        "select messages, message_count, participant_name, conversation_type from chat_conversations"
        " where user_id = %s and external_conversation_id = %s",
        (user_id, conv),
    ).fetchone()
    if row is None:
        return None
    return {
        "messages": {m["id"]: m for m in row[0]},
        "count": row[1],
        "name": row[2],
        "type": row[3],
    }


def connection_row(db, cid: str) -> tuple[Any, ...]:
    return db.execute(
        "select status, last_error, last_synced_at from messaging_connections where id = %s", (cid,)
    ).fetchone()


def refusals(db, cid: str) -> tuple[int, Any, str | None]:
    """refused_count, last_refused_at, last_error of a connection."""
    return db.execute(
        "select refused_count, last_refused_at, last_error from messaging_connections where id = %s",
        (cid,),
    ).fetchone()


# ----------------------------------------------------------------------------- WhatsApp


WA_ACCOUNT = "+15550783881"
WA_METADATA = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}


def wa_body(
    *, messages=(), statuses=(), contacts=(), field="messages", echoes=(), metadata=WA_METADATA
) -> bytes:
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": metadata}
    if contacts:
        value["contacts"] = list(contacts)
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    if echoes:
        value["message_echoes"] = list(echoes)
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": field}]}],
    }
    return json.dumps(payload).encode()


def wa_text(mid: str, text: str, ts: int, **extra: Any) -> dict[str, Any]:
    return {
        "from": WA_ID,
        "id": mid,
        "timestamp": str(ts),
        "type": "text",
        "text": {"body": text},
        **extra,
    }


def wa_post(http, url: str, conn: Conn, body: bytes, secret: str | None = None) -> httpx.Response:
    sig = hmac.new(
        (secret or conn.secrets["app_secret"]).encode(), body, hashlib.sha256
    ).hexdigest()
    return http.post(
        f"{url}/whatsapp/{conn.id}",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": f"sha256={sig}"},
    )


@pytest.fixture
def wa(connect) -> Conn:
    return connect(
        "whatsapp", {"app_secret": "meta-app-secret", "verify_token": "vt-123"}, WA_ACCOUNT
    )


def test_whatsapp_delivery_is_stored_once_and_meets_the_export_conversation(
    http, functions_url, wa, owner, db
):
    t = int(time.time()) - 3600
    body = wa_body(
        contacts=[{"profile": {"name": "Lucía Pérez"}, "wa_id": WA_ID}],
        messages=[
            wa_text("wamid.A1", "¿Tenéis la talla M?", t),
            {
                "from": WA_ID,
                "id": "wamid.A2",
                "timestamp": str(t + 5),
                "type": "image",
                "image": {
                    "caption": "esta",
                    "mime_type": "image/jpeg",
                    "sha256": "x",
                    "id": "media1",
                },
                "context": {"from": "15550783881", "id": "wamid.A1"},
            },
            {
                "from": WA_ID,
                "id": "wamid.A3",
                "timestamp": str(t + 6),
                "type": "order",
                "order": {},
            },
        ],
    )
    res = wa_post(http, functions_url, wa, body)
    assert res.status_code == 200, res.text
    assert res.json()["inserted"] == 3
    conv = stored(db, owner.id, CONV)
    assert conv is not None
    assert (conv["count"], conv["name"], conv["type"]) == (3, "Lucía Pérez", "direct")
    a2 = conv["messages"]["wamid.A2"]
    assert (a2["type"], a2["content"], a2["reply_to_id"]) == ("image", "esta", "wamid.A1")
    assert conv["messages"]["wamid.A3"]["type"] == "other"
    assert conv["messages"]["wamid.A3"]["metadata"]["whatsapp_type"] == "order"
    assert conv["messages"]["wamid.A1"]["sender_name"] == "Lucía Pérez"
    status, error, synced = connection_row(db, wa.id)
    assert (status, error) == ("active", None) and synced is not None

    # Meta redelivers: 200, nothing stored twice
    before = snapshot(db, owner.id)
    again = wa_post(http, functions_url, wa, body)
    assert again.status_code == 200
    assert (again.json()["inserted"], again.json()["duplicates"]) == (0, 3)
    after = snapshot(db, owner.id)
    assert after["conversations"] == before["conversations"]


def test_whatsapp_statuses_mark_messages_never_backwards_and_create_nothing(
    http, functions_url, wa, owner, db
):
    t = int(time.time()) - 600
    echo = {
        "from": "15550783881",
        "to": WA_ID,
        "id": "wamid.OUT",
        "timestamp": str(t),
        "type": "text",
        "text": {"body": "Sale mañana"},
    }
    res = wa_post(http, functions_url, wa, wa_body(field="smb_message_echoes", echoes=[echo]))
    assert res.status_code == 200, res.text
    out = stored(db, owner.id, CONV)["messages"]["wamid.OUT"]
    assert out["direction"] == "outbound"

    def status(mid: str, value: str, ts: int, **extra: Any) -> dict[str, Any]:
        return {"id": mid, "status": value, "timestamp": str(ts), "recipient_id": WA_ID, **extra}

    for value, ts in (("read", t + 20), ("delivered", t + 10), ("sent", t + 1)):
        assert (
            wa_post(
                http, functions_url, wa, wa_body(statuses=[status("wamid.OUT", value, ts)])
            ).status_code
            == 200
        )
    meta = stored(db, owner.id, CONV)["messages"]["wamid.OUT"]["metadata"]
    assert meta["status"] == "read", "a late delivered or sent never moves read back"

    before = snapshot(db, owner.id)
    res = wa_post(
        http,
        functions_url,
        wa,
        wa_body(
            statuses=[
                status("wamid.NEVER_STORED", "delivered", t + 30),
                {**status("wamid.X", "read", t), "recipient_id": "34699000111"},
            ]
        ),
    )
    assert res.status_code == 200
    # kept for when their messages arrive (tests/test_pending_updates.py), never stored as messages
    assert res.json()["updates"]["pending"] == 2 and res.json()["updates"]["missing"] == 0
    after = snapshot(db, owner.id)
    assert after["conversations"] == before["conversations"], "statuses never create messages"

    reaction = {
        "from": WA_ID,
        "id": "wamid.R",
        "timestamp": str(t + 40),
        "type": "reaction",
        "reaction": {"message_id": "wamid.OUT", "emoji": "👍"},
    }
    assert wa_post(http, functions_url, wa, wa_body(messages=[reaction])).status_code == 200
    conv = stored(db, owner.id, CONV)
    assert conv["count"] == 1, "a reaction is not a message"
    assert conv["messages"]["wamid.OUT"]["metadata"]["reactions"][CONV]["emoji"] == "👍"


def test_whatsapp_verification_handshake(http, functions_url, wa):
    ok = http.get(
        f"{functions_url}/whatsapp/{wa.id}",
        params={
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": "vt-123",
        },
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = http.get(
        f"{functions_url}/whatsapp/{wa.id}",
        params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "nope"},
    )
    assert wrong.status_code == 403


def test_every_refusal_changes_nothing(http, functions_url, wa, owner, db):
    t = int(time.time()) - 60
    good = wa_body(messages=[wa_text("wamid.Z", "hola", t)])
    before = snapshot(db, owner.id)
    cases = {
        "bad signature": (wa_post(http, functions_url, wa, good, secret="not-the-secret"), 401),
        "no signature": (http.post(f"{functions_url}/whatsapp/{wa.id}", content=good), 401),
        "body changed after signing": (
            http.post(
                f"{functions_url}/whatsapp/{wa.id}",
                content=good.replace(b"hola", b"HOLA"),
                headers={
                    "x-hub-signature-256": "sha256="
                    + hmac.new(b"meta-app-secret", good, hashlib.sha256).hexdigest()
                },
            ),
            401,
        ),
        "unknown connection": (
            wa_post(http, functions_url, Conn(str(uuid.uuid4()), "whatsapp", wa.secrets), good),
            404,
        ),
        "another platform's route": (
            http.post(f"{functions_url}/telegram/{wa.id}", content=good),
            404,
        ),
        "10 MB body": (
            wa_post(http, functions_url, wa, b"{" + b" " * (10 * 1024 * 1024) + b"}"),
            413,
        ),
    }
    for name, (res, expected) in cases.items():
        assert res.status_code == expected, f"{name}: {res.status_code} {res.text[:200]}"
    assert snapshot(db, owner.id) == before, "a refused delivery changed something"

    # signed but not WhatsApp's shape: 400, no message; the connection counts the refusal
    # (final: the platform sending it again cannot change it) and keeps its status
    res = wa_post(http, functions_url, wa, json.dumps({"object": "page", "entry": []}).encode())
    assert res.status_code == 400
    after = snapshot(db, owner.id)
    assert after["conversations"] == before["conversations"]
    # the three 401s above and this 400 (a connection's refusals are written at most once
    # a second, the first at once)
    deadline = time.monotonic() + 10
    while refusals(db, wa.id)[0] < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert refusals(db, wa.id)[0] == 4
    status, error, synced = connection_row(db, wa.id)
    assert status == "active" and "object" in error and synced is None


def test_a_database_failure_is_5xx_recorded_and_a_retry_stores_it(
    http, functions_url, wa, owner, db
):
    """A trigger (arranged as superuser) makes the database fail as under a lock timeout (55P03; a 40001 would be retried inside PostgREST)."""
    t = int(time.time()) - 60
    body = wa_body(messages=[wa_text("wamid.RETRY", "¿hay stock?", t)])
    db.execute(
        "create function public.test_fail_ingest() returns trigger language plpgsql set search_path = ''"
        " as $$ begin raise exception using errcode = '55P03', message = 'injected by test_webhooks'; end $$"
    )
    db.execute(
        "create trigger test_fail_ingest before insert or update on public.chat_conversations"
        " for each row execute function public.test_fail_ingest()"
    )
    try:
        res = wa_post(http, functions_url, wa, body)
    finally:
        db.execute("drop trigger test_fail_ingest on public.chat_conversations")
        db.execute("drop function public.test_fail_ingest()")
    assert res.status_code == 503, res.text
    assert stored(db, owner.id, CONV) is None
    status, error, synced = connection_row(db, wa.id)
    assert status == "error" and "injected by test_webhooks" in error
    assert synced is None, "last_synced_at moves only when a delivery is stored"
    assert refusals(db, wa.id)[0] == 0, "a failure the platform retries is no refusal"
    # the platform retries: stored, and the connection is healthy again
    assert wa_post(http, functions_url, wa, body).status_code == 200
    assert "wamid.RETRY" in stored(db, owner.id, CONV)["messages"]
    # the error stays on the connection, marked as past (last_error_resolved_at)
    assert connection_row(db, wa.id)[:2] == (
        "active",
        "ingest_webhook_delivery: injected by test_webhooks",
    )
    assert db.execute(
        "select last_error_resolved_at >= last_error_at from messaging_connections where id = %s",
        (wa.id,),
    ).fetchone()[0]


# ----------------------------------------------------------------------------- Telegram


def tg_post(http, url, conn: Conn, update: dict[str, Any], token: str | None = None):
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["x-telegram-bot-api-secret-token"] = token
    return http.post(f"{url}/telegram/{conn.id}", content=json.dumps(update), headers=headers)


def test_telegram_message_then_edit_replaces_the_text(http, functions_url, connect, owner, db):
    tg = connect("telegram", {"secret_token": "tg_Secret-42"})
    t = int(time.time()) - 300
    chat = {"id": 5550001, "first_name": "Olga", "username": "OlgaK", "type": "private"}
    user = {"id": 5550001, "is_bot": False, "first_name": "Olga", "username": "OlgaK"}
    msg = {"message_id": 12, "from": user, "chat": chat, "date": t, "text": "Quiero 3 cajas"}
    before = snapshot(db, owner.id)
    assert tg_post(http, functions_url, tg, {"update_id": 1, "message": msg}).status_code == 401
    assert (
        tg_post(http, functions_url, tg, {"update_id": 1, "message": msg}, "wrong").status_code
        == 401
    )
    assert snapshot(db, owner.id) == before

    assert (
        tg_post(
            http, functions_url, tg, {"update_id": 1, "message": msg}, "tg_Secret-42"
        ).status_code
        == 200
    )
    edit = {**msg, "text": "Quiero 4 cajas", "edit_date": t + 60}
    res = tg_post(http, functions_url, tg, {"update_id": 2, "edited_message": edit}, "tg_Secret-42")
    assert res.status_code == 200 and res.json()["updated"] == 1
    conv = stored(db, owner.id, "5550001")
    m = conv["messages"]["5550001:12"]
    assert (conv["count"], m["content"], m["edited_at"][:19]) == (
        1,
        "Quiero 4 cajas",
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + 60)),
    )
    # a redelivered older version does not undo the edit
    tg_post(http, functions_url, tg, {"update_id": 1, "message": msg}, "tg_Secret-42")
    assert stored(db, owner.id, "5550001")["messages"]["5550001:12"]["content"] == "Quiero 4 cajas"
    res = tg_post(http, functions_url, tg, {"message": msg}, "tg_Secret-42")
    assert res.status_code == 400, "an Update has an update_id"


# ----------------------------------------------------------------------------- Signal


def test_signal_notifications_groups_outbound_and_remote_delete(
    http, functions_url, connect, owner, db
):
    sg = connect("signal", {"token": "signal-bearer-1"}, "+34600000001")
    now = int(time.time() * 1000) - 120_000
    peer = "+34622333444"

    def note(envelope: dict[str, Any]) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "method": "receive",
            "params": {"envelope": envelope, "account": "+34600000001"},
        }

    src = {"source": peer, "sourceNumber": peer, "sourceName": "Iker", "sourceDevice": 1}
    batch = [
        note({**src, "timestamp": now, "dataMessage": {"timestamp": now, "message": "Hola"}}),
        note({**src, "timestamp": now + 1000, "dataMessage": {"timestamp": now + 1000, "message": "Todos",
              "groupInfo": {"groupId": "R3JvdXBJZA==", "type": "DELIVER"}}}),
        note({"source": "+34600000001", "sourceNumber": "+34600000001", "sourceDevice": 2, "timestamp": now + 2000,
              "syncMessage": {"sentMessage": {"destinationNumber": peer, "timestamp": now + 2000, "message": "Hola Iker"}}}),
        note({**src, "timestamp": now + 3000, "receiptMessage": {"isRead": True, "timestamps": [now + 2000]}}),
    ]  # fmt: skip
    headers = {"authorization": "Bearer signal-bearer-1", "content-type": "application/json"}
    before = snapshot(db, owner.id)
    refused = http.post(f"{functions_url}/signal/{sg.id}", content=json.dumps(batch))
    assert refused.status_code == 401
    assert snapshot(db, owner.id) == before
    res = http.post(f"{functions_url}/signal/{sg.id}", content=json.dumps(batch), headers=headers)
    assert res.status_code == 200, res.text
    direct = stored(db, owner.id, peer)
    assert set(direct["messages"]) == {f"{peer}:{now}", f"+34600000001:{now + 2000}"}
    assert direct["messages"][f"+34600000001:{now + 2000}"]["direction"] == "outbound"
    group = stored(db, owner.id, "group:R3JvdXBJZA==")
    assert group["type"] == "group" and group["count"] == 1

    # a reaction, then the peer edits the message: new text, the reaction stays
    react = note(
        {
            "source": "+34600000001",
            "sourceNumber": "+34600000001",
            "sourceDevice": 2,
            "timestamp": now + 4000,
            "syncMessage": {
                "sentMessage": {
                    "destinationNumber": peer,
                    "timestamp": now + 4000,
                    "reaction": {
                        "emoji": "🙏",
                        "targetAuthorNumber": peer,
                        "targetSentTimestamp": now,
                        "isRemove": False,
                    },
                }
            },
        }
    )
    edit = note(
        {
            **src,
            "timestamp": now + 4500,
            "editMessage": {
                "targetSentTimestamp": now,
                "dataMessage": {"timestamp": now + 4500, "message": "Hola de nuevo"},
            },
        }
    )
    for n in (react, edit):
        assert (
            http.post(
                f"{functions_url}/signal/{sg.id}", content=json.dumps(n), headers=headers
            ).status_code
            == 200
        )
    edited = stored(db, owner.id, peer)["messages"][f"{peer}:{now}"]
    assert edited["content"] == "Hola de nuevo" and edited["edited_at"]
    assert edited["metadata"]["reactions"]["+34600000001"]["emoji"] == "🙏"
    assert stored(db, owner.id, peer)["count"] == 2

    delete = note(
        {
            **src,
            "timestamp": now + 5000,
            "dataMessage": {"timestamp": now + 5000, "remoteDelete": {"timestamp": now}},
        }
    )
    assert (
        http.post(
            f"{functions_url}/signal/{sg.id}", content=json.dumps(delete), headers=headers
        ).status_code
        == 200
    )
    gone = stored(db, owner.id, peer)["messages"][f"{peer}:{now}"]
    assert gone["content"] is None and gone["metadata"]["deleted"] is True


# ----------------------------------------------------------------------------- WeChat


def wx_query(token: str, age: int = 0, **extra: str) -> dict[str, str]:
    timestamp, nonce = str(int(time.time()) - age), uuid.uuid4().hex[:10]
    sig = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": timestamp, "nonce": nonce, **extra}


WX_TEXT = """<xml>
<ToUserName><![CDATA[gh_crm]]></ToUserName>
<FromUserName><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></FromUserName>
<CreateTime>{ts}</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[请问什么时候发货？]]></Content>
<MsgId>{mid}</MsgId>
</xml>"""


def test_wechat_push_echostr_and_hostile_xml(http, functions_url, connect, owner, db):
    wx = connect("wechat", {"token": "wxToken2026"}, "gh_crm")
    url = f"{functions_url}/wechat/{wx.id}"
    echo = http.get(url, params=wx_query("wxToken2026", echostr="5838479218127813673"))
    assert (echo.status_code, echo.text) == (200, "5838479218127813673")
    assert http.get(url, params=wx_query("other", echostr="1")).status_code == 401

    body = WX_TEXT.format(ts=int(time.time()) - 30, mid="6912345678901234567").encode()
    res = http.post(url, params=wx_query("wxToken2026"), content=body)
    assert (res.status_code, res.text) == (200, "success")
    res = http.post(url, params=wx_query("wxToken2026"), content=body)  # WeChat retries after 5 s
    assert res.status_code == 200
    conv = stored(db, owner.id, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    assert conv["count"] == 1
    assert conv["messages"]["6912345678901234567"]["content"] == "请问什么时候发货？"

    before = snapshot(db, owner.id)
    assert http.post(url, params=wx_query("wrong"), content=body).status_code == 401
    assert http.post(url, content=body).status_code == 401
    # the signature does not cover the body: a captured query string replayed later with
    # another body is refused by its age
    forged = WX_TEXT.format(ts=int(time.time()), mid="1").replace("请问", "forged").encode()
    assert (
        http.post(url, params=wx_query("wxToken2026", age=600), content=forged).status_code == 401
    )
    assert snapshot(db, owner.id) == before

    xxe = (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<xml><ToUserName>gh</ToUserName><FromUserName>oEvil</FromUserName><CreateTime>1700000000</CreateTime>"
        "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
    )
    lol = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10)
    ) + "]><xml><ToUserName>gh</ToUserName><FromUserName>oEvil</FromUserName><CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>&lol9;</Content><MsgId>2</MsgId></xml>"  # fmt: skip
    for name, hostile in (("XXE", xxe), ("billion laughs", lol)):
        res = http.post(url, params=wx_query("wxToken2026"), content=hostile.encode())
        assert res.status_code == 400, f"{name}: {res.status_code}"
    after = snapshot(db, owner.id)
    assert after["conversations"] == before["conversations"], "hostile XML stored nothing"
    assert stored(db, owner.id, "oEvil") is None


# ----------------------------------------------------------------------------- apps


def test_app_batch_as_the_signed_in_user(http, functions_url, settings, owner, make_user, db):
    payload = {
        "platform": "whatsapp",
        "messages": [
            {
                "external_conversation_id": "+34633000111",
                "id": "app-1",
                "direction": "inbound",
                "type": "text",
                "content": "desde la app",
                "sent_at": "2026-02-01T10:30:00+01:00",
            }
        ],
    }
    res = http.post(
        f"{functions_url}/",
        json=payload,
        headers={"authorization": f"Bearer {owner.token}", "apikey": settings.anon_key},
    )
    assert res.status_code == 200, res.text
    assert res.json()["inserted"] == 1
    assert stored(db, owner.id, "+34633000111")["count"] == 1

    other = make_user("other")
    naming_owner = http.post(
        f"{functions_url}/",
        json={**payload, "user_id": owner.id},
        headers={"authorization": f"Bearer {other.token}"},
    )
    assert naming_owner.status_code == 403
    assert http.post(f"{functions_url}/", json=payload).status_code == 401
    anon = http.post(
        f"{functions_url}/", json=payload, headers={"authorization": f"Bearer {settings.anon_key}"}
    )
    assert anon.status_code == 401
    assert stored(db, other.id, "+34633000111") is None


# ----------------------------------------------------------------------------- the CLI


def test_connections_add_prints_a_working_webhook_url_and_lists_it(
    capsys, http, functions_url, owner, db
):
    from crm_messaging.cli import main

    code = main(
        ["connections", "add", "telegram", "--account", "crm_test_bot", "--name", "Bot",
         "--user-id", owner.id, "--secret-token", "cli_Secret-7", "--json"]
    )  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["webhook_url"] == f"{functions_url}/telegram/{out['id']}"
    update = {
        "update_id": 9,
        "message": {"message_id": 1, "chat": {"id": 777, "type": "private"}, "date": int(time.time()) - 5, "text": "hi"},
    }  # fmt: skip
    res = http.post(
        out["webhook_url"], json=update, headers={"x-telegram-bot-api-secret-token": "cli_Secret-7"}
    )
    assert res.status_code == 200, res.text

    assert main(["connections", "--user-id", owner.id]) == 0
    listing = capsys.readouterr().out
    assert out["webhook_url"] in listing and "active" in listing

    before = snapshot(db, owner.id)
    code = main(
        [
            "connections",
            "add",
            "whatsapp",
            "--account",
            "+34600000002",
            "--user-id",
            owner.id,
            "--app-secret",
            "s",
        ]
    )
    assert code == 2
    assert "--verify-token" in capsys.readouterr().err
    assert snapshot(db, owner.id) == before


def test_secrets_are_never_readable_through_the_api(owner, service, connect):
    connect("signal", {"token": "do-not-leak"})
    for client in (owner.client, service):
        with pytest.raises(APIError) as err:
            client.table("connection_secrets").select("*").execute()
        assert err.value.code in ("42P01", "PGRST205") and "do-not-leak" not in str(err.value)
        rows = client.table("messaging_connections").select("*").execute().data
        assert "do-not-leak" not in json.dumps(rows)
    with pytest.raises(APIError) as err:
        owner.client.rpc("webhook_connection", {"connection_id": str(uuid.uuid4())}).execute()
    assert err.value.code == "42501"


# ----------------------------------------------------------------------------- the stack


def test_the_stack_serves_the_function_with_the_edge_runtime_env(settings):
    from devstack import functions, stack

    if stack.external_stack() is not None:
        pytest.skip("a `supabase start` stack serves functions itself")
    assert stack.status()["functions"] is True
    env = functions.functions_env(stack.stack_env())
    for name in (
        "SUPABASE_URL",
        "SUPABASE_ANON_KEY",
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_DB_URL",
    ):
        assert env[name], name
    assert env["SUPABASE_URL"] == settings.api_url


def test_a_function_that_cannot_start_says_so_with_its_log_tail(tmp_path, monkeypatch):
    import socket

    from devstack import functions, stack
    from devstack.layout import Paths
    from devstack.process import StackError

    fn = tmp_path / "fn"
    fn.mkdir()
    (fn / "deno.json").write_text("{}\n")
    (fn / "index.ts").write_text('throw new Error("boom at startup");\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(functions, "FUNCTION_DIR", fn)
    monkeypatch.setattr(functions, "FUNCTIONS_PORT", port)
    paths = Paths(tmp_path / "state")
    paths.run.mkdir(parents=True)
    paths.logs.mkdir()
    with pytest.raises(StackError) as err:
        functions.start_functions(paths, stack.stack_env())
    assert err.value.part == "functions"
    assert "boom at startup" in str(err.value)
    assert not paths.pid("functions").exists()


# ----------------------------------------------------------------------------- invariants

RANK = {"sent": 1, "failed": 2, "delivered": 3, "read": 4}


@settings_(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(sorted(RANK)), min_size=1, max_size=8))
def test_statuses_in_any_order_end_at_the_highest(db, order):
    """messaging_private.apply_update folded over statuses in any arrival order."""
    m = {
        "id": "w",
        "direction": "outbound",
        "type": "text",
        "content": "x",
        "sent_at": "2026-01-01T00:00:00Z",
    }
    for i, value in enumerate(order):
        u = {"kind": "status", "status": value, "at": f"2026-01-01T00:00:{i:02d}Z"}
        m = db.execute(
            "select messaging_private.apply_update(%s::jsonb, %s::jsonb)",
            (json.dumps(m), json.dumps(u)),
        ).fetchone()[0]
    assert m["metadata"]["status"] == max(order, key=RANK.__getitem__)


@settings_(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]), st.sampled_from(["👍", "❤", None]), st.integers(0, 50)
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda r: (r[0], r[2]),
    )
)
def test_reactions_keep_the_newest_per_reactor_in_any_order(db, reactions):
    m = {
        "id": "w",
        "direction": "inbound",
        "type": "text",
        "content": "x",
        "sent_at": "2026-01-01T00:00:00Z",
    }
    for reactor, emoji, sec in reactions:
        u = {
            "kind": "reaction",
            "reactor": reactor,
            "emoji": emoji,
            "at": f"2026-01-01T00:01:{sec:02d}Z",
        }
        m = db.execute(
            "select messaging_private.apply_update(%s::jsonb, %s::jsonb)",
            (json.dumps(m), json.dumps(u)),
        ).fetchone()[0]
    for reactor in {r[0] for r in reactions}:
        newest = max((r for r in reactions if r[0] == reactor), key=lambda r: r[2])
        assert m["metadata"]["reactions"][reactor]["emoji"] == newest[1]


# ----------------------------------------------------------------------------- issue 17


def test_text_postgres_cannot_hold_is_cleaned_and_stored_not_retried_forever(
    http, functions_url, wa, owner, db, connect
):
    """A lone surrogate once made PostgREST answer PGRST102, which the function took for a 503."""
    t = int(time.time()) - 120
    body = wa_body(messages=[wa_text("wamid.POISON", "pedido \ud800 ok", t)])
    assert b"\\ud800" in body
    res = wa_post(http, functions_url, wa, body)
    assert res.status_code == 200, res.text
    m = stored(db, owner.id, CONV)["messages"]["wamid.POISON"]
    assert m["content"] == "pedido \ufffd ok"
    assert m["metadata"]["replaced_characters"] == {"content": 1}

    tg = connect("telegram", {"secret_token": "tg_poison"})
    msg = {
        "message_id": 3,
        "chat": {"id": 4242, "type": "private", "first_name": "N\u0000o"},
        "date": t,
        "text": "a\udc00b\u0000",
    }
    res = tg_post(http, functions_url, tg, {"update_id": 3, "message": msg}, "tg_poison")
    assert res.status_code == 200, res.text
    conv = stored(db, owner.id, "4242")
    assert conv["messages"]["4242:3"]["content"] == "a\ufffdb\ufffd"
    assert conv["name"] == "N\ufffdo"
    assert conv["messages"]["4242:3"]["metadata"]["replaced_characters"] == {
        "content": 2,
        "participant_name": 1,
    }


def test_one_bad_message_never_costs_the_good_ones_and_each_refusal_is_counted(
    capsys, http, functions_url, wa, owner, db
):
    t = int(time.time()) - 300
    huge_contacts = [
        {"name": {"formatted_name": "x" * 9000}},
        {"name": {"formatted_name": "y" * 9000}},
    ]
    body = wa_body(
        messages=[
            wa_text("wamid.GOOD1", "primero", t),
            wa_text("wamid.LONG", "x" * 70_000, t + 1),
            wa_text("wamid.AHEAD", "mañana", int(time.time()) + 3 * 86400),
            {"from": WA_ID, "id": "wamid.CARD", "timestamp": str(t + 2), "type": "contacts",
             "contacts": huge_contacts},
            wa_text("wamid.GOOD2", "último", t + 3),
        ],
        statuses=[{"id": "wamid.GOOD1", "status": "read", "timestamp": str(t + 9), "recipient_id": WA_ID},
                  {"id": "wamid.GOOD1", "status": "read", "timestamp": "not a time", "recipient_id": WA_ID}],
    )  # fmt: skip
    res = wa_post(http, functions_url, wa, body)
    assert res.status_code == 200, res.text
    out = res.json()
    assert out["inserted"] == 2 and out["updates"]["applied"] == 1
    refused = {r["path"]: r for r in out["refused"]}
    assert set(refused) == {
        "entry[0].changes[0].value.statuses[1]",
        "messages[1]",
        "messages[2]",
        "messages[3]",
    }, out["refused"]
    assert (
        refused["messages[1]"]["code"] == "22023" and "content" in refused["messages[1]"]["reason"]
    )
    assert "sent_at" in refused["messages[2]"]["reason"]
    assert "metadata" in refused["messages[3]"]["reason"]
    conv = stored(db, owner.id, CONV)
    assert set(conv["messages"]) == {"wamid.GOOD1", "wamid.GOOD2"}
    assert conv["messages"]["wamid.GOOD1"]["metadata"]["status"] == "read"
    count, at, error = refusals(db, wa.id)
    assert count == 4 and at is not None and "refused" in error and "(and 3 more)" in error
    status, _, synced = connection_row(db, wa.id)
    assert status == "active" and synced is not None

    # the platform redelivers: nothing twice; the refusals are final, counted again
    again = wa_post(http, functions_url, wa, body)
    assert again.status_code == 200 and again.json()["duplicates"] == 2
    assert refusals(db, wa.id)[0] == 8

    # a delivery holding only what cannot be stored: final (4xx), never 503, nothing stored
    before = snapshot(db, owner.id)["conversations"]
    only_bad = wa_post(
        http, functions_url, wa, wa_body(messages=[wa_text("wamid.L2", "z" * 70_000, t)])
    )
    assert only_bad.status_code == 422, only_bad.text
    assert snapshot(db, owner.id)["conversations"] == before
    assert refusals(db, wa.id)[0] == 9

    from crm_messaging.cli import main

    assert main(["connections", "--user-id", owner.id]) == 0
    listing = capsys.readouterr().out
    assert "refused 9, last at" in listing and "wamid" not in listing.split("last error")[0]


def test_deliveries_are_bound_to_the_connections_account(
    http, functions_url, wa, connect, owner, db
):
    t = int(time.time()) - 60
    other_number = {"display_phone_number": "15550000000", "phone_number_id": "999000999"}
    before = snapshot(db, owner.id)["conversations"]
    res = wa_post(
        http,
        functions_url,
        wa,
        wa_body(messages=[wa_text("wamid.OTHER", "hola", t)], metadata=other_number),
    )
    assert res.status_code == 403, res.text
    assert [r["kind"] for r in res.json()["refused"]] == ["account_mismatch"]
    assert snapshot(db, owner.id)["conversations"] == before
    assert refusals(db, wa.id)[0] == 1
    assert connection_row(db, wa.id)[2] is None, "a refused delivery does not count as a sync"

    # Signal: a body naming another account never overrides the connection's
    sg = connect("signal", {"token": "sg-bound"}, "+34600000001")
    headers = {"authorization": "Bearer sg-bound"}
    now = int(time.time() * 1000) - 60_000

    def sync(account: str, ms: int) -> dict[str, Any]:
        sent = {"destinationNumber": "+34622000111", "timestamp": ms, "message": "hola"}
        envelope = {
            "source": account,
            "sourceNumber": account,
            "timestamp": ms,
            "syncMessage": {"sentMessage": sent},
        }
        return {"jsonrpc": "2.0", "method": "receive", "params": {"account": account, "envelope": envelope}}  # fmt: skip

    forged = http.post(
        f"{functions_url}/signal/{sg.id}", json=sync("+19999999999", now), headers=headers
    )
    assert forged.status_code == 403, forged.text
    assert stored(db, owner.id, "+34622000111") is None
    res = http.post(
        f"{functions_url}/signal/{sg.id}",
        json=[sync("+34600000001", now + 1), sync("+19999999999", now + 2)],
        headers=headers,
    )
    assert res.status_code == 200, res.text
    msgs = stored(db, owner.id, "+34622000111")["messages"]
    assert list(msgs) == [f"+34600000001:{now + 1}"]
    assert msgs[f"+34600000001:{now + 1}"]["sender_identifier"] == "+34600000001"
    assert refusals(db, sg.id)[0] == 2

    # WeChat: ToUserName is the connection's account
    wx = connect("wechat", {"token": "wxBound1"}, "gh_crm")
    xml = WX_TEXT.format(ts=int(time.time()) - 5, mid="7001").replace("gh_crm", "gh_other").encode()
    res = http.post(f"{functions_url}/wechat/{wx.id}", params=wx_query("wxBound1"), content=xml)
    assert res.status_code == 403
    assert stored(db, owner.id, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o") is None
    assert refusals(db, wx.id)[0] == 1


def test_a_paused_connection_stores_nothing_and_stops_the_platform_retrying(
    capsys, http, functions_url, wa, connect, owner, db
):
    t = int(time.time()) - 60
    body = wa_body(messages=[wa_text("wamid.PAUSED", "¿hola?", t)])
    assert (
        wa_post(
            http, functions_url, wa, wa_body(messages=[wa_text("wamid.P0", "antes", t - 5)])
        ).status_code
        == 200
    )
    synced = connection_row(db, wa.id)[2]
    wx = connect("wechat", {"token": "wxPaused1"}, "gh_crm")
    for status in ("paused", "disconnected"):
        db.execute(
            "update messaging_connections set status = %s where id = any(%s::uuid[])",
            (status, [wa.id, wx.id]),
        )
        before = snapshot(db, owner.id)
        res = wa_post(http, functions_url, wa, body)
        assert res.status_code == 200, res.text  # what makes Meta stop retrying
        assert res.json()["stored"] is False and res.json()["status"] == status
        xml = WX_TEXT.format(ts=t, mid="8001").encode()
        res = http.post(
            f"{functions_url}/wechat/{wx.id}", params=wx_query("wxPaused1"), content=xml
        )
        assert (res.status_code, res.text) == (200, "success")
        assert snapshot(db, owner.id) == before, f"a {status} connection stored something"
        assert connection_row(db, wa.id)[2] == synced

    from crm_messaging.cli import main

    assert main(["connections", "--user-id", owner.id]) == 0
    assert "disconnected: webhook deliveries are answered and not stored" in capsys.readouterr().out

    db.execute("update messaging_connections set status = 'active' where id = %s", (wa.id,))
    assert wa_post(http, functions_url, wa, body).status_code == 200
    assert "wamid.PAUSED" in stored(db, owner.id, CONV)["messages"]


def test_a_wechat_nonce_is_accepted_once_per_connection(http, functions_url, connect, owner, db):
    wx = connect("wechat", {"token": "wxNonce1"}, "gh_crm")
    url = f"{functions_url}/wechat/{wx.id}"
    query = wx_query("wxNonce1")
    body = WX_TEXT.format(ts=int(time.time()) - 5, mid="9001").encode()
    assert http.post(url, params=query, content=body).status_code == 200
    # WeChat retrying the same request: the same delivery, accepted, nothing twice
    assert http.post(url, params=query, content=body).status_code == 200
    assert stored(db, owner.id, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")["count"] == 1
    before = snapshot(db, owner.id)["conversations"]
    for mid in ("9002", "9003"):  # the captured query string with forged bodies
        forged = WX_TEXT.format(ts=int(time.time()), mid=mid).replace("请问", "forged").encode()
        res = http.post(url, params=query, content=forged)
        assert res.status_code == 401, res.text
    assert snapshot(db, owner.id)["conversations"] == before
    assert refusals(db, wx.id)[0] == 2
    # the same nonce on another connection is that connection's own
    wx2 = connect("wechat", {"token": "wxNonce1"}, "gh_crm2")
    other = WX_TEXT.format(ts=int(time.time()), mid="9004").replace("gh_crm", "gh_crm2").encode()
    assert (
        http.post(f"{functions_url}/wechat/{wx2.id}", params=query, content=other).status_code
        == 200
    )


def test_an_edit_ahead_of_the_clock_never_hides_later_edits_nor_moves_the_message(
    http, functions_url, connect, owner, db
):
    tg = connect("telegram", {"secret_token": "tg_edits"})
    now = int(time.time())
    chat = {"id": 7007, "type": "private", "first_name": "Eva"}
    msg = {
        "message_id": 1,
        "chat": chat,
        "from": {"id": 7007, "first_name": "Eva"},
        "date": now - 600,
        "text": "v1",
    }

    def send(update_id: int, key: str, m: dict[str, Any]) -> httpx.Response:
        return tg_post(http, functions_url, tg, {"update_id": update_id, key: m}, "tg_edits")

    assert send(1, "message", msg).status_code == 200
    # an edit_date 23 hours ahead (a client clock, a forged update) is taken as now
    res = send(2, "edited_message", {**msg, "text": "v2", "edit_date": now + 23 * 3600})
    assert res.status_code == 200 and res.json()["updated"] == 1
    m = stored(db, owner.id, "7007")["messages"]["7007:1"]
    assert m["content"] == "v2" and m["edited_at"] < time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime(now + 600)
    )
    # a real later edit wins; its `date` a day earlier does not move the message
    res = send(
        3, "edited_message", {**msg, "date": now - 86400, "text": "v3", "edit_date": now + 60}
    )
    assert res.status_code == 200 and res.json()["updated"] == 1, res.text
    m = stored(db, owner.id, "7007")["messages"]["7007:1"]
    assert m["content"] == "v3"
    assert m["sent_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 600)), (
        "sent_at fixed once stored"
    )


def test_concurrent_deliveries_of_one_connection_each_get_their_own_answer(
    functions_url, wa, owner, db
):
    """Deliveries that arrive while the connection's previous call runs go to the database
    together (ingest_webhook_deliveries); each is still answered for itself, a redelivery
    among them stores nothing twice, and one for another account costs the others nothing."""
    from concurrent.futures import ThreadPoolExecutor

    t = int(time.time()) - 1800
    bodies = [wa_body(messages=[wa_text(f"wamid.C{i}", f"pedido {i}", t + i)]) for i in range(30)]
    bodies += [bodies[3], bodies[7]]  # Meta redelivers two of them meanwhile
    foreign = wa_body(
        messages=[wa_text("wamid.F1", "otra cuenta", t)],
        metadata={"display_phone_number": "15550000000", "phone_number_id": "999"},
    )
    bodies.append(foreign)

    def post(body: bytes) -> httpx.Response:
        with httpx.Client(timeout=30) as client:
            return wa_post(client, functions_url, wa, body)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(post, bodies))
    assert [a.status_code for a in answers[:-1]] == [200] * 32, [a.text for a in answers]
    assert answers[-1].status_code == 403, answers[-1].text
    inserted = [a.json()["inserted"] + a.json()["duplicates"] for a in answers[:-1]]
    assert inserted == [1] * 32, "each answer counts its own message"
    assert sum(a.json()["inserted"] for a in answers[:-1]) == 30
    conv = stored(db, owner.id, CONV)
    assert conv is not None and conv["count"] == 30
    assert set(conv["messages"]) == {f"wamid.C{i}" for i in range(30)}
    assert refusals(db, wa.id)[0] == 1, "the foreign delivery is counted once"
