"""Ids that are not phones, and number and id changes (issue 27, items 2 and 3), through the
messaging-ingest function behind nginx: nginx -> Deno -> PostgREST -> Postgres.

Each delivery is signed (or carries its token) as the platform does; what it stored is read
back from the database. docs/contract.md, "Identity aliases", is what is checked.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from postgrest.exceptions import APIError

from crm_messaging import MessagingClient
from crm_messaging.importers.signal import parse_signal
from crm_messaging.importers.telegram import parse_telegram
from crm_messaging.importers.whatsapp_msgstore import parse_msgstore
from tests.test_webhooks import Conn, snapshot, tg_post, wa_body, wa_post

BSUID = "US.13491208655302741918"
PHONE = "34612000111"
NEW_PHONE = "34699000222"


@pytest.fixture
def owner(make_user):
    return make_user("ids")


@pytest.fixture
def connect(service, owner):
    def add(platform: str, secrets: dict[str, str], account: str) -> Conn:
        cid = (
            service.rpc(
                "add_messaging_connection",
                {
                    "platform": platform,
                    "account_identifier": account,
                    "secrets": secrets,
                    "user_id": owner.id,
                },
            )
            .execute()
            .data
        )
        return Conn(str(cid), platform, secrets)

    return add


@pytest.fixture
def wa(connect) -> Conn:
    return connect(
        "whatsapp", {"app_secret": "ids-app-secret", "verify_token": "vt"}, "+15550783881"
    )


def conversations(db, user_id: str, platform: str) -> dict[str, dict[str, Any]]:
    """The user's conversations on a platform by external id: count, messages, person."""
    rows = db.execute(
        "select external_conversation_id, message_count, messages, person_id::text"
        " from chat_conversations where user_id = %s and platform = %s",
        (user_id, platform),
    ).fetchall()
    return {r[0]: {"count": r[1], "messages": r[2], "person": r[3]} for r in rows}


def aliases(db, user_id: str) -> set[tuple[str, str, str]]:
    """(external conversation id, kind, value) of every alias of the user."""
    rows = db.execute(
        "select c.external_conversation_id, a.kind, a.value from chat_conversation_identifiers a"
        " join chat_conversations c on c.id = a.conversation_id where a.user_id = %s",
        (user_id,),
    ).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def person(db, user_id: str, name: str, *identifiers: tuple[str, str | None, str]) -> str:
    pid = db.execute(
        "insert into people (user_id, full_name) values (%s, %s) returning id::text",
        (user_id, name),
    ).fetchone()[0]
    for kind, platform, value in identifiers:
        db.execute(
            "insert into person_identifiers (user_id, person_id, kind, platform, value)"
            " values (%s, %s, %s, %s, %s)",
            (user_id, pid, kind, platform, value),
        )
    return pid


def person_identifiers(db, pid: str) -> set[tuple[str, str | None, str]]:
    rows = db.execute(
        "select kind, platform, value from person_identifiers where person_id = %s", (pid,)
    ).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def text(mid: str, body: str, ts: int, **who: Any) -> dict[str, Any]:
    return {"id": mid, "timestamp": str(ts), "type": "text", "text": {"body": body}, **who}


def post(http, functions_url, wa: Conn, **body: Any) -> dict[str, Any]:
    res = wa_post(http, functions_url, wa, wa_body(**body))
    assert res.status_code == 200, res.text
    return res.json()


# ------------------------------------------------------------------ WhatsApp without `from`


