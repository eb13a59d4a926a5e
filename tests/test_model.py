"""Hypothesis: random batches (duplicates, shuffles, edits) against a simple model."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import BASE_TIME, check_invariants

ids = st.integers(min_value=0, max_value=40)
events = st.tuples(
    ids,
    st.integers(min_value=0, max_value=3),  # edit generation: 0 = never edited
)
batches = st.lists(st.lists(events, min_size=0, max_size=25), min_size=1, max_size=6)


def as_message(conv: str, i: int, gen: int) -> dict:
    m = {
        "platform": "signal",
        "external_conversation_id": conv,
        "id": f"h{i:02d}",
        "direction": "inbound" if i % 3 else "outbound",
        "content": f"text {i} v{gen}",
        # several messages share a timestamp, so ties are broken by id
        "sent_at": (BASE_TIME + timedelta(minutes=i // 3)).isoformat(),
    }
    if gen:
        m["edited_at"] = (BASE_TIME + timedelta(days=1, minutes=gen)).isoformat()
    return m


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=batches)
def test_store_matches_the_model(make_user, db, small_caps, batches):
    user = make_user("model")
    conv = "model"
    model: dict[str, int] = {}  # id -> newest edit generation seen
    cid = None
    for batch in batches:
        expected_inserted = len({i for i, _ in batch if f"h{i:02d}" not in model})
        out = (
            user.client.rpc(
                "ingest_messages",
                {"payload": {"messages": [as_message(conv, i, g) for i, g in batch]}},
            )
            .execute()
            .data
        )
        assert out["inserted"] == expected_inserted
        assert out["inserted"] + out["duplicates"] + out["updated"] == len(batch)
        for i, g in batch:
            key = f"h{i:02d}"
            model[key] = max(model.get(key, 0), g)
        if out["conversations"]:
            cid = out["conversations"][0]["id"]
    stored = check_invariants(db, cid) if cid else []
    assert {m["id"]: m["content"] for m in stored} == {
        k: f"text {int(k[1:])} v{g}" for k, g in model.items()
    }
