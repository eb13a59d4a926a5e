"""Hypothesis: the ingest's strategy thresholds choose paths, never answers.

Every row of messaging_private.settings marked `strategy` only chooses between paths that
must give the same answers (the live path for a few messages, the no-write answer of an
unchanged batch, counting repeated conversations at once). Each example runs one sequence
of batches over several conversations (new and existing, with repeats, edits, export copies
met by live ones, and archives: the hot-row caps are small) once with the defaults, once
with every threshold forced to 0, once with every one forced to the largest integer, and
once with a mix of the two drawn per example, each run as a user of its own, and asserts
identical answers and identical stored conversations.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import BASE_TIME, check_invariants, conversation_state

FORCED = (0, 2_147_483_647)

events = st.tuples(
    st.integers(min_value=0, max_value=19),  # conversation
    st.integers(min_value=0, max_value=24),  # message
    st.integers(min_value=0, max_value=2),  # edit generation: 0 = never edited
    st.booleans(),  # an export copy (no platform id, minute precision) instead of the live one
)
# the first batch is sent again at the end: a re-import, which an unchanged batch answers
batches = st.lists(st.lists(events, min_size=0, max_size=40), min_size=1, max_size=5).map(
    lambda seq: [*seq, seq[0]]
)


def as_message(conv: int, i: int, gen: int, export: bool) -> dict[str, Any]:
    m: dict[str, Any] = {
        "platform": "whatsapp",
        "external_conversation_id": f"+3460000{conv:04d}",
        "id": f"x{i:02d}" if export else f"wamid.{i:02d}",
        "direction": "inbound" if i % 3 else "outbound",
        "content": f"text {i}" + (f" v{gen}" if gen and not export else ""),
        "sent_at": (BASE_TIME + timedelta(minutes=i // 2, seconds=0 if export else 20)).isoformat(),
        "participant_name": f"Contact {conv}",
    }
    if export:
        m["sent_at"] = (BASE_TIME + timedelta(minutes=i // 2)).isoformat()
        m["metadata"] = {"id_source": "export", "time_precision": "minute"}
    elif gen:
        m["edited_at"] = (BASE_TIME + timedelta(days=1, minutes=gen)).isoformat()
    return m


def _answer(out: dict[str, Any]) -> dict[str, Any]:
    """An answer without the conversation ids (each run has its own user)."""
    return {
        **{k: v for k, v in out.items() if k != "conversations"},
        "conversations": [{k: v for k, v in c.items() if k != "id"} for c in out["conversations"]],
    }


def _stored(db: Any, user_id: str) -> dict[str, Any]:
    rows = db.execute(
        "select id, external_conversation_id, participant_name, person_id"
        " from public.chat_conversations where user_id = %s order by external_conversation_id",
        (user_id,),
    ).fetchall()
    out = {}
    for cid, ext, name, person in rows:
        check_invariants(db, str(cid))
        state = conversation_state(db, str(cid))
        state["chunks"] = [chunk[:6] for chunk in state["chunks"]]
        out[ext] = {**state, "participant_name": name, "person_id": person}
    return out


def _run(make_user: Any, db: Any, sequence: list[list[tuple[int, int, int, bool]]]) -> Any:
    user = make_user("strategy")
    answers = []
    for batch in sequence:
        payload = {"messages": [as_message(*e) for e in batch]}
        out = user.client.rpc("ingest_messages", {"payload": payload}).execute().data
        answers.append(_answer(out))
    return answers, _stored(db, user.id)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=batches, mixed=st.lists(st.sampled_from(FORCED), min_size=8, max_size=8))
def test_every_strategy_threshold_gives_the_same_answers_and_store(
    make_user, db, small_caps, sequence, mixed
):
    keys = [
        k
        for (k,) in db.execute(
            "select key from messaging_private.settings where strategy order by key"
        ).fetchall()
    ]
    assert 5 <= len(keys) <= len(mixed), keys
    defaults = dict(
        db.execute(
            "select key, value from messaging_private.settings where key = any(%s)", (keys,)
        ).fetchall()
    )
    expected = _run(make_user, db, sequence)
    # every threshold at 0, every one at the largest integer, and a mix drawn per example
    forcings = [dict.fromkeys(keys, FORCED[0]), dict.fromkeys(keys, FORCED[1])]
    forcings.append(dict(zip(keys, mixed[: len(keys)], strict=True)))
    try:
        for forced in forcings:
            for key, value in forced.items():
                db.execute(
                    "update messaging_private.settings set value = %s where key = %s", (value, key)
                )
            assert _run(make_user, db, sequence) == expected, forced
    finally:
        for key, value in defaults.items():
            db.execute(
                "update messaging_private.settings set value = %s where key = %s", (value, key)
            )
