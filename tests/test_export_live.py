"""An export and the live webhooks of the same days end in one conversation, each message once.

Through the gateway: the export goes in with `crm-messaging import` (supabase-py, PostgREST),
the webhooks are signed deliveries sent through nginx to the messaging-ingest function, both
orders of arrival. The inbox (chat_conversation_list) and the thread
(get_conversation_messages) are read as the signed-in user.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from crm_messaging.cli import main

MADRID = ZoneInfo("Europe/Madrid")
WA_ID = "34611222333"
APP_SECRET = "export-live-secret"
TG_TOKEN = "tg_export_live-1"


WA_PHONE_NUMBER_ID = "1065403522"


def connection(service, user_id: str, platform: str, secrets: dict[str, str]) -> str:
    return str(
        service.rpc(
            "add_messaging_connection",
            {
                "platform": platform,
                # a WhatsApp delivery is bound to its account: the phone_number_id of WA_META
                "account_identifier": WA_PHONE_NUMBER_ID
                if platform == "whatsapp"
                else f"{platform}-{uuid.uuid4().hex[:6]}",
                "secrets": secrets,
                "user_id": user_id,
            },
        )
        .execute()
        .data
    )


def run_import(capsys, *argv: str) -> dict[str, Any]:
    assert main(["import", *argv, "--json"]) == 0
    out, _ = capsys.readouterr()
    return json.loads(out)


def thread(user, conversation_id: str) -> list[dict[str, Any]]:
    page = user.client.rpc(
        "get_conversation_messages", {"conversation_id": conversation_id, "max_count": 100}
    ).execute()
    return list(reversed(page.data))


def inbox(user) -> list[dict[str, Any]]:
    return (
        user.client.table("chat_conversation_list")
        .select("id,platform,external_conversation_id,message_count,last_message_preview")
        .execute()
        .data
    )


# ----------------------------------------------------------------------------- WhatsApp


@dataclass
class WaLine:
    """One message of the chat: where it is in the export, and how it arrives live."""

    minute: int  # minutes after the chat's first one
    second: int  # the exact second (the export shows only the minute)
    sender: str  # "Marta" (the customer) or "Alice" (the business, me)
    text: str  # as the export writes it
    live: str | None  # "in" (messages), "echo" (smb_message_echoes) or None: not live
    image: bool = False


WA_CHAT = [
    WaLine(0, 12, "Marta", "Hola, ¿tenéis la talla M?", "in"),
    WaLine(1, 5, "Alice", "Sí, nos queda una", "echo"),
    WaLine(1, 20, "Marta", "ok", "in"),
    WaLine(1, 45, "Marta", "ok", "in"),  # ok, ok in one minute: two messages
    WaLine(5, 3, "Marta", "<Media omitted>", "in", image=True),
    WaLine(9, 30, "Alice", "Te la guardo hasta mañana", None),  # sent from the phone only
]


def wa_start() -> datetime:
    """The chat's first minute: two days ago, in Madrid's local time."""
    return (datetime.now(MADRID) - timedelta(days=2)).replace(second=0, microsecond=0)


def wa_export(tmp_path: Path, start: datetime) -> Path:
    lines = []
    for m in WA_CHAT:
        at = start + timedelta(minutes=m.minute)
        lines.append(f"{at:%d/%m/%Y, %H:%M} - {m.sender}: {m.text}")
    path = tmp_path / "WhatsApp Chat with Marta.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wa_deliveries(start: datetime) -> list[bytes]:
    """One signed-able body per live message, as Meta sends them, plus one newer message."""
    bodies = []
    for n, m in enumerate(WA_CHAT):
        if m.live is None:
            continue
        ts = str(int((start + timedelta(minutes=m.minute, seconds=m.second)).timestamp()))
        if m.live == "echo":
            msg: dict[str, Any] = {"from": "15550783881", "to": WA_ID, "id": f"wamid.E{n}",
                                   "timestamp": ts, "type": "text", "text": {"body": m.text}}  # fmt: skip
            value: dict[str, Any] = {"message_echoes": [msg]}
            field = "smb_message_echoes"
        else:
            msg = {"from": WA_ID, "id": f"wamid.M{n}", "timestamp": ts}
            if m.image:
                msg |= {"type": "image", "image": {"id": f"media-{n}", "mime_type": "image/jpeg"}}
            else:
                msg |= {"type": "text", "text": {"body": m.text}}
            value = {"contacts": [{"profile": {"name": "Marta Ruiz"}, "wa_id": WA_ID}],
                     "messages": [msg]}  # fmt: skip
            field = "messages"
        bodies.append(wa_body(value, field))
    later = str(int((start + timedelta(minutes=30)).timestamp()))
    bodies.append(wa_body({"contacts": [{"profile": {"name": "Marta Ruiz"}, "wa_id": WA_ID}],
                           "messages": [{"from": WA_ID, "id": "wamid.LATER", "timestamp": later,
                                         "type": "text", "text": {"body": "¡Gracias!"}}]},
                          "messages"))  # fmt: skip
    return bodies


def wa_body(value: dict[str, Any], field: str) -> bytes:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881", "phone_number_id": WA_PHONE_NUMBER_ID},
             **value}  # fmt: skip
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "1022901293", "changes": [{"value": value, "field": field}]}]}
                      ).encode()  # fmt: skip


def wa_send(http: httpx.Client, url: str, conn: str, bodies: list[bytes]) -> None:
    for body in bodies:
        sig = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        r = http.post(f"{url}/whatsapp/{conn}", content=body,
                      headers={"content-type": "application/json",
                               "x-hub-signature-256": f"sha256={sig}"})  # fmt: skip
        assert r.status_code == 200, r.text


def wa_import(capsys, path: Path, user_id: str) -> dict[str, Any]:
    return run_import(capsys, "whatsapp", str(path), "--user-id", user_id, "--me", "Alice",
                      "--tz", "Europe/Madrid", "--participant", f"+{WA_ID}")  # fmt: skip


def assert_one_whatsapp_conversation(user) -> None:
    rows = [r for r in inbox(user) if r["platform"] == "whatsapp"]
    assert [r["external_conversation_id"] for r in rows] == [f"+{WA_ID}"]
    assert rows[0]["message_count"] == 7
    assert rows[0]["last_message_preview"] == "¡Gracias!"
    msgs = thread(user, rows[0]["id"])
    assert [(m["direction"], m["type"], m.get("content")) for m in msgs] == [
        ("inbound", "text", "Hola, ¿tenéis la talla M?"),
        ("outbound", "text", "Sí, nos queda una"),
        ("inbound", "text", "ok"),
        ("inbound", "text", "ok"),
        ("inbound", "image", None),
        ("outbound", "text", "Te la guardo hasta mañana"),
        ("inbound", "text", "¡Gracias!"),
    ]
    # the live copies, with their wamids and exact times, are the ones kept; the one message
    # only the export has keeps its own id
    assert [m["id"] for m in msgs] == [
        "wamid.M0", "wamid.E1", "wamid.M2", "wamid.M3", "wamid.M4", msgs[5]["id"], "wamid.LATER",
    ]  # fmt: skip
    assert msgs[5]["metadata"]["id_source"] == "export"
    assert all("id_source" not in (m.get("metadata") or {}) for m in msgs[:5])
    # each kept copy names the export copy it met, and what the export said differently
    matched = [m["metadata"]["matched"] for m in msgs[:5]]
    assert all(x["id"].startswith("wa_") for x in matched)
    assert len({x["id"] for x in matched}) == 5
    assert matched[0]["sender_name"] == "Marta"  # the export's name; live says Marta Ruiz
    assert msgs[0]["sender_name"] == "Marta Ruiz"
    assert matched[4]["metadata"] == {"media_omitted": True} and matched[4]["type"] == "other"
    # search finds the message once, as stored now (the export copy it replaced is gone)
    hits = user.client.rpc("search_messages", {"query": "talla"}).execute().data
    assert [h["message"]["id"] for h in hits] == ["wamid.M0"]


def test_whatsapp_export_then_webhooks_of_the_same_days(
    make_user, service, http, functions_url, capsys, tmp_path
):
    user = make_user("exportfirst")
    conn = connection(service, user.id, "whatsapp",
                      {"app_secret": APP_SECRET, "verify_token": "vt-export"})  # fmt: skip
    start = wa_start()
    path = wa_export(tmp_path, start)
    first = wa_import(capsys, path, user.id)
    assert (first["inserted"], first["duplicates"], first["matched"]) == (6, 0, 0)
    wa_send(http, functions_url, conn, wa_deliveries(start))
    assert_one_whatsapp_conversation(user)
    # a re-import, and a redelivery of every webhook, store nothing
    again = wa_import(capsys, path, user.id)
    assert (again["inserted"], again["duplicates"], again["matched"]) == (0, 6, 5)
    wa_send(http, functions_url, conn, wa_deliveries(start))
    assert_one_whatsapp_conversation(user)


def test_whatsapp_webhooks_then_the_export_of_the_same_days(
    make_user, service, http, functions_url, capsys, tmp_path
):
    user = make_user("livefirst")
    conn = connection(service, user.id, "whatsapp",
                      {"app_secret": APP_SECRET, "verify_token": "vt-export"})  # fmt: skip
    start = wa_start()
    wa_send(http, functions_url, conn, wa_deliveries(start))
    path = wa_export(tmp_path, start)
    summary = wa_import(capsys, path, user.id)
    # five of the export's six messages were already stored live: matched, not stored twice
    assert (summary["inserted"], summary["duplicates"], summary["matched"]) == (1, 5, 5)
    assert_one_whatsapp_conversation(user)
    again = wa_import(capsys, path, user.id)
    assert (again["inserted"], again["duplicates"], again["matched"]) == (0, 6, 5)
    assert_one_whatsapp_conversation(user)


def test_the_cli_says_how_many_were_matched(
    make_user, service, http, functions_url, capsys, tmp_path
):
    user = make_user("cliwords")
    conn = connection(service, user.id, "whatsapp",
                      {"app_secret": APP_SECRET, "verify_token": "vt-export"})  # fmt: skip
    start = wa_start()
    wa_send(http, functions_url, conn, wa_deliveries(start))
    path = wa_export(tmp_path, start)
    code = main(["import", "whatsapp", str(path), "--user-id", user.id, "--me", "Alice",
                 "--tz", "Europe/Madrid", "--participant", f"+{WA_ID}"])  # fmt: skip
    out, _ = capsys.readouterr()
    assert code == 0
    assert "1 inserted, 5 duplicates (5 matched to live messages)" in out


# ----------------------------------------------------------------------------- Telegram

SUPERGROUP = 1987654321  # as Telegram Desktop writes it; the Bot API says -1001987654321
BASIC_GROUP = 4455667  # a basic group: the Bot API says -4455667, and numbers messages its own way


def tg_export(tmp_path: Path, start: int) -> Path:
    """A full Telegram Desktop export with a supergroup and a basic group."""

    def msg(mid: int, at: int, who: str, uid: int, text: str) -> dict[str, Any]:
        return {"id": mid, "type": "message", "date": "2026-01-01T00:00:00",
                "date_unixtime": str(at), "from": who, "from_id": f"user{uid}", "text": text}  # fmt: skip

    data = {
        "personal_information": {"user_id": 700, "first_name": "Alice", "username": "alice_shop"},
        "chats": {"list": [
            {"name": "Shop customers", "type": "private_supergroup", "id": SUPERGROUP, "messages": [
                msg(501, start, "Olga", 801, "¿Abrís el sábado?"),
                msg(502, start + 40, "Alice", 700, "Sí, de 10 a 14"),
                msg(503, start + 95, "Olga", 801, "Genial"),
            ]},
            {"name": "Pedidos", "type": "private_group", "id": BASIC_GROUP, "messages": [
                msg(31, start + 10, "Olga", 801, "ok"),
                msg(32, start + 10, "Olga", 801, "ok"),
                msg(33, start + 70, "Alice", 700, "Anotado"),
            ]},
        ]},
    }  # fmt: skip
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def tg_updates(start: int) -> list[dict[str, Any]]:
    olga = {"id": 801, "is_bot": False, "first_name": "Olga"}
    alice = {"id": 700, "is_bot": False, "first_name": "Alice"}
    sg = {"id": -1000000000000 - SUPERGROUP, "title": "Shop customers", "type": "supergroup"}
    bg = {"id": -BASIC_GROUP, "title": "Pedidos", "type": "group"}
    live = [
        # the supergroup: the same message ids for everyone
        (sg, 501, olga, start, "¿Abrís el sábado?"),
        (sg, 502, alice, start + 40, "Sí, de 10 a 14"),
        (sg, 503, olga, start + 95, "Genial"),
        (sg, 504, olga, start + 300, "Hasta el sábado"),
        # the basic group as the bot numbers it
        (bg, 9001, olga, start + 10, "ok"),
        (bg, 9002, olga, start + 10, "ok"),
        (bg, 9003, alice, start + 70, "Anotado"),
    ]
    return [
        {
            "update_id": 100 + n,
            "message": {"message_id": mid, "from": who, "chat": chat, "date": at, "text": text},
        }
        for n, (chat, mid, who, at, text) in enumerate(live)
    ]


def tg_send(http: httpx.Client, url: str, conn: str, updates: list[dict[str, Any]]) -> None:
    for update in updates:
        r = http.post(f"{url}/telegram/{conn}", content=json.dumps(update),
                      headers={"content-type": "application/json",
                               "x-telegram-bot-api-secret-token": TG_TOKEN})  # fmt: skip
        assert r.status_code == 200, r.text


def assert_telegram_once(user) -> None:
    rows = {r["external_conversation_id"]: r for r in inbox(user) if r["platform"] == "telegram"}
    assert set(rows) == {f"-100{SUPERGROUP}", f"-{BASIC_GROUP}"}
    sg = thread(user, rows[f"-100{SUPERGROUP}"]["id"])
    assert [m["id"] for m in sg] == [f"-100{SUPERGROUP}:{n}" for n in (501, 502, 503, 504)]
    bg = thread(user, rows[f"-{BASIC_GROUP}"]["id"])
    assert [(m["id"], m["content"]) for m in bg] == [
        (f"-{BASIC_GROUP}:9001", "ok"), (f"-{BASIC_GROUP}:9002", "ok"),
        (f"-{BASIC_GROUP}:9003", "Anotado"),
    ]  # fmt: skip
    assert {m["metadata"]["matched"]["id"] for m in bg} == {
        f"-{BASIC_GROUP}:export:{n}" for n in (31, 32, 33)
    }
    assert (
        rows[f"-100{SUPERGROUP}"]["message_count"],
        rows[f"-{BASIC_GROUP}"]["message_count"],
    ) == (4, 3)


@pytest.mark.parametrize("export_first", [True, False], ids=["export-first", "live-first"])
def test_telegram_export_and_bot_updates_meet(
    export_first, make_user, service, http, functions_url, capsys, tmp_path
):
    user = make_user("tg")
    conn = connection(service, user.id, "telegram", {"secret_token": TG_TOKEN})
    start = int(time.time()) - 2 * 86400
    path = tg_export(tmp_path, start)
    if export_first:
        summary = run_import(capsys, "telegram", str(path), "--user-id", user.id)
        assert (summary["inserted"], summary["matched"]) == (6, 0)
        tg_send(http, functions_url, conn, tg_updates(start))
    else:
        tg_send(http, functions_url, conn, tg_updates(start))
        summary = run_import(capsys, "telegram", str(path), "--user-id", user.id)
        # the supergroup's three meet by id (plain duplicates), the basic group's by content
        assert (summary["inserted"], summary["duplicates"], summary["matched"]) == (0, 6, 3)
    assert_telegram_once(user)
    again = run_import(capsys, "telegram", str(path), "--user-id", user.id)
    assert (again["inserted"], again["duplicates"]) == (0, 6)
    tg_send(http, functions_url, conn, tg_updates(start))
    assert_telegram_once(user)


def test_an_export_time_that_is_not_the_live_minute_is_kept_apart(make_user, capsys, tmp_path):
    """The same words a minute apart are two messages: nothing is dropped on a guess."""
    user = make_user("apart")
    start = wa_start()
    live_at = (start + timedelta(minutes=1, seconds=2)).astimezone(timezone.utc)
    user.client.rpc("ingest_messages", {"payload": {"platform": "whatsapp", "messages": [{
        "external_conversation_id": f"+{WA_ID}", "id": "wamid.X", "direction": "inbound",
        "content": "Hola, ¿tenéis la talla M?", "sent_at": live_at.isoformat()}]}}).execute()  # fmt: skip
    path = tmp_path / "WhatsApp Chat with Marta.txt"
    path.write_text(f"{start:%d/%m/%Y, %H:%M} - Marta: Hola, ¿tenéis la talla M?\n"
                    f"{start:%d/%m/%Y, %H:%M} - Alice: Hola\n", encoding="utf-8")  # fmt: skip
    summary = wa_import(capsys, path, user.id)
    assert (summary["inserted"], summary["matched"]) == (2, 0)


# ----------------------------------------------------------------------------- invariant


@dataclass(frozen=True)
class Seen:
    """A message of the chat: its minute, second and text, and who saw it."""

    minute: int
    second: int
    text: str
    live: bool
    export: bool


seen_messages = st.lists(
    st.builds(
        Seen,
        minute=st.integers(0, 2),
        second=st.integers(0, 59),
        text=st.sampled_from(["ok", "hi"]),
        live=st.booleans(),
        export=st.booleans(),
    ).filter(lambda s: s.live or s.export),
    min_size=1,
    max_size=8,
)


@settings_(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chat=seen_messages, export_first=st.booleans())
def test_copies_meet_one_to_one_whatever_the_order(make_user, chat, export_first):
    """Per minute and text, the stored messages are as many as the side that saw more, every
    live copy is kept, and sending either side again changes nothing."""
    user = make_user("inv")
    conv = f"+3460{uuid.uuid4().int % 10**7:07d}"
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=1)
    live, export = [], []
    for n, s in enumerate(sorted(chat, key=lambda s: (s.minute, s.second))):
        minute = start + timedelta(minutes=s.minute)
        base = {"external_conversation_id": conv, "direction": "inbound", "content": s.text}
        if s.live:
            at = minute + timedelta(seconds=s.second)
            live.append(base | {"id": f"w{n}", "sent_at": at.isoformat()})
        if s.export:
            at = minute + timedelta(milliseconds=n)  # the export's file order inside a minute
            export.append(base | {"id": f"h{n}", "sent_at": at.isoformat(),
                                  "metadata": {"id_source": "export", "time_precision": "minute"}})  # fmt: skip

    def send_live() -> None:
        for m in live:
            ingest_as(user, [m])

    def send_export() -> None:
        if export:
            ingest_as(user, export)

    first, second = (send_export, send_live) if export_first else (send_live, send_export)
    first()
    second()
    stored = stored_messages(user, conv)
    send_export()
    send_live()
    assert stored_messages(user, conv) == stored, "sending either side again changed something"
    groups: dict[tuple[int, str], list[int]] = {}
    for s in chat:
        g = groups.setdefault((s.minute, s.text), [0, 0])
        g[0] += s.live
        g[1] += s.export
    assert len(stored) == sum(max(g) for g in groups.values())
    assert {m["id"] for m in live} <= {m["id"] for m in stored}


def ingest_as(user, messages: list[dict[str, Any]]) -> None:
    user.client.rpc(
        "ingest_messages", {"payload": {"platform": "whatsapp", "messages": messages}}
    ).execute()


def stored_messages(user, conv: str) -> list[dict[str, Any]]:
    rows = (
        user.client.table("chat_conversation_list")
        .select("id,message_count")
        .eq("external_conversation_id", conv)
        .execute()
        .data
    )
    assert len(rows) == 1
    msgs = thread(user, rows[0]["id"])
    assert rows[0]["message_count"] == len(msgs)
    return msgs


def test_telegram_ids_follow_the_bot_api_numbering(tmp_path):
    """Supergroups and channels: the Bot API's chat id, shared message ids. A private chat:
    the account's own ids (what its Business connection sees). A basic group: export copies."""
    from crm_messaging.importers.telegram import parse_telegram

    def chat(kind: str, cid: int) -> dict[str, Any]:
        return {"name": kind, "type": kind, "id": cid, "messages": [
            {"id": 7, "type": "message", "date_unixtime": "1767261600", "from": "Olga",
             "from_id": "user801", "text": "hola", "reply_to_message_id": 6}]}  # fmt: skip

    path = tmp_path / "result.json"
    kinds = [("public_channel", 11), ("private_supergroup", 12), ("personal_chat", 801),
             ("private_group", 13)]  # fmt: skip
    path.write_text(json.dumps({"chats": {"list": [chat(k, c) for k, c in kinds]}}))
    got = {m.external_conversation_id: m for m in parse_telegram(path).messages}
    assert sorted(got) == ["-10011", "-10012", "-13", "801"]
    assert (got["-10011"].id, got["-10011"].reply_to_id) == ("-10011:7", "-10011:6")
    assert got["801"].id == "801:7" and got["801"].metadata is None
    assert (got["-13"].id, got["-13"].reply_to_id) == ("-13:export:7", "-13:export:6")
    assert got["-13"].metadata == {"id_source": "export", "time_precision": "second"}


