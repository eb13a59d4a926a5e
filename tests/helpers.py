"""Shared test helpers: message builders and the store's invariants, checked in SQL."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg

_counter = itertools.count()

#: the columns of the conversation tables an API role may read and filter on (the archive's
#: internal id_hashes has no grant)
CONVERSATION_COLUMNS = (
    "id,user_id,connection_id,platform,external_conversation_id,conversation_type,person_id,"
    "entity_table,entity_id,participant_identifier,participant_name,messages,message_count,"
    "first_message_at,last_message_at,last_message_preview,created_at,updated_at"
)
ARCHIVE_COLUMNS = (
    "id,conversation_id,user_id,messages,message_count,first_message_at,last_message_at,"
    "first_message_id,last_message_id,created_at,updated_at"
)
BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def msg(
    conv: str,
    mid: str | None = None,
    *,
    minutes: float | None = None,
    platform: str = "whatsapp",
    direction: str = "inbound",
    content: str | None = "hello",
    **extra: Any,
) -> dict[str, Any]:
    """One ingest message; `minutes` after BASE_TIME (a fresh counter value by default)."""
    n = next(_counter)
    sent = BASE_TIME + timedelta(minutes=n if minutes is None else minutes)
    m: dict[str, Any] = {
        "platform": platform,
        "external_conversation_id": conv,
        "id": mid or f"m{n}",
        "direction": direction,
        "type": "text",
        "content": content,
        "sent_at": sent.isoformat(),
    }
    m.update(extra)
    return m


def conversation_state(db: psycopg.Connection, conversation_id: str) -> dict[str, Any]:
    """All stored messages of a conversation (archive chunks in order, then the hot row)."""
    row = db.execute(
        "select messages, message_count, first_message_at, last_message_at, last_message_preview"
        " from public.chat_conversations where id = %s",
        (conversation_id,),
    ).fetchone()
    assert row is not None, f"conversation {conversation_id} not found"
    chunks = db.execute(
        "select messages, message_count, first_message_at, last_message_at, first_message_id,"
        " last_message_id, id_hashes from public.chat_conversation_archives"
        ' where conversation_id = %s order by first_message_at, first_message_id collate "C"',
        (conversation_id,),
    ).fetchall()
    return {
        "hot": row[0],
        "message_count": row[1],
        "first_message_at": row[2],
        "last_message_at": row[3],
        "preview": row[4],
        "chunks": chunks,
    }


def _key(m: dict[str, Any]) -> tuple[datetime, bytes]:
    return (datetime.fromisoformat(m["sent_at"].replace("Z", "+00:00")), m["id"].encode())


def settings_value(db: psycopg.Connection, key: str) -> int:
    row = db.execute(
        "select value from messaging_private.settings where key = %s", (key,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def check_invariants(db: psycopg.Connection, conversation_id: str) -> list[dict[str, Any]]:
    """Asserts every invariant of one conversation; returns its messages oldest first."""
    state = conversation_state(db, conversation_id)
    hot_max = settings_value(db, "hot_max_messages")
    chunk_max = settings_value(db, "archive_chunk_messages")
    hot = state["hot"]
    assert len(hot) <= hot_max, f"hot row holds {len(hot)} > cap {hot_max}"
    assert [_key(m) for m in hot] == sorted(_key(m) for m in hot), "hot row not sorted"
    everything: list[dict[str, Any]] = []
    previous_last = None
    for msgs, count, first_at, last_at, first_id, last_id, _hashes in state["chunks"]:
        assert 0 < len(msgs) == count <= chunk_max, "chunk count wrong or over its bound"
        keys = [_key(m) for m in msgs]
        assert keys == sorted(keys), "archive chunk not sorted"
        assert (msgs[0]["id"], msgs[-1]["id"]) == (first_id, last_id)
        assert _key(msgs[0])[0] == first_at and _key(msgs[-1])[0] == last_at
        if previous_last is not None:
            assert previous_last < keys[0], "archive chunks overlap"
        previous_last = keys[-1]
        everything.extend(msgs)
    if previous_last is not None:
        assert hot, "archive without a hot row"
        assert previous_last < _key(hot[0]), "archive not older than the hot row"
    everything.extend(hot)
    ids = [m["id"] for m in everything]
    assert len(ids) == len(set(ids)), "a message id is stored twice"
    assert state["message_count"] == len(everything), "message_count differs from stored messages"
    bad_hashes = db.execute(
        "select count(*) from public.chat_conversation_archives a where a.conversation_id = %s"
        " and a.id_hashes is distinct from (select array_agg(hashtextextended(e->>'id', 0)"
        " order by o) from jsonb_array_elements(a.messages) with ordinality x(e, o))",
        (conversation_id,),
    ).fetchone()
    assert bad_hashes == (0,), "id_hashes out of step with the chunk's messages"
    if everything:
        assert state["last_message_at"] == _key(everything[-1])[0]
        assert state["first_message_at"] == _key(everything[0])[0]
        preview = db.execute(
            "select messaging_private.preview(%s::jsonb)", (json.dumps(everything[-1]),)
        ).fetchone()
        assert preview == (state["preview"],), "preview is not the newest message's"
    # every search segment stays far below a tsvector's 1 MB, whatever the content, and
    # every stored message that has searchable text has a line in one
    sizes = db.execute(
        "select max(octet_length(document)), count(*) filter (where not sealed)"
        " from messaging_private.search_segments where conversation_id = %s",
        (conversation_id,),
    ).fetchone()
    assert sizes is not None and (sizes[0] or 0) <= 80_000, "search segment over its bound"
    assert sizes[1] < 16, "small segments are merged 16 at a time"
    indexed = {
        r[0]
        for r in db.execute(
            "select unnest(message_ids) from messaging_private.search_segments"
            " where conversation_id = %s",
            (conversation_id,),
        ).fetchall()
    }
    searchable = {
        m["id"]
        for m in everything
        if (m.get("content") or "").strip() or m.get("sender_name") or m.get("media_url")
    }
    assert searchable <= indexed, "a stored message has no searchable line"
    return everything
