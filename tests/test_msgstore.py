"""WhatsApp for Android's msgstore.db: parsed from a small database built from
tests/fixtures/whatsapp/msgstore.sql, and imported through the gateway beside the Cloud API
webhooks of the same messages (whose wamids carry the database's message keys)."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm_messaging.cli import main
from crm_messaging.config import read_env
from crm_messaging.importers import ExportFormatError, parser_for
from crm_messaging.importers.whatsapp_msgstore import key_of_wamid, parse_msgstore, wamid_of
from devstack.layout import REPO_ROOT

SCHEMA = REPO_ROOT / "tests" / "fixtures" / "whatsapp" / "msgstore.sql"
SECRET = "msgstore-secret"


@pytest.fixture
def msgstore(tmp_path: Path) -> Path:
    path = tmp_path / "msgstore.db"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA.read_text(encoding="utf-8"))
    db.commit()
    db.close()
    return path


# Cloud API ids as Meta's webhooks show them (public sample deliveries: an inbound message,
# and statuses of two messages the business sent), with the key each one carries
SAMPLES = [
    ("wamid.HBgLNjAxNzM1MjYyMzMVAgASGBQzQUI0NkE4NjM1QTU2NjVGOURGQgA=",
     ("60173526233", False, "3AB46A8635A5665F9DFB")),
    ("wamid.HBgLNjAxNzM1MjYyMzMVAgARGBJCNkY5NTBENEU3ODYxQTM3RUQA",
     ("60173526233", True, "B6F950D4E7861A37ED")),
    ("wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA=",
     ("5516992318222", True, "81BEED5AA5C81C9871")),
]  # fmt: skip


@pytest.mark.parametrize(("wamid", "key"), SAMPLES)
def test_a_wamid_is_the_message_key_of_the_phone(wamid, key):
    assert key_of_wamid(wamid) == key
    assert wamid_of(*key) == wamid


def test_other_ids_have_no_key():
    assert key_of_wamid("wamid.ABGGFlA5Fpa") is None
    assert key_of_wamid("not base64 !") is None


def test_the_database_gives_exact_times_and_platform_keys(msgstore):
    chat = parse_msgstore(msgstore, me="Alice")
    m = list(chat.messages)
    by_conv: dict[str, list[Any]] = {}
    for x in m:
        by_conv.setdefault(x.external_conversation_id, []).append(x)
    # the status update is no conversation; the LID chat lands on its phone number
    assert sorted(by_conv) == ["+34611222333", "+34633444555", "group:Tienda"]
    direct = by_conv["+34611222333"]
    assert [(x.direction, x.type, x.content) for x in direct] == [
        ("inbound", "text", "Hola, ¿tenéis la talla M?"),
        ("outbound", "text", "Sí, nos queda una"),
        ("inbound", "image", "¿Este?"),
        ("inbound", "text", "This message was deleted"),
        ("outbound", "text", "Te lo guardo hasta mañana"),
        ("inbound", "location", "40.4168,-3.7038"),
    ]
    assert direct[0].sent_at == datetime(2026, 6, 10, 9, 30, 12, 345000, tzinfo=timezone.utc)
    assert direct[0].id == wamid_of("34611222333", False, "3AB46A8635A5665F9D01")
    assert direct[1].id == wamid_of("34611222333", True, "B6F950D4E7861A37E1")
    assert direct[4].reply_to_id == direct[2].id
    assert direct[2].media_url == "Media/WhatsApp Images/IMG-20260610-WA0001.jpg"
    assert direct[3].metadata == {"key_id": "3AB46A8635A5665F9D04", "deleted": True}
    assert direct[1].sender_name == "Alice" and direct[0].sender_identifier == "+34611222333"
    # not export copies: the ids are the platform's
    assert all("id_source" not in (x.metadata or {}) for x in m)
    group = by_conv["group:Tienda"]
    assert [(x.type, x.content, x.sender_identifier) for x in group] == [
        ("system", "You created the group", None),
        ("text", "Buenas a todos", "+34622333444"),
        ("text", "Hola Luis", None),
    ]
    assert group[1].id == "key:+34622333444:AAAA1111"
    assert {x.conversation_type for x in group} == {"group"}
    assert by_conv["+34633444555"][0].content == "Hola desde un LID"


def test_the_cli_reads_a_database_as_a_whatsapp_import(msgstore):
    chat = parser_for("whatsapp")(msgstore, me="Alice", tz=None, region=None)
    assert len(chat.messages) == 10


def test_refusals_name_what_is_wrong(tmp_path):
    enc = tmp_path / "msgstore.db.crypt15"
    enc.write_bytes(b"\x00\x01encrypted")
    with pytest.raises(ExportFormatError, match="decrypted first"):
        parse_msgstore(enc)
    old = tmp_path / "old.db"
    db = sqlite3.connect(old)
    db.execute("create table messages (_id integer primary key, key_remote_jid text)")
    db.commit()
    db.close()
    with pytest.raises(ExportFormatError, match=r"older msgstore\.db"):
        parse_msgstore(old)
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("create table t (x)")
    db.commit()
    db.close()
    with pytest.raises(ExportFormatError, match=r"not a WhatsApp msgstore\.db"):
        parse_msgstore(other)


def deliveries() -> list[bytes]:
    """The Cloud API webhooks of the direct chat's first three messages (coexistence: the
    business phone's own messages arrive as smb_message_echoes)."""
    contacts = [{"profile": {"name": "Marta Ruiz"}, "wa_id": "34611222333"}]
    inbound = [
        {"from": "34611222333", "id": wamid_of("34611222333", False, "3AB46A8635A5665F9D01"),
         "timestamp": "1781083812", "type": "text", "text": {"body": "Hola, ¿tenéis la talla M?"}},
        {"from": "34611222333", "id": wamid_of("34611222333", False, "3AB46A8635A5665F9D03"),
         "timestamp": "1781083880", "type": "image",
         "image": {"id": "m1", "mime_type": "image/jpeg", "caption": "¿Este?"}},
    ]  # fmt: skip
    echo = {"from": "15550783881", "to": "34611222333",
            "id": wamid_of("34611222333", True, "B6F950D4E7861A37E1"),
            "timestamp": "1781083865", "type": "text", "text": {"body": "Sí, nos queda una"}}  # fmt: skip
    meta = {"display_phone_number": "15550783881", "phone_number_id": "1065403522"}
    return [
        json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": field, "value": {"messaging_product": "whatsapp", "metadata": meta, **value}}]}]}
        ).encode()
        for field, value in [
            ("messages", {"contacts": contacts, "messages": inbound}),
            ("smb_message_echoes", {"message_echoes": [echo]}),
        ]
    ]  # fmt: skip


