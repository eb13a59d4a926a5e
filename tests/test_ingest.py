"""ingest_messages through supabase-py: the contract of docs/contract.md."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from postgrest.exceptions import APIError

from .helpers import check_invariants, conversation_state, msg


def ingest(client, messages, **top):
    return client.rpc("ingest_messages", {"payload": {"messages": messages, **top}}).execute().data


def test_ingest_returns_the_summary_and_stores_the_seed_shape(make_user, db):
    alice = make_user("alice")
    out = ingest(
        alice.client,
        [
            msg(
                "+34612345678",
                "w1",
                minutes=0,
                content="Hola, ¿tienen stock?",
                participant_identifier="+34612345678",
                participant_name="María",
            ),
            msg(
                "+34612345678",
                "w2",
                minutes=1,
                direction="outbound",
                content="¡Sí! 😀",
                sender_name="Alice",
                metadata={"starred": True},
            ),
            {
                **msg("+34612345678", "w3", minutes=2, content=None),
                "type": "image",
                "media_url": "IMG-001.jpg",
                "sent_at": "2026-03-02T10:02:00+01:00",
            },
        ],
    )
    assert out["inserted"] == 3 and out["duplicates"] == 0 and out["updated"] == 0
    (conv,) = out["conversations"]
    assert conv["created"] is True and conv["message_count"] == 3
    assert conv["platform"] == "whatsapp" and conv["external_conversation_id"] == "+34612345678"
    state = conversation_state(db, conv["id"])
    first, second, third = state["hot"]
    assert first == {
        "id": "w1",
        "direction": "inbound",
        "type": "text",
        "content": "Hola, ¿tienen stock?",
        "media_url": None,
        "sent_at": "2026-03-02T09:00:00Z",
    }
    assert second["sender_name"] == "Alice" and second["metadata"] == {"starred": True}
    assert third["sent_at"] == "2026-03-02T09:02:00Z"  # converted to UTC
    assert third["type"] == "image" and third["content"] is None
    assert state["preview"] == "[image]"
    assert "platform" not in first and "external_conversation_id" not in first


def test_reingest_is_a_no_op(make_user, db):
    alice = make_user("alice")
    batch = [msg("c1", f"id{i}") for i in range(20)]
    first = ingest(alice.client, batch)
    before = conversation_state(db, first["conversations"][0]["id"])
    again = ingest(alice.client, list(reversed(batch)))
    assert (again["inserted"], again["duplicates"], again["updated"]) == (0, 20, 0)
    assert again["conversations"][0]["created"] is False
    assert conversation_state(db, first["conversations"][0]["id"]) == before


def test_repeated_ids_in_one_batch_are_stored_once_newest_edit_wins(make_user, db):
    alice = make_user("alice")
    m = msg("c1", "dup", minutes=5, content="v1")
    out = ingest(
        alice.client,
        [
            m,
            {**m, "content": "v3", "edited_at": "2026-03-02T12:00:00Z"},
            {**m, "content": "v2", "edited_at": "2026-03-02T11:00:00Z"},
        ],
    )
    assert (out["inserted"], out["duplicates"]) == (1, 2)
    (stored,) = conversation_state(db, out["conversations"][0]["id"])["hot"]
    assert stored["content"] == "v3" and stored["edited_at"] == "2026-03-02T12:00:00Z"


def test_a_newer_edit_replaces_an_older_one_is_a_duplicate(make_user, db):
    alice = make_user("alice")
    m = msg("c1", "e1", minutes=1, content="original")
    cid = ingest(alice.client, [m, msg("c1", "e2", minutes=2)])["conversations"][0]["id"]
    out = ingest(alice.client, [{**m, "content": "edited", "edited_at": "2026-03-02T10:00:00Z"}])
    assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 0, 1)
    stale = ingest(alice.client, [{**m, "content": "stale", "edited_at": "2026-03-02T09:30:00Z"}])
    assert (stale["inserted"], stale["duplicates"], stale["updated"]) == (0, 1, 0)
    plain = ingest(alice.client, [m])  # no edited_at counts as older
    assert plain["duplicates"] == 1
    msgs = check_invariants(db, cid)
    assert [x["content"] for x in msgs if x["id"] == "e1"] == ["edited"]
    assert len(msgs) == 2


def test_out_of_order_and_very_old_messages_land_in_the_right_chunk(make_user, db, small_caps):
    alice = make_user("alice")
    minutes = list(range(0, 300, 3))  # 100 messages
    random.Random(7).shuffle(minutes)
    cid = None
    for start in range(0, 100, 7):  # batches of 7, in shuffled time order
        part = [msg("c1", f"t{m:04d}", minutes=m) for m in minutes[start : start + 7]]
        cid = ingest(alice.client, part)["conversations"][0]["id"]
    # very old ones, older than every chunk, and some between existing messages
    ingest(alice.client, [msg("c1", f"old{i}", minutes=-10_000 - i) for i in range(15)])
    ingest(alice.client, [msg("c1", f"mid{i}", minutes=3 * i + 1) for i in range(0, 90, 9)])
    stored = check_invariants(db, cid)
    assert len(stored) == 100 + 15 + 10
    assert stored[0]["id"] == "old14" and stored[-1]["id"] == "t0297"
    state = conversation_state(db, cid)
    assert len(state["chunks"]) >= 5 and len(state["hot"]) <= small_caps["hot_max_messages"]


def test_duplicates_and_edits_are_found_in_archive_chunks(make_user, db, small_caps):
    alice = make_user("alice")
    batch = [msg("c1", f"a{i:03d}", minutes=i, content=f"text {i}") for i in range(60)]
    cid = ingest(alice.client, batch)["conversations"][0]["id"]
    assert len(conversation_state(db, cid)["chunks"]) > 0
    out = ingest(
        alice.client,
        [
            *batch[:5],
            {**batch[1], "content": "edited in the archive", "edited_at": "2026-03-03T00:00:00Z"},
        ],
    )
    assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 5, 1)
    stored = check_invariants(db, cid)
    assert len(stored) == 60
    assert stored[1]["content"] == "edited in the archive"


def test_a_long_conversation_keeps_its_invariants(service, make_user, db):
    alice = make_user("alice")
    batch = [
        msg("long", f"L{i:05d}", minutes=i / 4, content=f"message number {i}") for i in range(5200)
    ]
    random.Random(3).shuffle(batch)
    for start in range(0, len(batch), 1000):
        out = (
            service.rpc(
                "ingest_messages",
                {"payload": {"user_id": alice.id, "messages": batch[start : start + 1000]}},
            )
            .execute()
            .data
        )
    cid = out["conversations"][0]["id"]
    stored = check_invariants(db, cid)
    assert len(stored) == 5200 and out["conversations"][0]["message_count"] == 5200
    assert [m["id"] for m in stored] == [f"L{i:05d}" for i in range(5200)]


def test_the_same_external_id_under_two_users_stays_two_conversations(make_user, db):
    alice, bob = make_user("alice"), make_user("bob")
    a = ingest(alice.client, [msg("+447700900123", "x1")])["conversations"][0]
    b = ingest(bob.client, [msg("+447700900123", "x1")])["conversations"][0]
    assert a["id"] != b["id"] and a["created"] and b["created"]
    owners = db.execute(
        "select array_agg(user_id::text order by user_id) from chat_conversations where id in (%s, %s)",
        (a["id"], b["id"]),
    ).fetchone()[0]
    assert sorted(owners) == sorted([alice.id, bob.id])


def test_service_role_ingests_for_the_named_user_and_needs_one(service, make_user):
    alice = make_user("alice")
    out = service.rpc(
        "ingest_messages", {"payload": {"user_id": alice.id, "messages": [msg("c")]}}
    ).execute()
    assert out.data["inserted"] == 1
    with pytest.raises(APIError) as err:
        service.rpc("ingest_messages", {"payload": {"messages": [msg("c")]}}).execute()
    assert err.value.code == "22023" and "user_id" in err.value.message
    assert alice.client.table("chat_conversations").select("id").execute().data


def test_participant_is_linked_to_the_one_matching_person(make_user, db):
    alice = make_user("alice")
    people = (
        alice.client.table("people")
        .insert(
            [
                {"full_name": "María García"},
                {"full_name": "Twin A"},
                {"full_name": "Twin B"},
            ]
        )
        .execute()
        .data
    )
    maria, twin_a, twin_b = (p["id"] for p in people)
    alice.client.table("person_identifiers").insert(
        [
            {"person_id": maria, "kind": "phone", "value": "+34 612 34 56 78"},
            {"person_id": twin_a, "kind": "username", "value": "@Twins", "platform": "telegram"},
            {"person_id": twin_b, "kind": "username", "value": "twins", "platform": "telegram"},
        ]
    ).execute()
    out = ingest(
        alice.client,
        [
            msg("wa1", participant_identifier="34612345678@s.whatsapp.net"),
            msg("tg1", platform="telegram", participant_identifier="@twins"),
            msg("tg2", platform="telegram", participant_identifier="@nobody"),
        ],
    )
    linked = {c["external_conversation_id"]: c["person_id"] for c in out["conversations"]}
    assert linked == {"wa1": maria, "tg1": None, "tg2": None}  # tg1 is ambiguous
    # an identifier added later links the waiting conversation
    later = alice.client.table("people").insert({"full_name": "Nobody"}).execute().data[0]["id"]
    alice.client.table("person_identifiers").insert(
        {"person_id": later, "kind": "username", "value": "NoBody"}
    ).execute()
    rows = (
        alice.client.table("chat_conversation_list")
        .select("external_conversation_id, person_id")
        .eq("external_conversation_id", "tg2")
        .execute()
        .data
    )
    assert rows == [{"external_conversation_id": "tg2", "person_id": later}]


def test_counters_never_move_backwards(make_user, db, small_caps):
    alice = make_user("alice")
    cid = ingest(alice.client, [msg("c1", "new", minutes=100, content="latest words")])[
        "conversations"
    ][0]["id"]
    ingest(alice.client, [msg("c1", f"o{i}", minutes=i, content="older") for i in range(30)])
    state = conversation_state(db, cid)
    assert state["preview"] == "latest words"
    assert state["last_message_at"].isoformat() == "2026-03-02T10:40:00+00:00"
    assert state["first_message_at"].isoformat() == "2026-03-02T09:00:00+00:00"
    check_invariants(db, cid)


def test_empty_batch_is_a_no_op(make_user):
    alice = make_user("alice")
    assert ingest(alice.client, []) == {
        "inserted": 0,
        "duplicates": 0,
        "updated": 0,
        "matched": 0,
        "conversations": [],
    }


def test_connection_files_conversations_and_marks_sync(make_user, db):
    alice = make_user("alice")
    conn = (
        alice.client.table("messaging_connections")
        .insert(
            {
                "platform": "whatsapp",
                "account_identifier": "+34600000001",
                "display_name": "Alice phone",
            }
        )
        .execute()
        .data[0]
    )
    out = ingest(alice.client, [msg("c1")], connection_id=conn["id"])
    row = db.execute(
        "select c.connection_id::text, mc.last_synced_at is not null from chat_conversations c"
        " join messaging_connections mc on mc.id = c.connection_id where c.id = %s",
        (out["conversations"][0]["id"],),
    ).fetchone()
    assert row == (conn["id"], True)


def test_a_duplicate_with_another_time_never_moves_first_message_at(make_user, db):
    alice = make_user("alice")
    m = msg("tz", "same-id", minutes=60)
    cid = ingest(alice.client, [m])["conversations"][0]["id"]
    out = ingest(
        alice.client, [{**m, "sent_at": "2026-03-02T08:00:00+00:00"}]
    )  # re-export, other --tz
    assert out["duplicates"] == 1
    assert (
        conversation_state(db, cid)["first_message_at"].isoformat() == "2026-03-02T10:00:00+00:00"
    )
    check_invariants(db, cid)


def test_edge_timestamps_that_are_real_are_accepted(make_user, db):
    alice = make_user("alice")
    out = ingest(
        alice.client,
        [
            {**msg("edge", "leap"), "sent_at": "2024-02-29T23:59:59.123456-03:30"},
            {**msg("edge", "space"), "sent_at": "2025-12-31 23:59+14"},
            {**msg("edge", "zulu"), "sent_at": "2026-01-01t00:00:00z"},
        ],
    )
    stored = {
        m["id"]: m["sent_at"] for m in conversation_state(db, out["conversations"][0]["id"])["hot"]
    }
    assert stored == {
        "leap": "2024-03-01T03:29:59.123456Z",
        "space": "2025-12-31T09:59:00Z",
        "zulu": "2026-01-01T00:00:00Z",
    }


# ---- no valid message is ever refused, no conversation blocks itself ----------------


def _words(seed: int, n: int) -> str:
    """n distinct pseudo-random words (hex), like a long text nobody repeats."""
    rnd = random.Random(seed)
    return " ".join(f"{rnd.getrandbits(64):016x}" for _ in range(n))


def test_long_messages_of_distinct_words_never_block_the_conversation(make_user, db):
    """Measured failure: 20 messages of ~59,000 characters of distinct words passed the 1 MB
    of a tsvector (54000, HTTP 413), and the conversation took no message after that."""
    alice = make_user("alice")
    long = [msg("essay", f"L{i}", minutes=i, content=_words(i, 3500)[:59_000]) for i in range(20)]
    assert all(len(m["content"]) == 59_000 for m in long)
    out = ingest(alice.client, long)
    assert out["inserted"] == 20
    cid = out["conversations"][0]["id"]
    more = ingest(alice.client, [msg("essay", f"M{i}", minutes=100 + i) for i in range(120)])
    assert more["inserted"] == 120
    stored = check_invariants(db, cid)
    assert len(stored) == 140
    assert [m["content"] for m in stored[:20]] == [m["content"] for m in long]
    # the start of a long message is searchable
    first_word = long[3]["content"].split()[0]
    hits = alice.client.rpc("search_messages", {"query": first_word}).execute().data
    assert [h["message"]["id"] for h in hits] == ["L3"]


def test_images_with_unique_signed_urls_never_block_the_conversation(make_user, db):
    """Measured failure: 500 images with unique ~1 KB signed media URLs, sent 50 per call,
    filled an archive chunk's search document past 1 MB. Chunks are now cut by bytes too."""
    alice = make_user("alice")
    rnd = random.Random(11)

    def url(i: int) -> str:
        token = "-".join(f"{rnd.getrandbits(64):016x}" for _ in range(50))  # unique path
        signature = "".join(f"{rnd.getrandbits(64):016x}" for _ in range(30))
        return f"https://media.example/v/{token}/IMG_{i:04d}.jpg?X-Signature={signature}"

    images = [
        msg("gallery", f"img{i:04d}", minutes=i, content=None, type="image", media_url=url(i))
        for i in range(500)
    ]
    assert all(900 < len(m["media_url"]) <= 2048 for m in images)
    cid = None
    for start in range(0, 500, 50):
        out = ingest(alice.client, images[start : start + 50])
        assert out["inserted"] == 50
        cid = out["conversations"][0]["id"]
    assert cid is not None
    after = ingest(alice.client, [msg("gallery", "text-after", minutes=1000, content="still open")])
    assert after["inserted"] == 1
    stored = check_invariants(db, cid)
    assert len(stored) == 501
    chunks = conversation_state(db, cid)["chunks"]
    assert len(chunks) >= 2, "500 KB of URLs must be cut into more than one chunk"
    assert all(len(c[0]) < 1000 for c in chunks), "cut by bytes, not by count"


