"""Edits as versions and the delete setting (issue 28 item 6), against the running stack.

An edit that replaces a stored copy keeps the replaced text and its time in
metadata.versions (oldest first, the newest 20, versions_dropped counting the rest); a
redelivery adds none. A delete keeps its marker; messaging_settings.keep_deleted_text
decides whether the text and versions stay (true) or go (false, the default).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from postgrest.exceptions import APIError

from .helpers import check_invariants, conversation_state, msg

CAP = 20


def ingest(client, messages, **top):
    return client.rpc("ingest_messages", {"payload": {"messages": messages, **top}}).execute().data


def stored(db, user_id: str, conv: str, mid: str) -> dict[str, Any]:
    """One stored message, from the hot row or an archive chunk."""
    row = db.execute(
        "select m from chat_conversations c"
        " cross join lateral jsonb_array_elements(c.messages) m"
        " where c.user_id = %(u)s and c.external_conversation_id = %(c)s and m ->> 'id' = %(m)s"
        " union all"
        " select m from chat_conversation_archives a join chat_conversations c on c.id = a.conversation_id"
        " cross join lateral jsonb_array_elements(a.messages) m"
        " where c.user_id = %(u)s and c.external_conversation_id = %(c)s and m ->> 'id' = %(m)s",
        {"u": user_id, "c": conv, "m": mid},
    ).fetchall()
    assert len(row) == 1, f"{mid} stored {len(row)} times"
    return row[0][0]


def at(minutes: int) -> str:
    return f"2026-03-02T{10 + minutes // 60:02d}:{minutes % 60:02d}:00Z"


# ----------------------------------------------------------------------------- ingest_messages


def test_an_edit_keeps_the_earlier_versions_and_a_retry_adds_none(make_user, db):
    alice = make_user("alice")
    m = msg("v1", "e1", minutes=1, content="original")
    cid = ingest(alice.client, [m, msg("v1", "e2", minutes=2)])["conversations"][0]["id"]
    first = {**m, "content": "second", "edited_at": at(0)}
    second = {**m, "content": "third", "edited_at": at(5), "metadata": {"source": "phone"}}
    assert ingest(alice.client, [first])["updated"] == 1
    assert ingest(alice.client, [second])["updated"] == 1
    want = [
        {"content": "original", "at": "2026-03-02T09:01:00Z"},
        {"content": "second", "at": at(0)},
    ]
    got = stored(db, alice.id, "v1", "e1")
    assert got["content"] == "third" and got["metadata"]["versions"] == want
    assert got["metadata"]["source"] == "phone"  # the edit's own metadata stays

    # redeliveries of any version: duplicates, nothing added
    for again in (second, first, m):
        out = ingest(alice.client, [again])
        assert (out["updated"], out["duplicates"]) == (0, 1)
    assert stored(db, alice.id, "v1", "e1") == got
    # an edit that changes no text (a media edit, a repeated time): no version
    ingest(alice.client, [{**second, "edited_at": at(9)}])
    assert stored(db, alice.id, "v1", "e1")["metadata"]["versions"] == want
    assert len(check_invariants(db, cid)) == 2
    # the versions are read through the API like any metadata
    page = alice.client.rpc("get_conversation_messages", {"conversation_id": cid}).execute().data
    (read,) = [x for x in page if x["id"] == "e1"]
    assert read["metadata"]["versions"] == want


def test_versions_past_the_cap_keep_the_newest_and_count_the_dropped(make_user, db):
    alice = make_user("alice")
    m = msg("cap", "c1", minutes=0, content="v0")
    ingest(alice.client, [m])
    edits = CAP + 3
    for i in range(1, edits + 1):
        assert ingest(alice.client, [{**m, "content": f"v{i}", "edited_at": at(i)}])["updated"] == 1
    meta = stored(db, alice.id, "cap", "c1")["metadata"]
    assert len(meta["versions"]) == CAP and meta["versions_dropped"] == 3
    assert [v["content"] for v in meta["versions"]] == [f"v{i}" for i in range(3, edits)]
    assert meta["versions"][-1]["at"] == at(edits - 1)


def test_an_edit_of_an_archived_message_keeps_its_versions(make_user, db, small_caps):
    alice = make_user("alice")
    batch = [msg("arch", f"a{i:03d}", minutes=i, content=f"text {i}") for i in range(40)]
    cid = ingest(alice.client, batch)["conversations"][0]["id"]
    assert conversation_state(db, cid)["chunks"], "the first messages are archived"
    out = ingest(
        alice.client, [{**batch[1], "content": "edited in the archive", "edited_at": at(90)}]
    )
    assert out["updated"] == 1
    got = stored(db, alice.id, "arch", "a001")
    assert got["content"] == "edited in the archive"
    assert got["metadata"]["versions"] == [{"content": "text 1", "at": "2026-03-02T09:01:00Z"}]
    again = ingest(
        alice.client, [{**batch[1], "content": "edited in the archive", "edited_at": at(90)}]
    )
    assert again["duplicates"] == 1 and stored(db, alice.id, "arch", "a001") == got
    assert len(check_invariants(db, cid)) == 40


# ----------------------------------------------------------------------------- through the function


@pytest.fixture
def connect(service):
    def add(owner, platform: str, secrets: dict[str, str], account: str) -> str:
        return str(
            service.rpc(
                "add_messaging_connection",
                {"platform": platform, "account_identifier": account, "secrets": secrets,
                 "user_id": owner.id},
            ).execute().data
        )  # fmt: skip

    return add


def test_a_telegram_edited_message_keeps_the_version_and_a_redelivery_adds_none(
    http, functions_url, connect, make_user, db
):
    owner = make_user("tg")
    conn = connect(
        owner, "telegram", {"secret_token": "tg_Versions-1"}, f"tg-{uuid.uuid4().hex[:6]}"
    )
    t = int(time.time()) - 600
    user = {"id": 7770001, "is_bot": False, "first_name": "Olga"}
    chat = {"id": 7770001, "first_name": "Olga", "type": "private"}
    message = {"message_id": 3, "from": user, "chat": chat, "date": t, "text": "Quiero 3 cajas"}

    def post(update: dict[str, Any]) -> dict[str, Any]:
        res = http.post(
            f"{functions_url}/telegram/{conn}",
            content=json.dumps(update),
            headers={
                "content-type": "application/json",
                "x-telegram-bot-api-secret-token": "tg_Versions-1",
            },
        )
        assert res.status_code == 200, res.text
        return res.json()

    post({"update_id": 1, "message": message})
    edit = {**message, "text": "Quiero 4 cajas", "edit_date": t + 60}
    assert post({"update_id": 2, "edited_message": edit})["updated"] == 1
    got = stored(db, owner.id, "7770001", "7770001:3")
    first_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    assert got["content"] == "Quiero 4 cajas"
    assert got["metadata"]["versions"] == [{"content": "Quiero 3 cajas", "at": first_at}]
    # Telegram redelivers the same update: nothing added
    assert post({"update_id": 2, "edited_message": edit})["updated"] == 0
    post({"update_id": 1, "message": message})
    assert stored(db, owner.id, "7770001", "7770001:3") == got
    post(
        {"update_id": 3, "edited_message": {**edit, "text": "Quiero 5 cajas", "edit_date": t + 120}}
    )
    versions = stored(db, owner.id, "7770001", "7770001:3")["metadata"]["versions"]
    assert [v["content"] for v in versions] == ["Quiero 3 cajas", "Quiero 4 cajas"]


def signal_thread(http, functions_url, connect, owner, peer: str) -> tuple[Any, int]:
    """A Signal message, edited once through the function; returns a sender of envelopes and
    the message's timestamp."""
    account = f"+3460{uuid.uuid4().int % 10**7:07d}"
    conn = connect(owner, "signal", {"token": "signal-versions-1"}, account)
    now = int(time.time() * 1000) - 120_000
    src = {"source": peer, "sourceNumber": peer, "sourceName": "Iker", "sourceDevice": 1}

    def send(envelope: dict[str, Any]) -> None:
        note = {
            "jsonrpc": "2.0",
            "method": "receive",
            "params": {"envelope": {**src, **envelope}, "account": account},
        }
        res = http.post(
            f"{functions_url}/signal/{conn}",
            content=json.dumps(note),
            headers={
                "authorization": "Bearer signal-versions-1",
                "content-type": "application/json",
            },
        )
        assert res.status_code == 200, res.text

    send({"timestamp": now, "dataMessage": {"timestamp": now, "message": "Hola"}})
    send({"timestamp": now + 1000,
          "editMessage": {"targetSentTimestamp": now, "dataMessage": {"timestamp": now + 1000, "message": "Hola de nuevo"}}})  # fmt: skip
    return send, now


