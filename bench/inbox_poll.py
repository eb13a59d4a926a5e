"""Live-inbox bench: the cost of inbox_changes polls against reloading the inbox's first page.

500 signed-in users (BENCH_POLL_USERS), each with an inbox of 55 conversations (half of
them read), poll through HTTP with their own tokens (nginx -> PostgREST -> Postgres, the
fairness gate included), as the screens do:

- side "changes": `POST /rest/v1/rpc/inbox_changes {"since": cursor}` (the live inbox's
  poll: nothing changed, an empty answer);
- side "list page": the fair baseline, what the screens did before to see changes: the
  first page of the inbox as useConversationList reads it (chat_conversation_list, the
  person and read marker embedded, `last_message_at.desc,id.desc`, 50 rows).

Measured for each side, alternated: (1) one request at a time (p50/p95 of an empty poll,
of a poll that returns one changed row, and of the list page); (2) what the stack serves
with 1 and with 6 requests in flight (6: the fairness gate's requests_signed_in; more only
adds 429s), the 500 users' tokens in turn: requests/s, p50/p95, and how many users polling
every 2 s that rate carries. (An open loop of 250 requests/s from one Python process was
tried first: on this shared 2-core machine the load generator, not the stack, was the
limit.) Then the inbox latency: a Telegram webhook to the real function, and from its
answer, inbox_changes asked every 20 ms until the row is there (what the screen adds on
top is its poll interval, 2 s at most, and the render).

    python -m bench.inbox_poll          # about 2 min; each phase on stderr, then JSON

The users and their data are removed at the end.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from crm_messaging.config import Settings, load_settings, read_env
from devstack.tokens import user_token

USERS = int(os.environ.get("BENCH_POLL_USERS", "500"))
CONVERSATIONS = 55
SECONDS = float(os.environ.get("BENCH_POLL_SECONDS", "6"))
POLL_INTERVAL_S = 2.0
IN_FLIGHT = 6
LIST_SELECT = (
    "id,platform,external_conversation_id,participant_identifier,participant_name,"
    "conversation_type,person_id,entity_table,entity_id,connection_id,message_count,"
    "first_message_at,last_message_at,last_message_preview,user_id,created_at,updated_at,"
    "person:people(id,full_name),read:chat_conversation_read_markers(last_read_at,read_message_count)"
)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": round(pct(ms, 0.5), 2), "p95_ms": round(pct(ms, 0.95), 2)}


def setup(db: psycopg.Connection, settings: Settings) -> list[dict[str, str]]:
    users = []
    base = time.time()
    for i in range(USERS):
        uid = str(uuid.uuid4())
        users.append({"id": uid, "email": f"poll-{i}-{uid[:8]}@bench.example"})
    with db.cursor() as cur:
        cur.executemany(
            "insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)"
            " values (%s, 'authenticated', 'authenticated', %s, '{}', '{}')",
            [(u["id"], u["email"]) for u in users],
        )
        for n, u in enumerate(users):
            messages = [
                {
                    "platform": "whatsapp",
                    "external_conversation_id": f"+3460{n:04d}{c:03d}",
                    "id": f"m-{c}",
                    "direction": "inbound",
                    "type": "text",
                    "content": f"hello from contact {c}",
                    "sent_at": time.strftime(
                        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(base - 86400 + c * 60 + n)
                    ),
                }
                for c in range(CONVERSATIONS)
            ]
            cur.execute(
                "select messaging_private.ingest_messages(%s)",
                (json.dumps({"user_id": u["id"], "messages": messages}),),
            )
        cur.execute(
            "insert into public.chat_conversation_read_markers (user_id, conversation_id, last_read_at,"
            " read_message_count) select user_id, id, last_message_at, message_count"
            " from public.chat_conversations where user_id = any(%s::uuid[])"
            " and (hashtext(id::text) & 1) = 0",
            ([u["id"] for u in users],),
        )
        cur.execute("analyze public.chat_conversations")
        cur.execute("analyze public.chat_conversation_read_markers")
    for u in users:
        u["token"] = user_token(settings.jwt_secret, u["id"], email=u["email"])
    return users


def headers(settings: Settings, token: str) -> dict[str, str]:
    return {"apikey": settings.anon_key, "Authorization": f"Bearer {token}"}


class Sides:
    def __init__(self, settings: Settings, cursor: int) -> None:
        self.settings = settings
        self.cursor = cursor
        self.rest = f"{settings.api_url}/rest/v1"

    def request(self, side: str, token: str, since: int | None = None) -> dict[str, Any]:
        if side == "changes":
            return {
                "method": "POST",
                "url": f"{self.rest}/rpc/inbox_changes",
                "json": {"since": self.cursor if since is None else since},
                "headers": headers(self.settings, token),
            }
        return {
            "method": "GET",
            "url": f"{self.rest}/chat_conversation_list",
            "params": {
                "select": LIST_SELECT,
                "last_message_at": "not.is.null",
                "order": "last_message_at.desc,id.desc",
                "limit": "50",
            },
            "headers": headers(self.settings, token),
        }


def sequential(
    client: httpx.Client, sides: Sides, users: list[dict[str, str]], n: int
) -> dict[str, Any]:
    out: dict[str, list[float]] = {"changes": [], "list_page": []}
    for i in range(n):
        u = users[i % len(users)]
        for side in ("changes", "list_page") if i % 2 == 0 else ("list_page", "changes"):
            t = time.perf_counter()
            r = client.request(**sides.request(side, u["token"]))
            out[side].append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
            if side == "changes":
                assert r.json()["conversations"] == [], "an empty poll returned rows"
            else:
                assert len(r.json()) == 50
    return {side: summary(ms) for side, ms in out.items()}


def polls_with_a_change(
    client: httpx.Client, db: psycopg.Connection, sides: Sides, users: list[dict[str, str]], n: int
) -> dict[str, Any]:
    """One new message into a user's conversation, then that user's poll: one row back."""
    ms: list[float] = []
    for i in range(n):
        u = users[(i * 7) % len(users)]
        cursor = client.post(
            **_kw(sides.request("changes", u["token"], since=None), since=None)
        ).json()["cursor"]
        db.execute(
            "select messaging_private.ingest_messages(%s)",
            (
                json.dumps(
                    {
                        "user_id": u["id"],
                        "messages": [
                            {
                                "platform": "whatsapp",
                                "external_conversation_id": f"new-{i}",
                                "id": f"n-{i}",
                                "direction": "inbound",
                                "type": "text",
                                "content": "a change",
                                "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            }
                        ],
                    }
                ),
            ),
        )
        t = time.perf_counter()
        r = client.request(**sides.request("changes", u["token"], since=cursor))
        ms.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        assert len(r.json()["conversations"]) == 1, r.text
    return summary(ms)


def _kw(req: dict[str, Any], since: int | None) -> dict[str, Any]:
    """The first call (no cursor): only a cursor back."""
    out = {k: v for k, v in req.items() if k != "method"}
    out["json"] = {} if since is None else {"since": since}
    return out


def closed_loop(
    sides: Sides, users: list[dict[str, str]], side: str, in_flight: int, seconds: float
) -> dict[str, Any]:
    """`in_flight` requests at all times (threads, one HTTP connection each), the 500 users'
    tokens in turn: what the stack serves per second, and how long each took."""
    lock = threading.Lock()
    ms: list[float] = []
    status: dict[str, int] = {}
    counter = iter(range(10**9))
    stop = time.perf_counter() + seconds

    def worker() -> None:
        with httpx.Client(timeout=30) as client:
            while time.perf_counter() < stop:
                with lock:
                    u = users[next(counter) % len(users)]
                t = time.perf_counter()
                r = client.request(**sides.request(side, u["token"]))
                took = (time.perf_counter() - t) * 1000
                with lock:
                    status[str(r.status_code)] = status.get(str(r.status_code), 0) + 1
                    if r.status_code == 200:
                        ms.append(took)

    start = time.perf_counter()
    with ThreadPoolExecutor(in_flight) as pool:
        for f in [pool.submit(worker) for _ in range(in_flight)]:
            f.result()
    wall = time.perf_counter() - start
    rate = status.get("200", 0) / wall
    return {
        "in_flight": in_flight,
        "ok_per_s": round(rate, 1),
        "users_at_one_poll_per_2s": int(rate * POLL_INTERVAL_S),
        "statuses": dict(sorted(status.items())),
        **summary(ms),
    }


def webhook_latency(
    client: httpx.Client, settings: Settings, user: dict[str, str], n: int
) -> dict[str, Any]:
    """A Telegram delivery to the function; from its answer, polls every 20 ms until the row shows."""
    functions = (read_env().get("FUNCTIONS_URL") or f"{settings.api_url}/functions/v1").rstrip("/")
    token = f"bench-live-{uuid.uuid4().hex[:12]}"
    r = client.post(
        f"{settings.api_url}/rest/v1/rpc/add_messaging_connection",
        json={
            "platform": "telegram",
            "account_identifier": f"bench_live_{uuid.uuid4().hex[:8]}_bot",
            "secrets": {"secret_token": token},
            "user_id": user["id"],
        },
        headers={
            "apikey": settings.service_role_key,
            "Authorization": f"Bearer {settings.service_role_key}",
        },
    )
    r.raise_for_status()
    connection = r.json()
    answer_ms: list[float] = []
    visible_ms: list[float] = []
    polls: list[int] = []
    for i in range(n):
        cursor = client.post(
            f"{settings.api_url}/rest/v1/rpc/inbox_changes",
            json={},
            headers=headers(settings, user["token"]),
        ).json()["cursor"]
        text = f"live {i} {uuid.uuid4().hex[:6]}"
        body = {
            "update_id": 1000 + i,
            "message": {
                "message_id": 1000 + i,
                "from": {"id": 4242, "is_bot": False, "first_name": "Bench"},
                "chat": {"id": 4242, "first_name": "Bench", "type": "private"},
                "date": int(time.time()),
                "text": text,
            },
        }
        t0 = time.perf_counter()
        w = client.post(
            f"{functions}/messaging-ingest/telegram/{connection}",
            json=body,
            headers={"x-telegram-bot-api-secret-token": token},
        )
        t_answer = time.perf_counter()
        assert w.status_code == 200, w.text
        answer_ms.append((t_answer - t0) * 1000)
        for k in range(1, 500):
            got = client.post(
                f"{settings.api_url}/rest/v1/rpc/inbox_changes",
                json={"since": cursor},
                headers=headers(settings, user["token"]),
            ).json()
            if any(c["last_message_preview"] == text for c in got["conversations"]):
                visible_ms.append((time.perf_counter() - t_answer) * 1000)
                polls.append(k)
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the delivered message never reached inbox_changes")
    return {
        "webhook_answer": summary(answer_ms),
        "answer_to_row": {**summary(visible_ms), "max_ms": round(max(visible_ms), 2)},
        "polls_needed_max": max(polls),
        "screen_worst_case_ms": round(max(visible_ms) + POLL_INTERVAL_S * 1000, 0),
    }


def note(what: str, value: Any) -> None:
    """A phase's figures on stderr as soon as they are in (the JSON comes at the end)."""
    print(f"{what}: {json.dumps(value)}", file=sys.stderr, flush=True)