# ---- edits keep the conversation's summary true ------------------------------------


def test_edits_moving_the_newest_earlier_and_the_oldest_later_keep_the_summary_true(
    make_user, db, small_caps
):
    alice = make_user("alice")
    batch = [msg("c1", f"s{i:02d}", minutes=i, content=f"text {i}") for i in range(30)]
    cid = ingest(alice.client, batch)["conversations"][0]["id"]
    assert conversation_state(db, cid)["chunks"], "the oldest are archived"
    # the newest moves earlier (into the archive's time range)
    out = ingest(
        alice.client,
        [
            {
                **batch[-1],
                "sent_at": "2026-03-02T09:05:30+00:00",
                "content": "moved",
                "edited_at": "2026-03-03T00:00:00Z",
            }
        ],
    )
    assert out["updated"] == 1
    state = conversation_state(db, cid)
    assert state["last_message_at"].isoformat() == "2026-03-02T09:28:00+00:00"
    assert state["preview"] == "text 28"
    # the oldest moves later (past every other message)
    ingest(
        alice.client,
        [
            {
                **batch[0],
                "sent_at": "2026-03-02T12:00:00+00:00",
                "content": "now newest",
                "edited_at": "2026-03-03T00:00:00Z",
            }
        ],
    )
    state = conversation_state(db, cid)
    assert state["first_message_at"].isoformat() == "2026-03-02T09:01:00+00:00"
    assert state["last_message_at"].isoformat() == "2026-03-02T12:00:00+00:00"
    assert state["preview"] == "now newest"
    stored = check_invariants(db, cid)
    assert len(stored) == 30 and stored[-1]["id"] == "s00"