def delete_of(now: int) -> dict[str, Any]:
    return {
        "timestamp": now + 5000,
        "dataMessage": {"timestamp": now + 5000, "remoteDelete": {"timestamp": now}},
    }


def test_a_signal_delete_erases_the_text_and_versions_by_default(
    http, functions_url, connect, make_user, db
):
    owner = make_user("sg")
    peer = "+34622000111"
    send, now = signal_thread(http, functions_url, connect, owner, peer)
    mid = f"{peer}:{now}"
    edited = stored(db, owner.id, peer, mid)
    assert (
        edited["content"] == "Hola de nuevo"
        and edited["metadata"]["versions"][0]["content"] == "Hola"
    )
    send(delete_of(now))
    gone = stored(db, owner.id, peer, mid)
    assert gone["content"] is None and gone["metadata"]["deleted"] is True
    assert gone["metadata"]["deleted_at"] and "versions" not in gone["metadata"]
    send(delete_of(now))  # a redelivered delete changes nothing
    assert stored(db, owner.id, peer, mid) == gone


def test_a_user_who_keeps_deleted_text_keeps_it_and_erases_it_when_turned_off(
    http, functions_url, connect, make_user, db
):
    owner = make_user("keep")
    row = owner.client.rpc("set_messaging_settings", {"keep_deleted_text": True}).execute().data
    assert row["keep_deleted_text"] is True and row["user_id"] == owner.id
    peer = "+34622000222"
    send, now = signal_thread(http, functions_url, connect, owner, peer)
    mid = f"{peer}:{now}"
    send(delete_of(now))
    kept = stored(db, owner.id, peer, mid)
    assert kept["content"] == "Hola de nuevo" and kept["metadata"]["deleted"] is True
    assert [v["content"] for v in kept["metadata"]["versions"]] == ["Hola"]
    send(delete_of(now))
    assert stored(db, owner.id, peer, mid) == kept

    # turning it off erases what was kept (and only that: the marker stays)
    owner.client.rpc("set_messaging_settings", {"keep_deleted_text": False}).execute()
    erased = stored(db, owner.id, peer, mid)
    assert erased["content"] is None and erased["metadata"]["deleted"] is True
    assert "versions" not in erased["metadata"]
    assert erased["metadata"]["deleted_at"] == kept["metadata"]["deleted_at"]


