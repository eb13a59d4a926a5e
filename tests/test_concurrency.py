"""Concurrent overlapping ingests end with the exact union: nothing lost, nothing twice."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

from postgrest.exceptions import APIError

from .conftest import client_for
from .helpers import check_invariants, msg


def test_parallel_overlapping_batches_store_the_union(make_user, settings, db, small_caps):
    alice = make_user("alice")
    convs = [f"conc-{i}" for i in range(4)]
    universe = [msg(c, f"{c}-{j:03d}", minutes=j) for c in convs for j in range(60)]
    rng = random.Random(11)
    batches = []
    for _ in range(16):  # each batch: a random overlapping sample, shuffled
        sample = rng.sample(universe, 40)
        rng.shuffle(sample)
        batches.append(sample)
    batches.append(universe)  # and one with everything, so the union is the universe

    def send(batch):
        # 6 at once from one user: the database runs requests_per_user of them and answers
        # 429 too_many_requests to the rest, which try again (the Python client waits the
        # Retry-After; here a shorter pause keeps the test quick)
        client = client_for(settings, settings.anon_key, alice.token)
        for _ in range(200):
            try:
                return (
                    client.rpc("ingest_messages", {"payload": {"messages": batch}}).execute().data
                )
            except APIError as err:
                if err.hint != "too_many_requests":
                    raise
                time.sleep(0.05)
        raise AssertionError("still refused after 200 tries")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(send, batches))

    assert sum(r["inserted"] for r in results) == len(universe)
    assert sum(r["inserted"] + r["duplicates"] for r in results) == sum(len(b) for b in batches)
    ids = db.execute(
        "select id, external_conversation_id from chat_conversations where user_id = %s",
        (alice.id,),
    ).fetchall()
    assert sorted(e for _, e in ids) == convs
    stored = set()
    for cid, _ in ids:
        stored |= {m["id"] for m in check_invariants(db, str(cid))}
    assert stored == {m["id"] for m in universe}