def test_a_webhook_without_from_is_stored_under_the_user_id_and_meets_the_phone(
    http, functions_url, wa, owner, db
):
    t = int(time.time()) - 600
    contact = {"profile": {"name": "Ana", "username": "ana.lopez"}, "user_id": BSUID}
    post(http, functions_url, wa, contacts=[contact],
         messages=[text("wamid.ID1", "hola, soy Ana", t, from_user_id=BSUID)])  # fmt: skip
    convs = conversations(db, owner.id, "whatsapp")
    assert list(convs) == [BSUID] and convs[BSUID]["count"] == 1
    assert aliases(db, owner.id) == {
        (BSUID, "whatsapp_user_id", BSUID),
        (BSUID, "username", "ana.lopez"),
    }

    # later the phone comes with the user id: the same conversation, the phone now an alias
    both = {"profile": {"name": "Ana"}, "wa_id": PHONE, "user_id": BSUID}
    res = post(http, functions_url, wa, contacts=[both],
               messages=[text("wamid.ID2", "mi número", t + 60, **{"from": PHONE, "from_user_id": BSUID})])  # fmt: skip
    assert [c["external_conversation_id"] for c in res["conversations"]] == [BSUID]
    # then a message with the phone alone lands there too
    post(
        http,
        functions_url,
        wa,
        messages=[text("wamid.ID3", "solo el teléfono", t + 120, **{"from": PHONE})],
    )
    convs = conversations(db, owner.id, "whatsapp")
    assert list(convs) == [BSUID], "one customer, one conversation"
    assert [m["id"] for m in convs[BSUID]["messages"]] == ["wamid.ID1", "wamid.ID2", "wamid.ID3"]
    assert (BSUID, "phone", f"+{PHONE}") in aliases(db, owner.id)

    # the same deliveries again (a retry) store nothing twice
    post(
        http,
        functions_url,
        wa,
        messages=[text("wamid.ID3", "solo el teléfono", t + 120, **{"from": PHONE})],
    )
    assert conversations(db, owner.id, "whatsapp")[BSUID]["count"] == 3
    assert (
        db.execute(
            "select count(*) from chat_conversation_link_suggestions where user_id = %s",
            (owner.id,),
        ).fetchone()[0]
        == 0
    )


def test_two_existing_conversations_become_a_suggestion_not_a_merge(
    http, functions_url, wa, owner, db
):
    t = int(time.time()) - 600
    post(http, functions_url, wa, messages=[text("wamid.P1", "by phone", t, **{"from": PHONE})])
    post(
        http,
        functions_url,
        wa,
        messages=[text("wamid.U1", "by user id", t + 10, from_user_id=BSUID)],
    )
    assert set(conversations(db, owner.id, "whatsapp")) == {f"+{PHONE}", BSUID}

    post(http, functions_url, wa,
         messages=[text("wamid.B1", "both", t + 20, **{"from": PHONE, "from_user_id": BSUID})])  # fmt: skip
    convs = conversations(db, owner.id, "whatsapp")
    assert (convs[f"+{PHONE}"]["count"], convs[BSUID]["count"]) == (2, 1), "nothing merged"
    suggestions = db.execute(
        "select c1.external_conversation_id, c2.external_conversation_id, s.kind, s.value"
        " from chat_conversation_link_suggestions s"
        " join chat_conversations c1 on c1.id = s.conversation_id"
        " join chat_conversations c2 on c2.id = s.other_conversation_id where s.user_id = %s",
        (owner.id,),
    ).fetchall()
    assert suggestions == [(BSUID, f"+{PHONE}", "whatsapp_user_id", BSUID)]


def test_a_status_keyed_by_the_user_id_reaches_the_phone_conversation(
    http, functions_url, wa, owner, db
):
    t = int(time.time()) - 600
    post(http, functions_url, wa,
         messages=[text("wamid.S1", "hola", t, **{"from": PHONE, "from_user_id": BSUID})])  # fmt: skip
    echo = text("wamid.OUT1", "¿en qué te ayudo?", t + 5, **{"from": "15550783881", "to": PHONE})
    post(http, functions_url, wa, echoes=[echo], field="smb_message_echoes")
    res = post(http, functions_url, wa, statuses=[
        {"id": "wamid.OUT1", "status": "read", "timestamp": str(t + 30), "recipient_user_id": BSUID}
    ])  # fmt: skip
    assert res["updates"]["applied"] == 1, res
    out = [
        m
        for m in conversations(db, owner.id, "whatsapp")[f"+{PHONE}"]["messages"]
        if m["id"] == "wamid.OUT1"
    ]
    assert out[0]["metadata"]["status"] == "read"


