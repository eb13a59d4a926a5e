"""The messaging-ingest function's edges (issue 30 items 2, 3 and 5), through the gateway:
callers refused before their bodies are read, deliveries nested past the contract's depth
refused message by message, nosniff on every answer, random connection ids, WeChat nonces.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from devstack.tokens import user_token

WA_ACCOUNT = "+15550783881"
WA_METADATA = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}
METADATA_MAX_DEPTH = 32


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client


@pytest.fixture
def owner(make_user: Any) -> Any:
    return make_user("edges")


def connect(service: Any, owner: Any, platform: str, secrets: dict[str, str], account: str) -> str:
    return str(
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


def nested_json(depth: int) -> str:
    """JSON text of a value nested `depth` levels (arrays and objects in turn)."""
    text = '"deep"'
    for i in range(depth):
        text = f"[{text}]" if i % 2 else f'{{"k":{text}}}'
    return text


def wa_signed(http: httpx.Client, url: str, secret: str, body: bytes) -> httpx.Response:
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return http.post(
        url,
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": f"sha256={sig}"},
    )


def wx_query(token: str, nonce: str, **extra: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    sig = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": timestamp, "nonce": nonce, **extra}


def test_a_delivery_nested_3000_levels_deep_stores_the_good_message_and_refuses_the_bad(
    http: httpx.Client, functions_url: str, service: Any, owner: Any, db: Any
) -> None:
    cid = connect(
        service, owner, "whatsapp", {"app_secret": "deep-secret", "verify_token": "v"}, WA_ACCOUNT
    )
    good = {
        "from": "34611222333",
        "id": "wamid.good",
        "timestamp": str(int(time.time())),
        "type": "text",
    }
    good["text"] = {"body": "the good one"}  # type: ignore[assignment]
    # the three fields the mapping copies into metadata, each 3,000 levels deep (written as
    # text: json.dumps of such a value recurses past Python's limit)
    deep = nested_json(3000)
    now = str(int(time.time()))
    head = '{"from":"34611222333","timestamp":"' + now + '",'
    bad = [
        head
        + '"id":"wamid.lat","type":"location","location":{"latitude":'
        + deep
        + ',"longitude":2}}',
        head + '"id":"wamid.contacts","type":"contacts","contacts":[' + deep + "]}",
        head + '"id":"wamid.errors","type":"unsupported","errors":[' + deep + "]}",
    ]
    messages = "[" + ",".join([json.dumps(good), *bad]) + "]"
    value = (
        '{"messaging_product":"whatsapp","metadata":'
        + json.dumps(WA_METADATA)
        + ',"messages":'
        + messages
        + "}"
    )
    body = (
        '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":'
        + value
        + "}]}]}"
    ).encode()
    res = wa_signed(http, f"{functions_url}/whatsapp/{cid}", "deep-secret", body)
    assert res.status_code == 200, res.text
    answer = res.json()
    assert answer["inserted"] == 1
    assert sorted((r["id"], r["kind"]) for r in answer["refused"]) == [
        ("wamid.contacts", "invalid_message"),
        ("wamid.errors", "invalid_message"),
        ("wamid.lat", "invalid_message"),
    ]
    assert all(f"deeper than {METADATA_MAX_DEPTH} levels" in r["reason"] for r in answer["refused"])
    row = db.execute(
        "select messages from chat_conversations where user_id = %s and external_conversation_id = %s",
        (owner.id, "+34611222333"),
    ).fetchone()
    assert [m["id"] for m in row[0]] == ["wamid.good"]
    # counted on the connection the way the store's own refusals are
    refused_count, last_error = db.execute(
        "select refused_count, last_error from messaging_connections where id = %s", (cid,)
    ).fetchone()
    assert refused_count == 3
    assert "nested deeper than" in last_error
    # the same again: the good one a duplicate, the bad ones refused again, never a 5xx
    again = wa_signed(http, f"{functions_url}/whatsapp/{cid}", "deep-secret", body)
    assert again.status_code == 200 and again.json()["duplicates"] == 1


def test_every_answer_carries_nosniff_and_reflections_are_text(
    http: httpx.Client, functions_url: str, service: Any, owner: Any
) -> None:
    wa = connect(
        service, owner, "whatsapp", {"app_secret": "s", "verify_token": "vt-nosniff"}, WA_ACCOUNT
    )
    wx = connect(service, owner, "wechat", {"token": "wxNosniff"}, "gh_nosniff")
    html = "<html><script>alert(1)</script></html>"
    reflected = [
        http.get(
            f"{functions_url}/whatsapp/{wa}",
            params={
                "hub.mode": "subscribe",
                "hub.challenge": html,
                "hub.verify_token": "vt-nosniff",
            },
        ),
        http.get(f"{functions_url}/wechat/{wx}", params=wx_query("wxNosniff", "n1", echostr=html)),
    ]
    for res in reflected:
        assert res.status_code == 200 and res.text == html
        assert res.headers["content-type"].startswith("text/plain")
        assert res.headers["x-content-type-options"] == "nosniff"
    others = [
        http.get(
            f"{functions_url}/whatsapp/{wa}", params={"hub.mode": "subscribe", "hub.challenge": "1"}
        ),
        http.post(f"{functions_url}/whatsapp/{wa}", content=b"{}"),
        http.post(f"{functions_url}/wechat/{wx}", content=b"<xml/>"),
        http.post(f"{functions_url}/whatsapp/{uuid.uuid4()}", content=b"{}"),
        http.get(f"{functions_url}/telegram/{wa}"),
        http.post(functions_url, content=b"{}"),
        http.options(functions_url),
    ]
    for res in others:
        assert res.headers.get("x-content-type-options") == "nosniff", (res.status_code, res.text)


def test_unknown_connection_ids_are_404_and_a_new_connection_works_at_once(
    http: httpx.Client, functions_url: str, service: Any, owner: Any
) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    sig = "sha256=" + hmac.new(b"fresh", body, hashlib.sha256).hexdigest()
    headers = {"x-hub-signature-256": sig}
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(
            pool.map(
                lambda _: (
                    httpx.post(
                        f"{functions_url}/whatsapp/{uuid.uuid4()}",
                        content=body,
                        headers=headers,
                        timeout=60,
                    ).status_code
                ),
                range(40),
            )
        )
    assert codes == [404] * 40
    # created a moment ago, used at once: the cached ids are read again for it
    cid = connect(
        service, owner, "whatsapp", {"app_secret": "fresh", "verify_token": "v"}, WA_ACCOUNT
    )
    res = http.post(f"{functions_url}/whatsapp/{cid}", content=body, headers=headers)
    assert res.status_code == 200, res.text


def test_an_empty_or_overlong_wechat_nonce_is_401_naming_the_nonce(
    http: httpx.Client, functions_url: str, service: Any, owner: Any, db: Any
) -> None:
    wx = connect(service, owner, "wechat", {"token": "wxEmptyNonce"}, "gh_nonce")
    xml = (
        "<xml><ToUserName>gh_nonce</ToUserName><FromUserName>oU1</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType>"
        "<Content>hi</Content><MsgId>1</MsgId></xml>"
    )
    before = db.execute(
        "select refused_count, last_error from messaging_connections where id = %s", (wx,)
    ).fetchone()
    for nonce, words in (
        ("", "nonce: must not be empty"),
        ("n" * 129, "nonce: at most 128 characters"),
    ):
        res = http.post(
            f"{functions_url}/wechat/{wx}", params=wx_query("wxEmptyNonce", nonce), content=xml
        )
        assert res.status_code == 401, res.text
        assert words in res.text
        assert "webhook_nonces" not in res.text and "constraint" not in res.text
    # both refusals are counted on the connection (the second with the next write, within
    # about a second: refusals are summed in the function), naming the nonce, nothing else
    deadline = time.monotonic() + 5
    while True:
        after = db.execute(
            "select refused_count, last_error, refused_by_reason from messaging_connections"
            " where id = %s",
            (wx,),
        ).fetchone()
        if after[0] == before[0] + 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert after[0] == before[0] + 2
    assert "nonce" in after[1] and "webhook_nonces" not in after[1]
    assert after[2] == {"bad_signature": 2}
    stored = db.execute(
        "select count(*) from chat_conversations where user_id = %s", (owner.id,)
    ).fetchone()[0]
    assert stored == 0


def _post_prefix(url: str, authorization: str, body: bytes, sent: int) -> tuple[int, str]:
    """POST announcing the whole body's length but sending only its first `sent` bytes, then
    reading the answer (as a server that refuses before the body must answer): status, body.
    A raw socket: httpx reads no answer before it has sent the whole body."""
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(url)
    head = (
        f"POST {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
        f"Authorization: {authorization}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((u.hostname or "127.0.0.1", u.port or 80), timeout=30) as sock:
        sock.sendall(head + body[:sent])
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.split(b"\r\n\r\n", 1)[1]) < _length(raw):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    header, _, rest = raw.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    return status, rest[: _length(raw)].decode()


def _length(raw: bytes) -> int:
    """The Content-Length of a raw answer's head (0 until the head is whole)."""
    header = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    for line in header.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


