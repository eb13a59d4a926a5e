"""The upgrade proof: a release filled with data, migrated to HEAD, read back the same.

`fill` writes a realistic mix through a release's own API (as a signed-in user, and as the
service role for a webhook delivery): people with identifiers, a connection made by the
screens' RPC, a direct chat long enough to spill into archive chunks, a group chat, an edit,
an export copy met by its live copy, a status and a reaction, read markers. `read_back` reads
all of it through the reads the screens and the client use. A migration that loses or
changes data makes the two readings differ; one that forgets DDL makes the catalogs differ
(devstack.catalog).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg

from . import catalog, release

ALICE = "00000000-0000-4000-a000-0000000a11ce"
BOB = "00000000-0000-4000-a000-000000000b0b"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def as_user(conn: psycopg.Connection[Any], user: str | None, sql: str, params: Any = None) -> Any:
    """One statement as a signed-in user (role authenticated) or, with None, the service role."""
    claims = {"sub": user, "role": "authenticated"} if user else {"role": "service_role"}
    with conn.transaction():
        conn.execute(f"set local role {'authenticated' if user else 'service_role'}")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _message(conv: str, mid: str, minutes: float, **extra: Any) -> dict[str, Any]:
    return {
        "platform": "whatsapp",
        "external_conversation_id": conv,
        "id": mid,
        "direction": "inbound",
        "content": f"message {mid}",
        "sent_at": _at(minutes),
        **extra,
    }


def fill(url: str) -> None:
    """The mix of data every release must carry through an upgrade."""
    with psycopg.connect(url, autocommit=True) as conn:
        for user, email in ((ALICE, "alice@upgrade.test"), (BOB, "bob@upgrade.test")):
            conn.execute(
                "insert into auth.users (id, email) values (%s, %s) on conflict do nothing",
                (user, email),
            )
        person = as_user(
            conn,
            ALICE,
            "insert into public.people (full_name, phone) values ('Ana Lima', '+55 11 91234-5678')"
            " returning id",
        )[0][0]
        as_user(
            conn,
            ALICE,
            "insert into public.person_identifiers (person_id, kind, value)"
            " values (%s, 'phone', '+5511912345678')",
            (person,),
        )
        made = as_user(
            conn,
            ALICE,
            "select public.create_messaging_connection('whatsapp', '+34600000001', 'Sales',"
            " 'app-secret-0123456789')",
        )[0][0]
        connection = made["id"]

        def ingest(user: str, payload: dict[str, Any]) -> Any:
            return as_user(conn, user, "select public.ingest_messages(%s)", (json.dumps(payload),))

        # a direct chat long enough to spill into archive chunks, linked by phone
        direct = [
            _message("+5511912345678", f"wamid.{i:04d}", i, participant_identifier="+5511912345678",
                     participant_name="Ana", direction="outbound" if i % 5 == 0 else "inbound")
            for i in range(420)
        ]  # fmt: skip
        for start in range(0, len(direct), 140):
            ingest(ALICE, {"connection_id": connection, "messages": direct[start : start + 140]})
        # an edit of an archived message and of a hot one
        ingest(ALICE, {"messages": [
            {**direct[3], "content": "edited early", "edited_at": _at(600)},
            {**direct[-1], "content": "edited late", "edited_at": _at(601)},
        ]})  # fmt: skip
        # a group chat on Telegram with two senders
        group = [
            _message("-1001234", str(100 + i), 30 + i, platform="telegram",
                     conversation_type="group", participant_name="Project chat",
                     sender_identifier=f"user{i % 2}", sender_name=f"Sender {i % 2}")
            for i in range(12)
        ]  # fmt: skip
        ingest(ALICE, {"messages": group})
        # an export copy (minute precision) met later by its live copy
        export = _message("+34611111111", "export:1", 700, content="see you at 10",
                          metadata={"id_source": "export", "time_precision": "minute"})  # fmt: skip
        ingest(ALICE, {"messages": [export, _message("+34611111111", "export:2", 701)]})
        ingest(ALICE, {"connection_id": connection, "messages": [
            _message("+34611111111", "wamid.live1", 700.4, content="see you at 10"),
        ]})  # fmt: skip
        # a webhook delivery: a new message, a status and a reaction
        as_user(
            conn,
            None,
            "select public.ingest_webhook_delivery(%s)",
            (json.dumps({
                "connection_id": connection,
                "messages": [_message("+5511912345678", "wamid.hook", 900, content="via hook")],
                "updates": [
                    {"kind": "status", "platform": "whatsapp", "id": direct[0]["id"],
                     "external_conversation_id": "+5511912345678", "status": "read",
                     "at": _at(901)},
                    {"kind": "reaction", "platform": "whatsapp", "id": direct[-2]["id"],
                     "external_conversation_id": "+5511912345678", "emoji": "👍",
                     "reactor": "+5511912345678", "at": _at(902)},
                ],
            }),),
        )  # fmt: skip
        # bob's own chat, and read markers
        ingest(BOB, {"messages": [_message("+447700900123", "b1", 5, platform="signal")]})
        for conv in as_user(conn, ALICE, "select id from public.chat_conversations order by 1"):
            as_user(conn, ALICE, "select public.mark_conversation_read(%s)", (conv[0],))


def _all_messages(conn: psycopg.Connection[Any], user: str, conversation: str) -> list[Any]:
    """Every message of a conversation, newest first, paged as the screens page."""
    out: list[Any] = []
    before_at: str | None = None
    before_id: str | None = None
    while True:
        page = as_user(
            conn,
            user,
            "select public.get_conversation_messages(%s, %s, %s, 100)",
            (conversation, before_at, before_id),
        )[0][0]
        if not page:
            return out
        out.extend(page)
        before_at, before_id = page[-1]["sent_at"], page[-1]["id"]
        if len(out) > 100_000:
            raise RuntimeError("paging does not end")


def read_back(url: str) -> dict[str, Any]:
    """What the users read: conversations, every message, people, markers, connections."""
    seen: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for user in (ALICE, BOB):
            rows = as_user(
                conn,
                user,
                "select pg_catalog.to_jsonb(l) from public.chat_conversation_list l"
                " order by l.platform, l.external_conversation_id",
            )
            conversations = [r[0] for r in rows]
            seen[user] = {
                "conversations": conversations,
                "messages": {c["id"]: _all_messages(conn, user, c["id"]) for c in conversations},
                "people": [r[0] for r in as_user(
                    conn, user, "select pg_catalog.to_jsonb(p) from public.people p order by p.id")],
                "identifiers": [r[0] for r in as_user(
                    conn, user,
                    "select pg_catalog.to_jsonb(i) from public.person_identifiers i order by i.id")],
                "markers": [r[0] for r in as_user(
                    conn, user,
                    "select pg_catalog.to_jsonb(m) from public.chat_conversation_read_markers m"
                    " order by m.conversation_id")],
                "connections": [r[0] for r in as_user(
                    conn, user,
                    "select pg_catalog.to_jsonb(c) from public.messaging_connections c order by c.id")],
                "search": as_user(
                    conn, user, "select coalesce(pg_catalog.jsonb_agg(h), '[]') from public.search_messages('message') h"
                )[0][0],
            }  # fmt: skip
    return seen


# (search: the hits of search_messages, whose keys grow like columns: issue 31 added matched_in)
ROW_LISTS = ("conversations", "people", "identifiers", "markers", "connections", "search")


def _release_columns(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The rows read back after the upgrade with only the columns the release had: a column a
    later migration adds is new, not a difference (its own tests check what it holds); a
    column dropped or changed still shows."""
    out = {user: dict(seen) for user, seen in after.items()}
    for user, seen in out.items():
        for name in ROW_LISTS:
            old = (before.get(user) or {}).get(name)
            new = seen.get(name)
            if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
                seen[name] = [
                    {k: v for k, v in n.items() if k in o}
                    if isinstance(o, dict) and isinstance(n, dict)
                    else n
                    for o, n in zip(old, new, strict=True)
                ]
    return out


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after)):
            out += _differences(before.get(key), after.get(key), f"{path}.{key}")
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d
            for i, (x, y) in enumerate(zip(before, after, strict=False))
            for d in _differences(x, y, f"{path}[{i}]")
        ]
    return [] if before == after else [f"{path}: {str(before)[:120]} -> {str(after)[:120]}"]


def upgrade_problems(
    version: str, migrations_dir: Path = catalog.MIGRATIONS_DIR, extra: tuple[Path, ...] = ()
) -> list[str]:
    """Install one release from its own migrations, fill it, migrate it to HEAD (the later
    migrations, then `extra`); what reads back differently, and how its catalog differs
    from a fresh HEAD install."""
    releases = release.read_releases()
    last = next(r.last_migration for r in releases if r.version == version)
    every = catalog.source_files(migrations_dir)
    with (
        catalog.scratch_database("crm_upgrade_release") as old,
        catalog.scratch_database("crm_upgrade_head") as head,
    ):
        catalog.run_sql_files(old, release.files_up_to(last, migrations_dir))
        fill(old)
        before = read_back(old)
        catalog.run_sql_files(old, [f for f in every if release.migration_version(f) > last])
        catalog.run_sql_files(old, extra)
        after = _release_columns(before, read_back(old))
        problems = [f"read back {d}" for d in _differences(before, after)]
        catalog.run_sql_files(head, [*every, *extra])
        problems += catalog.diff(catalog.snapshot_of(old), catalog.snapshot_of(head),
                                 (f"{version} upgraded", "fresh HEAD"))  # fmt: skip
    return problems