@pytest.mark.parametrize("db_first", [True, False], ids=["database-first", "live-first"])
def test_database_and_cloud_api_meet_by_id(
    db_first, msgstore, make_user, service, settings, capsys
):
    user = make_user("msgstore")
    conn = service.rpc("add_messaging_connection", {
        "platform": "whatsapp", "account_identifier": "1065403522",  # the phone_number_id its deliveries name
        "secrets": {"app_secret": SECRET, "verify_token": "vt"}, "user_id": user.id,
    }).execute().data  # fmt: skip
    url = (read_env().get("FUNCTIONS_URL") or f"{settings.api_url}/functions/v1").rstrip("/")

    def send() -> None:
        with httpx.Client(timeout=30) as http:
            for body in deliveries():
                sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                r = http.post(f"{url}/messaging-ingest/whatsapp/{conn}", content=body,
                              headers={"content-type": "application/json",
                                       "x-hub-signature-256": f"sha256={sig}"})  # fmt: skip
                assert r.status_code == 200, r.text

    def run() -> dict[str, Any]:
        assert main(["import", "whatsapp", str(msgstore), "--user-id", user.id, "--me", "Alice",
                     "--json"]) == 0  # fmt: skip
        return json.loads(capsys.readouterr().out)

    if db_first:
        assert run()["inserted"] == 10
        send()
    else:
        send()
        summary = run()
        assert (summary["inserted"], summary["duplicates"]) == (7, 3)
    assert run()["inserted"] == 0
    rows = (
        user.client.table("chat_conversation_list")
        .select("id,external_conversation_id,message_count")
        .eq("external_conversation_id", "+34611222333")
        .execute()
        .data
    )
    assert [r["message_count"] for r in rows] == [6]
    page = user.client.rpc(
        "get_conversation_messages", {"conversation_id": rows[0]["id"]}
    ).execute()
    contents = [m.get("content") for m in reversed(page.data)]
    assert contents == ["Hola, ¿tenéis la talla M?", "Sí, nos queda una", "¿Este?",
                        "This message was deleted", "Te lo guardo hasta mañana", "40.4168,-3.7038"]  # fmt: skip


