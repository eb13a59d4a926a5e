"""Webhook bench: signed WhatsApp deliveries through the edge function against the direct RPC.

Side "function": one WhatsApp Cloud API delivery per message, signed with the app secret,
POSTed by 8 concurrent senders to FUNCTIONS_URL/messaging-ingest/whatsapp/<connection>
(nginx -> Deno -> nginx -> PostgREST -> Postgres). Side "rpc": the same messages, as the
function maps them, POSTed by 8 concurrent senders straight to /rest/v1/rpc/ingest_messages
with the service key (nginx -> PostgREST -> Postgres). Each side writes for its own bench
user, so both store exactly the same messages into the same shape of conversations. Runs
alternate (function, rpc, function, rpc, ...); the figures are medians over the runs.

    python -m bench.webhooks [--scale 0.2]

`run(settings, scale)` returns the figures as a dict (the bench owner wires it into
`make bench`). Goal: the function adds at most 25% to the direct RPC's time per message
(`overhead` = function p50 / rpc p50 - 1 <= 0.25; `time_overhead` is the same for the
wall time per message of the whole run).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from crm_messaging.config import Settings, load_settings, read_env

SENDERS = int(os.environ.get("BENCH_WEBHOOK_SENDERS", "8"))  # concurrent senders per side
APP_SECRET = "bench-app-secret"
CONVERSATIONS = 40
WORDS = [
    "hola",
    "pedido",
    "talla",
    "envío",
    "gracias",
    "mañana",
    "precio",
    "stock",
    "factura",
    "dirección",
]
GOAL_OVERHEAD = 0.25


def _delivery(wa_id: str, mid: str, ts: int, text: str) -> dict[str, Any]:
    """One WhatsApp Cloud API webhook body with one text message, as Meta sends it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": [
                                {"profile": {"name": f"Cliente {wa_id[-3:]}"}, "wa_id": wa_id}
                            ],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": mid,
                                    "timestamp": str(ts),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def _as_ingest(wa_id: str, mid: str, ts: int, text: str) -> dict[str, Any]:
    """The same message as the function hands it to the store."""
    name = f"Cliente {wa_id[-3:]}"
    return {
        "platform": "whatsapp",
        "external_conversation_id": f"+{wa_id}",
        "participant_identifier": f"+{wa_id}",
        "participant_name": name,
        "conversation_type": "direct",
        "id": mid,
        "direction": "inbound",
        "type": "text",
        "content": text,
        "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)),
        "sender_identifier": f"+{wa_id}",
        "sender_name": name,
    }


def _messages(n: int, tag: str, start: int) -> list[tuple[str, str, int, str]]:
    out = []
    for i in range(n):
        wa_id = f"3460{i % CONVERSATIONS:07d}"
        text = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(3 + i % 9))
        out.append((wa_id, f"wamid.bench.{tag}.{i}", start + i, text))
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _send_all(requests: list[tuple[str, bytes, dict[str, str]]]) -> dict[str, float]:
    """POSTs every request with SENDERS threads (one keep-alive client each)."""
    latencies: list[float] = []
    failures: list[str] = []
    chunks = [requests[i::SENDERS] for i in range(SENDERS)]

    def sender(chunk: list[tuple[str, bytes, dict[str, str]]]) -> list[float]:
        own: list[float] = []
        with httpx.Client(timeout=60) as client:
            for url, body, headers in chunk:
                t0 = time.perf_counter()
                res = client.post(url, content=body, headers=headers)
                own.append(time.perf_counter() - t0)
                if res.status_code != 200:
                    failures.append(f"{res.status_code} {res.text[:200]}")
        return own

    t0 = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        for own in pool.map(sender, chunks):
            latencies.extend(own)
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, first: {failures[0]}")
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "msgs_per_s": len(latencies) / wall,
    }