def test_the_app_route_checks_the_token_before_the_body(
    http: httpx.Client, functions_url: str, settings: Any, owner: Any
) -> None:
    big = (
        b'{"messages":['
        + b",".join([b'{"id":"x","content":"' + b"y" * 1000 + b'"}'] * 8000)
        + b"]}"
    )
    expired = user_token(settings.jwt_secret, owner.id, ttl_seconds=-60)
    forged = user_token("not-the-project-secret-but-long-enough-0123456789", owner.id)
    for token, words in (
        ("x", "not a JWT"),
        (settings.anon_key, "role may not write messages"),
        (expired, "expired"),
        (forged, "refused"),
    ):
        # the 8 MiB body is announced, 64 KiB of it sent: the answer comes without the rest
        status, body = _post_prefix(functions_url, f"Bearer {token}", big, 64 * 1024)
        assert status == 401, body
        assert words in json.loads(body)["error"]
    # a signed-in user's own token goes on to ingest_messages
    msg = {
        "platform": "telegram",
        "external_conversation_id": "edge-app",
        "id": "app-1",
        "direction": "inbound",
        "content": "hi",
        "sent_at": "2026-01-01T00:00:00Z",
    }
    res = http.post(
        functions_url, json={"messages": [msg]}, headers={"authorization": f"Bearer {owner.token}"}
    )
    assert res.status_code == 200, res.text
    assert res.json()["inserted"] == 1
