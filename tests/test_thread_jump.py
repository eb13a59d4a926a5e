"""get_conversation_messages_at: a jump to a date or to the first message of a long thread,
through the API as the signed-in owner, in one call that reads only the chunk it needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from postgrest.exceptions import APIError

from tests.conftest import Db, User
from tests.helpers import BASE_TIME

#: a thread long enough for many archive chunks at the default caps (250 per chunk, 100 hot)
THREAD = 3000


def _at(i: int) -> str:
    return (BASE_TIME + timedelta(minutes=i)).isoformat()


@pytest.fixture
def long_thread(make_user: Callable[..., User], db: Db) -> tuple[User, str]:
    owner = make_user("jump")
    messages = [
        {
            "platform": "whatsapp",
            "external_conversation_id": "long-thread",
            "id": f"m{i:05d}",
            "direction": "inbound" if i % 2 else "outbound",
            "content": f"message {i}",
            "sent_at": _at(i),
        }
        for i in range(THREAD)
    ]
    owner.client.rpc("ingest_messages", {"payload": {"messages": messages}}).execute()
    row = db.execute(
        "select id, (select count(*) from public.chat_conversation_archives a where a.conversation_id = c.id)"
        " from public.chat_conversations c where user_id = %s",
        (owner.id,),
    ).fetchone()
    assert row is not None and row[1] >= 10, "the thread must lie mostly in archive chunks"
    return owner, str(row[0])


def _jump(user: User, conversation_id: str, **args: Any) -> list[dict[str, Any]]:
    data = (
        user.client.rpc(
            "get_conversation_messages_at", {"conversation_id": conversation_id, **args}
        )
        .execute()
        .data
    )
    assert isinstance(data, list)
    return data


def test_the_first_page_is_the_oldest_messages_oldest_first(long_thread: tuple[User, str]) -> None:
    owner, cid = long_thread
    page = _jump(owner, cid, max_count=50)
    assert [m["id"] for m in page] == [f"m{i:05d}" for i in range(50)]


def test_a_date_in_the_archive_opens_at_the_first_message_at_or_after_it(
    long_thread: tuple[User, str],
) -> None:
    owner, cid = long_thread
    # between message 1234 and 1235: the page starts at 1235, which lies in an archive chunk
    at = (BASE_TIME + timedelta(minutes=1234, seconds=30)).isoformat()
    page = _jump(owner, cid, at=at, max_count=40)
    assert [m["id"] for m in page] == [f"m{i:05d}" for i in range(1235, 1275)]
    # and the thread pages both ways from there with the existing reads
    older = (
        owner.client.rpc(
            "get_conversation_messages",
            {
                "conversation_id": cid,
                "before_sent_at": page[0]["sent_at"],
                "before_id": page[0]["id"],
                "max_count": 3,
            },
        )
        .execute()
        .data
    )
    assert [m["id"] for m in older] == ["m01234", "m01233", "m01232"]
    newer = (
        owner.client.rpc(
            "get_conversation_messages_after",
            {
                "conversation_id": cid,
                "after_sent_at": page[-1]["sent_at"],
                "after_id": page[-1]["id"],
                "max_count": 2,
            },
        )
        .execute()
        .data
    )
    assert [m["id"] for m in newer] == ["m01275", "m01276"]


def test_a_date_near_the_end_gives_a_full_page_ending_at_the_newest(
    long_thread: tuple[User, str],
) -> None:
    owner, cid = long_thread
    page = _jump(owner, cid, at=_at(THREAD - 3), max_count=10)
    assert [m["id"] for m in page] == [f"m{i:05d}" for i in range(THREAD - 10, THREAD)]
    assert [m["id"] for m in _jump(owner, cid, at="2031-01-01T00:00:00Z", max_count=2)] == [
        f"m{THREAD - 2:05d}",
        f"m{THREAD - 1:05d}",
    ]


def test_a_jump_reads_only_the_chunk_it_needs(long_thread: tuple[User, str], db: Db) -> None:
    """Rows of chat_conversation_archives touched by one call, in one transaction's statistics."""
    _, cid = long_thread
    conn = db.execute("select 1").connection
    counters = (
        "select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) from pg_stat_xact_user_tables"
        " where relid = 'public.chat_conversation_archives'::regclass"
    )
    for at, label in ((None, "the first message"), (_at(1600), "a date in the middle")):
        with conn.transaction():
            # On a small test table the planner may read all of it at once (a few pages); a
            # sequential scan only where no index fits keeps this about the reads' shape.
            conn.execute("set local enable_seqscan = off")
            before = conn.execute(counters).fetchone()
            page = conn.execute(
                "select public.get_conversation_messages_at(%s, %s, 50)", (cid, at)
            ).fetchone()
            after = conn.execute(counters).fetchone()
        assert page is not None and len(page[0]) == 50
        read = (after[0] if after else 0) - (before[0] if before else 0)
        # the chunk's position (one index probe, maybe a second for the next chunk) and its messages
        assert 1 <= read <= 4, f"{label}: {read} archive rows read, of {THREAD // 250} chunks"


def test_bad_input_is_refused_with_its_kind(long_thread: tuple[User, str]) -> None:
    owner, cid = long_thread
    with pytest.raises(APIError) as err:
        _jump(owner, cid, max_count=0)
    assert err.value.code == "22023" and err.value.hint == "max_count_out_of_range"
    assert "max_count: must be between 1 and 1000, got 0" in str(err.value.message)
    with pytest.raises(APIError) as err:
        _jump(owner, cid, at="infinity")
    assert err.value.code == "22023" and err.value.hint == "cursor_incomplete"
    with pytest.raises(APIError) as err:
        _jump(owner, cid, at="not a date")
    assert err.value.code == "22007"


def test_another_users_thread_is_an_empty_page(
    long_thread: tuple[User, str], make_user: Callable[..., User]
) -> None:
    _, cid = long_thread
    assert _jump(make_user("stranger"), cid) == []
