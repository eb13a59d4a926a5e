"""Bad input through HTTP: every payload refused with a readable 4xx, nothing written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from crm_messaging.contract import contract

from .helpers import msg

GOOD = msg("bad-input-conv", "ok-1")


def with_msg(**changes):
    m = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            m.pop(key, None)
        else:
            m[key] = value
    return {"messages": [m]}


def _nested(levels: int) -> dict:
    """metadata that nests `levels` objects deep (the metadata object itself is level 1)."""
    inner: dict = {"leaf": True}
    for _ in range(levels - 1):
        inner = {"k": inner}
    return inner


# (name, payload or raw body, expected SQLSTATE, a fragment the message must contain)
CORPUS = [
    ("payload not an object", [1, 2], "22023", "payload: must be a JSON object"),
    ("payload a string", "messages", "22023", "payload"),
    ("messages missing", {}, "22023", "messages: required"),
    ("messages an object", {"messages": {"id": "x"}}, "22023", "must be an array"),
    ("messages a string", {"messages": "hi"}, "22023", "must be an array"),
    ("message not an object", {"messages": [42]}, "22023", "messages[0]: must be an object"),
    ("message null", {"messages": [None]}, "22023", "messages[0]: must be an object"),
    ("unknown top-level key", {"messages": [GOOD], "owner": "x"}, "22023", "owner: unknown field"),
    ("unknown message key", with_msg(colour="red"), "22023", "messages[0].colour: unknown field"),
    ("id missing", with_msg(id=...), "22023", "messages[0].id: required"),
    ("id a number", with_msg(id=12), "22023", "messages[0].id: must be a string"),
    ("id empty", with_msg(id="  "), "22023", "messages[0].id: must not be empty"),
    ("id 10 KB", with_msg(id="x" * 10_000), "22023", "messages[0].id: longer than"),
    (
        "conversation missing",
        with_msg(external_conversation_id=...),
        "22023",
        "external_conversation_id: required",
    ),
    (
        "conversation an object",
        with_msg(external_conversation_id={"a": 1}),
        "22023",
        "must be a string",
    ),
    (
        "platform unknown",
        with_msg(platform="myspace"),
        "22023",
        "messages[0].platform: must be one of",
    ),
    ("platform missing everywhere", with_msg(platform=...), "22023", "platform: required"),
    (
        "top platform unknown",
        {"platform": "icq", "messages": [GOOD]},
        "22023",
        "platform: must be one of",
    ),
    ("direction unknown", with_msg(direction="sideways"), "22023", "messages[0].direction"),
    ("direction missing", with_msg(direction=...), "22023", "messages[0].direction: required"),
    ("type unknown", with_msg(type="hologram"), "22023", "messages[0].type"),
    ("content a number", with_msg(content=5), "22023", "messages[0].content: must be a string"),
    ("content 70 KB", with_msg(content="a" * 70_000), "22023", "messages[0].content: longer than"),
    ("sent_at missing", with_msg(sent_at=...), "22023", "messages[0].sent_at: required"),
    ("sent_at no offset", with_msg(sent_at="2026-03-02T09:00:00"), "22023", "with an offset"),
    (
        "sent_at impossible date",
        with_msg(sent_at="2026-02-30T09:00:00Z"),
        "22023",
        "not a real date",
    ),
    ("sent_at 25 o'clock", with_msg(sent_at="2026-03-02T25:00:00Z"), "22023", "not a real date"),
    (
        "sent_at Feb 29 of a common year",
        with_msg(sent_at="2025-02-29T09:00:00Z"),
        "22023",
        "not a real date",
    ),
    ("sent_at minute 60", with_msg(sent_at="2026-03-02T09:60:00Z"), "22023", "not a real date"),
    (
        "sent_at offset +16:00",
        with_msg(sent_at="2026-03-02T09:00:00+16:00"),
        "22023",
        "not a real date",
    ),
    ("sent_at month 00", with_msg(sent_at="2026-00-10T09:00:00Z"), "22023", "not a real date"),
    ("sent_at a number", with_msg(sent_at=1767000000), "22023", "must be an ISO 8601 string"),
    ("sent_at words", with_msg(sent_at="yesterday"), "22023", "not an ISO 8601 timestamp"),
    ("sent_at year 1900", with_msg(sent_at="1900-01-01T00:00:00Z"), "22023", "out of range"),
    ("sent_at far future", with_msg(sent_at="2999-01-01T00:00:00Z"), "22023", "out of range"),
    ("edited_at garbage", with_msg(edited_at="later"), "22023", "messages[0].edited_at"),
    (
        "edited_at before sent_at",
        with_msg(sent_at="2026-03-02T10:00:00Z", edited_at="2026-03-02T09:59:59Z"),
        "22023",
        'messages[0].edited_at: "2026-03-02T09:59:59Z" is earlier than sent_at',
    ),
    ("edited_at far future", with_msg(edited_at="2999-01-01T00:00:00Z"), "22023", "out of range"),
    (
        "edited_at two days ahead",
        with_msg(edited_at=(datetime.now(timezone.utc) + timedelta(days=2)).isoformat()),
        "22023",
        "messages[0].edited_at",
    ),
    (
        "sent_at two days ahead",
        with_msg(sent_at=(datetime.now(timezone.utc) + timedelta(days=2)).isoformat()),
        "22023",
        "messages[0].sent_at",
    ),
    (
        "metadata 33 levels deep",
        with_msg(metadata=_nested(33)),
        "22023",
        "messages[0].metadata: nested deeper than 32 levels",
    ),
    ("metadata a list", with_msg(metadata=[1]), "22023", "messages[0].metadata: must be an object"),
    (
        "metadata too big",
        with_msg(metadata={"k": "v" * 20_000}),
        "22023",
        "metadata: longer than 16384 characters as JSON",
    ),
    (
        "conversation_type unknown",
        with_msg(conversation_type="crowd"),
        "22023",
        "conversation_type",
    ),
    ("person_id not a uuid", with_msg(person_id="bob"), "22023", "person_id: must be a UUID"),
    (
        "connection_id not a uuid",
        {"connection_id": "x", "messages": [GOOD]},
        "22023",
        "connection_id: must be a UUID",
    ),
    ("too many messages", {"messages": [GOOD] * 10_001}, "22023", "at most 10000"),
    (
        "one bad among good",
        {"messages": [GOOD, {**GOOD, "id": "ok-2", "sent_at": "nope"}]},
        "22023",
        "messages[1].sent_at",
    ),
    ("NUL in content", with_msg(content="a\u0000b"), "22P05", ""),
]


def snapshot(db):
    return db.execute(
        "select (select count(*) from chat_conversations), (select count(*) from chat_conversation_archives),"
        " (select coalesce(sum(message_count), 0) from chat_conversations),"
        " (select count(*) from messaging_connections)"
    ).fetchone()


@pytest.fixture
def alice_http(make_user, settings):
    user = make_user("alice")
    return httpx.Client(
        base_url=f"{settings.api_url}/rest/v1",
        headers={"apikey": settings.anon_key, "Authorization": f"Bearer {user.token}"},
        timeout=60,
    )


@pytest.mark.parametrize("name, payload, code, fragment", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_payload_is_refused_and_changes_nothing(alice_http, db, name, payload, code, fragment):
    before = snapshot(db)
    resp = alice_http.post("/rpc/ingest_messages", json={"payload": payload})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == code
    assert fragment in body["message"]
    if code == "22023":  # the store's own refusals name their kind (PostgreSQL's own do not)
        assert contract().refusal(body["hint"]) is not None, body
    assert snapshot(db) == before


def test_all_problems_are_named_at_once(alice_http):
    payload = {
        "messages": [{**GOOD, "id": 1}, {**GOOD, "direction": "up", "sent_at": "2026-13-01T00:00Z"}]
    }
    message = alice_http.post("/rpc/ingest_messages", json={"payload": payload}).json()["message"]
    for fragment in ("messages[0].id", "messages[1].direction", "messages[1].sent_at"):
        assert fragment in message


def test_broken_json_is_a_400(alice_http):
    resp = alice_http.post(
        "/rpc/ingest_messages",
        content=b'{"payload": {"messages": [',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 400


def _body(payload) -> bytes:
    return json.dumps({"payload": payload}).encode()


DEEP = 20_000
# (name, raw request body, expected HTTP status): what only raw HTTP can send, or what
# fails before the function runs; each must be a readable 4xx, never a 500.
HOSTILE = [
    # 20,000 levels: PostgreSQL's own JSON parser gives up first (54001 "stack depth limit
    # exceeded", which PostgREST answers 413) before ingest_messages can say 22023; checked
    # with its code below. The Python client refuses anything deeper than 32 before sending.
    (
        "deeply nested metadata",
        (
            '{"payload":{"messages":[{"metadata":' + '{"a":' * DEEP + "1" + "}" * DEEP + "}]}}"
        ).encode(),
        413,
    ),
    ("lone surrogate", b'{"payload":{"messages":[{"content":"\\ud800"}]}}', 400),
    ("NUL escape", b'{"payload":{"messages":[{"content":"a\\u0000b"}]}}', 400),
    ("not UTF-8", b'{"payload":{"messages":[{"content":"\xff\xfe"}]}}', 400),
    ("truncated JSON", b'{"payload":{"messages":[', 400),
    ("JSON with trailing garbage", b'{"payload":{}} trailing', 400),
    ("empty body (no arguments: no such function)", b"", 404),
    ("payload null", b'{"payload":null}', 400),
    ("messages null", _body({"messages": None}), 400),
    ("message an array", _body({"messages": [[1, 2]]}), 400),
    ("message a bool", _body({"messages": [True]}), 400),
    ("platform a number", _body({"platform": 3, "messages": [GOOD]}), 400),
    ("sent_at year 1", _body(with_msg(sent_at="0001-01-01T00:00:00Z")), 400),
    ("sent_at year 9999", _body(with_msg(sent_at="9999-12-31T23:59:59Z")), 400),
    ("sent_at six-digit year", _body(with_msg(sent_at="275760-09-13T00:00:00Z")), 400),
    ("content of 1 MB", _body(with_msg(content="x" * 1_000_000)), 400),
    ("metadata nested list of lists", _body(with_msg(metadata=[[[[]]]])), 400),
    ("sender_name an object", _body(with_msg(sender_name={"first": "a"})), 400),
    ("reply_to_id a list", _body(with_msg(reply_to_id=["a"])), 400),
    (
        "user_id for someone else",
        _body({"user_id": "00000000-0000-4000-a000-000000000b0b", "messages": [GOOD]}),
        403,
    ),
    ("payload a number", b'{"payload": 42}', 400),
]


@pytest.mark.parametrize("name, body, status", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_body_is_a_readable_4xx_and_changes_nothing(alice_http, db, name, body, status):
    before = snapshot(db)
    resp = alice_http.post(
        "/rpc/ingest_messages", content=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == status, resp.text[:300]
    assert resp.json()["message"]
    assert snapshot(db) == before
    # and the API and its database still serve the same user right after it
    after = alice_http.post("/rpc/ingest_messages", json={"payload": {"messages": []}})
    assert after.status_code == 200, after.text[:300]
    assert after.json() == {
        "inserted": 0,
        "duplicates": 0,
        "updated": 0,
        "matched": 0,
        "conversations": [],
    }


def test_sql_looking_text_is_stored_verbatim_and_harms_nothing(alice_http, db):
    text = "'); drop table public.people; -- %s \\x00 $$ select pg_sleep(10) $$"
    resp = alice_http.post(
        "/rpc/ingest_messages", json={"payload": with_msg(id="sql-1", content=text)}
    )
    assert resp.status_code == 200, resp.text
    assert db.execute("select to_regclass('public.people') is not null").fetchone() == (True,)
    stored = db.execute(
        "select m ->> 'content' from chat_conversations c, jsonb_array_elements(c.messages) m where m ->> 'id' = 'sql-1'"
    ).fetchone()
    assert stored == (text,)


def test_metadata_32_levels_deep_is_stored_and_reads_back(alice_http, db):
    resp = alice_http.post(
        "/rpc/ingest_messages", json={"payload": with_msg(id="deep-32", metadata=_nested(32))}
    )
    assert resp.status_code == 200, resp.text
    stored = db.execute(
        "select m -> 'metadata' from chat_conversations c, jsonb_array_elements(c.messages) m"
        " where m ->> 'id' = 'deep-32'"
    ).fetchone()
    assert stored == (_nested(32),)


def test_metadata_20000_deep_is_refused_by_postgresql_with_54001(alice_http, db):
    """What a raw HTTP caller sees when PostgreSQL's JSON parser refuses before the function."""
    before = snapshot(db)
    body = '{"payload":{"messages":[{"metadata":' + "[" * DEEP + "]" * DEEP + "}]}}"
    resp = alice_http.post(
        "/rpc/ingest_messages", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 413
    assert resp.json()["code"] == "54001"
    assert snapshot(db) == before


def test_metadata_8000_deep_is_22023_not_stored(alice_http, db):
    """Stored, it could not be read back by Python (RecursionError); now refused up front."""
    before = snapshot(db)
    good = json.dumps(GOOD)[:-1]
    body = (
        '{"payload":{"messages":[' + good + ',"metadata":{"a":' + "[" * 7999 + "]" * 7999 + "}}]}}"
    )
    resp = alice_http.post(
        "/rpc/ingest_messages", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400, resp.text[:300]
    assert resp.json()["code"] == "22023"
    assert "messages[0].metadata: nested deeper than 32 levels" in resp.json()["message"]
    assert snapshot(db) == before
