"""Search that finds the contact (issue 31): search_conversations ranks the exact name first,
then names starting with the query, then the rest, pages with a keyset cursor, takes every
filter at once and reads trigram indexes; search_messages ranks hits that match only
through the sender's name below hits in the text, and filters by linked / not linked."""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
import pytest
from postgrest.exceptions import APIError

from .helpers import msg


def convs(client, query: str, **kw: Any) -> list[dict[str, Any]]:
    return client.rpc("search_conversations", {"query": query, **kw}).execute().data


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [r["participant_name"] for r in rows]


def hits(client, query: str, **kw: Any) -> list[dict[str, Any]]:
    return client.rpc("search_messages", {"query": query, **kw}).execute().data


def ingest(user, messages: list[dict[str, Any]]) -> None:
    user.client.rpc("ingest_messages", {"payload": {"messages": messages}}).execute()


@pytest.fixture
def bulk(make_user):
    """200 conversations "Bulk Contact N", one message each, N = 42 the oldest of them."""
    alice = make_user("alice")
    ingest(
        alice,
        [
            msg(
                f"+3460000{n:04d}",
                f"b{n}",
                minutes=(0 if n == 42 else 10 + n),
                participant_name=f"Bulk Contact {n}",
                participant_identifier=f"+3460000{n:04d}",
                content=f"message number {n}",
            )
            for n in range(200)
        ],
    )
    return alice


def test_the_exact_name_comes_first_then_prefix_then_contains(bulk):
    rows = convs(bulk.client, "Bulk Contact 42")
    # the oldest of the 200, yet first: its name is the query
    assert names(rows)[0] == "Bulk Contact 42" and rows[0]["match"] == "exact"
    # then the one name that holds it (142), by recency among the contains
    assert names(rows)[1:] == ["Bulk Contact 142"] and rows[1]["match"] == "contains"
    rows = convs(bulk.client, "bulk contact 1", max_count=500)
    tiers = [r["match"] for r in rows]
    assert names(rows)[0] == "Bulk Contact 1" and tiers[0] == "exact"
    prefix = [r for r in rows if r["match"] == "prefix"]
    assert sorted(names(prefix)) == sorted(
        [f"Bulk Contact {n}" for n in range(10, 20)]
        + [f"Bulk Contact {n}" for n in range(100, 200)]
    )
    order = {"exact": 0, "prefix": 1, "contains": 2}
    assert [order[t] for t in tiers] == sorted(order[t] for t in tiers)
    # newest first within a tier
    times = [r["last_message_at"] for r in prefix]
    assert times == sorted(times, reverse=True)
    # the rows are the inbox's rows: the read marker and linked person ride along
    assert {"person", "read", "message_count", "last_message_preview"} <= set(rows[0])


def test_words_in_order_numbers_and_the_linked_persons_name(bulk):
    # the words in order, anything between: both hold them, so newest first
    rows = convs(bulk.client, "bulk 42")
    assert names(rows) == ["Bulk Contact 142", "Bulk Contact 42"] and {
        r["match"] for r in rows
    } == {"contains"}
    # the identifier, exact
    row = convs(bulk.client, "+34600000007")[0]
    assert row["participant_name"] == "Bulk Contact 7" and row["match"] == "exact"
    # a person linked to a conversation finds it by the person's name, accents aside
    person = bulk.client.table("people").insert({"full_name": "Zoë Quartz"}).execute().data[0]["id"]
    conv = convs(bulk.client, "Bulk Contact 7")[0]["id"]
    bulk.client.table("chat_conversations").update({"person_id": person}).eq("id", conv).execute()
    rows = convs(bulk.client, "zoe quartz")
    assert [r["id"] for r in rows] == [conv] and rows[0]["match"] == "exact"
    assert rows[0]["person"] == {"id": person, "full_name": "Zoë Quartz"}
    assert [r["id"] for r in convs(bulk.client, "quar")] == [conv]


def test_pages_past_twenty_without_repeats_or_gaps(bulk):
    whole = convs(bulk.client, "bulk contact", max_count=500)
    assert len(whole) == 200
    seen: list[str] = []
    cursor: dict[str, Any] = {}
    pages = 0
    while True:
        page = convs(bulk.client, "bulk contact", max_count=20, **cursor)
        pages += 1
        seen += [r["id"] for r in page]
        if len(page) < 20:
            break
        last = page[-1]
        cursor = {
            "after_match": last["match"],
            "after_last_message_at": last["last_message_at"],
            "after_id": last["id"],
        }
    assert seen == [r["id"] for r in whole]  # same order, none twice, none skipped
    assert pages == 11  # ten full pages, then the empty one that says it is all


