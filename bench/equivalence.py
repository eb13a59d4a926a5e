"""Before timing anything: the two sides answer the same calls the same way.

A benchmark against a baseline that does less is no comparison, so every run first sends
both sides the same small batches (new messages, a repeat inside the batch, a re-sent id,
an edit that moves the newest message earlier, a follow-up batch) and the same invalid
batches, and stops if their answers, their stored messages or their inbox rows differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg

from .sides import BASELINE, SIDES, STORE, Side, SignedIn

Log = Callable[[str], None]


def _msg(i: int, **kw: Any) -> dict[str, Any]:
    m = {
        "platform": "telegram",
        "external_conversation_id": "eq-1",
        "id": f"m{i}",
        "direction": "inbound" if i % 2 else "outbound",
        "type": "text",
        "content": f"Mensaje número {i} café",
        "sent_at": f"2025-03-0{1 + i % 5}T10:0{i % 10}:00+02:00",
        "sender_name": "Ana",
    }
    m.update(kw)
    return m


BATCHES: list[list[dict[str, Any]]] = [
    [_msg(i) for i in range(8)] + [_msg(3, content="repeat inside the batch")],
    [_msg(2), _msg(9, type="image", content=None, media_url="https://example.org/a.jpg")],
    # an edit that moves the newest message earlier, and one with metadata
    [_msg(9, sent_at="2025-03-01T08:00:00Z", edited_at="2025-03-06T09:00:00Z", content="edited")],
    [_msg(10, metadata={"status": "read", "n": [1, 2, {"k": "v"}]}, reply_to_id="m4")],
]
INVALID: list[tuple[str, dict[str, Any]]] = [
    ("unknown platform", _msg(1, platform="myspace")),
    ("missing id", {k: v for k, v in _msg(1).items() if k != "id"}),
    ("direction outside the vocabulary", _msg(1, direction="sideways")),
    ("type outside the vocabulary", _msg(1, type="hologram")),
    ("a date that does not exist", _msg(1, sent_at="2025-02-30T10:00:00Z")),
    ("a time without an offset", _msg(1, sent_at="2025-02-03T10:00:00")),
    ("metadata not an object", _msg(1, metadata=[1, 2])),
    ("an unknown field", _msg(1, colour="blue")),
]
# the contract's newer rules (docs/contract.md): the baseline has them; a store without them yet is noted, not stopped
NEWER_RULES: list[tuple[str, dict[str, Any]]] = [
    ("edited_at before sent_at", _msg(1, edited_at="2025-01-01T00:00:00Z")),
    ("edited_at days in the future", _msg(1, edited_at="2099-01-01T00:00:00Z")),
    ("metadata 40 levels deep", _msg(1, metadata=json.loads('{"a":' * 40 + "1" + "}" * 40))),
]

ANSWER_KEYS = ("inserted", "duplicates", "updated")
INBOX_KEYS = ("message_count", "first_message_at", "last_message_at", "last_message_preview")


def _refused(s: SignedIn, side: Side, uid: str, m: dict[str, Any]) -> str | None:
    """The SQLSTATE a side refuses a one-message batch with, or None if it stores it."""
    try:
        s.ingest(side, uid, json.dumps({"messages": [m]}))
    except psycopg.Error as err:
        return err.sqlstate
    return None


def check(s: SignedIn, log: Log) -> list[str]:
    """Raises AssertionError where the comparison would be unfair; returns notes on where the
    store falls short of the contract's newer rules (the baseline follows them)."""
    notes: list[str] = []
    users = {side.name: s.new_user() for side in SIDES}
    try:
        for n, batch in enumerate(BATCHES):
            payload = json.dumps({"messages": batch}, ensure_ascii=False)
            got = {side.name: s.ingest(side, users[side.name], payload) for side in SIDES}
            a, b = ({k: got[side.name][k] for k in ANSWER_KEYS} for side in SIDES)
            if a != b:
                raise AssertionError(f"batch {n}: the store answers {a}, the baseline {b}")
        pages = {
            side.name: s.page(
                side, users[side.name], s.conversation_id(side, users[side.name], "eq-1")
            )
            for side in SIDES
        }
        if pages["store"] != pages["baseline"]:
            raise AssertionError(
                "the stored messages differ:\n store    "
                + json.dumps(pages["store"], ensure_ascii=False)
                + "\n baseline "
                + json.dumps(pages["baseline"], ensure_ascii=False)
            )
        inbox = {}
        for side in SIDES:
            row = s.admin.execute(
                f"select {', '.join(INBOX_KEYS)} from {side.conversations} where user_id = %s",
                (users[side.name],),
            ).fetchone()
            inbox[side.name] = row
        if inbox["store"] != inbox["baseline"]:
            notes.append(
                "after an edit moving the newest message earlier, the inbox rows differ: store "
                + ", ".join(map(str, inbox["store"] or ()))
                + "; baseline "
                + ", ".join(map(str, inbox["baseline"] or ()))
            )
        for what, m in INVALID:
            codes = {side.name: _refused(s, side, users[side.name], m) for side in SIDES}
            if codes["store"] != "22023" or codes["baseline"] != "22023":
                raise AssertionError(
                    f"{what}: store {codes['store']}, baseline {codes['baseline']} (want 22023)"
                )
        for what, m in NEWER_RULES:
            codes = {side.name: _refused(s, side, users[side.name], m) for side in SIDES}
            if codes["baseline"] != "22023":
                raise AssertionError(
                    f"{what}: the baseline answers {codes['baseline']} (want 22023)"
                )
            if codes["store"] != "22023":
                notes.append(
                    f"the store does not refuse {what} (answers {codes['store'] or 'stored'})"
                )
        log("equivalence: same answers, same stored messages, same refusals of invalid batches")
        for note in notes:
            log(f"  note: {note}")
        return notes
    finally:
        for side in (STORE, BASELINE):
            s.drop_user(users[side.name])