def test_a_status_with_both_ids_makes_them_known_together(http, functions_url, wa, owner, db):
    t = int(time.time()) - 600
    echo = text("wamid.OUT2", "hola Ana", t, **{"from": "15550783881", "to": PHONE})
    post(http, functions_url, wa, echoes=[echo], field="smb_message_echoes")
    assert aliases(db, owner.id) == {(f"+{PHONE}", "phone", f"+{PHONE}")}
    both = {"profile": {"name": "Ana"}, "wa_id": PHONE, "user_id": BSUID}
    status = {"id": "wamid.OUT2", "status": "delivered", "timestamp": str(t + 5),
              "recipient_id": PHONE, "recipient_user_id": BSUID}  # fmt: skip
    assert (
        post(http, functions_url, wa, contacts=[both], statuses=[status])["updates"]["applied"] == 1
    )
    assert (f"+{PHONE}", "whatsapp_user_id", BSUID) in aliases(db, owner.id)
    # from then on a message with the user id alone lands in the phone's conversation
    post(
        http,
        functions_url,
        wa,
        messages=[text("wamid.IN9", "sin número", t + 60, from_user_id=BSUID)],
    )
    convs = conversations(db, owner.id, "whatsapp")
    assert list(convs) == [f"+{PHONE}"] and convs[f"+{PHONE}"]["count"] == 2


# ------------------------------------------------------------------ number and id changes


def test_a_number_change_keeps_one_conversation_and_the_person_gains_the_new_number(
    http, functions_url, wa, owner, db
):
    t = int(time.time()) - 600
    pid = person(db, owner.id, "Sheena", ("phone", None, f"+{PHONE}"))
    post(http, functions_url, wa, contacts=[{"profile": {"name": "Sheena"}, "wa_id": PHONE}],
         messages=[text("wamid.N1", "hello", t, **{"from": PHONE})])  # fmt: skip
    assert conversations(db, owner.id, "whatsapp")[f"+{PHONE}"]["person"] == pid

    change = {
        "from": PHONE,
        "id": "wamid.SYS1",
        "timestamp": str(t + 60),
        "type": "system",
        "system": {
            "body": f"User Sheena changed from {PHONE} to {NEW_PHONE}",
            "wa_id": NEW_PHONE,
            "type": "user_changed_number",
        },
    }
    post(http, functions_url, wa, messages=[change])
    post(
        http,
        functions_url,
        wa,
        messages=[text("wamid.N2", "new phone, same me", t + 120, **{"from": NEW_PHONE})],
    )
    convs = conversations(db, owner.id, "whatsapp")
    assert list(convs) == [f"+{PHONE}"], (
        "later messages from the new number land in the same conversation"
    )
    thread = convs[f"+{PHONE}"]["messages"]
    assert [(m["id"], m["type"]) for m in thread] == [
        ("wamid.N1", "text"),
        ("wamid.SYS1", "system"),
        ("wamid.N2", "text"),
    ]
    assert thread[1]["content"] == f"User Sheena changed from {PHONE} to {NEW_PHONE}"
    assert ("phone", None, f"+{NEW_PHONE}") in person_identifiers(db, pid)
    # WhatsApp's own line is the change's line: the store adds none of its own
    assert not [m for m in thread if m["id"].startswith("identity:")]