def test_filters_combine(make_user):
    alice = make_user("alice")
    person = (
        alice.client.table("people").insert({"full_name": "Linked Lena"}).execute().data[0]["id"]
    )
    ingest(
        alice,
        [
            msg(
                "wa-linked",
                "w1",
                minutes=10,
                participant_name="Acme Lena",
                person_id=person,
                content="hi",
            ),
            msg("wa-free", "w2", minutes=20, participant_name="Acme Lars", content="hi"),
            msg(
                "tg-free",
                "t1",
                minutes=30,
                platform="telegram",
                participant_name="Acme Lukas",
                content="hi",
            ),
            msg(
                "tg-old",
                "t2",
                minutes=-60 * 24 * 400,
                platform="telegram",
                participant_name="Acme Old",
                content="hi",
            ),
        ],
    )
    c = alice.client
    assert sorted(names(convs(c, "acme"))) == ["Acme Lars", "Acme Lena", "Acme Lukas", "Acme Old"]
    assert names(convs(c, "acme", linked=True)) == ["Acme Lena"]
    assert sorted(names(convs(c, "acme", linked=False))) == ["Acme Lars", "Acme Lukas", "Acme Old"]
    assert names(convs(c, "acme", linked=False, platform="whatsapp")) == ["Acme Lars"]
    assert names(convs(c, "acme", linked=True, platform="telegram")) == []
    assert names(convs(c, "acme", person_id=person)) == ["Acme Lena"]
    recent = convs(
        c, "acme", platform="telegram", linked=False, active_after="2026-01-01T00:00:00Z"
    )
    assert names(recent) == ["Acme Lukas"]
    assert names(convs(c, "acme", active_before="2026-01-01T00:00:00Z")) == ["Acme Old"]


def test_bad_cursors_and_counts_are_refused_by_kind(bulk):
    for args in (
        {"after_id": "00000000-0000-4000-8000-000000000000"},
        {"after_match": "exact"},
        {"after_match": "best", "after_id": "00000000-0000-4000-8000-000000000000"},
    ):
        with pytest.raises(APIError) as err:
            convs(bulk.client, "bulk", **args)
        assert err.value.code == "22023" and err.value.hint == "cursor_incomplete", args
    with pytest.raises(APIError) as err:
        convs(bulk.client, "bulk", max_count=501)
    assert err.value.hint == "max_count_out_of_range"
    assert convs(bulk.client, "   ") == []
    assert convs(bulk.client, "100%_") == []  # LIKE's wildcards are taken literally


def test_nobody_finds_another_users_conversations(bulk, make_user, anon, service):
    bob = make_user("bob")
    assert convs(bob.client, "bulk contact") == []
    with pytest.raises(APIError) as err:
        convs(anon, "bulk")
    assert err.value.code == "42501"
    with pytest.raises(APIError) as err:
        convs(service, "bulk")
    assert err.value.hint == "user_id_required"
    assert names(convs(service, "bulk contact 42", user_id=bulk.id)) == [
        "Bulk Contact 42",
        "Bulk Contact 142",
    ]
    with pytest.raises(APIError) as err:
        convs(bob.client, "bulk", user_id=bulk.id)
    assert err.value.hint == "user_id_not_own"


def test_a_hit_only_through_the_senders_name_ranks_below_hits_in_the_text(make_user):
    alice = make_user("alice")
    ingest(
        alice,
        [
            # the older text hit, in another chat
            msg(
                "other",
                "text-hit",
                minutes=1,
                participant_name="Carla",
                content="Ask Anna Berg about the invoice",
            ),
        ]
        + [
            # newer, and every one of them names her only as the sender
            msg(
                "anna",
                f"a{i}",
                minutes=100 + i,
                participant_name="Anna Berg",
                sender_name="Anna Berg",
                content=f"see you at {i}",
            )
            for i in range(30)
        ]
        + [
            msg(
                "anna",
                "in-her-chat",
                minutes=50,
                participant_name="Anna Berg",
                sender_name="Anna Berg",
                content="I am Anna Berg",
            )
        ],
    )
    found = hits(alice.client, "anna berg", max_count=10)
    first = [h["message"]["id"] for h in found[:2]]
    assert sorted(first) == ["in-her-chat", "text-hit"]
    assert [h["matched_in"] for h in found] == ["text"] * 2 + ["sender_name"] * 8
    # among the sender-name hits, newest first
    assert [h["message"]["id"] for h in found[2:]] == [f"a{i}" for i in range(29, 21, -1)]