def test_kept_text_in_an_archive_chunk_is_erased_when_the_setting_is_turned_off(
    make_user, db, small_caps
):
    owner = make_user("keeparch")
    owner.client.rpc("set_messaging_settings", {"keep_deleted_text": True}).execute()
    batch = [msg("ka", f"k{i:03d}", minutes=i, content=f"text {i}") for i in range(40)]
    cid = ingest(owner.client, batch)["conversations"][0]["id"]
    update = {"platform": "whatsapp", "external_conversation_id": "ka", "id": "k001",
              "kind": "delete", "at": "2026-03-02T12:00:00Z"}  # fmt: skip
    out = db.execute(
        "select messaging_private.apply_message_updates(%s, %s::jsonb)",
        (owner.id, json.dumps([update])),
    ).fetchone()[0]
    assert out["applied"] == 1
    assert stored(db, owner.id, "ka", "k001")["content"] == "text 1"
    owner.client.rpc("set_messaging_settings", {"keep_deleted_text": False}).execute()
    got = stored(db, owner.id, "ka", "k001")
    assert got["content"] is None and got["metadata"]["deleted"] is True
    assert stored(db, owner.id, "ka", "k002")["content"] == "text 2"  # the rest untouched
    assert len(check_invariants(db, cid)) == 40