def main() -> int:
    settings = load_settings(require=("anon_key", "service_role_key", "jwt_secret", "db_url"))
    print(json.dumps(run(settings), indent=2))
    return 0


def run(settings: Settings) -> dict[str, Any]:
    """The whole scenario (make bench's "live inbox" section): its figures as one dict."""
    started = time.perf_counter()
    db = psycopg.connect(settings.db_url, autocommit=True)
    users: list[dict[str, str]] = []
    try:
        t = time.perf_counter()
        users = setup(db, settings)
        setup_s = time.perf_counter() - t
        cursor = db.execute(
            "select pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        ).fetchone()[0]
        sides = Sides(settings, cursor)
        result: dict[str, Any] = {"users": len(users), "conversations_per_user": CONVERSATIONS}
        result["load_before"] = os.getloadavg()[0]
        with httpx.Client(timeout=30) as client:
            for u in users[:20]:  # warm the connections and the plans
                client.request(**sides.request("changes", u["token"]))
                client.request(**sides.request("list_page", u["token"]))
            note("setup_s", round(setup_s, 1))
            result["one_at_a_time"] = sequential(client, sides, users, 100)
            result["one_at_a_time"]["changes_with_one_row"] = polls_with_a_change(
                client, db, sides, users, 50
            )
            note("one_at_a_time", result["one_at_a_time"])
        sides.cursor = db.execute(
            "select pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        ).fetchone()[0]
        result["served"] = {}
        # alternated, twice: the machine is shared, so each side meets the same moments
        for n, side in enumerate(("changes", "list_page", "list_page", "changes")):
            for in_flight in (1, IN_FLIGHT):
                key = f"{side}_{in_flight}_in_flight" + ("_again" if n >= 2 else "")
                result["served"][key] = closed_loop(sides, users, side, in_flight, SECONDS)
                note(key, result["served"][key])
        with httpx.Client(timeout=30) as client:
            result["inbox_latency"] = webhook_latency(client, settings, users[0], 20)
            note("inbox_latency", result["inbox_latency"])
        result["load_after"] = os.getloadavg()[0]
        result["setup_s"] = round(setup_s, 1)
        result["seconds"] = round(time.perf_counter() - started, 1)
        return result
    finally:
        if users:
            db.execute(
                "delete from auth.users where id = any(%s::uuid[])", ([u["id"] for u in users],)
            )
        db.close()


if __name__ == "__main__":
    sys.exit(main())
