"""Timeline bench: a page of one person's timeline through HTTP, against reading it per conversation.

One bench user, one person with 50 conversations (four platforms) and 100,000 messages at
scale 1 (2,000 a conversation, interleaved in time, most of them in archive chunks).
Through the API gateway as that signed-in user:

- side "timeline": one `person_timeline` call per page (50 messages), the newest page, a
  page deep in the history (before a cursor half way back) and a search within the person;
- side "per_conversation" (the baseline): what the Person page would otherwise do, one
  `get_conversation_messages` call per conversation (50 calls of 50 messages, before the
  same time), merged and cut to 50 in the client.

The two sides are checked to return the same page, then timed in alternation; p50 and p95
in ms are reported, with the ratio per_conversation / timeline of the p50s.

    python -m bench.timeline [--scale 0.1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import psycopg

from crm_messaging.config import Settings, load_settings
from devstack.tokens import user_token

CONVERSATIONS = 50
PLATFORMS = ("whatsapp", "telegram", "signal", "wechat")
PAGE = 50
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _seed(db: psycopg.Connection, uid: str, person: str, per_conversation: int) -> None:
    """per_conversation messages in each of the person's 50 conversations, 10,000 a batch."""
    batch: list[dict[str, Any]] = []
    for i in range(per_conversation):
        for c in range(CONVERSATIONS):
            batch.append(
                {
                    "platform": PLATFORMS[c % len(PLATFORMS)],
                    "external_conversation_id": f"bench-timeline-{c:02d}",
                    "person_id": person,
                    "id": f"c{c:02d}-{i:05d}",
                    "direction": "outbound" if (i + c) % 3 == 0 else "inbound",
                    "content": f"message {i} of conversation {c}: pedido {i * 7 + c} talla",
                    "sent_at": (START + timedelta(minutes=i * 60 + c)).isoformat(),
                }
            )
            if len(batch) == 10_000:
                db.execute(
                    "select messaging_private.ingest_messages(%s::jsonb)",
                    (json.dumps({"user_id": uid, "messages": batch}),),
                )
                batch = []
    if batch:
        db.execute(
            "select messaging_private.ingest_messages(%s::jsonb)",
            (json.dumps({"user_id": uid, "messages": batch}),),
        )
    db.execute("vacuum analyze public.chat_conversations")
    db.execute("vacuum analyze public.chat_conversation_archives")


class Reader:
    def __init__(self, settings: Settings, uid: str, person: str) -> None:
        self.person = person
        self.http = httpx.Client(
            base_url=settings.api_url.rstrip("/"),
            headers={
                "apikey": settings.anon_key,
                "Authorization": f"Bearer {user_token(settings.jwt_secret, uid, ttl_seconds=3600)}",
            },
            timeout=60,
        )
        r = self.http.get(
            "/rest/v1/chat_conversation_list", params={"select": "id", "person_id": f"eq.{person}"}
        )
        r.raise_for_status()
        self.conversations = [row["id"] for row in r.json()]

    def _post(self, rpc: str, body: dict[str, Any]) -> Any:
        r = self.http.post(f"/rest/v1/rpc/{rpc}", json=body)
        if r.status_code != 200:
            raise RuntimeError(f"{rpc}: HTTP {r.status_code} {r.text[:300]}")
        return r.json()

    def timeline(self, before: str | None = None, query: str | None = None) -> list[str]:
        body: dict[str, Any] = {"person_id": self.person, "max_count": PAGE}
        if before:
            body["before"] = before
        if query:
            body["query"] = query
        page = self._post("person_timeline", body)
        return [f"{i['conversation_id']}/{i['message']['id']}" for i in page["messages"]]

    def cursor_of(self, depth: int) -> str:
        """The cursor of the message `depth` pages back (read by the timeline itself)."""
        cursor = None
        for _ in range(depth):
            cursor = self._post(
                "person_timeline",
                {
                    "person_id": self.person,
                    "max_count": PAGE,
                    **({"before": cursor} if cursor else {}),
                },
            )["older"]
        assert cursor
        return str(cursor)

    def per_conversation(self, before_at: str | None = None) -> list[str]:
        """The same page from get_conversation_messages, one call per conversation."""
        got = []
        for conv in self.conversations:
            body: dict[str, Any] = {"conversation_id": conv, "max_count": PAGE}
            if before_at:
                body["before_sent_at"] = before_at
            for m in self._post("get_conversation_messages", body):
                got.append((m["sent_at"], conv, m["id"]))
        got.sort(
            key=lambda k: (datetime.fromisoformat(k[0].replace("Z", "+00:00")), k[1], k[2].encode())
        )
        return [f"{conv}/{mid}" for _, conv, mid in got[-PAGE:]]