# ----------------------------------------------------------------------------- the setting


def test_the_setting_is_the_users_own_and_refuses_a_missing_value(make_user, anon, db):
    alice, bob = make_user("alice"), make_user("bob")
    read = alice.client.table("messaging_settings").select("*").execute().data
    assert read == []  # no row: the defaults (erase)
    alice.client.rpc("set_messaging_settings", {"keep_deleted_text": True}).execute()
    with pytest.raises(APIError) as err:
        alice.client.rpc("set_messaging_settings", {"keep_deleted_text": None}).execute()
    assert (err.value.code, err.value.hint) == ("22023", "settings_invalid")
    assert "keep_deleted_text" in (err.value.message or "")
    (row,) = alice.client.table("messaging_settings").select("*").execute().data
    assert row["keep_deleted_text"] is True  # the refusal changed nothing
    assert bob.client.table("messaging_settings").select("*").execute().data == []
    # bob can change no row of alice's, and alice only her own setting
    bob.client.table("messaging_settings").update({"keep_deleted_text": False}).eq(
        "user_id", alice.id
    ).execute()
    assert db.execute(
        "select keep_deleted_text from messaging_settings where user_id = %s", (alice.id,)
    ).fetchone() == (True,)
    alice.client.table("messaging_settings").update({"keep_deleted_text": False}).eq(
        "user_id", alice.id
    ).execute()
    assert db.execute(
        "select keep_deleted_text from messaging_settings where user_id = %s", (alice.id,)
    ).fetchone() == (False,)
    with pytest.raises(APIError) as err:
        anon.rpc("set_messaging_settings", {"keep_deleted_text": True}).execute()
    assert err.value.code == "42501"


# ----------------------------------------------------------------------------- WhatsApp (Coexistence)


def test_a_whatsapp_edit_and_revoke_through_the_function(
    http, functions_url, connect, make_user, db
):
    """messages `edit` (original_message_id, message) replaces the original keeping the
    replaced text as a version; `revoke` deletes it (erased: the default setting)."""
    owner = make_user("wa")
    secret = "meta-versions-secret"
    account = "106540352242922"
    conn = connect(owner, "whatsapp", {"app_secret": secret, "verify_token": "vt-v"}, account)
    customer = "34611999888"
    t = int(time.time()) - 600

    def post(messages: list[dict[str, Any]]) -> dict[str, Any]:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": account},
            "contacts": [{"profile": {"name": "Marta"}, "wa_id": customer}],
            "messages": messages,
        }
        body = json.dumps({"object": "whatsapp_business_account",
                           "entry": [{"id": "1", "changes": [{"value": value, "field": "messages"}]}]}).encode()  # fmt: skip
        sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        res = http.post(
            f"{functions_url}/whatsapp/{conn}",
            content=body,
            headers={"content-type": "application/json", "x-hub-signature-256": f"sha256={sig}"},
        )
        assert res.status_code == 200, res.text
        return res.json()

    original = {"from": customer, "id": "wamid.V1", "timestamp": str(t), "type": "text",
                "text": {"body": "Quiero 3 cajas"}}  # fmt: skip
    edit = {"from": customer, "id": "wamid.V1EDIT", "timestamp": str(t + 60), "type": "edit",
            "edit": {"original_message_id": "wamid.V1",
                     "message": {"type": "text", "text": {"body": "Quiero 4 cajas"}}}}  # fmt: skip
    post([original])
    assert post([edit])["updated"] == 1
    conv = f"+{customer}"
    got = stored(db, owner.id, conv, "wamid.V1")
    first_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    assert got["content"] == "Quiero 4 cajas" and got["sent_at"] == first_at
    assert got["metadata"]["versions"] == [{"content": "Quiero 3 cajas", "at": first_at}]
    assert post([edit])["updated"] == 0  # redelivered: nothing added
    assert stored(db, owner.id, conv, "wamid.V1") == got

    revoke = {"from": customer, "id": "wamid.V1REVOKE", "timestamp": str(t + 120), "type": "revoke",
              "revoke": {"original_message_id": "wamid.V1"}}  # fmt: skip
    post([revoke])
    gone = stored(db, owner.id, conv, "wamid.V1")
    assert gone["content"] is None and gone["metadata"]["deleted"] is True
    assert "versions" not in gone["metadata"]
    count = db.execute(
        "select message_count from chat_conversations where user_id = %s", (owner.id,)
    ).fetchone()
    assert count == (1,)  # neither the edit nor the revoke is a message of its own


