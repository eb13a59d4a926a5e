"""A person's timeline, export and erasure (issue 27 items 6 and 7), against the real stack.

The timeline is checked against the order computed here from every stored message (archive
chunks and hot rows, read directly), paging both ways; export against what was ingested;
erase by scanning every table of the public and messaging_private schemas for the person's
phone and words afterwards.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from postgrest.exceptions import APIError

from crm_messaging.cli import main

from .conftest import Db, User
from .helpers import BASE_TIME, conversation_state

PHONE = "+34612340077"
WORD = "zanzibarquokka"  # in every message of the person: the scan looks for it


def _person(user: User, name: str = "Ana Pérez", phone: str = PHONE) -> str:
    row = user.client.table("people").insert({"full_name": name, "phone": phone}).execute().data[0]
    user.client.table("person_identifiers").insert(
        {"person_id": row["id"], "kind": "phone", "value": phone}
    ).execute()
    return str(row["id"])


def _messages(
    person_id: str | None,
    conv: str,
    platform: str,
    n: int,
    start: int,
    step: int,
    phone: str = PHONE,
    word: str = WORD,
) -> list[dict[str, Any]]:
    """n messages of one conversation, every `step` minutes from `start` (times collide
    across conversations on purpose: the cursor breaks ties by conversation and id)."""
    out = []
    for i in range(n):
        m: dict[str, Any] = {
            "platform": platform,
            "external_conversation_id": conv,
            "id": f"{conv}-{i:04d}",
            "direction": "inbound" if i % 3 else "outbound",
            "type": "text",
            "content": f"{word} {platform} number {i}",
            "sent_at": (BASE_TIME + timedelta(minutes=start + i * step)).isoformat(),
            "participant_identifier": phone,
            "participant_name": "Ana",
        }
        if i % 10 == 7:
            m["type"] = "image"
            m["media_url"] = f"https://media.example/{conv}/{i}.jpg"
            m["metadata"] = {"sha256": f"{i:064x}"}
        if person_id:
            m["person_id"] = person_id
        out.append(m)
    return out


def _ingest(user: User, messages: list[dict[str, Any]]) -> dict[str, Any]:
    result = user.client.rpc("ingest_messages", {"payload": {"messages": messages}}).execute()
    return dict(result.data)


def _stored(db: Db, person_id: str) -> list[tuple[datetime, str, str]]:
    """Every stored message of the person's conversations as (sent_at, conversation, id)."""
    keys = []
    for (cid,) in db.execute(
        "select id from public.chat_conversations where person_id = %s", (person_id,)
    ).fetchall():
        state = conversation_state(db.conn, str(cid))  # type: ignore[arg-type]
        msgs = [m for chunk in state["chunks"] for m in chunk[0]] + state["hot"]
        keys += [
            (datetime.fromisoformat(m["sent_at"].replace("Z", "+00:00")), str(cid), m["id"])
            for m in msgs
        ]
    return sorted(keys, key=lambda k: (k[0], k[1], k[2].encode()))


def _key(item: dict[str, Any]) -> tuple[datetime, str, str]:
    m = item["message"]
    return (
        datetime.fromisoformat(m["sent_at"].replace("Z", "+00:00")),
        item["conversation_id"],
        m["id"],
    )


def _page(user: User, person_id: str, **params: Any) -> dict[str, Any]:
    return dict(
        user.client.rpc("person_timeline", {"person_id": person_id, **params}).execute().data
    )


@pytest.fixture
def alice_with_history(make_user: Any, db: Db, small_caps: dict[str, int]) -> tuple[User, str]:
    """A person with three conversations (archives included, small caps) and a stranger's chat."""
    user = make_user("timeline")
    person = _person(user)
    _ingest(user, _messages(person, "34612340077@s.whatsapp.net", "whatsapp", 40, 0, 3))
    _ingest(user, _messages(person, "tg-ana", "telegram", 30, 1, 4))
    _ingest(user, _messages(person, "sig-ana", "signal", 25, 0, 3))  # same minutes as whatsapp
    _ingest(
        user, _messages(None, "stranger", "whatsapp", 20, 0, 1, phone="+34699999999", word="other")
    )
    return user, person