def run(settings: Settings, scale: float, log: Callable[[str], None] = print) -> dict[str, Any]:
    functions_url = (read_env().get("FUNCTIONS_URL") or f"{settings.api_url}/functions/v1").rstrip(
        "/"
    )
    n = max(80, int(800 * scale))
    rounds = 3
    db = psycopg.connect(settings.db_url, autocommit=True)
    users = {side: str(uuid.uuid4()) for side in ("function", "rpc")}
    service_headers = {
        "apikey": settings.service_role_key,
        "authorization": f"Bearer {settings.service_role_key}",
        "content-type": "application/json",
    }
    try:
        for side, uid in users.items():
            db.execute(
                "insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)"
                " values (%s, 'authenticated', 'authenticated', %s, '{}', '{}')",
                (uid, f"bench-webhooks-{side}-{uid[:8]}@bench.example"),
            )
        connections: dict[str, str] = {}
        with httpx.Client(timeout=30) as client:
            for side, uid in users.items():
                res = client.post(
                    f"{settings.api_url}/rest/v1/rpc/add_messaging_connection",
                    headers=service_headers,
                    json={
                        "platform": "whatsapp",
                        "account_identifier": "+15550783881",
                        "secrets": {"app_secret": APP_SECRET, "verify_token": "bench"},
                        "user_id": uid,
                    },
                )
                res.raise_for_status()
                connections[side] = res.json()

        def function_requests(
            msgs: list[tuple[str, str, int, str]],
        ) -> list[tuple[str, bytes, dict[str, str]]]:
            url = f"{functions_url}/messaging-ingest/whatsapp/{connections['function']}"
            out = []
            for m in msgs:
                body = json.dumps(_delivery(*m), ensure_ascii=False).encode()
                sig = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
                out.append(
                    (
                        url,
                        body,
                        {
                            "content-type": "application/json",
                            "x-hub-signature-256": f"sha256={sig}",
                        },
                    )
                )
            return out

        def rpc_requests(
            msgs: list[tuple[str, str, int, str]],
        ) -> list[tuple[str, bytes, dict[str, str]]]:
            url = f"{settings.api_url}/rest/v1/rpc/ingest_messages"
            payload = {"user_id": users["rpc"], "connection_id": connections["rpc"]}
            return [
                (url, json.dumps({"payload": {**payload, "messages": [_as_ingest(*m)]}}, ensure_ascii=False).encode(), service_headers)
                for m in msgs
            ]  # fmt: skip

        start = int(time.time()) - 86400
        builders = {"function": function_requests, "rpc": rpc_requests}
        # warm up both paths (the function's connection cache, PostgREST's plan caches)
        for side, build in builders.items():
            _send_all(build(_messages(SENDERS * 2, f"warm.{side}", start - 1000)))
        runs: dict[str, list[dict[str, float]]] = {"function": [], "rpc": []}
        for r in range(rounds):
            for side, build in builders.items():
                msgs = _messages(n, f"r{r}", start + r * n)  # the same messages on both sides
                figures = _send_all(build(msgs))
                runs[side].append(figures)
                log(
                    f"webhooks round {r + 1}/{rounds} {side:8}: p50 {figures['p50_ms']:.2f} ms, "
                    f"p99 {figures['p99_ms']:.2f} ms, {figures['msgs_per_s']:.0f} msgs/s"
                )
        stored = {
            side: db.execute(
                "select coalesce(sum(message_count), 0) from chat_conversations where user_id = %s",
                (uid,),
            ).fetchone()[0]
            for side, uid in users.items()
        }
        expected = rounds * n + SENDERS * 2
        if stored["function"] != expected or stored["rpc"] != expected:
            raise RuntimeError(f"stored {stored}, expected {expected} messages on each side")
    finally:
        db.execute("delete from auth.users where id = any(%s::uuid[])", (list(users.values()),))
        db.close()

    result: dict[str, Any] = {"deliveries_per_run": n, "runs": rounds, "senders": SENDERS}
    for side, figures in runs.items():
        for key in ("p50_ms", "p99_ms", "msgs_per_s"):
            result[f"{side}.{key}"] = statistics.median(f[key] for f in figures)
    result["overhead"] = result["function.p50_ms"] / result["rpc.p50_ms"] - 1
    result["overhead_p99"] = result["function.p99_ms"] / result["rpc.p99_ms"] - 1
    result["throughput_ratio"] = result["function.msgs_per_s"] / result["rpc.msgs_per_s"]
    # wall time per message under 8 senders, function over direct RPC
    result["time_overhead"] = result["rpc.msgs_per_s"] / result["function.msgs_per_s"] - 1
    result["goal"] = f"overhead <= {GOAL_OVERHEAD}"
    # shown as goals in the benchmark table (bench/report.py)
    result["goals"] = {"overhead": ["<=", GOAL_OVERHEAD], "time_overhead": ["<=", GOAL_OVERHEAD]}
    result["met"] = result["overhead"] <= GOAL_OVERHEAD and result["time_overhead"] <= GOAL_OVERHEAD
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=0.2, help="1.0: 800 deliveries a run and side"
    )
    args = parser.parse_args()
    result = run(load_settings(require=("service_role_key", "db_url")), args.scale)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