# ----------------------------------------------------------------------------- the signal-cli importer


def test_the_signal_importer_keeps_the_versions_of_the_edits_its_file_holds(tmp_path):
    from crm_messaging.importers.signal import VERSIONS_MAX, parse_signal

    peer, ts = "+34622000333", 1_700_000_000_000
    src = {"source": peer, "sourceNumber": peer, "sourceName": "Iker", "sourceDevice": 1}
    lines = [{**src, "timestamp": ts, "dataMessage": {"timestamp": ts, "message": "v0"}}]
    edits = VERSIONS_MAX + 2
    for i in range(1, edits + 1):  # written out of order: the versions follow the edit times
        t = ts + (edits + 1 - i) * 1000
        lines.append({**src, "timestamp": t, "editMessage": {"targetSentTimestamp": ts,
                      "dataMessage": {"timestamp": t, "message": f"v{edits + 1 - i}"}}})  # fmt: skip
    path = tmp_path / "edits.jsonl"
    path.write_text(
        "\n".join(json.dumps({"envelope": e, "account": "+34600000001"}) for e in lines)
    )
    (m,) = parse_signal(path).messages
    assert m.content == f"v{edits}"
    meta = m.metadata or {}
    assert [v["content"] for v in meta["versions"]] == [f"v{i}" for i in range(2, edits)]
    assert meta["versions_dropped"] == 2
    assert meta["versions"][0]["at"] == "2023-11-14T22:13:22Z"  # v2 was written at ts + 2 s


def test_the_signal_importers_versions_of_long_texts_fit_the_metadata_cap(tmp_path):
    from crm_messaging.importers.signal import parse_signal
    from crm_messaging.models import MAX_METADATA_LENGTH, json_text_length, validate_messages

    peer, ts = "+34622000444", 1_700_000_000_000
    src = {"source": peer, "sourceNumber": peer, "sourceName": "Iker", "sourceDevice": 1}
    long = "x" * 3000  # five of these are past the metadata cap
    lines = [{**src, "timestamp": ts, "dataMessage": {"timestamp": ts, "message": f"0 {long}"}}]
    for i in range(1, 9):
        t = ts + i * 1000
        lines.append({**src, "timestamp": t, "editMessage": {"targetSentTimestamp": ts,
                      "dataMessage": {"timestamp": t, "message": f"{i} {long}"}}})  # fmt: skip
    path = tmp_path / "long.jsonl"
    path.write_text(
        "\n".join(json.dumps({"envelope": e, "account": "+34600000001"}) for e in lines)
    )
    (m,) = parse_signal(path).messages
    meta = m.metadata or {}
    assert json_text_length(meta) <= MAX_METADATA_LENGTH
    kept = [v["content"][0] for v in meta["versions"]]
    assert kept == [str(i) for i in range(8 - len(kept), 8)]  # the newest, in order
    assert meta["versions_dropped"] == 8 - len(kept) > 0
    validate_messages([m.model_dump(mode="json")])  # the store takes it


