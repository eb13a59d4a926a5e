"""Where a conversation's history comes from: conversation_coverage (docs/contract.md "Coverage").

Through the gateway: an export goes in with `crm-messaging import`, live messages as signed
WhatsApp deliveries through nginx to the messaging-ingest function; the coverage is read as
the signed-in user (RLS) and by the CLI. Nothing is mocked.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from postgrest.exceptions import APIError

from crm_messaging import MessagingClient
from crm_messaging.cli import main
from crm_messaging.errors import InputError, MessagingError
from devstack import catalog, release, upgrade
from tests.test_export_live import (
    APP_SECRET,
    MADRID,
    WA_ID,
    connection,
    wa_body,
    wa_deliveries,
    wa_export,
    wa_import,
    wa_send,
)
from tests.test_msgstore import SCHEMA as MSGSTORE_SCHEMA


def coverage(user, conversation_id: str) -> dict[str, Any]:
    return (
        user.client.rpc("conversation_coverage", {"conversation_id": conversation_id})
        .execute()
        .data
    )


def the_conversation(user) -> str:
    rows = user.client.table("chat_conversation_list").select("id").execute().data
    assert len(rows) == 1
    return str(rows[0]["id"])


def live_bodies(start: datetime, count: int) -> list[bytes]:
    """`count` new inbound messages, one a minute from `start`, as Meta delivers them."""
    return [
        wa_body({"contacts": [{"profile": {"name": "Marta Ruiz"}, "wa_id": WA_ID}],
                 "messages": [{"from": WA_ID, "id": f"wamid.NEW{n}",
                               "timestamp": str(int((start + timedelta(minutes=n)).timestamp())),
                               "type": "text", "text": {"body": f"nuevo {n}"}}]}, "messages")
        for n in range(count)
    ]  # fmt: skip


def day_start(days_ago: int) -> datetime:
    return (datetime.now(MADRID) - timedelta(days=days_ago)).replace(second=0, microsecond=0)


def by_kind(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["kind"]: s for s in found["sources"]}


def test_an_export_then_live_messages_days_later_show_both_sources_and_the_gap(
    make_user, service, http, functions_url, capsys, tmp_path
):
    user = make_user("covgap")
    conn = connection(service, user.id, "whatsapp",
                      {"app_secret": APP_SECRET, "verify_token": "vt-coverage"})  # fmt: skip
    export_start = day_start(10)
    path = wa_export(tmp_path, export_start)
    assert wa_import(capsys, path, user.id)["inserted"] == 6
    live_start = day_start(2)
    wa_send(http, functions_url, conn, live_bodies(live_start, 3))

    found = coverage(user, the_conversation(user))
    assert found["message_count"] == 9
    assert [s["kind"] for s in found["sources"]] == ["export", "webhook"]
    export, live = found["sources"]
    assert export["name"] == "WhatsApp Chat with Marta.txt"
    assert (export["inserted"], export["duplicates"], export["matched"]) == (6, 0, 0)
    assert datetime.fromisoformat(export["covers_from"]) == export_start
    # the export covers up to its last message (9 minutes in); the webhook from its first on
    assert datetime.fromisoformat(export["covers_until"]) == export_start + timedelta(minutes=9)
    assert (live["inserted"], live["batches"], live["covers_until"]) == (3, 3, None)
    assert live["connection_id"] == conn
    assert datetime.fromisoformat(live["covers_from"]) == live_start
    # the gap: from the export's last message to the first live one, nothing else
    assert [(datetime.fromisoformat(g["from"]), datetime.fromisoformat(g["to"]))
            for g in found["gaps"]] == [(export_start + timedelta(minutes=9), live_start)]  # fmt: skip
    assert found["matched"] == 0


def test_an_export_met_by_its_live_copies_counts_the_matched_once_and_a_reimport_adds_nothing(
    make_user, service, http, functions_url, capsys, tmp_path
):
    user = make_user("covmatch")
    conn = connection(service, user.id, "whatsapp",
                      {"app_secret": APP_SECRET, "verify_token": "vt-coverage"})  # fmt: skip
    start = day_start(2)
    wa_send(http, functions_url, conn, wa_deliveries(start))  # 5 live copies and one later
    path = wa_export(tmp_path, start)
    first = wa_import(capsys, path, user.id)
    assert (first["inserted"], first["duplicates"], first["matched"]) == (1, 5, 5)
    conversation = the_conversation(user)
    before = coverage(user, conversation)
    export, live = by_kind(before)["export"], by_kind(before)["webhook"]
    assert (export["inserted"], export["duplicates"], export["matched"]) == (1, 5, 5)
    assert (live["inserted"], live["matched"]) == (6, 0)
    assert before["matched"] == 5  # the pairs as stored
    assert before["gaps"] == []  # the export and the live copies overlap
    assert before["message_count"] == 7

    # the same export again, and every delivery again: no count moves but the skipped ones
    again = wa_import(capsys, path, user.id)
    assert (again["inserted"], again["matched"]) == (0, 5)
    wa_send(http, functions_url, conn, wa_deliveries(start))
    after = coverage(user, conversation)
    export2, live2 = by_kind(after)["export"], by_kind(after)["webhook"]
    assert (export2["inserted"], export2["matched"]) == (1, 5)
    assert export2["duplicates"] == 5 + 6
    assert (live2["inserted"], live2["matched"]) == (6, 0)
    assert after["matched"] == 5
    assert [s["kind"] for s in after["sources"]] == [s["kind"] for s in before["sources"]]


def test_the_cli_prints_the_coverage_as_a_table_and_as_json(
    make_user, service, http, functions_url, capsys, tmp_path
):
    user = make_user("covcli")
    conn = connection(service, user.id, "whatsapp",
                      {"app_secret": APP_SECRET, "verify_token": "vt-coverage"})  # fmt: skip
    export_start = day_start(10)
    wa_import(capsys, wa_export(tmp_path, export_start), user.id)
    wa_send(http, functions_url, conn, live_bodies(day_start(2), 1))
    conversation = the_conversation(user)

    assert main(["conversations", "coverage", conversation]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == (f"whatsapp +{WA_ID}: 7 messages from {export_start.astimezone().date()}"
                        f" to {day_start(2).astimezone().date()}")  # fmt: skip
    # covers, new, duplicates, matched, then the source (an export's whole file name)
    assert any(line.endswith("export WhatsApp Chat with Marta.txt") and line.split()[3:6] == ["6", "0", "0"]
               for line in lines)  # fmt: skip
    assert any(line.endswith("webhook") and "now (live)" in line for line in lines)
    assert "0 copies matched between sources" in lines
    assert sum(line.startswith("gap: ") for line in lines) == 1

    assert main(["conversations", "coverage", conversation, "--json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == coverage(user, conversation)


def test_a_msgstore_import_is_its_own_kind_of_source(make_user, capsys, tmp_path):
    path = tmp_path / "msgstore.db"
    db = sqlite3.connect(path)
    db.executescript(MSGSTORE_SCHEMA.read_text(encoding="utf-8"))
    db.commit()
    db.close()
    user = make_user("covmsgstore")
    assert (
        main(["import", "whatsapp", str(path), "--user-id", user.id, "--me", "Alice", "--json"])
        == 0
    )
    capsys.readouterr()
    rows = user.client.table("chat_conversation_list").select("id, message_count").execute().data
    assert rows
    for row in rows:
        found = coverage(user, row["id"])
        assert [(s["kind"], s["name"], s["inserted"]) for s in found["sources"]] == [
            ("msgstore", "msgstore.db", row["message_count"])
        ]


def test_another_users_conversation_or_none_is_not_found(make_user, settings):
    owner, other = make_user("covowner"), make_user("covother")
    owner.client.rpc("ingest_messages", {"payload": {"platform": "whatsapp", "source": "app", "messages": [
        {"external_conversation_id": "+34600000009", "id": "a1", "direction": "inbound",
         "content": "hola", "sent_at": "2026-02-01T10:30:00Z"}]}}).execute()  # fmt: skip
    conversation = the_conversation(owner)
    assert by_kind(coverage(owner, conversation))["app"]["inserted"] == 1
    for user, conv in ((other, conversation), (owner, str(uuid.uuid4()))):
        with pytest.raises(APIError) as err:
            coverage(user, conv)
        assert (err.value.code, err.value.hint) == ("P0002", "conversation_not_found")
    # the HTTP status, through the gateway
    r = httpx.post(f"{settings.api_url}/rest/v1/rpc/conversation_coverage",
                   json={"conversation_id": conversation},
                   headers={"apikey": settings.anon_key,
                            "authorization": f"Bearer {other.token}"})  # fmt: skip
    assert r.status_code == 404 and r.json()["hint"] == "conversation_not_found"
    # the other user reads no row of the table either
    assert other.client.table("chat_conversation_sources").select("id").execute().data == []


def test_anon_may_not_read_coverage(anon, make_user):
    with pytest.raises(APIError) as err:
        anon.rpc("conversation_coverage", {"conversation_id": str(uuid.uuid4())}).execute()
    assert err.value.code == "42501"


def test_a_bad_source_is_refused_naming_the_field_and_stores_nothing(make_user):
    user = make_user("covbad")
    message = {"platform": "whatsapp", "external_conversation_id": "+34600000010", "id": "b1",
               "direction": "inbound", "content": "x", "sent_at": "2026-02-01T10:30:00Z"}  # fmt: skip
    for payload, words in (
        ({"source": "fax"}, "source: must be one of export, msgstore, webhook, history, app"),
        ({"source": "export", "source_name": "x" * 257}, "source_name: longer than 256"),
        ({"source": "history", "source_phase": 3}, "source_phase: must be a string"),
    ):
        with pytest.raises(APIError) as err:
            user.client.rpc(
                "ingest_messages", {"payload": {**payload, "messages": [message]}}
            ).execute()
        assert err.value.hint == "payload_invalid" and words in err.value.message
    assert user.client.table("chat_conversation_list").select("id").execute().data == []
    assert user.client.table("chat_conversation_sources").select("id").execute().data == []


def test_the_client_refuses_an_id_that_is_no_uuid_before_asking(settings):
    client = MessagingClient.from_env()
    with pytest.raises(InputError, match="not a UUID"):
        client.coverage("42")
    with pytest.raises(MessagingError) as err:
        client.coverage(str(uuid.uuid4()))
    assert err.value.code == "P0002"


def test_a_history_backfill_keeps_a_record_per_phase_and_one_upsert_per_conversation(make_user, db):
    user = make_user("covphase")

    def send(phase: str, ids: range, conversations: int) -> None:
        user.client.rpc("ingest_messages", {"payload": {
            "platform": "whatsapp", "source": "history", "source_phase": phase,
            "messages": [{"external_conversation_id": f"+3460000{c:04d}", "id": f"{phase}-{i}",
                          "direction": "inbound", "content": "x",
                          "sent_at": f"2026-01-{1 + i:02d}T10:00:00Z"}
                         for c in range(conversations) for i in ids]}}).execute()  # fmt: skip

    send("0", range(0, 5), 3)
    send("1", range(5, 10), 3)
    rows = db.execute(
        "select kind, phase, count(*), sum(inserted), sum(batches) from public.chat_conversation_sources"
        " where user_id = %s group by 1, 2 order by 2", (user.id,)).fetchall()  # fmt: skip
    assert rows == [("history", "0", 3, 15, 3), ("history", "1", 3, 15, 3)]
    conv = user.client.table("chat_conversation_list").select("id").limit(1).execute().data[0]["id"]
    found = coverage(user, conv)
    assert [(s["phase"], s["inserted"]) for s in found["sources"]] == [("0", 5), ("1", 5)]
    # phase 0 ends on the 5th and phase 1 starts on the 6th: a gap of a day between them
    assert [(g["from"][:10], g["to"][:10]) for g in found["gaps"]] == [("2026-01-05", "2026-01-06")]


def test_conversations_stored_before_coverage_answer_an_unknown_source_after_the_upgrade():
    """0.2.0 filled with data (devstack.upgrade.fill), migrated to HEAD: every conversation
    answers one `unknown` source spanning its stored messages, and no gap."""
    releases = release.read_releases()
    last = releases[0].last_migration
    every = catalog.source_files(catalog.MIGRATIONS_DIR)
    with catalog.scratch_database("crm_coverage_upgrade") as url:
        catalog.run_sql_files(url, release.files_up_to(last, catalog.MIGRATIONS_DIR))
        upgrade.fill(url)
        catalog.run_sql_files(url, [f for f in every if release.migration_version(f) > last])
        with psycopg.connect(url, autocommit=True) as conn:
            rows = upgrade.as_user(
                conn, upgrade.ALICE,
                "select l.id, l.message_count, l.first_message_at, l.last_message_at"
                " from public.chat_conversation_list l order by l.id")  # fmt: skip
            assert rows
            for conv, count, first, last_at in rows:
                found = upgrade.as_user(
                    conn, upgrade.ALICE, "select public.conversation_coverage(%s)", (conv,)
                )[0][0]
                assert [(s["kind"], s["inserted"]) for s in found["sources"]] == [
                    ("unknown", count)
                ]
                assert datetime.fromisoformat(found["sources"][0]["covers_from"]) == first
                assert datetime.fromisoformat(found["sources"][0]["covers_until"]) == last_at
                assert found["gaps"] == []
            # the export copy met by its live copy in the release's data is counted as stored
            assert sum(
                upgrade.as_user(conn, upgrade.ALICE, "select (public.conversation_coverage(%s) ->> 'matched')::int",
                                (conv,))[0][0]
                for conv, *_ in rows
            ) >= 1  # fmt: skip
