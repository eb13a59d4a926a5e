"""Fixtures over the real stack: supabase-py clients for each role and a database connection.

Everything is read from `.env` / the environment (API_URL, ANON_KEY, SERVICE_ROLE_KEY,
JWT_SECRET, DB_URL), so the suite runs unchanged against `supabase start`. User tokens are
minted with the checkout's developer tool (devstack.tokens), as the local stack does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from crm_messaging.config import Settings, load_settings, read_env
from crm_messaging.errors import SettingsError
from devstack.tokens import user_token
from supabase import Client, create_client


@dataclass
class User:
    id: str
    email: str
    token: str
    client: Client


@pytest.fixture(scope="session")
def settings() -> Settings:
    try:
        # both keys, the JWT secret (user tokens) and the database (arranging, asserting)
        return load_settings(require=("anon_key", "service_role_key", "jwt_secret", "db_url"))
    except SettingsError as exc:
        pytest.fail(f"{exc}", pytrace=False)


class Db:
    """A direct superuser connection for arranging and asserting (never the code path).

    It reconnects once when the server went away, so the fault tests that stop
    PostgreSQL do not take the rest of the session down with them.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: psycopg.Connection | None = None

    def execute(self, query: Any, params: Any = None) -> psycopg.Cursor:
        for attempt in range(2):
            if self.conn is None or self.conn.closed or self.conn.broken:
                self.conn = psycopg.connect(self.url, autocommit=True)
            try:
                return self.conn.execute(query, params)
            except psycopg.OperationalError:
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def db(settings: Settings) -> Iterator[Db]:
    conn = Db(settings.db_url)
    yield conn
    if conn.conn is not None:
        conn.conn.close()


def client_for(settings: Settings, key: str, token: str | None = None) -> Client:
    client = create_client(settings.api_url, key)
    if token:
        client.postgrest.auth(token)
    return client


@pytest.fixture
def service(settings: Settings) -> Client:
    return client_for(settings, settings.service_role_key)


@pytest.fixture
def anon(settings: Settings) -> Client:
    return client_for(settings, settings.anon_key)


@pytest.fixture
def make_user(settings: Settings, db: Db) -> Iterator[Callable[..., User]]:
    """Creates CRM users (rows in auth.users) and supabase-py clients signed in as them."""
    created: list[str] = []

    def make(name: str = "user") -> User:
        uid = str(uuid.uuid4())
        email = f"{name}-{uid[:8]}@test.example"
        db.execute(
            "insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)"
            " values (%s, 'authenticated', 'authenticated', %s, '{}', '{}')",
            (uid, email),
        )
        created.append(uid)
        token = user_token(settings.jwt_secret, uid, email=email)
        return User(uid, email, token, client_for(settings, settings.anon_key, token))

    yield make
    if created:
        db.execute("delete from auth.users where id = any(%s::uuid[])", (created,))


@pytest.fixture
def small_caps(db: Db) -> Iterator[dict[str, int]]:
    """Shrinks the hot-row cap and chunk size so archives are exercised with few messages."""
    old = dict(db.execute("select key, value from messaging_private.settings").fetchall())
    caps = {"hot_max_messages": 10, "hot_keep_messages": 5, "archive_chunk_messages": 12}
    for key, value in caps.items():
        db.execute("update messaging_private.settings set value = %s where key = %s", (value, key))
    yield caps
    for key, value in old.items():
        db.execute("update messaging_private.settings set value = %s where key = %s", (value, key))


@pytest.fixture(scope="session")
def functions_url(settings: Settings) -> str:
    """The messaging-ingest function's URL: FUNCTIONS_URL from .env, else the gateway's."""
    url = read_env().get("FUNCTIONS_URL") or f"{settings.api_url}/functions/v1"
    return f"{url.rstrip('/')}/messaging-ingest"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain HTTP client, for what the platforms send the function."""
    with httpx.Client(timeout=30) as client:
        yield client