def test_a_telegram_business_delete_keeps_the_text_for_a_user_who_keeps_it(
    http, functions_url, connect, make_user, db
):
    owner = make_user("tgkeep")
    owner.client.rpc("set_messaging_settings", {"keep_deleted_text": True}).execute()
    conn = connect(owner, "telegram", {"secret_token": "tg_Keep-1"}, f"tg-{uuid.uuid4().hex[:6]}")
    t = int(time.time()) - 600
    chat = {"id": 8880001, "first_name": "Lena", "type": "private"}
    user = {"id": 8880001, "is_bot": False, "first_name": "Lena"}
    message = {"message_id": 7, "from": user, "chat": chat, "date": t, "text": "Talla M"}

    def post(update: dict[str, Any]) -> dict[str, Any]:
        res = http.post(
            f"{functions_url}/telegram/{conn}",
            content=json.dumps(update),
            headers={
                "content-type": "application/json",
                "x-telegram-bot-api-secret-token": "tg_Keep-1",
            },
        )
        assert res.status_code == 200, res.text
        return res.json()

    post({"update_id": 1, "message": message})
    post({"update_id": 2, "edited_message": {**message, "text": "Talla L", "edit_date": t + 30}})
    deleted = {"business_connection_id": "BC1", "chat": chat, "message_ids": [7]}
    assert post({"update_id": 3, "deleted_business_messages": deleted})["updates"]["applied"] == 1
    got = stored(db, owner.id, "8880001", "8880001:7")
    assert got["content"] == "Talla L" and got["metadata"]["deleted"] is True
    assert [v["content"] for v in got["metadata"]["versions"]] == ["Talla M"]
    assert post({"update_id": 3, "deleted_business_messages": deleted})["updates"]["unchanged"] == 1
    assert stored(db, owner.id, "8880001", "8880001:7") == got


def test_an_import_s_deleted_message_follows_the_delete_setting(make_user, db):
    """The signal-cli importer sends a message its file deletes with its text, marked
    deleted; the store erases the text unless the user keeps deleted text, as for a live
    delete (erase_deleted_on_arrival on the way in). Real file: tests/fixtures/signal."""
    from crm_messaging.importers.signal import parse_signal
    from devstack.layout import REPO_ROOT

    chat = parse_signal(REPO_ROOT / "tests" / "fixtures" / "signal" / "updates_mixed.jsonl")
    payload = [m.model_dump(mode="json", exclude_none=True) for m in chat.messages]
    gone = "+4915123456789:1700000180000"
    assert next(m for m in payload if m["id"] == gone)["content"] == "Falsche Adresse, sorry"

    erasing, keeping = make_user("erase"), make_user("keep")
    keeping.client.rpc("set_messaging_settings", {"keep_deleted_text": True}).execute()
    for user in (erasing, keeping):
        ingest(user.client, payload)
    erased = stored(db, erasing.id, "+4915123456789", gone)
    assert erased["content"] is None and erased["metadata"]["deleted"] is True
    kept = stored(db, keeping.id, "+4915123456789", gone)
    assert kept["content"] == "Falsche Adresse, sorry" and kept["metadata"]["deleted"] is True
    # the file's other messages are the same for both
    other = "+4915123456789:1700000000000"
    assert stored(db, erasing.id, "+4915123456789", other) == stored(
        db, keeping.id, "+4915123456789", other
    )
    for user in (erasing, keeping):
        (conv,) = db.execute(
            "select id from chat_conversations where user_id = %s and external_conversation_id = %s",
            (user.id, "+4915123456789"),
        ).fetchone()
        check_invariants(db, str(conv))


def test_the_inbox_preview_of_a_deleted_message_says_deleted_whatever_the_setting(make_user, db):
    """A deleted newest message previews as [deleted]: not [text] once erased, and not the
    kept text (kept for the CRM user's thread, not for the inbox); a tombstone keeps its words."""
    erasing, keeping = make_user("erase"), make_user("keep")
    keeping.client.rpc("set_messaging_settings", {"keep_deleted_text": True}).execute()
    gone = {"metadata": {"deleted": True, "deleted_at": at(3)}}
    for user in (erasing, keeping):
        ingest(user.client, [msg("p1", "a", minutes=1, content="hola"),
                             msg("p1", "b", minutes=2, content="mi dirección", **gone),
                             msg("p2", "c", minutes=1, content="This message was deleted",
                                 metadata={"deleted": True})])  # fmt: skip
        rows = dict(
            db.execute(
                "select external_conversation_id, last_message_preview from chat_conversations"
                " where user_id = %s",
                (user.id,),
            ).fetchall()
        )
        assert rows == {"p1": "[deleted]", "p2": "This message was deleted"}
    assert stored(db, keeping.id, "p1", "b")["content"] == "mi dirección"
    assert stored(db, erasing.id, "p1", "b")["content"] is None
