"""Merges of conversations and people, and undo, through supabase-py against the real stack."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from postgrest.exceptions import APIError

from crm_messaging.cli import main

from .helpers import check_invariants, msg


def ingest(user, *messages):
    return user.client.rpc("ingest_messages", {"payload": {"messages": list(messages)}}).execute()


def conv_id(db, user, ext, platform="whatsapp"):
    row = db.execute(
        "select id from public.chat_conversations where user_id = %s and platform = %s"
        " and external_conversation_id = %s",
        (user.id, platform, ext),
    ).fetchone()
    return str(row[0]) if row else None


def rpc(user, name, **params):
    return user.client.rpc(name, params).execute().data


def refusal(user, name, **params) -> APIError:
    with pytest.raises(APIError) as err:
        user.client.rpc(name, params).execute()
    return err.value


def all_pages(user, cid) -> list[dict[str, Any]]:
    """The whole thread as the screens read it: 7-message pages, newest first, to the start."""
    out: list[dict[str, Any]] = []
    cursor: dict[str, Any] = {}
    while True:
        page = rpc(user, "get_conversation_messages", conversation_id=cid, max_count=7, **cursor)
        out.extend(page)
        if len(page) < 7:
            return out
        cursor = {"before_sent_at": page[-1]["sent_at"], "before_id": page[-1]["id"]}


def hits(user, query) -> list[tuple[str, str]]:
    found = rpc(user, "search_messages", query=query, max_count=100)
    return sorted((h["conversation_id"], h["message"]["id"]) for h in found)


def snapshot(db, user, cid) -> dict[str, Any]:
    return {
        "messages": check_invariants(db, cid),
        "pages": all_pages(user, cid),
    }


def store_fingerprint(db, user) -> Any:
    """Everything a refused merge must leave alone."""
    return db.execute(
        "select (select jsonb_agg(to_jsonb(c) - 'updated_at' order by c.id) from public.chat_conversations c"
        "         where c.user_id = %(u)s),"
        " (select count(*) from public.chat_conversation_archives a where a.user_id = %(u)s),"
        " (select jsonb_agg(to_jsonb(i) order by i.id) from public.person_identifiers i where i.user_id = %(u)s),"
        " (select count(*) from messaging_private.conversation_merges m where m.user_id = %(u)s),"
        " (select count(*) from messaging_private.person_merges m where m.user_id = %(u)s)",
        {"u": user.id},
    ).fetchone()


@pytest.fixture
def two_chats(make_user, db, small_caps):
    """Alice's two WhatsApp conversations of one customer: 15 and 12 messages, archives on
    both (small caps), one id in both (the other's copy a newer edit), words to search."""
    alice = make_user("alice")
    a = [msg("+34600000001", f"a{i}", minutes=i * 2, content=f"keep {i} alpha") for i in range(15)]
    b = [
        msg("34600000001", f"b{i}", minutes=i * 2 + 1, content=f"other {i} bravo")
        for i in range(11)
    ]
    edited = msg(
        "34600000001",
        "a3",
        minutes=6,
        content="keep 3 alpha edited",
        edited_at="2026-03-03T10:00:00Z",
    )
    ingest(alice, *a)
    ingest(alice, *b, edited)
    keep, other = conv_id(db, alice, "+34600000001"), conv_id(db, alice, "34600000001")
    return alice, keep, other


def test_merge_moves_every_message_once_in_order_and_undo_restores_both(db, two_chats):
    alice, keep, other = two_chats
    before = {keep: snapshot(db, alice, keep), other: snapshot(db, alice, other)}
    search_before = hits(alice, "bravo") + hits(alice, "alpha")
    preview = rpc(alice, "merge_conversations", keep_id=keep, other_id=other, dry_run=True)
    assert store_fingerprint(db, alice)[3] == 0 and conv_id(db, alice, "34600000001") == other
    assert (preview["moved"], preview["duplicates"], preview["message_count"]) == (11, 1, 26)

    answer = rpc(alice, "merge_conversations", keep_id=keep, other_id=other)
    assert {k: answer[k] for k in ("moved", "duplicates", "replaced", "message_count")} == {
        "moved": 11,
        "duplicates": 1,
        "replaced": 1,
        "message_count": 26,
    }
    assert answer["first_moved_at"] == preview["first_moved_at"]
    merged = check_invariants(db, keep)
    assert conv_id(db, alice, "34600000001") is None
    assert [m["id"] for m in merged] == [
        m["id"]
        for m in sorted(
            before[keep]["messages"] + before[other]["messages"],
            key=lambda m: (m["sent_at"], m["id"]),
        )
        if m["id"] != "a3" or "edited" in m["content"]
    ]
    assert next(m for m in merged if m["id"] == "a3")["content"] == "keep 3 alpha edited"
    assert [m["id"] for m in all_pages(alice, keep)] == [m["id"] for m in reversed(merged)]
    assert {h[1] for h in hits(alice, "bravo")} == {f"b{i}" for i in range(11)}
    assert {h[0] for h in hits(alice, "bravo")} == {keep}
    # the record the screens show
    record = rpc(alice, "list_merges", subject_id=keep)
    assert [(r["id"], r["kind"], r["moved"], r["merged_by"], r["undone_at"]) for r in record] == [
        (answer["merge_id"], "conversations", 11, alice.id, None)
    ]
    # a later message to keep stays there after undo, and the answer lists it
    ingest(alice, msg("+34600000001", "late1", minutes=100, content="late alpha"))

    undone = rpc(alice, "undo_merge", merge_id=answer["merge_id"])
    assert undone["kept_in_keep"] == ["late1"] and undone["restored"] == 12
    assert conv_id(db, alice, "34600000001") == other
    assert snapshot(db, alice, other) == before[other]
    after_keep = snapshot(db, alice, keep)
    assert [m for m in after_keep["messages"] if m["id"] != "late1"] == before[keep]["messages"]
    assert [m for m in after_keep["pages"] if m["id"] != "late1"] == before[keep]["pages"]
    assert [
        h for h in hits(alice, "bravo") + hits(alice, "alpha") if h[1] != "late1"
    ] == search_before
    assert rpc(alice, "list_merges", subject_id=keep)[0]["undone_at"] is not None


def test_merged_into_routes_the_other_key_while_the_merge_stands(db, two_chats):
    alice, keep, other = two_chats
    route = "select messaging_private.merged_into(%s, 'whatsapp', '34600000001')::text"
    assert db.execute(route, (alice.id,)).fetchone() == (None,)
    merge = rpc(alice, "merge_conversations", keep_id=keep, other_id=other)
    assert db.execute(route, (alice.id,)).fetchone() == (keep,)
    rpc(alice, "undo_merge", merge_id=merge["merge_id"])
    assert db.execute(route, (alice.id,)).fetchone() == (None,)


def test_a_later_message_to_the_other_key_lands_in_keep(db, two_chats):
    alice, keep, other = two_chats
    rpc(alice, "merge_conversations", keep_id=keep, other_id=other)
    ingest(alice, msg("34600000001", "after-merge", minutes=200))
    assert conv_id(db, alice, "34600000001") is None
    assert "after-merge" in {m["id"] for m in check_invariants(db, keep)}


def test_a_retried_merge_answers_the_standing_merge_and_moves_nothing_twice(db, two_chats):
    alice, keep, other = two_chats
    first = rpc(alice, "merge_conversations", keep_id=keep, other_id=other)
    again = rpc(alice, "merge_conversations", keep_id=keep, other_id=other)
    assert again["already_merged"] and again["merge_id"] == first["merge_id"]
    assert store_fingerprint(db, alice)[3] == 1 and len(check_invariants(db, keep)) == 26


def test_bad_merges_are_refused_by_kind_and_change_nothing(db, make_user, two_chats):
    alice, keep, other = two_chats
    bob = make_user("bob")
    ingest(alice, msg("+34600000001", "t1", platform="telegram"))
    ingest(
        alice,
        msg("grp", "g1", conversation_type="group"),
        msg("grp2", "g2", conversation_type="group"),
    )
    ingest(bob, msg("+34600000009", "x1"))
    tg, bobs = conv_id(db, alice, "+34600000001", "telegram"), conv_id(db, bob, "+34600000009")
    group, group2 = conv_id(db, alice, "grp"), conv_id(db, alice, "grp2")
    unchanged = store_fingerprint(db, alice), store_fingerprint(db, bob)
    cases = [
        (dict(keep_id=keep, other_id=keep), "merge_invalid", "itself"),
        (dict(keep_id=keep, other_id=tg), "merge_invalid", "users or platforms"),
        (dict(keep_id=group, other_id=group2), "merge_invalid", "groups"),
        (dict(keep_id=keep, other_id=bobs), "merge_not_found", "other_id"),
        (dict(keep_id=bobs, other_id=keep), "merge_not_found", "keep_id"),
    ]
    for params, kind, words in cases:
        err = refusal(alice, "merge_conversations", **params)
        assert (err.hint, words in err.message) == (kind, True), (params, err.message)
    err = refusal(alice, "undo_merge", merge_id="00000000-0000-4000-8000-000000000000")
    assert err.hint == "merge_not_found" and "merge_id" in err.message
    assert (store_fingerprint(db, alice), store_fingerprint(db, bob)) == unchanged
    # bob can neither undo nor see alice's merge; undoing twice is refused
    merge = rpc(alice, "merge_conversations", keep_id=keep, other_id=other)["merge_id"]
    assert refusal(bob, "undo_merge", merge_id=merge).hint == "merge_not_found"
    assert rpc(bob, "list_merges") == []
    rpc(alice, "undo_merge", merge_id=merge)
    done = store_fingerprint(db, alice)
    err = refusal(alice, "undo_merge", merge_id=merge)
    assert err.hint == "merge_already_undone" and merge in err.message
    assert store_fingerprint(db, alice) == done


def test_merges_are_undone_latest_first(db, make_user):
    alice = make_user("alice")
    ingest(
        alice, msg("+34600000011", "x1"), msg("34600000011", "y1"), msg("34600000011@c.us", "z1")
    )
    x, y, z = (conv_id(db, alice, e) for e in ("+34600000011", "34600000011", "34600000011@c.us"))
    first = rpc(alice, "merge_conversations", keep_id=y, other_id=z)["merge_id"]
    second = rpc(alice, "merge_conversations", keep_id=x, other_id=y)["merge_id"]
    # the first merge now routes z to x as well
    assert db.execute(
        "select messaging_private.merged_into(%s, 'whatsapp', '34600000011@c.us')::text",
        (alice.id,),
    ).fetchone() == (x,)
    err = refusal(alice, "undo_merge", merge_id=first)
    assert err.hint == "merge_undo_blocked" and second in err.message
    rpc(alice, "undo_merge", merge_id=second)
    rpc(alice, "undo_merge", merge_id=first)
    assert [[m["id"] for m in check_invariants(db, c)] for c in (x, y, z)] == [
        ["x1"],
        ["y1"],
        ["z1"],
    ]


def test_people_merge_moves_links_keeps_the_other_row_and_undoes(db, make_user):
    alice = make_user("alice")
    people = (
        alice.client.table("people")
        .insert([{"full_name": "Ana Ruiz"}, {"full_name": "Ana Ruiz (Signal)"}])
        .execute()
        .data
    )
    keep, other = people[0]["id"], people[1]["id"]
    alice.client.table("person_identifiers").insert(
        [
            {"person_id": keep, "kind": "phone", "value": "+34600000021"},
            {"person_id": other, "kind": "phone", "value": "+34600000021"},
            {"person_id": other, "kind": "username", "value": "ana_r"},
        ]
    ).execute()
    ingest(alice, msg("ana_r", "s1", platform="telegram", participant_identifier="ana_r"))
    tg = conv_id(db, alice, "ana_r", "telegram")
    assert db.execute(
        "select person_id::text from public.chat_conversations where id = %s", (tg,)
    ).fetchone() == (other,)
    suggested = rpc(alice, "suggest_duplicates")
    assert {(s["kind"], s["reason"], s["keep_id"], s["other_id"]) for s in suggested} == {
        ("people", "same_identifier", *sorted([keep, other]))
    }
    preview = rpc(alice, "merge_people", keep_id=keep, other_id=other, dry_run=True)
    assert (preview["identifiers"], preview["conversations"], preview["messages"]) == (1, 1, 1)
    answer = rpc(alice, "merge_people", keep_id=keep, other_id=other)
    assert (answer["identifiers"], answer["identifiers_left"], answer["conversations"]) == (1, 1, 1)
    assert db.execute(
        "select person_id::text from public.chat_conversations where id = %s", (tg,)
    ).fetchone() == (keep,)
    assert db.execute("select count(*) from public.people where id = %s", (other,)).fetchone() == (
        1,
    )
    assert rpc(alice, "suggest_duplicates") == []  # the merged-away person is no longer suggested
    err = refusal(alice, "merge_people", keep_id=keep, other_id=keep)
    assert err.hint == "merge_invalid"
    rpc(alice, "undo_merge", merge_id=answer["merge_id"])
    assert db.execute(
        "select person_id::text from public.chat_conversations where id = %s", (tg,)
    ).fetchone() == (other,)
    assert db.execute(
        "select array_agg(value order by value) from public.person_identifiers where person_id = %s",
        (other,),
    ).fetchone() == (["+34600000021", "ana_r"],)


def test_another_users_person_is_not_found(make_user, db):
    alice, bob = make_user("alice"), make_user("bob")
    mine = alice.client.table("people").insert({"full_name": "A"}).execute().data[0]["id"]
    theirs = bob.client.table("people").insert({"full_name": "B"}).execute().data[0]["id"]
    unchanged = store_fingerprint(db, alice), store_fingerprint(db, bob)
    err = refusal(alice, "merge_people", keep_id=mine, other_id=theirs)
    assert err.hint == "merge_not_found" and "other_id" in err.message
    assert (store_fingerprint(db, alice), store_fingerprint(db, bob)) == unchanged


def test_suggestions_pair_one_participant_twice_and_never_merge(db, make_user):
    alice = make_user("alice")
    ingest(
        alice, msg("+34600000031", "p1"), msg("+34600000031", "p2"), msg("0034 600 000 031", "q1")
    )
    big, small = conv_id(db, alice, "+34600000031"), conv_id(db, alice, "0034 600 000 031")
    assert [
        (s["kind"], s["keep_id"], s["other_id"], s["reason"])
        for s in rpc(alice, "suggest_duplicates")
    ] == [("conversations", big, small, "same_participant")]
    assert conv_id(db, alice, "0034 600 000 031") == small


def test_the_cli_merges_and_undoes(db, make_user, capsys):
    alice = make_user("alice")
    ingest(alice, msg("+34600000041", "c1"), msg("34600000041", "c2"))
    keep, other = conv_id(db, alice, "+34600000041"), conv_id(db, alice, "34600000041")
    assert main(["conversations", "merge", keep, other, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["moved"] == 1
    # the service role (the CLI's key) is recorded as no user
    assert db.execute(
        "select merged_by from messaging_private.conversation_merges where id = %s",
        (answer["merge_id"],),
    ).fetchone() == (None,)
    assert main(["merges", "undo", answer["merge_id"]]) == 0
    assert "1 messages back in" in capsys.readouterr().out
    assert main(["merges", "undo", answer["merge_id"]]) == 1
    assert "merge_already_undone" in capsys.readouterr().err


small_chats = st.tuples(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 40)), max_size=14),
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 40)), max_size=14),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chats=small_chats)
def test_merge_then_undo_is_the_identity(make_user, db, small_caps, chats):
    user = make_user("prop")
    a_spec, b_spec = chats
    # ids 0..30 shared between the two: the same id at another time in the other is a duplicate
    a = [msg("+34600000051", f"i{i}", minutes=t) for i, t in dict(a_spec).items()] or [
        msg("+34600000051", "only-a", minutes=0)
    ]
    b = [msg("34600000051", f"i{i}", minutes=t) for i, t in dict(b_spec).items()] or [
        msg("34600000051", "only-b", minutes=0)
    ]
    ingest(user, *a)
    ingest(user, *b)
    keep, other = conv_id(db, user, "+34600000051"), conv_id(db, user, "34600000051")
    before = (check_invariants(db, keep), check_invariants(db, other))
    merge = rpc(user, "merge_conversations", keep_id=keep, other_id=other)
    assert len(check_invariants(db, keep)) == len({m["id"] for m in before[0] + before[1]})
    rpc(user, "undo_merge", merge_id=merge["merge_id"])
    assert (check_invariants(db, keep), check_invariants(db, other)) == before