def test_an_edit_in_a_conversation_without_archive_keeps_the_summary_true(make_user, db):
    alice = make_user("alice")
    batch = [msg("c2", f"e{i}", minutes=i, content=f"text {i}") for i in range(3)]
    cid = ingest(alice.client, batch)["conversations"][0]["id"]
    ingest(
        alice.client,
        [{**batch[2], "sent_at": "2026-03-02T08:00:00+00:00", "edited_at": "2026-03-03T00:00:00Z"}],
    )
    state = conversation_state(db, cid)
    assert state["first_message_at"].isoformat() == "2026-03-02T08:00:00+00:00"
    assert state["last_message_at"].isoformat() == "2026-03-02T09:01:00+00:00"
    assert state["preview"] == "text 1"
    check_invariants(db, cid)


def _authenticated_statement_timeout(db) -> str:
    (config,) = db.execute(
        "select rolconfig from pg_roles where rolname = 'authenticated'"
    ).fetchone()
    return dict(c.split("=", 1) for c in config or [])["statement_timeout"]


def test_a_full_batch_of_new_conversations_fits_the_statement_timeout(make_user, db):
    """10,000 messages, each in a conversation of its own, in one signed-in call through
    PostgREST: the batch the contract allows must not meet the 8 s statement timeout
    (a statement per conversation once took longer than that)."""
    assert _authenticated_statement_timeout(db) == "8s"  # as on hosted Supabase, not raised
    alice = make_user("alice")
    (person,) = db.execute(
        "insert into public.people (user_id, full_name) values (%s, 'Ana') returning id",
        (alice.id,),
    ).fetchone()
    db.execute(
        "insert into public.person_identifiers (user_id, person_id, kind, value)"
        " values (%s, %s, 'phone', '+34600004321')",
        (alice.id, person),
    )
    batch = [
        msg(
            f"+346{i:08d}",
            "w1",
            minutes=i % 600,
            content=f"pedido {i} listo",
            participant_identifier=f"+346{i:08d}",
        )
        for i in range(10_000)
    ]
    out = ingest(alice.client, batch)
    assert out["inserted"] == 10_000 and out["duplicates"] == 0
    assert len(out["conversations"]) == 10_000
    assert all(c["created"] and c["message_count"] == 1 for c in out["conversations"])
    ids = [c["external_conversation_id"] for c in out["conversations"]]
    assert ids == sorted(ids)
    linked = [c for c in out["conversations"] if c["person_id"] is not None]
    assert [(c["external_conversation_id"], c["person_id"]) for c in linked] == [
        ("+34600004321", str(person))
    ]
    # stored, summarised and searchable like any other ingest
    conv = next(c for c in out["conversations"] if c["external_conversation_id"] == "+34600001234")
    state = conversation_state(db, conv["id"])
    assert [m["content"] for m in state["hot"]] == ["pedido 1234 listo"]
    assert state["preview"] == "pedido 1234 listo"
    hits = alice.client.rpc("search_messages", {"query": "1234"}).execute().data
    assert [h["conversation_id"] for h in hits] == [conv["id"]]
    # the same batch again: every message a duplicate, still within the timeout
    again = ingest(alice.client, batch)
    assert again["inserted"] == 0 and again["duplicates"] == 10_000
    assert not any(c["created"] for c in again["conversations"])