def test_the_timeline_pages_every_message_of_the_person_in_order_both_ways(
    alice_with_history: tuple[User, str], db: Db
) -> None:
    user, person = alice_with_history
    expected = _stored(db, person)
    assert len(expected) == 95
    assert (
        db.execute(
            "select count(*) from public.chat_conversation_archives a join public.chat_conversations c"
            " on c.id = a.conversation_id where c.person_id = %s",
            (person,),
        ).fetchone()[0]
        >= 6
    )  # the pages cross archive chunks

    seen: list[tuple[datetime, str, str]] = []
    page = _page(user, person, max_count=7)
    assert page["newer"] is None
    pages = 0
    while True:
        keys = [_key(i) for i in page["messages"]]
        assert keys == sorted(keys, key=lambda k: (k[0], k[1], k[2].encode())), (
            "a page is oldest first"
        )
        assert {i["platform"] for i in page["messages"]} <= {"whatsapp", "telegram", "signal"}
        seen = keys + seen
        pages += 1
        if page["older"] is None:
            break
        page = _page(user, person, before=page["older"], max_count=7)
        assert page["newer"] is not None
    assert seen == expected
    assert pages == 14

    # and forwards again from the oldest message, to the newest
    forward: list[tuple[datetime, str, str]] = []
    oldest = seen[0]
    first = _page(user, person, before=None, max_count=95)["messages"][0]
    assert _key(first) == oldest
    page = {"messages": [first], "newer": first["cursor"]}
    forward.append(_key(first))
    while page["newer"] is not None:
        page = _page(user, person, after=page["newer"], max_count=9)
        forward += [_key(i) for i in page["messages"]]
        assert page["older"] is not None
    assert forward == expected
    assert forward[-1] == _key(_page(user, person, max_count=1)["messages"][0])


def test_each_entry_names_its_conversation_platform_and_direction(
    alice_with_history: tuple[User, str],
) -> None:
    user, person = alice_with_history
    items = _page(user, person, max_count=95)["messages"]
    convs = {i["conversation_id"] for i in items}
    own = (
        user.client.table("chat_conversation_list")
        .select("id")
        .eq("person_id", person)
        .execute()
        .data
    )
    assert convs == {c["id"] for c in own} and len(convs) == 3
    assert {i["message"]["direction"] for i in items} == {"inbound", "outbound"}
    assert all(WORD in i["message"]["content"] for i in items), "the stranger's chat is not in it"


def test_search_within_the_person_finds_matches_in_time_order(
    alice_with_history: tuple[User, str],
) -> None:
    user, person = alice_with_history
    page = _page(user, person, query="telegram", max_count=50)
    hits = page["messages"]
    assert len(hits) == 30 and {h["platform"] for h in hits} == {"telegram"}
    keys = [_key(h) for h in hits]
    assert keys == sorted(keys) and all("[[" in h["snippet"] for h in hits)
    older = _page(user, person, query="telegram", max_count=10)
    assert [_key(h) for h in older["messages"]] == keys[-10:]
    assert [
        _key(h)
        for h in _page(user, person, query="telegram", before=older["older"], max_count=10)[
            "messages"
        ]
    ] == keys[-20:-10]
    assert _page(user, person, query="other", max_count=10)["messages"] == []  # the stranger's word


def test_bad_timeline_input_is_refused_by_kind(
    alice_with_history: tuple[User, str], make_user: Any
) -> None:
    user, person = alice_with_history
    cases = [
        ({"before": "yesterday"}, "cursor_invalid"),
        (
            {"before": "2026-03-02T09:00:00Z|not-a-uuid-at-all-not-a-uuid-at-all!|x"},
            "cursor_invalid",
        ),
        (
            {
                "before": f"2026-03-02T09:00:00Z|{uuid.uuid4()}|a",
                "after": f"2026-03-02T09:00:00Z|{uuid.uuid4()}|a",
            },
            "cursor_invalid",
        ),
        ({"max_count": 0}, "max_count_out_of_range"),
    ]
    for params, kind in cases:
        with pytest.raises(APIError) as exc:
            _page(user, person, **params)
        assert exc.value.hint == kind, params
    other = make_user("other")
    for call, args in [
        ("person_timeline", {"person_id": person}),
        ("export_person", {"person_id": person}),
        ("erase_person", {"person_id": person}),
        ("person_timeline", {"person_id": str(uuid.uuid4())}),
    ]:
        with pytest.raises(APIError) as exc:
            other.client.rpc(call, args).execute()
        assert (exc.value.code, exc.value.hint) == ("P0002", "person_not_found"), call


