"""The local stack is real: supabase-py -> nginx -> PostgREST -> PostgreSQL, roles and JWTs."""

from __future__ import annotations

import subprocess
import time

import httpx
import jwt
import pytest
from postgrest.exceptions import APIError

from devstack import postgres, stack
from devstack.layout import REPO_ROOT

WHOAMI = "select auth.role() as role, auth.uid() as uid, current_user as db_role"


@pytest.fixture(scope="module")
def whoami_fn(db):
    """A throwaway RPC that reports how a request arrives in the database."""
    db.execute(
        """
        create or replace function public.test_whoami() returns jsonb
        language sql stable set search_path = '' as $$
          select jsonb_build_object('role', auth.role(), 'uid', auth.uid(), 'db_role', current_user)
        $$;
        grant execute on function public.test_whoami() to anon, authenticated, service_role;
        notify pgrst, 'reload schema';
        """
    )
    time.sleep(0.5)
    yield
    db.execute("drop function if exists public.test_whoami(); notify pgrst, 'reload schema';")


def test_each_key_arrives_as_its_role(whoami_fn, anon, service, make_user):
    alice = make_user("alice")
    assert anon.rpc("test_whoami").execute().data == {
        "role": "anon",
        "uid": None,
        "db_role": "anon",
    }
    assert service.rpc("test_whoami").execute().data == {
        "role": "service_role",
        "uid": None,
        "db_role": "service_role",
    }
    assert alice.client.rpc("test_whoami").execute().data == {
        "role": "authenticated",
        "uid": alice.id,
        "db_role": "authenticated",
    }


@pytest.mark.parametrize(
    "claims_patch, secret_patch",
    [
        ({}, "a-different-secret-that-is-also-32-characters-long"),  # forged
        ({"exp": 1_000_000}, None),  # expired
    ],
    ids=["forged", "expired"],
)
def test_bad_tokens_are_refused_with_401(settings, whoami_fn, claims_patch, secret_patch):
    claims = {
        "sub": "00000000-0000-4000-a000-00000000a11c",
        "role": "authenticated",
        "exp": int(time.time()) + 600,
        **claims_patch,
    }
    token = jwt.encode(claims, secret_patch or settings.jwt_secret, algorithm="HS256")
    resp = httpx.post(
        f"{settings.api_url}/rest/v1/rpc/test_whoami",
        headers={"apikey": settings.anon_key, "Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 401, resp.text
    assert resp.json()["code"].startswith("PGRST3")


def test_gateway_requires_an_api_key(settings):
    resp = httpx.get(f"{settings.api_url}/rest/v1/")
    assert resp.status_code == 401
    assert "API key" in resp.json()["message"]


def test_api_answers_the_anon_key(settings):
    resp = httpx.get(f"{settings.api_url}/rest/v1/", headers={"apikey": settings.anon_key})
    assert resp.status_code == 200


def test_anon_gets_permission_denied_from_the_database(anon):
    with pytest.raises(APIError) as err:
        anon.rpc("ingest_messages", {"payload": {"messages": []}}).execute()
    assert err.value.code == "42501"


@pytest.mark.skipif(stack.external_stack() is not None, reason="resets only the native stack")
def test_db_reset_twice_keeps_the_auth_schema_and_seeds_its_users(db):
    """The bootstrap's objects (owned by supabase_admin) survive `supabase db reset`.

    Like on Supabase, the CLI truncates the auth tables on reset: users made at run time
    go, the seed's users come back, and auth.users / auth.uid() stay the same objects.
    """
    before = db.execute(
        "select 'auth.users'::regclass::oid, 'auth.uid()'::regprocedure::oid"
    ).fetchone()
    db.execute(
        "insert into auth.users (id, email) values ('00000000-0000-4000-a000-0000000000ff',"
        " 'runtime@test.example') on conflict do nothing"
    )
    for _ in range(2):
        stack.db_reset()
        row = db.execute(
            "select 'auth.users'::regclass::oid, 'auth.uid()'::regprocedure::oid,"
            " (select nspowner::regrole::text from pg_namespace where nspname = 'auth'),"
            " (select array_agg(email order by email) from auth.users),"
            " to_regclass('public.chat_conversations') is not null"
        ).fetchone()
        assert row[:2] == before
        assert row[2] == "supabase_admin"
        assert row[3] == ["alice@crm.example", "bob@crm.example"]
        assert row[4] is True
    postgres.notify_schema_reload()
    time.sleep(0.5)


@pytest.mark.skipif(stack.external_stack() is not None, reason="checks the native stack")
def test_stack_up_is_idempotent_and_quiet_the_second_time():
    start = time.monotonic()
    out = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "python"), "-m", "devstack", "up"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert time.monotonic() - start < 15
    parts = [line.split()[0] for line in out.splitlines() if line and line.split()[0] != ".env"]
    assert "started" not in out and out.count("running") == len(parts) and "web" in parts
    # the CLI's `stack` commands run the checkout's devstack
    status = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "crm-messaging"), "stack", "status"],
        capture_output=True,
        text=True,
    )
    lines = status.stdout.splitlines()
    assert status.returncode == 0 and all(" running" in line for line in lines), status.stdout
    assert any(line.startswith("web ") for line in lines)