def test_a_full_batch_in_one_conversation_fits_the_statement_timeout(make_user, db):
    assert _authenticated_statement_timeout(db) == "8s"
    alice = make_user("alice")
    batch = [msg("+34611111111", f"w{i}", minutes=i, content=f"línea {i}") for i in range(10_000)]
    out = ingest(alice.client, batch)
    assert out["inserted"] == 10_000
    (conv,) = out["conversations"]
    assert conv["message_count"] == 10_000
    assert check_invariants(db, conv["id"])[-1]["content"] == "línea 9999"
    again = ingest(alice.client, batch)
    assert again["duplicates"] == 10_000 and again["inserted"] == 0


def _tuples(db, user_id):
    """(xmin, xmax) of every conversation row and archive chunk of a user: a write, or a
    row lock, of any of them changes them."""
    return db.execute(
        "select 'c' || id, xmin::text, xmax::text from public.chat_conversations where user_id = %s"
        " union all select 'a' || id, xmin::text, xmax::text from public.chat_conversation_archives"
        " where user_id = %s order by 1",
        (user_id, user_id),
    ).fetchall()


def test_a_large_reimport_writes_and_locks_nothing(make_user, db, small_caps):
    """An export sent again (over 20 messages, hot rows and archive chunks) is answered
    without writing a row or taking a row lock; the answer is the usual one."""
    alice = make_user("alice")
    batch = [msg(f"r{c}", f"r{c}-{i}", minutes=c * 100 + i) for c in range(3) for i in range(30)]
    first = ingest(alice.client, batch)
    assert first["inserted"] == 90
    before = _tuples(db, alice.id)
    assert any(k.startswith("a") for k, _, _ in before)  # archive chunks are involved
    segments = db.execute(
        "select count(*) from messaging_private.search_segments where user_id = %s", (alice.id,)
    ).fetchone()
    again = ingest(alice.client, batch)
    assert (again["inserted"], again["duplicates"], again["updated"], again["matched"]) == (
        0,
        90,
        0,
        0,
    )
    assert [(c["external_conversation_id"], c["created"], c["duplicates"], c["message_count"])
            for c in again["conversations"]] == [(f"r{c}", False, 30, 30) for c in range(3)]  # fmt: skip
    assert [c["id"] for c in again["conversations"]] == [c["id"] for c in first["conversations"]]
    assert _tuples(db, alice.id) == before
    assert (
        db.execute(
            "select count(*) from messaging_private.search_segments where user_id = %s", (alice.id,)
        ).fetchone()
        == segments
    )


