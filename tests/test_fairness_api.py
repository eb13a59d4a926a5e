"""Fairness per user over HTTP (supabase/schemas/27_fairness.sql), the Python client's backing
off on 429, and the not-found refusals' 404.

A user's slots are held, where a test needs them held for certain, by a transaction of the
test's own that takes the same advisory locks the db-pre-request function takes; elsewhere
parallel requests trip the limit as a user's sessions would.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest

from crm_messaging.client import MessagingClient
from crm_messaging.contract import contract
from crm_messaging.errors import MessagingError
from devstack.tokens import user_token

from .conftest import client_for
from .helpers import msg

PER_USER = contract().limit("requests_per_user")
SIGNED_IN = contract().limit("requests_signed_in")
#: a backreference pattern that takes a while on a long line (the issue's expensive filter)
SLOW_PATTERN = r"(.*)(.*)(.*)(.*)(.*)\5\4\3\2\1x"


@contextmanager
def held(settings: Any, query: str, params: tuple[Any, ...]) -> Iterator[None]:
    """The advisory locks of `query` held by a transaction of this test until the block ends."""
    with psycopg.connect(settings.db_url) as conn:
        conn.execute(query, params)
        yield
        conn.rollback()


def user_slots(settings: Any, user_id: str) -> Any:
    return held(
        settings,
        "select pg_advisory_xact_lock(1953000 + s, hashtext(%s::text))"
        " from generate_series(0, %s - 1) s",
        (user_id, PER_USER),
    )


def signed_in_slots(settings: Any) -> Any:
    return held(
        settings,
        "select pg_advisory_xact_lock(1953100, s) from generate_series(0, %s - 1) s",
        (SIGNED_IN,),
    )


def headers(settings: Any, token: str, key: str | None = None) -> dict[str, str]:
    return {"apikey": key or settings.anon_key, "Authorization": f"Bearer {token}"}


def inbox(settings: Any, h: dict[str, str]) -> httpx.Response:
    return httpx.get(
        f"{settings.api_url}/rest/v1/chat_conversation_list", params={"select": "id"}, headers=h
    )


def test_a_user_past_their_slots_gets_429_whatever_the_token_and_others_do_not(settings, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    # a second sign-in: another token of the same user
    other_token = user_token(settings.jwt_secret, alice.id, ttl_seconds=1800)
    service = headers(settings, settings.service_role_key, settings.service_role_key)
    with user_slots(settings, alice.id):
        for token in (alice.token, other_token):
            r = inbox(settings, headers(settings, token))
            assert r.status_code == 429, r.text
            assert r.headers["retry-after"] == str(contract().limit("retry_after_seconds"))
            body = r.json()
            assert (body["code"], body["hint"]) == ("53400", "too_many_requests")
            assert body["message"].startswith("too many requests at once for this user")
            assert f"at most {PER_USER} run at once" in body["message"]
        assert inbox(settings, headers(settings, bob.token)).status_code == 200
        assert inbox(settings, service).status_code == 200
    assert inbox(settings, headers(settings, alice.token)).status_code == 200


def test_signed_in_users_together_leave_the_service_role_its_reserve(settings, make_user, db):
    alice = make_user("alice")
    service = headers(settings, settings.service_role_key, settings.service_role_key)
    with signed_in_slots(settings):
        r = inbox(settings, headers(settings, alice.token))
        assert r.status_code == 429 and r.json()["hint"] == "too_many_requests", r.text
        assert "from signed-in users" in r.json()["message"]
        assert inbox(settings, headers(settings, settings.anon_key)).status_code == 429
        # the service role (webhooks, server jobs) is never limited: it reads and writes
        assert inbox(settings, service).status_code == 200
        summary = MessagingClient(client_for(settings, settings.service_role_key)).ingest(
            [msg("reserve")], user_id=alice.id
        )
        assert summary.inserted == 1
    # the pool's size leaves the service role connections no signed-in user can take
    assert SIGNED_IN < 10 and PER_USER < SIGNED_IN


def test_a_refused_request_ran_nothing(settings, make_user, db):
    alice = make_user("alice")
    payload = {"payload": {"messages": [msg("not-run")]}}
    with user_slots(settings, alice.id):
        r = httpx.post(
            f"{settings.api_url}/rest/v1/rpc/ingest_messages",
            json=payload,
            headers=headers(settings, alice.token),
        )
        assert r.status_code == 429, r.text
    assert db.execute(
        "select count(*) from chat_conversations where user_id = %s", (alice.id,)
    ).fetchone() == (0,)


def test_signed_in_reads_run_under_the_read_timeout_and_ingest_does_not(
    settings, make_user, service, db
):
    """The pre-request sets read_timeout_ms for every request of a signed-in user but an
    ingest: with it lowered to 50 ms for this test, a slow read is cancelled (57014); an
    ingest taking longer than that, and the service role's slow read, are not."""
    alice = make_user("alice")
    seed_slow_rows(service, alice.id)
    assert contract().limit("read_timeout_ms") < 8000  # shorter than the role's 8 s
    slow = {"select": "id", "messages->0->>content": f"match.{SLOW_PATTERN}"}
    url = f"{settings.api_url}/rest/v1/chat_conversations"
    old = db.execute(
        "select value from messaging_private.contract_limits where name = 'read_timeout_ms'"
    ).fetchone()[0]
    db.execute(
        "update messaging_private.contract_limits set value = 50 where name = 'read_timeout_ms'"
    )
    try:
        r = httpx.get(url, params=slow, headers=headers(settings, alice.token), timeout=30)
        assert r.status_code == 500 and r.json()["code"] == "57014", r.text
        r = httpx.post(
            f"{settings.api_url}/rest/v1/rpc/ingest_messages",
            json={"payload": {"messages": [msg("long", f"l{i}") for i in range(3000)]}},
            headers=headers(settings, alice.token),
            timeout=30,
        )
        assert r.status_code == 200 and r.json()["inserted"] == 3000, r.text
        assert r.elapsed.total_seconds() > 0.05  # longer than the reads' timeout
        service_key = headers(settings, settings.service_role_key, settings.service_role_key)
        r = httpx.get(url, params={**slow, "user_id": f"eq.{alice.id}"}, headers=service_key)
        assert r.status_code == 200 and r.elapsed.total_seconds() > 0.05, r.text
    finally:
        db.execute(
            "update messaging_private.contract_limits set value = %s where name = 'read_timeout_ms'",
            (old,),
        )
    r = httpx.get(url, params=slow, headers=headers(settings, alice.token), timeout=30)
    assert r.status_code == 200, r.text


