"""Row-level security and grants through supabase-py: a user only ever sees their own."""

from __future__ import annotations

import time

import pytest
from postgrest.exceptions import APIError

from .conftest import client_for
from .helpers import ARCHIVE_COLUMNS, msg

#: every table and view of the project a CRM frontend could query, with the columns an API
#: role may read (the conversation tables' internal columns have no grant, so `*` is refused)
USER_TABLES = {
    "chat_conversations": "*",
    "chat_conversation_list": "*",
    "chat_conversation_archives": ARCHIVE_COLUMNS,
    "people": "*",
    "person_identifiers": "*",
    "messaging_connections": "*",
}


@pytest.fixture
def two_users(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    out = (
        alice.client.rpc(
            "ingest_messages",
            {
                "payload": {
                    "messages": [
                        msg("shared-id", "a1", content="alice's secret"),
                        msg("shared-id", "a2"),
                    ]
                }
            },
        )
        .execute()
        .data
    )
    alice.conversation = out["conversations"][0]["id"]
    alice.person = (
        alice.client.table("people").insert({"full_name": "A's client"}).execute().data[0]["id"]
    )
    bob.person = (
        bob.client.table("people").insert({"full_name": "B's client"}).execute().data[0]["id"]
    )
    return alice, bob


def test_owner_reads_list_thread_and_row(two_users):
    alice, _ = two_users
    rows = alice.client.table("chat_conversation_list").select("*").execute().data
    assert [r["id"] for r in rows] == [alice.conversation]
    assert "messages" not in rows[0]
    page = (
        alice.client.rpc("get_conversation_messages", {"conversation_id": alice.conversation})
        .execute()
        .data
    )
    assert [m["id"] for m in page] == ["a2", "a1"]


@pytest.fixture
def everyone_has_rows(two_users, small_caps):
    """Both users with rows in every table: a conversation long enough to have archive
    chunks, a person identifier and a connection (people they have already)."""
    alice, bob = two_users
    for user in (alice, bob):
        long = [
            msg("long", f"l{i:02d}", minutes=i) for i in range(small_caps["hot_max_messages"] + 5)
        ]
        user.client.rpc("ingest_messages", {"payload": {"messages": long}}).execute()
        user.client.table("person_identifiers").insert(
            {"person_id": user.person, "kind": "phone", "value": "+34600000001"}
        ).execute()
        user.client.table("messaging_connections").insert(
            {"platform": "signal", "account_identifier": "+447700900001"}
        ).execute()
    return alice, bob


def test_another_user_sees_nothing(everyone_has_rows, db):
    alice, bob = everyone_has_rows
    for table, columns in USER_TABLES.items():
        source = "chat_conversations" if table == "chat_conversation_list" else table
        for user in (alice, bob):  # each has something the other must not see
            (count,) = db.execute(
                f"select count(*) from public.{source} where user_id = %s", (user.id,)
            ).fetchone()
            assert count > 0, (table, user.email)
        rows = bob.client.table(table).select(columns).execute().data
        assert rows and {r["user_id"] for r in rows} == {bob.id}, table
    assert (
        bob.client.rpc("get_conversation_messages", {"conversation_id": alice.conversation})
        .execute()
        .data
        == []
    )


def test_anon_is_refused_everywhere(two_users, anon):
    alice, _ = two_users
    for table, columns in USER_TABLES.items():
        with pytest.raises(APIError) as err:
            anon.table(table).select(columns).execute()
        assert err.value.code == "42501", table
    with pytest.raises(APIError) as err:
        anon.rpc("get_conversation_messages", {"conversation_id": alice.conversation}).execute()
    assert err.value.code == "42501"


def test_owner_links_to_own_person_only(two_users):
    alice, bob = two_users
    ok = (
        alice.client.table("chat_conversations")
        .update({"person_id": alice.person, "entity_table": "deals"})
        .eq("id", alice.conversation)
        .select("id, person_id")
        .execute()
        .data
    )
    assert ok[0]["person_id"] == alice.person
    with pytest.raises(APIError) as err:
        alice.client.table("chat_conversations").update({"person_id": bob.person}).eq(
            "id", alice.conversation
        ).execute()
    assert err.value.code == "42501"


def test_messages_and_owner_cannot_be_written_directly(two_users):
    alice, bob = two_users
    for change in (
        {"messages": []},
        {"message_count": 0},
        {"user_id": bob.id},
        {"participant_name": "x"},
    ):
        with pytest.raises(APIError) as err:
            alice.client.table("chat_conversations").update(change).eq(
                "id", alice.conversation
            ).execute()
        assert err.value.code == "42501", change
    with pytest.raises(APIError) as err:
        alice.client.table("chat_conversations").insert(
            {"platform": "whatsapp", "external_conversation_id": "x", "user_id": alice.id}
        ).execute()
    assert err.value.code == "42501"


def test_other_user_cannot_update_or_delete(two_users, db):
    alice, bob = two_users
    upd = (
        bob.client.table("chat_conversations")
        .update({"entity_table": "hack"})
        .eq("id", alice.conversation)
        .select("id")
        .execute()
    )
    assert upd.data == []
    gone = (
        bob.client.table("chat_conversations")
        .delete()
        .eq("id", alice.conversation)
        .select("id")
        .execute()
    )
    assert gone.data == []
    assert db.execute(
        "select entity_table from chat_conversations where id = %s", (alice.conversation,)
    ).fetchone() == (None,)


def test_owner_deletes_own_conversation_with_its_archive(two_users, db):
    alice, _ = two_users
    gone = (
        alice.client.table("chat_conversations")
        .delete()
        .eq("id", alice.conversation)
        .select("id")
        .execute()
        .data
    )
    assert [g["id"] for g in gone] == [alice.conversation]
    assert db.execute(
        "select count(*) from chat_conversation_archives where conversation_id = %s",
        (alice.conversation,),
    ).fetchone() == (0,)


def test_ingest_refuses_other_users_and_their_things(two_users, service):
    alice, bob = two_users
    cases = [
        {"user_id": bob.id, "messages": [msg("c")]},
        {"messages": [msg("c", person_id=bob.person)]},
    ]
    bob_conn = (
        bob.client.table("messaging_connections")
        .insert({"platform": "signal", "account_identifier": "+447700900999"})
        .execute()
        .data[0]["id"]
    )
    cases.append({"connection_id": bob_conn, "messages": [msg("c")]})
    for payload in cases:
        with pytest.raises(APIError) as err:
            alice.client.rpc("ingest_messages", {"payload": payload}).execute()
        assert err.value.code == "42501", payload
    with pytest.raises(APIError) as err:
        service.rpc(
            "ingest_messages",
            {"payload": {"user_id": alice.id, "messages": [msg("c", person_id=bob.person)]}},
        ).execute()
    assert err.value.code == "42501"


def test_person_identifier_for_someone_elses_person_is_refused(two_users):
    alice, bob = two_users
    with pytest.raises(APIError) as err:
        alice.client.table("person_identifiers").insert(
            {"person_id": bob.person, "kind": "phone", "value": "+34600000000"}
        ).execute()
    assert err.value.code == "42501"


def test_service_key_with_a_user_token_reads_as_that_user(two_users, settings):
    """The apikey opens the gateway; the bearer token decides the role: RLS applies as bob."""
    alice, bob = two_users
    as_bob = client_for(settings, settings.service_role_key, bob.token)
    assert as_bob.table("chat_conversations").select("id").execute().data == []
    with pytest.raises(APIError) as err:
        as_bob.rpc(
            "ingest_messages", {"payload": {"user_id": alice.id, "messages": [msg("x")]}}
        ).execute()
    assert err.value.code == "42501"


@pytest.mark.parametrize("table", USER_TABLES)
def test_anon_cannot_write_anything(anon, table):
    with pytest.raises(APIError) as err:
        anon.table(table).insert({"user_id": "00000000-0000-4000-a000-00000000a11c"}).execute()
    assert err.value.code == "42501"


def test_internal_columns_can_be_neither_read_nor_filtered(two_users, service):
    """A regular expression over searchable text could hold a pooled connection until the
    statement timeout. The search text lives in a private table the API cannot reach, and
    the archive's id_hashes has no grant: PostgreSQL refuses at once."""
    alice, _ = two_users
    for client in (alice.client, service):
        for table, column, op, value, code in (
            ("chat_conversations", "search_document", "match", "^(a|aa)+(b|c)*.*x.*y.*z$", "42703"),
            ("chat_conversation_archives", "search_document", "imatch", "(.*a){20}", "42703"),
            ("chat_conversation_archives", "id_hashes", "cs", "{1}", "42501"),
        ):
            started = time.monotonic()
            with pytest.raises(APIError) as err:
                client.table(table).select("id").filter(column, op, value).execute()
            assert err.value.code == code, (table, column, err.value.code)
            assert time.monotonic() - started < 2
        with pytest.raises(APIError) as err:
            client.table("chat_conversation_archives").select("id,id_hashes").execute()
        assert err.value.code == "42501"
        # `*` would include id_hashes: name the archive's columns
        with pytest.raises(APIError) as err:
            client.table("chat_conversation_archives").select("*").execute()
        assert err.value.code == "42501"
        with pytest.raises(APIError) as err:
            client.schema("messaging_private").table("search_segments").select("id").execute()
        assert err.value.code in {"PGRST106", "42501"}
    rows = alice.client.table("chat_conversations").select("*").execute().data
    assert [r["id"] for r in rows] == [alice.conversation]