def test_a_large_resend_that_changes_something_goes_the_usual_way(make_user, db, small_caps):
    """Over 20 re-sent messages with one change each time: a newer edit of an archived
    message, a new message in the middle of the batch, a changed conversation field, an
    edit no newer than the stored one (a duplicate)."""
    alice = make_user("alice")
    batch = [msg(f"s{c}", f"s{c}-{i}", minutes=c * 100 + i) for c in range(2) for i in range(30)]
    out = ingest(alice.client, batch)
    conv = {c["external_conversation_id"]: c["id"] for c in out["conversations"]}

    edited = [dict(m) for m in batch]
    edited[3] = {**edited[3], "content": "changed", "edited_at": "2026-03-03T09:00:00Z"}
    out = ingest(alice.client, edited)
    assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 59, 1)
    assert "changed" in [m["content"] for m in check_invariants(db, conv["s0"])]

    # the same edit again: a duplicate; an edit of a message stored without edited_at
    # replaces it; other content with the same edited_at, or without one, is a duplicate
    out = ingest(alice.client, edited)
    assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 60, 0)
    edited[4] = {**edited[4], "content": "fixed", "edited_at": edited[4]["sent_at"]}
    out = ingest(alice.client, edited)
    assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 59, 1)
    out = ingest(alice.client, [*edited[:4], {**edited[4], "content": "x"}, *edited[5:]])
    assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 60, 0)
    unedited = {k: v for k, v in edited[4].items() if k != "edited_at"}
    out = ingest(alice.client, [*edited[:4], {**unedited, "content": "y"}, *edited[5:]])
    assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 60, 0)
    contents = [m["content"] for m in check_invariants(db, conv["s0"])]
    assert "fixed" in contents and "x" not in contents and "y" not in contents

    grown = [*edited[:15], msg("s0", "s0-new", minutes=15.5), *edited[15:]]
    out = ingest(alice.client, grown)
    assert (out["inserted"], out["duplicates"], out["updated"]) == (1, 60, 0)
    assert [c["message_count"] for c in out["conversations"]] == [31, 30]
    check_invariants(db, conv["s0"])

    renamed = [dict(m) for m in grown]
    renamed[-1] = {**renamed[-1], "participant_name": "Rosa"}
    out = ingest(alice.client, renamed)
    assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 61, 0)
    (name,) = db.execute(
        "select participant_name from public.chat_conversations where id = %s", (conv["s1"],)
    ).fetchone()
    assert name == "Rosa"