# --- issue 29: group replies, edits, forwards, places, reactions, calls, bounds -------------

REAL = REPO_ROOT / "tests" / "fixtures" / "whatsapp" / "msgstore_chm_2023-10.sql"
ADDONS = REPO_ROOT / "tests" / "fixtures" / "whatsapp" / "msgstore_addons.sql"


def build(tmp_path: Path, *scripts: Path, name: str = "msgstore.db") -> Path:
    path = tmp_path / name
    db = sqlite3.connect(path)
    for script in scripts:
        db.executescript(script.read_text(encoding="utf-8"))
    db.commit()
    db.close()
    return path


@pytest.fixture
def real(tmp_path: Path) -> dict[str, Any]:
    """The real 2023-10 schema (chat-history-manager's anonymised dump), by key id."""
    return {
        m.metadata["key_id"]: m for m in parse_msgstore(build(tmp_path, REAL), me="Me").messages
    }


@pytest.fixture
def full(tmp_path: Path) -> list[Any]:
    return list(parse_msgstore(build(tmp_path, SCHEMA, ADDONS), me="Alice").messages)


def by_content(messages: list[Any], content: str) -> Any:
    (found,) = [m for m in messages if m.content == content]
    return found


def test_real_group_reply_meets_the_quoted_message(real):
    reply, quoted = real["GROUPMSG99999"], real["GROUPMSG00100"]
    assert reply.content == "Last group message" and quoted.type == "system"
    assert reply.reply_to_id == quoted.id


def test_real_edit_keeps_its_time(real):
    m = real["GROUPMSG99999"]
    assert m.edited_at == datetime(2022, 8, 25, 8, 59, 15, tzinfo=timezone.utc)
    assert m.sent_at == datetime(2022, 8, 25, 8, 51, 48, tzinfo=timezone.utc)


def test_real_forward_is_marked(real):
    assert real["GROUPMSG99999"].metadata.get("forwarded") is True
    assert "frequently_forwarded" not in real["GROUPMSG99999"].metadata
    assert "forwarded" not in real["PERSONALMSG100100"].metadata


def test_real_venue_is_its_name_and_address(real):
    m = real["PERSONALMSG100100"]
    assert m.type == "location" and m.conversation_type == "direct"
    assert m.content == "New Bahari, Jl. Gurita No.21x, Denpasar, Bali"
    assert m.metadata["latitude"] == pytest.approx(-8.70385650)
    assert m.metadata["longitude"] == pytest.approx(115.21673667)


def test_real_own_deletion_reads_as_on_the_phone(real):
    m = real["PERSONALMSG999900"]
    assert (m.direction, m.content, m.metadata["deleted"]) == (
        "outbound",
        "You deleted this message",
        True,
    )


def test_group_replies_meet_the_quoted_message_either_way(full):
    group = {m.content: m for m in full if m.conversation_type == "group"}
    assert group["Sí, a las 10"].reply_to_id == group["Buenas a todos"].id  # a member's
    assert group["Perfecto"].reply_to_id == group["Hola Luis"].id  # mine


def test_a_frequently_forwarded_message(full):
    m = by_content(full, "Mira esta oferta")
    assert m.metadata["forwarded"] is True and m.metadata["frequently_forwarded"] is True


def test_an_edit_has_its_time(full):
    m = by_content(full, "Mañana abrimos a las 10:30")
    assert m.edited_at == datetime(2026, 6, 10, 9, 39, 10, tzinfo=timezone.utc)
    assert by_content(full, "Mira esta oferta").edited_at is None


