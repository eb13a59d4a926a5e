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

# the connection's account: the phone_number_id of its deliveries (the function refuses a
# delivery for another account)
ACCOUNT = "1065403522"


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
    meta = {"display_phone_number": "15550783881", "phone_number_id": ACCOUNT}
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
        "platform": "whatsapp", "account_identifier": ACCOUNT,
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