def test_signal_same_service_id_new_number_one_conversation_with_a_system_line(
    http, functions_url, connect, owner, db
):
    sg = connect("signal", {"token": "ids-signal-token"}, "+34600000009")
    aci = "7ccae375-cd51-4c82-8b1e-7be3280aa485"
    now = int(time.time() * 1000) - 300_000
    headers = {"authorization": "Bearer ids-signal-token", "content-type": "application/json"}

    def note(number: str, ts: int, words: str) -> dict[str, Any]:
        env = {"sourceNumber": number, "sourceUuid": aci, "sourceName": "Iker", "timestamp": ts,
               "dataMessage": {"timestamp": ts, "message": words}}  # fmt: skip
        return {"envelope": env, "account": "+34600000009"}

    pid = person(db, owner.id, "Iker", ("signal_aci", "signal", aci.upper()))
    for body in (
        [note("+34622000001", now, "hola")],
        [note("+34622000002", now + 60_000, "número nuevo")],
    ):
        res = http.post(
            f"{functions_url}/signal/{sg.id}", content=json.dumps(body), headers=headers
        )
        assert res.status_code == 200, res.text
    convs = conversations(db, owner.id, "signal")
    assert list(convs) == ["+34622000001"]
    thread = convs["+34622000001"]["messages"]
    assert [m["type"] for m in thread] == ["text", "system", "text"]
    assert thread[1]["id"] == "identity:phone:+34622000002"
    assert thread[1]["content"] == "Phone number changed to +34622000002 (before: +34622000001)"
    assert convs["+34622000001"]["person"] == pid, "linked by the service id"
    assert ("phone", None, "+34622000002") in person_identifiers(db, pid)


def test_telegram_changed_username_is_an_alias_and_a_line(http, functions_url, connect, owner, db):
    tg = connect("telegram", {"secret_token": "ids_tg_secret"}, "ids-bot")
    t = int(time.time()) - 600

    def update(n: int, username: str, words: str) -> dict[str, Any]:
        chat = {"id": 7770001, "first_name": "Olga", "username": username, "type": "private"}
        user = {**chat, "is_bot": False}
        return {
            "update_id": n,
            "message": {"message_id": n, "from": user, "chat": chat, "date": t + n, "text": words},
        }

    assert (
        tg_post(http, functions_url, tg, update(1, "OlgaK", "hola"), "ids_tg_secret").status_code
        == 200
    )
    # a person given the Telegram user id later is linked at once (the alias names it)
    pid = person(db, owner.id, "Olga", ("telegram_user_id", "telegram", "user7770001"))
    assert conversations(db, owner.id, "telegram")["7770001"]["person"] == pid
    assert (
        tg_post(
            http, functions_url, tg, update(2, "olga_new", "otro nombre"), "ids_tg_secret"
        ).status_code
        == 200
    )
    thread = conversations(db, owner.id, "telegram")["7770001"]["messages"]
    assert [m["id"] for m in thread] == ["7770001:1", "identity:username:olga_new", "7770001:2"]
    assert ("username", "telegram", "olga_new") in person_identifiers(db, pid)


# ------------------------------------------------------------------ bad input and ownership


def test_unknown_kinds_and_malformed_ids_are_refused_by_name_and_change_nothing(
    http, functions_url, owner, service, db
):
    m = {
        "platform": "whatsapp",
        "external_conversation_id": "+34612000999",
        "id": "bad-1",
        "direction": "inbound",
        "sent_at": "2026-12-01T10:00:00Z",
        "content": "x",
        "participant_ids": {"icq": "1", "whatsapp_user_id": "not a bsuid"},
    }
    before = snapshot(db, owner.id)
    with pytest.raises(APIError) as err:
        owner.client.rpc("ingest_messages", {"payload": {"messages": [m]}}).execute()
    assert err.value.code == "22023" and err.value.hint == "payload_invalid"
    assert "participant_ids.icq: unknown identifier kind" in err.value.message
    assert (
        'participant_ids.whatsapp_user_id: "not a bsuid" is not a whatsapp_user_id'
        in err.value.message
    )
    assert snapshot(db, owner.id) == before

    pid = person(db, owner.id, "Nadie")
    for kind, value in (
        ("icq", "123"),
        ("telegram_user_id", "olga"),
        ("signal_aci", "PNI:" + "0" * 8),
    ):
        with pytest.raises(APIError) as err:
            owner.client.table("person_identifiers").insert(
                {"person_id": pid, "kind": kind, "value": value}
            ).execute()
        assert (err.value.code, err.value.hint) == ("22023", "identifier_invalid"), kind
        assert kind in err.value.message
    assert person_identifiers(db, pid) == set()