def seed_slow_rows(service: Any, user_id: str) -> None:
    line = "the quick brown fox jumps over the lazy dog again and again"
    MessagingClient(service).ingest(
        [msg(f"slow{c}", f"s{c}", content=line) for c in range(40)], user_id=user_id
    )


def test_parallel_sessions_of_one_user_trip_the_limit(settings, make_user, service):
    alice = make_user("alice")
    seed_slow_rows(service, alice.id)
    tokens = [user_token(settings.jwt_secret, alice.id, ttl_seconds=1800 + n) for n in range(6)]
    start = threading.Barrier(len(tokens))
    codes: list[int] = []
    seconds: list[float] = []

    def session(token: str) -> None:
        start.wait()
        r = httpx.get(
            f"{settings.api_url}/rest/v1/chat_conversations",
            params={"select": "id", "messages->0->>content": f"match.{SLOW_PATTERN}"},
            headers=headers(settings, token),
            timeout=30,
        )
        codes.append(r.status_code)
        seconds.append(r.elapsed.total_seconds())

    threads = [threading.Thread(target=session, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(429) >= len(tokens) - PER_USER, (codes, seconds)
    assert set(codes) <= {200, 429, 500}, codes  # 500: a read cut at read_timeout_ms


def test_the_client_waits_the_retry_after_then_succeeds(settings, make_user):
    alice = make_user("alice")
    hold = user_slots(settings, alice.id)
    hold.__enter__()
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the slots free up while the client waits
        waits.append(seconds)
        hold.__exit__(None, None, None)

    client = MessagingClient(client_for(settings, settings.anon_key, alice.token), sleep=sleep)
    assert client.ingest([msg("after-429")]).inserted == 1
    assert len(waits) == 1 and waits[0] >= contract().limit("retry_after_seconds")


def test_the_client_gives_up_after_its_retries_with_a_readable_error(settings, make_user):
    alice = make_user("alice")
    waits: list[float] = []
    client = MessagingClient(
        client_for(settings, settings.anon_key, alice.token), retries=2, sleep=waits.append
    )
    with user_slots(settings, alice.id), pytest.raises(MessagingError) as err:
        client.conversations()
    e = err.value
    assert (e.code, e.kind, e.retry_after) == ("53400", "too_many_requests", 1.0)
    assert e.message.startswith("too many requests at once for this user")
    assert "try again in 1 s" in str(e)
    assert len(waits) == 2 and all(w >= 1.0 for w in waits)


def test_unknown_conversation_or_connection_is_404_with_code_message_and_hint(settings, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    bobs = MessagingClient(client_for(settings, settings.anon_key, bob.token))
    bobs.ingest([msg("bobs")])
    bob_conversation = bobs.conversations()[0].id
    base = f"{settings.api_url}/rest/v1/rpc"
    h = headers(settings, alice.token)
    for conversation in (str(uuid.uuid4()), str(bob_conversation)):
        r = httpx.post(
            f"{base}/mark_conversation_read", json={"conversation_id": conversation}, headers=h
        )
        assert r.status_code == 404, r.text
        body = r.json()
        assert (body["code"], body["hint"]) == ("P0002", "conversation_not_found")
        assert body["message"] == f"conversation_id: no such conversation ({conversation})"
    r = httpx.post(
        f"{base}/set_messaging_connection_status",
        json={"connection_id": str(uuid.uuid4()), "status": "paused"},
        headers=h,
    )
    assert r.status_code == 404, r.text
    assert (r.json()["code"], r.json()["hint"]) == ("P0002", "connection_not_found")
    # the client keeps PostgREST's fields, and the kind's advice
    client = MessagingClient(client_for(settings, settings.anon_key, alice.token))
    with pytest.raises(MessagingError) as err:
        client.rpc("mark_conversation_read", {"conversation_id": str(uuid.uuid4())})
    assert (err.value.code, err.value.kind) == ("P0002", "conversation_not_found")
    assert "Name a conversation of yours." in str(err.value)
