"""The live inbox's read: inbox_changes(since) and the read markers, against the real stack.

A poll hands back a cursor (the oldest transaction still running at its snapshot); the
next poll returns the caller's inbox rows whose conversation or read marker a transaction
at or after that cursor wrote: new conversations, new messages, read and unread. Nothing
changed: nothing returned. A write that commits after a later one (out of order) still
shows in the next poll.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from postgrest.exceptions import APIError

from .helpers import msg


def changes(user, since: int | None) -> dict[str, Any]:
    args = {} if since is None else {"since": since}
    return user.client.rpc("inbox_changes", args).execute().data


def ingest(user, *messages: dict[str, Any]) -> dict[str, Any]:
    return (
        user.client.rpc("ingest_messages", {"payload": {"messages": list(messages)}}).execute().data
    )


def ids(answer: dict[str, Any]) -> list[str]:
    return [c["id"] for c in answer["conversations"]]


def test_first_call_is_a_cursor_and_the_unread_count(make_user):
    alice = make_user("alice")
    first = changes(alice, None)
    assert first["conversations"] == [] and first["reload"] is False
    assert isinstance(first["cursor"], int) and first["unread_conversations"] == 0
    ingest(alice, msg("c1"), msg("c2"))
    assert changes(alice, None)["unread_conversations"] == 2


def test_nothing_changed_returns_nothing(make_user):
    alice = make_user("alice")
    ingest(alice, msg("c1"))
    cursor = changes(alice, None)["cursor"]
    again = changes(alice, cursor)
    assert again["conversations"] == [] and again["unread_conversations"] is None
    assert changes(alice, again["cursor"])["conversations"] == []


def test_new_conversation_new_message_and_their_order(make_user):
    alice = make_user("alice")
    ingest(alice, msg("old", minutes=1, content="first"))
    cursor = changes(alice, None)["cursor"]

    ingest(alice, msg("new", minutes=5, content="a new contact"))
    got = changes(alice, cursor)
    (row,) = got["conversations"]
    assert (
        row["external_conversation_id"] == "new" and row["last_message_preview"] == "a new contact"
    )
    assert row["read"] == [] and row["person"] is None and "messages" not in row
    assert got["unread_conversations"] == 2

    ingest(alice, msg("old", minutes=9, content="newer than both"))
    got = changes(alice, got["cursor"])
    assert [c["external_conversation_id"] for c in got["conversations"]] == ["old"]
    assert got["conversations"][0]["last_message_preview"] == "newer than both"
    assert got["conversations"][0]["message_count"] == 2

    # two changes at once come newest first, as the inbox orders them
    cursor = got["cursor"]
    ingest(alice, msg("new", minutes=20, content="x"), msg("old", minutes=30, content="y"))
    assert [c["external_conversation_id"] for c in changes(alice, cursor)["conversations"]] == [
        "old",
        "new",
    ]


def test_the_rows_have_the_list_columns(make_user):
    alice = make_user("alice")
    ingest(alice, msg("c1"))
    listed = alice.client.table("chat_conversation_list").select("*").execute().data[0]
    row = changes(alice, 0)["conversations"][0]
    assert {k: row[k] for k in listed} == listed
    assert set(row) == set(listed) | {"person", "read"}


def test_read_and_unread_reach_the_changes_with_the_unread_count(make_user):
    alice = make_user("alice")
    out = ingest(
        alice,
        msg("c1", "i1", minutes=1, content="hi"),
        msg("c1", "i2", minutes=2, content="are you there?"),
        msg("c1", "o1", minutes=3, direction="outbound", content="yes"),
    )
    cid = out["conversations"][0]["id"]
    cursor = changes(alice, None)["cursor"]

    read_at = alice.client.rpc("mark_conversation_read", {"conversation_id": cid}).execute().data
    got = changes(alice, cursor)
    (row,) = got["conversations"]
    assert row["read"] == [{"last_read_at": read_at, "read_message_count": 3}]
    assert got["unread_conversations"] == 0

    # unread: back to just before the newest inbound message (i2): i2 and o1 count
    unread_at = (
        alice.client.rpc("mark_conversation_unread", {"conversation_id": cid}).execute().data
    )
    got = changes(alice, got["cursor"])
    (row,) = got["conversations"]
    assert unread_at == row["read"][0]["last_read_at"] == "2026-03-02T09:01:59.999999+00:00"
    assert row["message_count"] - row["read"][0]["read_message_count"] == 2
    assert got["unread_conversations"] == 1

    # read again: forward to the newest message
    alice.client.rpc("mark_conversation_read", {"conversation_id": cid}).execute()
    row = changes(alice, got["cursor"])["conversations"][0]
    assert row["read"][0]["read_message_count"] == 3
    assert row["read"][0]["last_read_at"] == read_at


def test_unread_without_an_inbound_message_marks_the_last_one(make_user):
    alice = make_user("alice")
    cid = ingest(alice, msg("c1", "o1", minutes=4, direction="outbound"))["conversations"][0]["id"]
    at = alice.client.rpc("mark_conversation_unread", {"conversation_id": cid}).execute().data
    assert at == "2026-03-02T09:03:59.999999+00:00"
    row = changes(alice, 0)["conversations"][0]
    assert row["read"][0]["read_message_count"] == 0


def test_unread_is_own_rows_only_and_changes_nothing_of_another(make_user, db, settings):
    alice, bob = make_user("alice"), make_user("bob")
    cid = ingest(alice, msg("c1"))["conversations"][0]["id"]
    alice.client.rpc("mark_conversation_read", {"conversation_id": cid}).execute()
    before = db.execute(
        "select last_read_at, read_message_count, change_xid from public.chat_conversation_read_markers"
        " where conversation_id = %s",
        (cid,),
    ).fetchall()
    for fn in ("mark_conversation_unread", "mark_conversation_read"):
        r = httpx.post(
            f"{settings.api_url}/rest/v1/rpc/{fn}",
            json={"conversation_id": cid},
            headers={"apikey": settings.anon_key, "Authorization": f"Bearer {bob.token}"},
        )
        assert r.status_code == 404, r.text
        assert (r.json()["code"], r.json()["hint"]) == ("P0002", "conversation_not_found")
    after = db.execute(
        "select last_read_at, read_message_count, change_xid from public.chat_conversation_read_markers"
        " where conversation_id = %s",
        (cid,),
    ).fetchall()
    assert after == before
    # bob sees none of alice's changes, even from the beginning of time
    assert changes(bob, 0)["conversations"] == []


def test_signed_out_and_bad_arguments_are_refused(make_user, anon):
    alice = make_user("alice")
    with pytest.raises(APIError) as err:
        anon.rpc("inbox_changes", {"since": 0}).execute()
    assert err.value.code == "42501"
    with pytest.raises(APIError) as err:
        anon.rpc("mark_conversation_unread", {"conversation_id": str(uuid.uuid4())}).execute()
    assert err.value.code == "42501"
    for bad in (0, -1, 1001):
        with pytest.raises(APIError) as err:
            alice.client.rpc("inbox_changes", {"since": 0, "max_count": bad}).execute()
        assert (err.value.code, err.value.hint) == ("22023", "max_count_out_of_range")
        assert "max_count: must be between 1 and 1000" in err.value.message


def test_more_changes_than_one_answer_asks_for_a_reload(make_user):
    alice = make_user("alice")
    cursor = changes(alice, None)["cursor"]
    ingest(alice, *[msg(f"c{i}") for i in range(3)])
    got = alice.client.rpc("inbox_changes", {"since": cursor, "max_count": 2}).execute().data
    assert got["reload"] is True and got["conversations"] == [] and got["unread_conversations"] == 3
    got = alice.client.rpc("inbox_changes", {"since": cursor, "max_count": 3}).execute().data
    assert got["reload"] is False and len(got["conversations"]) == 3


def _as_user(conn: psycopg.Connection, user) -> None:
    conn.execute("set local role authenticated")
    conn.execute(
        "select set_config('request.jwt.claims', %s, true)",
        (json.dumps({"sub": user.id, "role": "authenticated"}),),
    )


def test_no_change_missed_when_commits_come_out_of_order(make_user, settings):
    """A transaction that began first but commits last is not skipped by the cursor.

    A writes conversation a (older xid) and stays open; B writes b and commits; a poll
    sees b. Then A commits: its row carries an xid below b's, and a cursor taken as "the
    newest change seen" would skip it. The next poll must return a.
    """
    alice = make_user("alice")
    out = ingest(alice, msg("a", minutes=1), msg("b", minutes=2))
    by_ext = {c["external_conversation_id"]: c["id"] for c in out["conversations"]}
    cursor = changes(alice, None)["cursor"]
    with (
        psycopg.connect(settings.db_url) as conn_a,
        psycopg.connect(settings.db_url) as conn_b,
    ):
        _as_user(conn_a, alice)
        conn_a.execute(
            "select public.ingest_messages(%s)",
            (json.dumps({"messages": [msg("a", "a-late", minutes=50, content="from A")]}),),
        )
        _as_user(conn_b, alice)
        conn_b.execute(
            "select public.ingest_messages(%s)",
            (json.dumps({"messages": [msg("b", "b-late", minutes=40, content="from B")]}),),
        )
        conn_b.commit()

        got = changes(alice, cursor)
        assert ids(got) == [by_ext["b"]]
        conn_a.commit()

    got = changes(alice, got["cursor"])
    # A's row arrives; B's may come again (the overlap): the client replaces rows by id
    assert by_ext["a"] in ids(got)
    row = next(c for c in got["conversations"] if c["id"] == by_ext["a"])
    assert row["last_message_preview"] == "from A"
    # and once nothing runs, nothing more
    assert changes(alice, got["cursor"])["conversations"] == []


def test_a_poll_is_index_range_scans_of_the_change_index(make_user, db, settings):
    """The plan of the function's own query (auto_explain of nested statements): the
    (user_id, change_xid) indexes of both tables, no sequential scan of them, over an inbox of
    thousands of conversations and read markers."""
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        out = ingest(user, *[msg(f"bulk-{i}") for i in range(1500)])
        db.execute(
            "insert into public.chat_conversation_read_markers (user_id, conversation_id, last_read_at)"
            " select user_id, id, last_message_at from public.chat_conversations where user_id = %s",
            (user.id,),
        )
        assert len(out["conversations"]) == 1500
    db.execute("analyze public.chat_conversations")
    db.execute("analyze public.chat_conversation_read_markers")
    cursor = changes(alice, None)["cursor"]

    plans: list[str] = []
    with psycopg.connect(settings.db_url) as conn:
        conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
        conn.execute("load 'auto_explain'")
        for setting, value in (
            ("auto_explain.log_min_duration", "0"),
            ("auto_explain.log_nested_statements", "on"),
            ("auto_explain.log_level", "notice"),
            ("client_min_messages", "notice"),
        ):
            conn.execute("select set_config(%s, %s, true)", (setting, value))
        _as_user(conn, alice)
        answer = conn.execute("select public.inbox_changes(%s)", (cursor,)).fetchone()[0]
        conn.rollback()
    assert answer["conversations"] == []
    plan = next(p for p in plans if "chat_conversation_read_markers" in p and "change_xid" in p)
    assert "chat_conversations_user_change_idx" in plan, plan
    assert "chat_conversation_read_markers_user_change_idx" in plan, plan
    # no sequential scan of the inbox's tables (a person's name is read by id only for a
    # changed row; on a small people table the planner may scan its one page instead)
    assert "Seq Scan on chat_conversations" not in plan, plan
    assert "Seq Scan on chat_conversation_read_markers" not in plan, plan