def test_undo_is_refused_while_the_other_key_has_a_conversation_again(db, two_chats):
    alice, keep, other = two_chats
    merge = rpc(alice, "merge_conversations", keep_id=keep, other_id=other)["merge_id"]
    # what a message to the other key does until ingest routes it by merged_into: a new
    # conversation of that key (made directly here, so the test holds once it is wired)
    db.execute(
        "insert into public.chat_conversations (user_id, platform, external_conversation_id)"
        " values (%s, 'whatsapp', '34600000001')",
        (alice.id,),
    )
    before = store_fingerprint(db, alice)
    err = refusal(alice, "undo_merge", merge_id=merge)
    assert err.hint == "merge_undo_blocked" and "34600000001" in err.message
    assert store_fingerprint(db, alice) == before


def test_refusals_through_the_api_have_their_http_status(settings, two_chats):
    alice, keep, other = two_chats
    headers = {"apikey": settings.anon_key, "Authorization": f"Bearer {alice.token}"}

    def post(name, body):
        return httpx.post(f"{settings.api_url}/rest/v1/rpc/{name}", json=body, headers=headers)

    same = post("merge_conversations", {"keep_id": keep, "other_id": keep})
    assert (same.status_code, same.json()["hint"]) == (400, "merge_invalid")
    unknown = post("undo_merge", {"merge_id": "00000000-0000-4000-8000-000000000000"})
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["hint"]) == (
        404,
        "P0002",
        "merge_not_found",
    )
    merge = post("merge_conversations", {"keep_id": keep, "other_id": other}).json()["merge_id"]
    assert post("undo_merge", {"merge_id": merge}).status_code == 200
    twice = post("undo_merge", {"merge_id": merge})
    assert (twice.status_code, twice.json()["code"], twice.json()["hint"]) == (
        409,
        "55000",
        "merge_already_undone",
    )