# ----------------------------------------------------------------------------- across calls


def test_twins_straddling_the_clis_batches_are_both_kept(
    make_user, service, http, functions_url, capsys, tmp_path
):
    """`ok`, `ok` of one minute, only the first seen live, imported in batches that split the
    two: the second is not taken for the first's export copy (a pairing is made once)."""
    user = make_user("straddle")
    conn = connection(service, user.id, "whatsapp",
                      {"app_secret": APP_SECRET, "verify_token": "vt-export"})  # fmt: skip
    start = wa_start()
    bodies = wa_deliveries(start)
    wa_send(http, functions_url, conn, bodies[:3] + bodies[4:])  # the second ok never came live
    path = wa_export(tmp_path, start)
    argv = ("whatsapp", str(path), "--user-id", user.id, "--me", "Alice", "--tz", "Europe/Madrid",
            "--participant", f"+{WA_ID}")  # fmt: skip
    first = run_import(capsys, *argv, "--batch-size", "3")  # [Hola, Sí, ok] [ok, media, Te la]
    assert (first["inserted"], first["duplicates"], first["matched"]) == (2, 4, 4)
    rows = [r for r in inbox(user) if r["platform"] == "whatsapp"]
    msgs = thread(user, rows[0]["id"])
    # (the export copy kept is at its minute's start, before the live message of 1:05)
    assert [m.get("content") for m in msgs] == [
        "Hola, ¿tenéis la talla M?", "ok", "Sí, nos queda una", "ok", None,
        "Te la guardo hasta mañana", "¡Gracias!",
    ]  # fmt: skip
    assert msgs[1]["metadata"]["id_source"] == "export" and msgs[3]["id"] == "wamid.M2"
    assert msgs[3]["metadata"]["matched"]["id"] != msgs[1]["id"]
    # re-imported one message a call, and whole: nothing more
    for size in ("1", "1000"):
        again = run_import(capsys, *argv, "--batch-size", size)
        assert (again["inserted"], again["duplicates"]) == (0, 6), size
    assert len(thread(user, rows[0]["id"])) == 7


