"""Load: 8 concurrent writers x 20,000 messages into 50 overlapping conversations, with
readers paging threads at the same time (make test-reliability)."""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from datetime import datetime

import pytest

from crm_messaging.client import MessagingClient

from ..conftest import client_for
from ..helpers import check_invariants, msg

WRITERS = 8
PER_WRITER = int(os.environ.get("LOAD_MESSAGES", "20000"))
CONVERSATIONS = 50


def _key(m):
    return (datetime.fromisoformat(m["sent_at"].replace("Z", "+00:00")), m["id"].encode())


@pytest.mark.slow
def test_concurrent_writers_and_readers(settings, make_user, db, capsys):
    alice = make_user("alice")
    per_conv = PER_WRITER * WRITERS // CONVERSATIONS // 2  # so writers overlap about twice
    universe = [
        msg(f"load{c:02d}", f"L{c:02d}-{i:05d}", minutes=i)
        for c in range(CONVERSATIONS)
        for i in range(per_conv)
    ]
    latencies: list[float] = []
    errors: list[BaseException] = []
    problems: list[str] = []
    done = threading.Event()
    sent = {"n": 0}
    lock = threading.Lock()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        mine = rng.sample(universe, min(PER_WRITER, len(universe)))
        client = MessagingClient(client_for(settings, settings.service_role_key), user_id=alice.id)

        def timed_rpc(name, params, _rpc=client.rpc):
            start = time.perf_counter()
            try:
                return _rpc(name, params)
            finally:
                with lock:
                    latencies.append((time.perf_counter() - start) * 1000)

        client.rpc = timed_rpc  # type: ignore[method-assign]
        try:
            summary = client.ingest(mine, batch_size=500)
            with lock:
                sent["n"] += summary.inserted + summary.duplicates
        except BaseException as exc:
            errors.append(exc)

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        client = client_for(settings, settings.anon_key, alice.token)
        while not done.is_set():
            rows = client.table("chat_conversation_list").select("id").execute().data
            if not rows:
                continue
            cid = rng.choice(rows)["id"]
            page = (
                client.rpc("get_conversation_messages", {"conversation_id": cid, "max_count": 200})
                .execute()
                .data
            )
            keys = [_key(m) for m in page]
            if keys != sorted(keys, reverse=True):
                problems.append(f"page of {cid} out of order")
            if len({m["id"] for m in page}) != len(page):
                problems.append(f"page of {cid} repeats a message")

    start = time.perf_counter()
    writers = [threading.Thread(target=writer, args=(s,)) for s in range(WRITERS)]
    readers = [threading.Thread(target=reader, args=(100 + s,)) for s in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    elapsed = time.perf_counter() - start
    done.set()
    for t in readers:
        t.join()

    assert errors == [], errors[:3]
    assert problems == [], problems[:5]
    assert sent["n"] == WRITERS * min(PER_WRITER, len(universe))
    expected = {
        m["id"]
        for rng_seed in range(WRITERS)
        for m in random.Random(rng_seed).sample(universe, min(PER_WRITER, len(universe)))
    }
    stored: set[str] = set()
    for (cid,) in db.execute(
        "select id from chat_conversations where user_id = %s", (alice.id,)
    ).fetchall():
        stored |= {m["id"] for m in check_invariants(db, str(cid))}
    assert stored == expected
    latencies.sort()
    with capsys.disabled():
        print(
            f"\nload: {sent['n']:,} messages from {WRITERS} writers in {elapsed:.1f} s"
            f" ({sent['n'] / elapsed:,.0f} msg/s); call p50 {statistics.median(latencies):.0f} ms,"
            f" p99 {latencies[int(len(latencies) * 0.99) - 1]:.0f} ms; {len(stored):,} distinct stored"
        )
