"""Connections behave as a user expects (issue 30, item 6), over HTTP through nginx to the
messaging-ingest function and PostgREST:

- a rotated secret applies at once: the new one is taken by the very next delivery, the old
  one refused by it (no grace period);
- every refused delivery is counted on its connection with its reason and time, and a flood
  of bad signatures costs at most about one write a second;
- a later stored delivery marks the last error as past;
- a paused connection answers 200, stores nothing and counts what it dropped.
"""

# ruff: noqa: F811  (the fixtures of test_webhooks, imported, are the arguments of its tests)
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.test_webhooks import (  # noqa: F401  (fixtures)
    WA_ACCOUNT,
    Conn,
    connect,
    owner,
    tg_post,
    wa_body,
    wa_post,
    wa_text,
)


def row(db, cid: str) -> dict[str, Any]:
    cur = db.execute(
        "select refused_count, refused_by_reason, last_refused_at, last_refused_reason,"
        " last_error, last_error_at, last_error_resolved_at, paused_dropped_count, last_dropped_at,"
        " status, last_synced_at from messaging_connections where id = %s",
        (cid,),
    )
    names = [d.name for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def eventually(check: Callable[[], bool], seconds: float = 10) -> None:
    """Waits for a state the function writes after answering (a connection's refusals are
    written at most once a second); not a measure of speed."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the state never came"
        time.sleep(0.05)


def stored_ids(db, user_id: str) -> set[str]:
    rows = db.execute(
        "select m ->> 'id' from chat_conversations c, jsonb_array_elements(c.messages) m"
        " where c.user_id = %s",
        (user_id,),
    ).fetchall()
    return {r[0] for r in rows}


def tg_update(n: int) -> dict[str, Any]:
    chat = {"id": 7770001, "first_name": "Ana", "type": "private"}
    return {
        "update_id": n,
        "message": {
            "message_id": n,
            "from": {"id": 7770001, "is_bot": False, "first_name": "Ana"},
            "chat": chat,
            "date": int(time.time()) - 60,
            "text": f"mensaje {n}",
        },
    }


def create_as_user(owner, platform: str, account: str, app_secret: str | None = None) -> dict:
    args: dict[str, Any] = {"platform": platform, "account_identifier": account}
    if app_secret:
        args["app_secret"] = app_secret
    return owner.client.rpc("create_messaging_connection", args).execute().data


def rotate_as_user(owner, cid: str, app_secret: str | None = None) -> dict:
    args: dict[str, Any] = {"connection_id": cid}
    if app_secret:
        args["app_secret"] = app_secret
    return owner.client.rpc("rotate_messaging_connection_secrets", args).execute().data


# ----------------------------------------------------------------------------- rotation


def test_a_rotated_telegram_token_works_at_once_and_the_old_one_stops_at_once(
    http, functions_url, owner, db
):
    made = create_as_user(owner, "telegram", f"bot_{uuid.uuid4().hex[:6]}")
    conn = Conn(made["id"], "telegram", made["secrets"])
    old = made["secrets"]["secret_token"]
    # the function has the connection (and the old token) in its cache
    assert tg_post(http, functions_url, conn, tg_update(1), old).status_code == 200
    new = rotate_as_user(owner, conn.id)["secrets"]["secret_token"]
    assert new != old
    # the very next delivery with the new token is stored (no 30 s wait)
    res = tg_post(http, functions_url, conn, tg_update(2), new)
    assert res.status_code == 200, res.text
    # and the old token is refused, counted, nothing stored
    res = tg_post(http, functions_url, conn, tg_update(3), old)
    assert res.status_code == 401, res.text
    ids = stored_ids(db, owner.id)
    assert {"7770001:1", "7770001:2"} <= ids and "7770001:3" not in ids
    eventually(lambda: row(db, conn.id)["refused_by_reason"].get("bad_signature") == 1)


def test_an_old_whatsapp_app_secret_stops_with_the_first_delivery_after_the_rotation(
    http, functions_url, owner, db
):
    made = create_as_user(owner, "whatsapp", WA_ACCOUNT, app_secret="meta-secret-1")
    conn = Conn(made["id"], "whatsapp", {"app_secret": "meta-secret-1"})
    t = int(time.time()) - 120
    assert (
        wa_post(
            http, functions_url, conn, wa_body(messages=[wa_text("wamid.R1", "a", t)])
        ).status_code
        == 200
    )
    rotate_as_user(owner, conn.id, app_secret="meta-secret-2")
    # signed with the old secret, which the function's cached copy still holds: the database
    # says the copy is stale, the function reads it again and refuses
    res = wa_post(http, functions_url, conn, wa_body(messages=[wa_text("wamid.R2", "b", t + 1)]))
    assert res.status_code == 401, res.text
    res = wa_post(
        http,
        functions_url,
        conn,
        wa_body(messages=[wa_text("wamid.R3", "c", t + 2)]),
        secret="meta-secret-2",
    )
    assert res.status_code == 200, res.text
    ids = stored_ids(db, owner.id)
    assert {"wamid.R1", "wamid.R3"} <= ids and "wamid.R2" not in ids


# ----------------------------------------------------------------------------- refusals


def test_a_bad_signature_is_counted_with_its_reason_and_time_before_the_answer(
    http, functions_url, owner, connect, db
):
    tg = connect("telegram", {"secret_token": "tg_right"})
    before = row(db, tg.id)
    assert before["refused_count"] == 0 and before["refused_by_reason"] == {}
    res = tg_post(http, functions_url, tg, tg_update(1), "tg_wrong")
    assert res.status_code == 401
    after = row(db, tg.id)  # the first refusal of a quiet second is written before the answer
    assert after["refused_count"] == 1
    assert after["refused_by_reason"] == {"bad_signature": 1}
    assert after["last_refused_reason"] == "bad_signature"
    assert after["last_refused_at"] is not None
    # the error names what was wrong: here Telegram's secret-token header
    assert "Secret-Token: missing or wrong" in after["last_error"]
    assert after["last_error_at"] is not None
    assert after["last_error_resolved_at"] is None
    assert (after["status"], after["last_synced_at"]) == ("active", None)
    assert stored_ids(db, owner.id) == set()


def test_other_refusals_count_under_their_own_reasons(http, functions_url, connect, db):
    wa = connect("whatsapp", {"app_secret": "meta-x", "verify_token": "vt-x"}, WA_ACCOUNT)
    t = int(time.time()) - 60
    res = http.get(
        f"{functions_url}/whatsapp/{wa.id}",
        params={"hub.mode": "subscribe", "hub.challenge": "7", "hub.verify_token": "nope"},
    )
    assert res.status_code == 403
    other = {"display_phone_number": "19999999999", "phone_number_id": "999"}
    body = wa_body(messages=[wa_text("wamid.O1", "x", t)], metadata=other)
    assert wa_post(http, functions_url, wa, body).status_code == 403
    assert wa_post(http, functions_url, wa, b'{"object": "page"}').status_code == 400
    future = wa_body(messages=[wa_text("wamid.F1", "later", int(time.time()) + 5 * 86400)])
    assert wa_post(http, functions_url, wa, future).status_code == 422
    eventually(lambda: row(db, wa.id)["refused_count"] == 4)
    assert row(db, wa.id)["refused_by_reason"] == {
        "wrong_verify_token": 1,
        "account_mismatch": 1,
        "bad_body": 1,
        "invalid_message": 1,
    }


def test_a_flood_of_bad_signatures_is_counted_whole_in_about_one_write_a_second(
    functions_url, connect, db
):
    tg = connect("telegram", {"secret_token": "tg_flood"})
    # arranged as superuser: count the writes to this connection's row
    db.execute("create table public.test_connection_writes (at timestamptz default now())")
    db.execute(
        "create function public.test_count_connection_write() returns trigger language plpgsql"
        " set search_path = '' as $$ begin insert into public.test_connection_writes default values;"
        " return new; end $$"
    )
    db.execute(
        "create trigger test_count_connection_write after update on public.messaging_connections"
        f" for each row when (new.id = '{tg.id}') execute function public.test_count_connection_write()"
    )
    try:
        n = 300
        started = time.monotonic()
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(16) as pool:
            codes = list(
                pool.map(
                    lambda i: tg_post(client, functions_url, tg, tg_update(i), "x").status_code,
                    range(n),
                )
            )
        assert codes == [401] * n
        eventually(lambda: row(db, tg.id)["refused_count"] == n)
        elapsed = time.monotonic() - started
        writes = db.execute("select count(*) from public.test_connection_writes").fetchone()[0]
        print(f"{n} bad signatures: {writes} writes of the connection row in {elapsed:.2f} s")
        # one write for the first refusal, then at most one per second (per function instance)
        assert writes <= elapsed + 2, f"{writes} writes for {n} refusals in {elapsed:.1f} s"
        assert row(db, tg.id)["refused_by_reason"] == {"bad_signature": n}
    finally:
        db.execute("drop trigger test_count_connection_write on public.messaging_connections")
        db.execute("drop function public.test_count_connection_write()")
        db.execute("drop table public.test_connection_writes")


# ----------------------------------------------------------------------------- last error


def test_a_later_stored_delivery_marks_the_last_error_as_past(http, functions_url, connect, db):
    wa = connect("whatsapp", {"app_secret": "meta-e", "verify_token": "vt-e"}, WA_ACCOUNT)
    t = int(time.time()) - 60
    # one good message and one a day and more ahead: 200, the bad one refused and counted
    body = wa_body(
        messages=[
            wa_text("wamid.E1", "bien", t),
            wa_text("wamid.E2", "futuro", int(time.time()) + 5 * 86400),
        ]
    )
    assert wa_post(http, functions_url, wa, body).status_code == 200
    err = row(db, wa.id)
    assert err["last_error"].startswith("messages[1] refused") and err["last_error_at"] is not None
    assert err["last_error_resolved_at"] is None
    assert err["refused_by_reason"] == {"invalid_message": 1}
    # a later delivery stored whole: the error stays, marked as past
    ok = wa_body(messages=[wa_text("wamid.E3", "otra", t + 1)])
    assert wa_post(http, functions_url, wa, ok).status_code == 200
    past = row(db, wa.id)
    assert past["last_error"] == err["last_error"] and past["last_error_at"] == err["last_error_at"]
    assert past["last_error_resolved_at"] is not None
    assert past["last_error_resolved_at"] >= past["last_error_at"]
    # a new refusal makes it current again
    assert wa_post(http, functions_url, wa, ok, secret="wrong").status_code == 401
    eventually(lambda: row(db, wa.id)["last_error_resolved_at"] is None)
    assert row(db, wa.id)["last_refused_reason"] == "bad_signature"


# ----------------------------------------------------------------------------- pause


def test_a_paused_connection_counts_what_it_dropped(http, functions_url, owner, db):
    made = create_as_user(owner, "telegram", f"bot_{uuid.uuid4().hex[:6]}")
    conn = Conn(made["id"], "telegram", made["secrets"])
    token = made["secrets"]["secret_token"]
    owner.client.rpc(
        "set_messaging_connection_status", {"connection_id": conn.id, "status": "paused"}
    ).execute()
    for n in (1, 2):
        res = tg_post(http, functions_url, conn, tg_update(n), token)
        assert res.status_code == 200  # what makes Telegram stop retrying
        assert res.json()["stored"] is False and "dropped" in res.json()["reason"]
    paused = row(db, conn.id)
    assert (paused["paused_dropped_count"], paused["refused_count"]) == (2, 0)
    assert paused["last_dropped_at"] is not None
    assert stored_ids(db, owner.id) == set()
    # the owner reads the count through the API; a bad signature on a paused connection is
    # a refusal, not a drop
    assert tg_post(http, functions_url, conn, tg_update(3), "nope").status_code == 401
    seen = (
        owner.client.table("messaging_connections")
        .select("paused_dropped_count, last_dropped_at, refused_by_reason")
        .eq("id", conn.id)
        .execute()
        .data
    )
    assert seen[0]["paused_dropped_count"] == 2 and seen[0]["last_dropped_at"]
    owner.client.rpc(
        "set_messaging_connection_status", {"connection_id": conn.id, "status": "active"}
    ).execute()
    assert tg_post(http, functions_url, conn, tg_update(4), token).status_code == 200
    assert stored_ids(db, owner.id) == {"7770001:4"}
    assert row(db, conn.id)["paused_dropped_count"] == 2
