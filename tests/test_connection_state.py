"""What the connection knows (issue 28), through the gateway: nginx -> Deno -> PostgREST -> Postgres.

The payloads are the platforms' documented shapes (docs/kinds.md names the references):
WhatsApp's `history` webhook (three phases with progress, an entry with the sharing
declined error), `smb_app_state_sync` contacts (add, edit, remove) and a field Meta has not
documented; Telegram's `business_connection` (enabled, then disabled) and an update type the
Bot API adds later.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.test_webhooks import WA_ACCOUNT, WA_METADATA, Conn, tg_post, wa_post

CUSTOMER = "34622333444"
CONV = f"+{CUSTOMER}"


@pytest.fixture
def owner(make_user):
    return make_user("connstate")


@pytest.fixture
def wa(service, owner) -> Conn:
    secrets = {"app_secret": "conn-state-secret", "verify_token": "vt-state"}
    cid = (
        service.rpc(
            "add_messaging_connection",
            {
                "platform": "whatsapp",
                "account_identifier": WA_ACCOUNT,
                "secrets": secrets,
                "user_id": owner.id,
            },
        )
        .execute()
        .data
    )
    return Conn(str(cid), "whatsapp", secrets)


def change(field: str, value: dict[str, Any]) -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": field,
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": WA_METADATA,
                            **value,
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body).encode()


def history_chunk(phase: int, order: int, progress: int, messages: list[dict[str, Any]]) -> bytes:
    return change(
        "history",
        {
            "history": [
                {
                    "metadata": {"phase": phase, "chunk_order": order, "progress": progress},
                    "threads": [{"id": CUSTOMER, "messages": messages}],
                }
            ]
        },
    )


def text(mid: str, ts: int, body: str, *, outbound: bool = False) -> dict[str, Any]:
    return {
        "from": WA_METADATA["display_phone_number"] if outbound else CUSTOMER,
        **({"to": CUSTOMER} if outbound else {}),
        "id": mid,
        "timestamp": str(ts),
        "type": "text",
        "text": {"body": body},
        "history_context": {"status": "READ"},
    }


def inbox_row(db, user_id: str) -> dict[str, Any]:
    """The conversation as the inbox reads it: its count, unread count and unread mark."""
    row = db.execute(
        "select c.message_count, c.message_count - coalesce(r.read_message_count, 0),"
        " r.last_read_at is null or r.last_read_at < c.last_message_at, c.messages"
        " from chat_conversations c left join chat_conversation_read_markers r"
        "   on r.conversation_id = c.id and r.user_id = c.user_id"
        " where c.user_id = %s and c.external_conversation_id = %s",
        (user_id, CONV),
    ).fetchone()
    assert row is not None
    return {
        "count": row[0],
        "unread": row[1],
        "unread_mark": row[2],
        "ids": [m["id"] for m in row[3]],
    }


def connection(db, cid: str) -> dict[str, Any]:
    row = db.execute(
        "select history_backfill, business_connection, unknown_kinds, refused_count"
        " from messaging_connections where id = %s",
        (cid,),
    ).fetchone()
    return {"history": row[0], "business": row[1], "unknown": row[2], "refused": row[3]}


def test_history_is_stored_read_with_its_phases_and_meets_live_and_export_copies(
    http, functions_url, wa, owner, db, service
):
    # at the start of a minute: the export copy has minute precision, and its history twin
    # (t + 10 s) must fall in the same minute to meet it
    t = (int(time.time()) - 30 * 86400) // 60 * 60
    # an export copy of one message, imported before the backfill (minute precision, no id)
    service.rpc(
        "ingest_messages",
        {
            "payload": {
                "user_id": owner.id,
                "source": "export",
                "messages": [
                    {
                        "platform": "whatsapp",
                        "external_conversation_id": CONV,
                        "participant_identifier": CONV,
                        "id": "export:1",
                        "direction": "inbound",
                        "content": "Do you ship to Lisbon?",
                        "sent_at": time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(t)),
                        "metadata": {"id_source": "export", "time_precision": "minute"},
                    }
                ],
            }
        },
    ).execute()
    # a live message, read by the user
    live = change(
        "messages",
        {
            "contacts": [{"profile": {"name": "Rita"}, "wa_id": CUSTOMER}],
            "messages": [
                {
                    "from": CUSTOMER,
                    "id": "wamid.LIVE1",
                    "timestamp": str(t + 86400),
                    "type": "text",
                    "text": {"body": "live"},
                }
            ],
        },
    )
    assert wa_post(http, functions_url, wa, live).status_code == 200
    conv_id = db.execute(
        "select id from chat_conversations where user_id = %s and external_conversation_id = %s",
        (owner.id, CONV),
    ).fetchone()[0]
    db.execute(
        "insert into chat_conversation_read_markers (user_id, conversation_id, last_read_at, read_message_count)"
        " select user_id, id, last_message_at, message_count from chat_conversations where id = %s",
        (conv_id,),
    )
    assert inbox_row(db, owner.id)["unread"] == 0

    # phase 1 then phase 0 (out of order), then a second chunk of phase 1
    res = wa_post(
        http,
        functions_url,
        wa,
        history_chunk(
            1,
            1,
            40,
            [
                text("wamid.H1", t + 10, "Do you ship to Lisbon?"),  # the export copy's twin
                text("wamid.H2", t + 60, "We do!", outbound=True),
            ],
        ),
    )
    assert res.status_code == 200, res.text
    assert res.json()["inserted"] == 1 and res.json()["matched"] == 1
    res = wa_post(
        http,
        functions_url,
        wa,
        history_chunk(
            0,
            1,
            100,
            [
                text("wamid.LIVE1", t + 86400, "live"),  # the live message again: a duplicate
                text("wamid.H3", t + 3600, "Thanks"),
            ],
        ),
    )
    assert res.status_code == 200, res.text
    assert (res.json()["inserted"], res.json()["duplicates"]) == (1, 1)
    res = wa_post(
        http, functions_url, wa, history_chunk(1, 2, 60, [text("wamid.H4", t + 120, "ok")])
    )
    assert res.status_code == 200, res.text
    # the same chunk again (the platform retries): nothing twice
    res = wa_post(
        http, functions_url, wa, history_chunk(1, 2, 60, [text("wamid.H4", t + 120, "ok")])
    )
    assert res.json()["inserted"] == 0

    row = inbox_row(db, owner.id)
    assert row["count"] == 5  # export(matched by H1), H2, H3, H4, LIVE1
    assert sorted(row["ids"]).count("wamid.LIVE1") == 1
    assert (row["unread"], row["unread_mark"]) == (0, False), "history marked something unread"
    state = connection(db, wa.id)["history"]
    assert state["phases"]["0"]["progress"] == 100
    assert state["phases"]["1"]["progress"] == 60 and state["phases"]["1"]["chunk_order"] == 2
    assert "error" not in state
    # coverage: the conversation's history came from the backfill, with its phases
    phases = db.execute(
        "select array_agg(distinct phase order by phase) from chat_conversation_sources"
        " where conversation_id = %s and kind = 'history'",
        (conv_id,),
    ).fetchone()[0]
    assert phases == ["0", "1"]

    # a new live message after the backfill is unread as ever
    later = change(
        "messages",
        {
            "messages": [
                {
                    "from": CUSTOMER,
                    "id": "wamid.LIVE2",
                    "timestamp": str(int(time.time()) - 60),
                    "type": "text",
                    "text": {"body": "again"},
                }
            ]
        },
    )
    assert wa_post(http, functions_url, wa, later).status_code == 200
    row = inbox_row(db, owner.id)
    assert (row["unread"], row["unread_mark"]) == (1, True)


def test_history_of_a_new_conversation_is_not_unread_and_a_declined_share_is_recorded(
    http, functions_url, wa, owner, db
):
    t = int(time.time()) - 10 * 86400
    res = wa_post(http, functions_url, wa, history_chunk(2, 1, 20, [text("wamid.N1", t, "hola")]))
    assert res.status_code == 200, res.text
    row = inbox_row(db, owner.id)
    assert (row["count"], row["unread"], row["unread_mark"]) == (1, 0, False)
    declined = change(
        "history",
        {
            "history": [
                {
                    "errors": [
                        {
                            "code": 2593109,
                            "title": "History sharing is turned off by user",
                            "message": "History sharing is turned off by user",
                            "error_data": {
                                "details": "The business has declined to share chat history"
                            },
                        }
                    ]
                }
            ]
        },
    )
    res = wa_post(http, functions_url, wa, declined)
    assert res.status_code == 200, res.text
    conn = connection(db, wa.id)
    assert conn["history"]["error"]["code"] == 2593109
    assert "declined" in conn["history"]["error"]["details"]
    assert conn["history"]["phases"]["2"]["progress"] == 20
    assert conn["refused"] == 0, "a declined share is no refusal"


def test_business_app_contacts_become_name_suggestions_and_a_remove_takes_them_away(
    http, functions_url, wa, owner, db
):
    t = int(time.time()) - 600

    def sync(action: str, ts: int, name: str | None = None) -> None:
        contact: dict[str, Any] = {"phone_number": CUSTOMER}
        if name:
            contact |= {"full_name": name, "first_name": name.split()[0]}
        body = change(
            "smb_app_state_sync",
            {
                "state_sync": [
                    {
                        "type": "contact",
                        "contact": contact,
                        "action": action,
                        "metadata": {"timestamp": str(ts)},
                    }
                ]
            },
        )
        res = wa_post(http, functions_url, wa, body)
        assert res.status_code == 200, res.text

    sync("add", t, "Rita Sousa")
    sync("edit", t + 10, "Rita Sousa Lima")
    sync("add", t + 5, "An Older Name")  # older than the kept change: ignored
    # the owner reads it (row-level security); nobody is created or linked
    rows = owner.client.table("contact_name_suggestions").select("*").execute().data
    assert [(r["identifier"], r["full_name"], r["first_name"]) for r in rows] == [
        (CONV, "Rita Sousa Lima", "Rita")
    ]
    assert (
        db.execute("select count(*) from people where user_id = %s", (owner.id,)).fetchone()[0] == 0
    )
    sync("remove", t + 20)
    assert owner.client.table("contact_name_suggestions").select("*").execute().data == []


def test_a_field_meta_adds_is_counted_not_refused(http, functions_url, wa, db):
    body = change("hologram_update", {"anything": {"id": 1}})
    for _ in range(2):
        res = wa_post(http, functions_url, wa, body)
        assert res.status_code == 200, res.text
    conn = connection(db, wa.id)
    assert conn["unknown"]["field:hologram_update"]["count"] == 2
    assert conn["refused"] == 0
    # a message of a type WhatsApp adds: stored as other, and counted by its type
    msg = change(
        "messages",
        {
            "messages": [
                {
                    "from": CUSTOMER,
                    "id": "wamid.F1",
                    "timestamp": str(int(time.time()) - 5),
                    "type": "hologram",
                }
            ]
        },
    )
    res = wa_post(http, functions_url, wa, msg)
    assert res.status_code == 200 and res.json()["inserted"] == 1, res.text
    assert connection(db, wa.id)["unknown"]["hologram"]["count"] == 1


def test_telegram_business_connection_state_and_future_updates(
    http, functions_url, service, owner, db
):
    secrets = {"secret_token": "tg_state-1"}
    cid = (
        service.rpc(
            "add_messaging_connection",
            {
                "platform": "telegram",
                "account_identifier": "crm_state_bot",
                "secrets": secrets,
                "user_id": owner.id,
            },
        )
        .execute()
        .data
    )
    tg = Conn(str(cid), "telegram", secrets)
    shop = {"id": 999, "is_bot": False, "first_name": "Tienda Sol"}
    date = int(time.time()) - 120

    def bc(update_id: int, at: int, enabled: bool, can_reply: bool) -> None:
        update = {
            "update_id": update_id,
            "business_connection": {
                "id": "BCstate",
                "user": shop,
                "user_chat_id": 999,
                "date": at,
                "rights": {"can_reply": can_reply},
                "is_enabled": enabled,
            },
        }
        res = tg_post(http, functions_url, tg, update, secrets["secret_token"])
        assert res.status_code == 200, res.text

    bc(1, date, True, True)
    assert connection(db, tg.id)["business"] == {
        "id": "BCstate",
        "enabled": True,
        "can_reply": True,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(date)),
        "user": "Tienda Sol",
    }
    bc(2, date + 60, False, False)
    bc(3, date + 30, True, True)  # older than the kept one (arrived late): ignored
    business = connection(db, tg.id)["business"]
    assert (business["enabled"], business["can_reply"]) == (False, False)

    res = tg_post(
        http,
        functions_url,
        tg,
        {"update_id": 4, "hologram_update": {"id": 1}},
        secrets["secret_token"],
    )
    assert res.status_code == 200, res.text
    conn = connection(db, tg.id)
    assert conn["unknown"]["hologram_update"]["count"] == 1
    assert conn["refused"] == 0


def test_connection_state_of_the_wrong_shape_is_refused_whole_and_changes_nothing(service, wa, db):
    from postgrest.exceptions import APIError

    before = connection(db, wa.id)
    with pytest.raises(APIError) as err:
        service.rpc(
            "ingest_webhook_delivery",
            {
                "payload": {
                    "connection_id": wa.id,
                    "messages": [],
                    "connection_state": {"unknown_kinds": [1]},
                }
            },
        ).execute()
    assert err.value.code == "22023" and err.value.hint == "delivery_invalid"
    assert connection(db, wa.id) == before


def test_history_leaves_an_unread_live_message_unread(http, functions_url, wa, owner, db):
    now = int(time.time())
    live = change(
        "messages",
        {
            "messages": [
                {
                    "from": CUSTOMER,
                    "id": "wamid.U1",
                    "timestamp": str(now - 60),
                    "type": "text",
                    "text": {"body": "new"},
                }
            ]
        },
    )
    assert wa_post(http, functions_url, wa, live).status_code == 200
    assert inbox_row(db, owner.id)["unread"] == 1
    res = wa_post(
        http,
        functions_url,
        wa,
        history_chunk(
            0,
            1,
            50,
            [text("wamid.U0", now - 5 * 86400, "old"), text("wamid.U00", now - 4 * 86400, "older")],
        ),
    )
    assert res.status_code == 200 and res.json()["inserted"] == 2, res.text
    row = inbox_row(db, owner.id)
    assert (row["count"], row["unread"], row["unread_mark"]) == (3, 1, True), (
        "the live message stays unread, alone"
    )