def test_message_search_filters_combine_with_linked(make_user):
    alice = make_user("alice")
    person = alice.client.table("people").insert({"full_name": "P"}).execute().data[0]["id"]
    ingest(
        alice,
        [
            msg("linked", "l-in", minutes=10, content="quote 77", person_id=person),
            msg("linked", "l-out", minutes=11, content="quote 77", direction="outbound"),
            msg("free", "f-in", minutes=12, content="quote 77"),
            msg("free", "f-out", minutes=13, content="quote 77", direction="outbound"),
            msg("free-tg", "t-in", minutes=14, platform="telegram", content="quote 77"),
        ],
    )
    c = alice.client

    def found(**kw: Any) -> list[str]:
        return sorted(h["message"]["id"] for h in hits(c, "quote 77", **kw))

    assert found(linked=True) == ["l-in", "l-out"]
    assert found(linked=False) == ["f-in", "f-out", "t-in"]
    assert found(linked=False, platform="whatsapp") == ["f-in", "f-out"]
    assert found(linked=False, platform="whatsapp", direction="outbound") == ["f-out"]
    t = msg("x", minutes=12)["sent_at"]
    assert found(linked=False, sent_after=t) == ["f-in", "f-out", "t-in"]
    assert found(linked=False, sent_before=t, direction="inbound") == []
    assert found(linked=True, person_id=person, direction="outbound") == ["l-out"]


def _plan(db, user_id: str, query: str) -> str:
    """The plan of search_conversations' own query for a signed-in user (auto_explain)."""
    plans: list[str] = []
    conn = psycopg.connect(db.url, autocommit=False)
    try:
        conn.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))
        conn.execute("load 'auto_explain'")
        conn.execute("set auto_explain.log_min_duration = 0")
        conn.execute("set auto_explain.log_nested_statements = on")
        conn.execute("set client_min_messages = log")
        # as in test_search: whether the indexes can be used at all, not which plan is
        # cheapest here: conversation_names is narrow, and with one user's 5,000 rows in it a
        # sequential read (about 40 pages) is what the planner picks; with many users' rows
        # the index is the way
        conn.execute("set enable_seqscan = off")
        conn.execute("set local role authenticated")
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)",
            (json.dumps({"sub": user_id, "role": "authenticated"}),),
        )
        rows = conn.execute(
            "select count(*) from public.search_conversations(%s)", (query,)
        ).fetchone()
        assert rows is not None and rows[0] >= 1
    finally:
        conn.rollback()
        conn.close()
    return next(p for p in plans if "with candidates as" in p)


def test_the_contact_search_reads_trigram_indexes_at_5000_conversations_and_100000_people(
    make_user, db
):
    """No timing: the plan at the issue's size reads indexes for people and names."""
    alice = make_user("alice")
    db.execute(
        "select messaging_private.ingest_messages(jsonb_build_object('user_id', %s::uuid, 'platform', 'whatsapp',"
        " 'messages', (select jsonb_agg(jsonb_build_object('external_conversation_id', 'c' || i, 'id', 'm' || i,"
        " 'direction', 'inbound', 'content', 'hello', 'participant_name', 'Scale Contact ' || i,"
        " 'sent_at', '2026-01-01T00:00:00Z'::timestamptz + i * interval '1 minute')) from generate_series(1, 5000) i)))",
        (alice.id,),
    )
    db.execute(
        "insert into public.people (user_id, full_name)"
        " select %s, 'Scale Person ' || i from generate_series(1, 100000) i",
        (alice.id,),
    )
    db.execute("analyze public.chat_conversations")
    db.execute("analyze messaging_private.conversation_names")
    db.execute("analyze public.people")
    for query in ("Scale Contact 4242", "4242"):
        plan = _plan(db, alice.id, query)
        # 100,000 people: never read whole; their names through the trigram index, or (when
        # the planner starts from the few linked conversations) by key from those
        assert "Seq Scan on people" not in plan, plan
        assert (
            "Bitmap Index Scan on people_full_name_search_trgm_idx" in plan
            or "Index Scan using people_pkey on people" in plan
        ), plan
        # the names are matched in the narrow side table, through an index of its own (the
        # planner takes the owner's index when one user holds every row, as here, and the
        # trigram index when the table holds many users' names), never on the wide rows
        assert re.search(
            r"(Index Scan using|Index Scan on) conversation_names_(trgm|user_id)_idx", plan
        ), plan
        assert "Filter: (names ~~" in plan or "Recheck Cond: (names ~~" in plan, plan
    assert names(convs(alice.client, "Scale Contact 4242")) == ["Scale Contact 4242"]


def test_the_python_client_filters_by_linked_and_says_where_it_matched(make_user):
    from crm_messaging import MessagingClient

    alice = make_user("alice")
    person = alice.client.table("people").insert({"full_name": "P"}).execute().data[0]["id"]
    ingest(
        alice,
        [
            msg("linked", "l1", content="parcel 9", person_id=person),
            msg("free", "f1", content="parcel 9", sender_name="Parcel 9 Shop"),
        ],
    )
    client = MessagingClient(alice.client)
    assert [h.message.id for h in client.search("parcel 9", linked=True)] == ["l1"]
    hits = client.search("parcel 9", linked=False)
    assert [(h.message.id, h.matched_in) for h in hits] == [("f1", "text")]
