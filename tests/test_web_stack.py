"""The stack's web server for the CRM screens: the built app, its SPA fallback, the same-origin
API, and the local sign-in's tokens (valid for the seed users only, no secret in them)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from crm_messaging.config import read_env
from devstack import gateway, layout, stack

pytestmark = pytest.mark.skipif(
    stack.external_stack() is not None, reason="the native stack's web server"
)

SEED_USERS = {
    "alice@crm.example": "00000000-0000-4000-a000-00000000a11c",
    "bob@crm.example": "00000000-0000-4000-a000-000000000b0b",
}


@pytest.fixture(scope="module")
def web_url() -> str:
    url = read_env().get("WEB_URL")
    assert url == layout.web_url(), "stack up writes WEB_URL to .env"
    return url


def test_web_url_serves_the_app_with_a_spa_fallback(web_url):
    index = httpx.get(f"{web_url}/")
    assert index.status_code == 200 and '<div id="root">' in index.text
    deep = httpx.get(f"{web_url}/inbox/some-conversation?msg=x")
    assert deep.status_code == 200 and deep.text == index.text
    missing_asset = httpx.get(f"{web_url}/assets/no-such-file.js")
    assert missing_asset.status_code == 404


def test_the_api_is_reachable_from_the_apps_origin(web_url, settings):
    # PostgREST answers (anon may not read people: 42501), through the gateway's apikey check
    resp = httpx.get(f"{web_url}/rest/v1/people?select=id", headers={"apikey": settings.anon_key})
    assert resp.status_code == 401 and resp.json()["code"] == "42501"
    no_key = httpx.get(f"{web_url}/rest/v1/people")
    assert no_key.status_code == 401 and no_key.json()["message"] == "No API key found in request"


def test_local_session_holds_short_lived_tokens_of_the_seed_users(web_url, settings):
    resp = httpx.get(f"{web_url}/local-dev/session.json")
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["anon_key"] == settings.anon_key
    assert body["api_url"] == settings.api_url
    assert settings.jwt_secret not in resp.text and settings.service_role_key not in resp.text
    assert {u["email"]: u["id"] for u in body["users"]} == SEED_USERS
    now = time.time()
    for user in body["users"]:
        claims = jwt.decode(
            user["access_token"],
            settings.jwt_secret,
            algorithms=["HS256"],
            audience="authenticated",
        )
        assert claims["sub"] == user["id"] and claims["role"] == "authenticated"
        assert now < claims["exp"] <= now + gateway.LOCAL_SESSION_TTL + 5
        assert claims["exp"] == user["expires_at"]


def test_a_local_token_reads_as_its_user(web_url, settings, db):
    body = httpx.get(f"{web_url}/local-dev/session.json").json()
    bob = next(u for u in body["users"] if u["email"] == "bob@crm.example")
    resp = httpx.get(
        f"{web_url}/rest/v1/people?select=full_name",
        headers={"apikey": settings.anon_key, "Authorization": f"Bearer {bob['access_token']}"},
    )
    assert resp.status_code == 200
    assert [p["full_name"] for p in resp.json()] == ["Tom Jones"]


def test_the_screens_are_served_from_a_checkout_in_a_0700_folder(web_url):
    # A checkout in a Debian home folder (0700): nginx's worker (`nobody` when the stack runs
    # as root) cannot enter it. The checkout is closed for the length of this test; the
    # screens and their assets must still be served (500 before: nginx read web/dist).
    index = httpx.get(f"{web_url}/")
    asset = next(iter(sorted((layout.REPO_ROOT / "web" / "dist" / "assets").glob("*.js"))))
    root = layout.REPO_ROOT
    mode = root.stat().st_mode & 0o777
    root.chmod(0o700)
    try:
        closed = httpx.get(f"{web_url}/")
        closed_asset = httpx.get(f"{web_url}/assets/{asset.name}")
        deep = httpx.get(f"{web_url}/inbox/x")
    finally:
        root.chmod(mode)
    assert closed.status_code == 200 and closed.text == index.text
    assert closed_asset.status_code == 200 and closed_asset.content == asset.read_bytes()
    assert deep.status_code == 200 and deep.text == index.text