def _percentiles(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=20, method="inclusive")
    return {"p50": round(statistics.median(values), 2), "p95": round(q[18], 2), "n": len(values)}


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def run(settings: Settings, scale: float, log: Any = print, calls: int = 40) -> dict[str, Any]:
    per_conversation = max(20, int(2000 * scale))
    db = psycopg.connect(settings.db_url, autocommit=True)
    uid = str(uuid.uuid4())
    try:
        db.execute(
            "insert into auth.users (id, email) values (%s, %s)", (uid, f"bench-{uid[:8]}@bench")
        )
        person = str(
            db.execute(
                "insert into public.people (user_id, full_name) values (%s, 'Bench Timeline') returning id",
                (uid,),
            ).fetchone()[0]  # type: ignore[index]
        )
        log(
            f"timeline: seeding {CONVERSATIONS * per_conversation:,} messages in {CONVERSATIONS} conversations"
        )
        _seed(db, uid, person, per_conversation)
        reader = Reader(settings, uid, person)
        deep = reader.cursor_of(max(1, CONVERSATIONS * per_conversation // PAGE // 2))
        deep_at = deep.split("|", 1)[0]
        # the same page either way (the deep page: the cursor is a page's oldest message, so
        # the baseline asks for what is older than its time, and the cursor message's own
        # time holds only that message)
        assert reader.timeline() == reader.per_conversation(), "the newest pages differ"
        assert reader.timeline(deep) == reader.per_conversation(deep_at), "the deep pages differ"
        sides = {
            "timeline.newest": lambda: reader.timeline(),
            "per_conversation.newest": lambda: reader.per_conversation(),
            "timeline.deep": lambda: reader.timeline(deep),
            "per_conversation.deep": lambda: reader.per_conversation(deep_at),
            "timeline.search": lambda: reader.timeline(query="pedido"),
        }
        times: dict[str, list[float]] = {k: [] for k in sides}
        for fn in sides.values():
            fn()  # warm up
        names = list(sides)
        for rep in range(calls):
            for k in names if rep % 2 == 0 else reversed(names):
                times[k].append(_timed(sides[k]))
        out: dict[str, Any] = {
            "messages": CONVERSATIONS * per_conversation,
            "conversations": CONVERSATIONS,
            "chunks": db.execute(
                "select count(*) from public.chat_conversation_archives where user_id = %s", (uid,)
            ).fetchone()[0],  # type: ignore[index]
        }
        for k, v in times.items():
            side, page = k.split(".")
            out.setdefault(side, {})[page] = _percentiles(v)
        out["speedup"] = {
            page: round(out["per_conversation"][page]["p50"] / out["timeline"][page]["p50"], 2)
            for page in ("newest", "deep")
        }
        reader.http.close()
        return out
    finally:
        db.execute("delete from auth.users where id = %s", (uid,))
        db.close()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.timeline", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="1: 100,000 messages")
    parser.add_argument("--calls", type=int, default=40, help="timed calls per side and page")
    args = parser.parse_args()
    settings = load_settings(require=("anon_key", "jwt_secret", "db_url"))
    started = time.monotonic()
    result = run(
        settings,
        args.scale,
        lambda s: print(f"[{time.monotonic() - started:4.0f} s] {s}"),
        args.calls,
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