def test_routing_to_keep_lasts_as_long_as_the_merge(db, make_user):
    alice = make_user("alice")
    ingest(alice, msg("+34600000061", "k1"), msg("34600000061", "o1"))
    keep, other = conv_id(db, alice, "+34600000061"), conv_id(db, alice, "34600000061")
    merge = rpc(alice, "merge_conversations", keep_id=keep, other_id=other)
    route = "select messaging_private.merged_into(%s, 'whatsapp', '34600000061')::text"
    assert db.execute(route, (alice.id,)).fetchone() == (keep,)
    # while the merge stands, the merged key never opens a conversation again
    ingest(alice, msg("34600000061", "o2"))
    assert conv_id(db, alice, "34600000061") is None
    assert [m["id"] for m in check_invariants(db, keep)] == ["k1", "o1", "o2"]
    # undone, the other conversation is back and its key lands there again
    undo = rpc(alice, "undo_merge", merge_id=merge["merge_id"])
    assert "o2" in {str(i) for i in undo["kept_in_keep"]}
    assert db.execute(route, (alice.id,)).fetchone() == (None,)
    ingest(alice, msg("34600000061", "o3"))
    assert conv_id(db, alice, "34600000061") == other
    assert [m["id"] for m in check_invariants(db, other)] == ["o1", "o3"]


def test_an_unlinked_keep_takes_over_the_others_person_until_undone(db, make_user):
    alice = make_user("alice")
    person = alice.client.table("people").insert({"full_name": "Rosa"}).execute().data[0]["id"]
    ingest(alice, msg("+34600000081", "k1"), msg("34600000081", "o1", person_id=person))
    keep, other = conv_id(db, alice, "+34600000081"), conv_id(db, alice, "34600000081")
    linked = "select person_id::text from public.chat_conversations where id = %s"
    assert db.execute(linked, (keep,)).fetchone() == (None,)
    merge = rpc(alice, "merge_conversations", keep_id=keep, other_id=other)
    assert db.execute(linked, (keep,)).fetchone() == (person,)
    rpc(alice, "undo_merge", merge_id=merge["merge_id"])
    assert [db.execute(linked, (c,)).fetchone() for c in (keep, other)] == [(None,), (person,)]