def test_a_reimport_after_a_live_edit_stores_nothing(
    make_user, service, http, functions_url, capsys, tmp_path
):
    """Bot updates, the export meets them, a Telegram edit changes one: the export imported
    again stores nothing, and the edited words stay (the edit kept metadata.matched)."""
    user = make_user("tgedit")
    conn = connection(service, user.id, "telegram", {"secret_token": TG_TOKEN})
    start = int(time.time()) - 2 * 86400
    path = tg_export(tmp_path, start)
    tg_send(http, functions_url, conn, tg_updates(start))
    run_import(capsys, "telegram", str(path), "--user-id", user.id)
    assert_telegram_once(user)
    alice = {"id": 700, "is_bot": False, "first_name": "Alice"}
    bg = {"id": -BASIC_GROUP, "title": "Pedidos", "type": "group"}
    tg_send(http, functions_url, conn, [{"update_id": 900, "edited_message": {
        "message_id": 9003, "from": alice, "chat": bg, "date": start + 70,
        "edit_date": start + 3600, "text": "Anotado, gracias"}}])  # fmt: skip
    again = run_import(capsys, "telegram", str(path), "--user-id", user.id)
    assert (again["inserted"], again["duplicates"]) == (0, 6)
    rows = {r["external_conversation_id"]: r for r in inbox(user) if r["platform"] == "telegram"}
    bg_msgs = thread(user, rows[f"-{BASIC_GROUP}"]["id"])
    assert [(m["id"], m["content"], m["metadata"]["matched"]["id"]) for m in bg_msgs] == [
        (f"-{BASIC_GROUP}:9001", "ok", f"-{BASIC_GROUP}:export:31"),
        (f"-{BASIC_GROUP}:9002", "ok", f"-{BASIC_GROUP}:export:32"),
        (f"-{BASIC_GROUP}:9003", "Anotado, gracias", f"-{BASIC_GROUP}:export:33"),
    ]  # fmt: skip