def test_large_and_small_resends_answer_alike(make_user, db, small_caps):
    """A re-sent batch of 40 answers as the same messages re-sent 20 at a time do."""
    alice = make_user("alice")
    batch = [msg(f"t{c}", f"t{c}-{i}", minutes=c * 100 + i, participant_name=f"P{c}")
             for c in range(2) for i in range(20)]  # fmt: skip
    ingest(alice.client, batch)
    whole = ingest(alice.client, batch)
    parts = [ingest(alice.client, [m for m in batch if m["external_conversation_id"] == f"t{c}"])
             for c in range(2)]  # fmt: skip
    assert whole["conversations"] == [p["conversations"][0] for p in parts]
    assert {k: whole[k] for k in ("inserted", "updated", "matched")} == {
        "inserted": 0, "updated": 0, "matched": 0}  # fmt: skip


# ---- the edit-time cap ------------------------------------------------------------------


@pytest.mark.parametrize("few", [20, 0], ids=["live-path", "batch-path"])
def test_an_edit_time_past_the_clock_is_capped_and_never_outranks_real_edits(make_user, db, few):
    """An edited_at more than edit_future_seconds ahead of the database's clock is stored as
    the time the edit arrived (the time given in metadata.edited_at_given), whatever the
    path: sent again it is a duplicate, and a real later edit replaces it."""
    (old_few,) = db.execute(
        "select value from messaging_private.settings where key = 'ingest_few_messages'"
    ).fetchone()
    db.execute("update messaging_private.settings set value = %s where key = 'ingest_few_messages'",
               (few,))  # fmt: skip
    try:
        alice = make_user("alice")
        (allowance,) = db.execute(
            "select value from messaging_private.contract_limits where name = 'edit_future_seconds'"
        ).fetchone()
        assert allowance == 120
        m = msg("cap", "c1", minutes=0, content="original")
        cid = ingest(alice.client, [m, msg("cap", "c2", minutes=1)])["conversations"][0]["id"]

        def db_now() -> datetime:
            (now,) = db.execute("select now()").fetchone()
            return now

        ahead = (db_now() + timedelta(hours=3)).isoformat()  # a phone's clock, 3 hours ahead
        before = db_now()
        out = ingest(alice.client, [{**m, "content": "from the future", "edited_at": ahead}])
        assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 0, 1)
        (stored,) = [x for x in check_invariants(db, cid) if x["id"] == "c1"]
        assert stored["content"] == "from the future"
        assert stored["metadata"] == {
            "edited_at_given": ahead,
            "versions": [{"content": "original", "at": "2026-03-02T09:00:00Z"}],
        }
        capped = datetime.fromisoformat(stored["edited_at"].replace("Z", "+00:00"))
        assert before <= capped <= db_now()

        # the same edit again (a retry): a duplicate, nothing rewritten
        out = ingest(alice.client, [{**m, "content": "from the future", "edited_at": ahead}])
        assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 1, 0)

        # a real edit made after it, inside the allowance: stored as given, and it wins
        real = (db_now() + timedelta(seconds=60)).isoformat()
        out = ingest(alice.client, [{**m, "content": "real edit", "edited_at": real}])
        assert (out["inserted"], out["duplicates"], out["updated"]) == (0, 0, 1)
        (stored,) = [x for x in check_invariants(db, cid) if x["id"] == "c1"]
        assert stored["content"] == "real edit" and "edited_at_given" not in stored["metadata"]
        assert [v["content"] for v in stored["metadata"]["versions"]] == [
            "original",
            "from the future",
        ]
        assert datetime.fromisoformat(stored["edited_at"].replace("Z", "+00:00")) == (
            datetime.fromisoformat(real)
        )

        # a message sent ahead of the clock (allowed) edited further ahead: the edit is
        # capped, never before the message
        sent = db_now() + timedelta(hours=2)
        f = msg("cap", "c3", content="later", sent_at=sent.isoformat())
        ingest(alice.client, [f])
        out = ingest(alice.client, [{**f, "content": "later, edited",
                                     "edited_at": (sent + timedelta(hours=1)).isoformat()}])  # fmt: skip
        assert out["updated"] == 1
        (stored,) = [x for x in check_invariants(db, cid) if x["id"] == "c3"]
        assert datetime.fromisoformat(stored["edited_at"].replace("Z", "+00:00")) == sent
    finally:
        db.execute(
            "update messaging_private.settings set value = %s where key = 'ingest_few_messages'",
            (old_few,),
        )