def test_export_holds_everything_of_the_person_archive_included(
    alice_with_history: tuple[User, str], db: Db
) -> None:
    user, person = alice_with_history
    doc = user.client.rpc("export_person", {"person_id": person}).execute().data
    assert doc["person"]["id"] == person and doc["person"]["phone"] == PHONE
    assert [i["value"] for i in doc["identifiers"]] == [PHONE]
    assert {c["platform"] for c in doc["conversations"]} == {"whatsapp", "telegram", "signal"}
    exported = {
        (c["external_conversation_id"], m["id"]): m
        for c in doc["conversations"]
        for m in c["messages"]
    }
    assert len(exported) == 95
    for c in doc["conversations"]:
        ids = [m["id"] for m in c["messages"]]
        assert ids == sorted(ids) and len(ids) == c["message_count"], "every message, oldest first"
    m = exported[("tg-ana", "tg-ana-0017")]
    assert m["content"] == f"{WORD} telegram number 17" and m["metadata"] == {
        "sha256": f"{17:064x}"
    }
    assert m["media_url"] == "https://media.example/tg-ana/17.jpg"
    assert len(doc["media"]) == 9 and {x["sha256"] for x in doc["media"]} >= {f"{17:064x}"}
    archived = db.execute(
        "select count(*) from public.chat_conversation_archives a, jsonb_array_elements(a.messages) e"
        " join public.chat_conversations c on true where c.id = a.conversation_id and c.person_id = %s",
        (person,),
    ).fetchone()[0]
    assert archived > 50  # most of them came from archive chunks


def _tables_holding(db: Db, needles: list[str]) -> dict[str, int]:
    """Rows of every table in public and messaging_private whose text holds any needle."""
    found = {}
    tables = db.execute(
        "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace"
        " where c.relkind in ('r', 'p') and n.nspname in ('public', 'messaging_private')"
    ).fetchall()
    for (table,) in tables:
        row = db.execute(
            f"select count(*) from {table} t where "
            + " or ".join(["strpos(lower(t::text), %s) > 0"] * len(needles)),
            needles,
        ).fetchone()
        if row and row[0]:
            found[table] = row[0]
    return found


