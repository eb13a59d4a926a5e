"""Updates that arrive before or without their message (issue 28), through the function
behind nginx (each platform's documented payload, signed as the platform signs it) and
through supabase-py: a reaction or status kept (`pending`) until its message is stored by
any path, applied once; WhatsApp's `played`; Telegram `poll` / `poll_answer` and Signal
poll votes applied to the poll message."""

# ruff: noqa: F811  (the fixtures of test_webhooks, imported, are the arguments of its tests)

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from postgrest.exceptions import APIError

from tests.test_webhooks import (  # noqa: F401  (fixtures)
    CONV,
    WA_ID,
    connect,
    owner,
    stored,
    tg_post,
    wa,
    wa_body,
    wa_post,
    wa_text,
)


def kept(db, user_id: str) -> list[tuple[str, str]]:
    return db.execute(
        "select message_id, update ->> 'kind' from messaging_private.pending_updates"
        " where user_id = %s order by id",
        (user_id,),
    ).fetchall()


def wa_status(mid: str, value: str, ts: int) -> dict[str, Any]:
    return {"id": mid, "status": value, "timestamp": str(ts), "recipient_id": WA_ID}


def test_a_reaction_before_its_message_is_kept_and_applied_once(http, functions_url, wa, owner, db):
    t = int(time.time()) - 600
    reaction = {
        "from": WA_ID,
        "id": "wamid.REACT",
        "timestamp": str(t + 5),
        "type": "reaction",
        "reaction": {"message_id": "wamid.LATE", "emoji": "👍"},
    }
    for _ in range(2):  # the platform delivers it twice
        res = wa_post(http, functions_url, wa, wa_body(messages=[reaction]))
        assert res.status_code == 200, res.text
        assert res.json()["updates"] == {"applied": 0, "unchanged": 0, "missing": 0, "pending": 1}
    assert kept(db, owner.id) == [("wamid.LATE", "reaction")], "kept once"
    assert stored(db, owner.id, CONV) is None, "a kept update creates no conversation"

    res = wa_post(http, functions_url, wa, wa_body(messages=[wa_text("wamid.LATE", "¿Precio?", t)]))
    assert res.status_code == 200 and res.json()["inserted"] == 1
    conv = stored(db, owner.id, CONV)
    assert conv["messages"]["wamid.LATE"]["metadata"]["reactions"] == {
        CONV: {"emoji": "👍", "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t + 5))}
    }
    assert conv["count"] == 1 and kept(db, owner.id) == []

    # the message and the reaction delivered again: nothing doubles
    assert (
        wa_post(
            http, functions_url, wa, wa_body(messages=[wa_text("wamid.LATE", "¿Precio?", t)])
        ).json()["duplicates"]
        == 1
    )
    res = wa_post(http, functions_url, wa, wa_body(messages=[reaction]))
    assert res.json()["updates"] == {"applied": 0, "unchanged": 1, "missing": 0, "pending": 0}
    assert stored(db, owner.id, CONV) == conv


def test_a_status_for_an_unknown_outbound_id_waits_for_its_echo_and_played_ranks_above_read(
    http, functions_url, wa, owner, db, service
):
    t = int(time.time()) - 600
    first = wa_text("wamid.IN", "Hola", t - 60)
    assert wa_post(http, functions_url, wa, wa_body(messages=[first])).status_code == 200
    conv_id = db.execute(
        "select id from chat_conversations where user_id = %s and external_conversation_id = %s",
        (owner.id, CONV),
    ).fetchone()[0]
    res = wa_post(
        http, functions_url, wa, wa_body(statuses=[wa_status("wamid.API", "delivered", t + 2)])
    )
    assert res.status_code == 200 and res.json()["updates"]["pending"] == 1
    # sent by another tool: a placeholder in the thread, in no summary
    shown = service.rpc(
        "get_conversation_placeholders", {"conversation_id": str(conv_id)}
    ).execute()
    assert [(p["id"], p["metadata"]) for p in shown.data] == [
        (
            "wamid.API",
            {
                "placeholder": True,
                "status": "delivered",
                "status_at": shown.data[0]["metadata"]["status_at"],
            },
        )
    ]
    assert stored(db, owner.id, CONV)["count"] == 1
    echo = {"from": "15550783881", "to": WA_ID, "id": "wamid.API", "timestamp": str(t), "type": "audio",
            "audio": {"id": "1", "mime_type": "audio/ogg; codecs=opus", "voice": True}}  # fmt: skip
    res = wa_post(http, functions_url, wa, wa_body(field="smb_message_echoes", echoes=[echo]))
    assert res.status_code == 200, res.text
    meta = stored(db, owner.id, CONV)["messages"]["wamid.API"]["metadata"]
    assert meta["status"] == "delivered", "the kept status is on the echo"
    assert (
        service.rpc("get_conversation_placeholders", {"conversation_id": str(conv_id)})
        .execute()
        .data
        == []
    )

    for value, ts in (("played", t + 30), ("read", t + 20)):
        assert (
            wa_post(
                http, functions_url, wa, wa_body(statuses=[wa_status("wamid.API", value, ts)])
            ).status_code
            == 200
        )
    meta = stored(db, owner.id, CONV)["messages"]["wamid.API"]["metadata"]
    assert meta["status"] == "played", (
        "a voice message listened to; a late read never moves it back"
    )


def test_kept_updates_are_applied_when_an_import_stores_the_message(service, owner, db):
    """The supabase-py path: updates through ingest_webhook_delivery's store, the message through
    public.ingest_messages (what the importers call)."""
    cid = service.rpc("add_messaging_connection", {
        "platform": "signal", "account_identifier": "+34600000009", "secrets": {"token": "t-1"},
        "user_id": owner.id}).execute().data  # fmt: skip
    peer = "+34655000111"
    upd = {"platform": "signal", "external_conversation_id": peer, "id": f"{peer}:1000",
           "at": "2026-03-01T10:00:00Z"}  # fmt: skip
    out = service.rpc("ingest_webhook_delivery", {"payload": {"connection_id": cid, "updates": [
        {**upd, "kind": "reaction", "reactor": peer, "emoji": "❤"},
        {**upd, "kind": "vote", "voter": peer, "options": [5000]},
    ]}}).execute().data  # fmt: skip
    assert out["updates"]["pending"] == 1
    assert out["refused"][0]["path"] == "updates[1]" and "options" in out["refused"][0]["reason"]
    service.rpc("ingest_messages", {"payload": {"user_id": owner.id, "messages": [
        {"platform": "signal", "external_conversation_id": peer, "id": f"{peer}:1000", "direction": "inbound",
         "type": "text", "content": "hola", "sent_at": "2026-03-01T09:59:00Z"}]}}).execute()  # fmt: skip
    m = stored(db, owner.id, peer)["messages"][f"{peer}:1000"]
    assert m["metadata"]["reactions"][peer]["emoji"] == "❤"
    assert kept(db, owner.id) == []

    with pytest.raises(APIError) as e:
        service.rpc(
            "ingest_webhook_delivery",
            {"payload": {"connection_id": cid, "updates": {"kind": "vote"}}},
        ).execute()
    assert e.value.code == "22023"


def test_telegram_poll_counts_and_answers_apply_to_the_poll_by_its_id(
    http, functions_url, connect, owner, db
):
    tg = connect("telegram", {"secret_token": "tg_Poll-1"})
    t = int(time.time()) - 300
    chat = {"id": -1001555, "title": "Clientes VIP", "type": "supergroup"}
    ana = {"id": 111, "is_bot": False, "first_name": "Ana", "username": "AnaG"}
    poll = {"id": "5432109876", "question": "¿Qué color?", "total_voter_count": 0, "is_closed": False,
            "is_anonymous": False, "type": "regular", "allows_multiple_answers": False,
            "options": [{"text": "Azul", "voter_count": 0}, {"text": "Rojo", "voter_count": 0}]}  # fmt: skip
    answer = {
        "update_id": 3,
        "poll_answer": {"poll_id": "5432109876", "user": ana, "option_ids": [1]},
    }
    res = tg_post(http, functions_url, tg, answer, "tg_Poll-1")
    assert res.status_code == 200 and res.json()["updates"]["pending"] == 1, (
        "a vote before its poll is kept"
    )

    message = {"message_id": 70, "from": ana, "chat": chat, "date": t, "poll": poll}
    assert (
        tg_post(
            http, functions_url, tg, {"update_id": 4, "message": message}, "tg_Poll-1"
        ).status_code
        == 200
    )
    counts = {**poll, "total_voter_count": 3, "is_closed": True,
              "options": [{"text": "Azul", "voter_count": 1}, {"text": "Rojo", "voter_count": 2}]}  # fmt: skip
    res = tg_post(http, functions_url, tg, {"update_id": 5, "poll": counts}, "tg_Poll-1")
    assert res.status_code == 200 and res.json()["updates"]["applied"] == 1
    meta = stored(db, owner.id, "-1001555")["messages"]["-1001555:70"]["metadata"]
    assert meta["poll_votes"]["anag"]["options"] == [1]
    assert meta["poll"]["options"] == [{"text": "Azul", "votes": 1}, {"text": "Rojo", "votes": 2}]
    assert (meta["poll"]["total_votes"], meta["poll"]["closed"]) == (3, True)
    # the voter takes the vote back; an answer to a poll the store never sees stays kept
    retract = {
        "update_id": 6,
        "poll_answer": {"poll_id": "5432109876", "user": ana, "option_ids": []},
    }
    assert tg_post(http, functions_url, tg, retract, "tg_Poll-1").json()["updates"]["applied"] == 1
    meta = stored(db, owner.id, "-1001555")["messages"]["-1001555:70"]["metadata"]
    assert meta["poll_votes"]["anag"]["options"] == []
    assert stored(db, owner.id, "-1001555")["count"] == 1, "poll updates are no messages"


def test_signal_poll_votes_and_closing_apply_to_the_poll(http, functions_url, connect, owner, db):
    sg = connect("signal", {"token": "signal-poll-1"}, "+34600000001")
    now = int(time.time() * 1000) - 120_000
    peer = "+34622000333"
    src = {"source": peer, "sourceNumber": peer, "sourceName": "Iker", "sourceDevice": 1}

    def note(dt: int, data: dict[str, Any]) -> dict[str, Any]:
        envelope = {**src, "timestamp": now + dt, "dataMessage": {"timestamp": now + dt, **data}}
        return {
            "jsonrpc": "2.0",
            "method": "receive",
            "params": {"envelope": envelope, "account": "+34600000001"},
        }

    headers = {"authorization": "Bearer signal-poll-1", "content-type": "application/json"}
    batch = [
        note(0, {"pollCreate": {"question": "¿Cuándo?", "allowMultiple": True, "options": ["Lunes", "Martes"]}}),
        note(1000, {"pollVote": {"authorNumber": peer, "targetSentTimestamp": now, "optionIndexes": [0, 1], "voteCount": 1}}),
        note(2000, {"pollVote": {"authorNumber": peer, "targetSentTimestamp": now, "optionIndexes": [1], "voteCount": 2}}),
        note(3000, {"pollTerminate": {"targetSentTimestamp": now}}),
    ]  # fmt: skip
    res = http.post(f"{functions_url}/signal/{sg.id}", content=json.dumps(batch), headers=headers)
    assert res.status_code == 200, res.text
    conv = stored(db, owner.id, peer)
    assert conv["count"] == 1, "votes and the closing are no lines of their own"
    meta = conv["messages"][f"{peer}:{now}"]["metadata"]
    assert meta["poll_votes"][peer]["options"] == [1], "the newest vote wins"
    assert meta["poll"]["closed"] is True and meta["poll"]["options"] == ["Lunes", "Martes"]