def test_another_user_sees_no_aliases_or_suggestions(http, functions_url, wa, owner, make_user, db):
    t = int(time.time()) - 600
    post(http, functions_url, wa, messages=[text("wamid.R1", "a", t, **{"from": PHONE})])
    post(http, functions_url, wa, messages=[text("wamid.R2", "b", t + 1, from_user_id=BSUID)])
    post(
        http,
        functions_url,
        wa,
        messages=[text("wamid.R3", "c", t + 2, **{"from": PHONE, "from_user_id": BSUID})],
    )
    mine = owner.client.table("chat_conversation_identifiers").select("kind, value").execute().data
    assert {(r["kind"], r["value"]) for r in mine} == {
        ("phone", f"+{PHONE}"),
        ("whatsapp_user_id", BSUID),
    }
    assert (
        len(owner.client.table("chat_conversation_link_suggestions").select("id").execute().data)
        == 1
    )
    other = make_user("other")
    assert other.client.table("chat_conversation_identifiers").select("id").execute().data == []
    assert (
        other.client.table("chat_conversation_link_suggestions").select("id").execute().data == []
    )
    other.client.table("chat_conversation_link_suggestions").delete().neq(
        "id", "00000000-0000-0000-0000-000000000000"
    ).execute()
    assert (
        len(owner.client.table("chat_conversation_link_suggestions").select("id").execute().data)
        == 1
    )
    # the owner may dismiss their own
    owner.client.table("chat_conversation_link_suggestions").delete().neq(
        "id", "00000000-0000-0000-0000-000000000000"
    ).execute()
    assert (
        owner.client.table("chat_conversation_link_suggestions").select("id").execute().data == []
    )


# ------------------------------------------------------------------ the importers' ids

FIXTURES = Path(__file__).parent / "fixtures"


def test_importers_give_the_participants_ids(tmp_path, service, owner, db):
    # msgstore.db: a LID chat mapped to its phone carries both; a group carries none
    path = tmp_path / "msgstore.db"
    sq = sqlite3.connect(path)
    sq.executescript((FIXTURES / "whatsapp" / "msgstore.sql").read_text(encoding="utf-8"))
    sq.commit()
    sq.close()
    wa = {
        m.external_conversation_id: m.participant_ids for m in parse_msgstore(path, me="A").messages
    }
    assert wa == {
        "+34611222333": {"phone": "+34611222333"},
        "+34633444555": {"phone": "+34633444555", "whatsapp_lid": "99887766554433"},
        "group:Tienda": None,
    }
    # Telegram Desktop: a personal chat's id is the user id
    tg = parse_telegram(FIXTURES / "telegram" / "epoch_sentinel_2018.json", tz="Europe/Madrid")
    assert {m.participant_ids["telegram_user_id"] for m in tg.messages if m.participant_ids} == {
        "182120723"
    }
    # signal-cli: the service id, and the number unless the file redacts it
    sg = parse_signal(FIXTURES / "signal" / "jsonrpc_daemon_tcp.jsonl")
    assert {json.dumps(m.participant_ids) for m in sg.messages} == {
        json.dumps({"signal_aci": "7ccae375-cd51-4c82-8b1e-7be3280aa485"})
    }
    # and the store takes them as aliases
    MessagingClient(service).ingest(parse_msgstore(path, me="A").messages, user_id=owner.id)
    assert ("+34633444555", "whatsapp_lid", "99887766554433") in aliases(db, owner.id)