def test_a_place_as_the_live_path_writes_it(full):
    m = by_content(full, "Mercado de San Miguel, Plaza de San Miguel, Madrid")
    assert m.type == "location"
    assert (m.metadata["latitude"], m.metadata["longitude"]) == (40.4154, -3.709)
    # a bare pin stays its coordinates
    assert by_content(full, "40.4168,-3.7038").metadata["latitude"] == 40.4168


def test_reactions_in_the_live_paths_shape(full):
    mine = by_content(full, "Sí, nos queda una")
    assert mine.metadata["reactions"] == {
        "+34611222333": {"emoji": "❤️", "at": "2026-06-10T09:31:10+00:00"}
    }
    assert by_content(full, "Buenas a todos").metadata["reactions"] == {
        "me": {"emoji": "👍", "at": "2026-06-10T09:33:40.500000+00:00"}
    }
    # a reaction taken back is no reaction
    assert "reactions" not in by_content(full, "Hola, ¿tenéis la talla M?").metadata


def test_calls_are_call_lines_of_their_chat(full):
    calls = [m for m in full if (m.metadata or {}).get("whatsapp_type") == "call"]
    assert [(c.direction, c.content, c.external_conversation_id) for c in calls] == [
        ("inbound", "Missed voice call", "+34611222333"),
        ("outbound", "Video call (2:05)", "+34611222333"),
    ]
    assert calls[0].type == "other" and calls[0].sender_identifier == "+34611222333"
    assert calls[1].metadata["call"]["media"] == "video"
    assert calls[1].metadata["call"]["duration_seconds"] == 125
    assert calls[0].sent_at == datetime(2026, 6, 10, 9, 40, tzinfo=timezone.utc)
    assert calls[0].id == "call:A1F3C2D4E5B60718293A4B5C6D7E8F90"


def test_a_value_larger_than_any_message_is_refused_naming_it(tmp_path):
    path = build(tmp_path, SCHEMA)
    db = sqlite3.connect(path)
    # 100,000 characters in one message, past the contract's content limit but under the
    # SQLite value cap (a value past that cap is refused whole: tests/test_hostile_files.py)
    db.execute("update message set text_data = printf('%.*c', 100000, 'x') where _id = 2")
    db.commit()
    db.close()
    with pytest.raises(
        ExportFormatError,
        match=r"msgstore.db: text_data of message row 2 is longer than 65536 characters",
    ):
        parse_msgstore(path)


def keyless(tmp_path: Path) -> Path:
    """The fixture's tables with every key and unique constraint dropped."""
    src = build(tmp_path, SCHEMA, ADDONS, name="keyed.db")
    path = tmp_path / "keyless.db"
    old, new = sqlite3.connect(src), sqlite3.connect(path)
    for (name,) in old.execute(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
    ):
        cols = [r[1] for r in old.execute(f"pragma table_info({name})")]
        new.execute(f"create table {name} ({', '.join(cols)})")
        new.executemany(
            f"insert into {name} values ({', '.join('?' * len(cols))})",
            old.execute(f"select * from {name}"),
        )
    new.commit()
    old.close()
    new.close()
    return path


def test_a_database_without_keys_is_read_without_quadratic_joins(tmp_path):
    from crm_messaging.importers import whatsapp_msgstore as ms

    path = keyless(tmp_path)
    assert sqlite3.connect(path).execute(
        "select count(*) from sqlite_master where type = 'index'"
    ).fetchone() == (0,)
    db = sqlite3.connect(path)
    for query in (ms._query(db), ms._reactions_query(db), ms._calls_query(db)):
        assert query is not None
        plan = [str(r[3]) for r in db.execute(f"explain query plan {query}")]
        scans = [p for p in plan if p.startswith("SCAN") and "AUTOMATIC" not in p]
        # one table read whole; every other table reached through an index SQLite builds
        # once (automatic index) or a bloom filter, never scanned per row
        assert len(scans) == 1, plan
    db.close()
    assert len(list(parse_msgstore(path, me="Alice").messages)) == len(
        list(parse_msgstore(build(tmp_path, SCHEMA, ADDONS, name="again.db"), me="Alice").messages)
    )