def test_erase_removes_everything_and_a_reimport_brings_nothing_back(
    alice_with_history: tuple[User, str], db: Db, make_user: Any
) -> None:
    user, person = alice_with_history
    doc = user.client.rpc("export_person", {"person_id": person}).execute().data
    # a connection whose last error names the customer, and a read marker
    conn = (
        user.client.table("messaging_connections")
        .insert({"platform": "telegram", "account_identifier": "me-bot"})
        .execute()
        .data[0]["id"]
    )
    db.execute(
        "update public.messaging_connections set last_error = %s where id = %s",
        (f"delivery from {PHONE} refused", conn),
    )
    tg = next(c["id"] for c in doc["conversations"] if c["platform"] == "telegram")
    user.client.rpc("mark_conversation_read", {"conversation_id": tg}).execute()
    # another user with the same customer keeps theirs
    bob = make_user("bob")
    bob_person = _person(bob)
    _ingest(bob, _messages(bob_person, "tg-ana", "telegram", 5, 0, 1))

    needles = [PHONE.lstrip("+"), WORD]
    before = _tables_holding(db, needles)
    assert (
        "public.chat_conversation_archives" in before
        and "messaging_private.search_segments" in before
    )

    done = user.client.rpc("erase_person", {"person_id": person}).execute().data
    assert done == {"person_id": person, "conversations": 3, "messages": 95}
    left = db.execute("select count(*) from public.people where id = %s", (person,)).fetchone()[0]
    assert left == 0
    # nothing of alice's holds the phone or the words; bob's rows are all that remain
    after = _tables_holding(db, needles)
    owners = {
        table: db.execute(
            f"select count(*) from {table} t where t.user_id <> %s and ("
            + " or ".join(["strpos(lower(t::text), %s) > 0"] * len(needles))
            + ")",
            [bob.id, *needles],
        ).fetchone()[0]
        for table in after
    }
    assert all(n == 0 for n in owners.values()), owners
    assert (
        bob.client.rpc("export_person", {"person_id": bob_person})
        .execute()
        .data["conversations"][0]["message_count"]
        == 5
    )
    stranger = (
        user.client.table("chat_conversation_list")
        .select("external_conversation_id")
        .execute()
        .data
    )
    assert [c["external_conversation_id"] for c in stranger] == ["stranger"]
    # what is kept: hashes only
    kept = db.execute(
        "select count(*), sum(message_count) from messaging_private.erased_conversations where user_id = %s",
        (user.id,),
    ).fetchone()
    assert tuple(kept) == (3, 95)

    # the same export sent again stores nothing
    again = [
        {
            **{
                k: v
                for k, v in m.items()
                if k in ("id", "direction", "type", "content", "media_url", "sent_at", "metadata")
            },
            "platform": c["platform"],
            "external_conversation_id": c["external_conversation_id"],
        }
        for c in doc["conversations"]
        for m in c["messages"]
    ]
    summary = _ingest(user, again)
    assert summary["inserted"] == 0
    assert (
        user.client.table("chat_conversation_list")
        .select("id")
        .neq("external_conversation_id", "stranger")
        .execute()
        .data
        == []
    )
    # a new message of the customer arrives
    new = _messages(None, "tg-ana", "telegram", 1, 500, 1)
    new[0]["id"] = "tg-ana-new"
    assert _ingest(user, new)["inserted"] == 1
    rows = (
        user.client.table("chat_conversation_list")
        .select("message_count")
        .eq("external_conversation_id", "tg-ana")
        .execute()
        .data
    )
    assert rows == [{"message_count": 1}]


def test_erase_by_another_user_erases_nothing(
    alice_with_history: tuple[User, str], make_user: Any, db: Db
) -> None:
    _user, person = alice_with_history
    before = _stored(db, person)
    other = make_user("intruder")
    with pytest.raises(APIError) as exc:
        other.client.rpc("erase_person", {"person_id": person}).execute()
    assert exc.value.hint == "person_not_found"
    assert _stored(db, person) == before
    assert (
        db.execute(
            "select count(*) from messaging_private.erased_conversations where user_id = %s",
            (other.id,),
        ).fetchone()[0]
        == 0
    )


def _cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_exports_and_erases_a_person(
    alice_with_history: tuple[User, str], capsys: Any, db: Db
) -> None:
    user, person = alice_with_history
    code, out, _ = _cli(capsys, "person", "export", person)
    assert code == 0
    doc = json.loads(out)
    assert (
        doc["person"]["id"] == person
        and sum(len(c["messages"]) for c in doc["conversations"]) == 95
    )
    assert doc == {
        **user.client.rpc("export_person", {"person_id": person}).execute().data,
        "exported_at": doc["exported_at"],
    }

    code, _, err = _cli(capsys, "person", "erase", person)
    assert code == 2 and "--yes" in err
    code, _, err = _cli(capsys, "person", "erase", "not-a-uuid", "--yes")
    assert code == 2 and "not a UUID" in err
    code, _, err = _cli(capsys, "person", "export", str(uuid.uuid4()))
    assert code == 1 and "no such person" in err
    assert len(_stored(db, person)) == 95, "nothing erased by the refused commands"

    code, out, _ = _cli(capsys, "person", "erase", person, "--yes")
    assert code == 0 and "3 conversations, 95 messages" in out
    assert _stored(db, person) == []
    code, _, err = _cli(capsys, "person", "erase", person, "--yes")
    assert code == 1 and "no such person" in err
