"""A person's data: their timeline across conversations, an export of everything, an erasure.

`crm-messaging person export ID > file.json` prints export_person's JSON document;
`crm-messaging person erase ID --yes` erases the person (docs/contract.md says what is kept);
`crm-messaging person timeline ID` prints the newest page of their messages, every platform.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from .client import MessagingClient
from .errors import InputError


def person_uuid(value: str) -> str:
    """The person id as a UUID string; an InputError naming the value otherwise."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InputError(f"person id: not a UUID ({value[:80]!r})") from None


def timeline(
    client: MessagingClient,
    person_id: str,
    *,
    before: str | None = None,
    after: str | None = None,
    query: str | None = None,
    max_count: int = 50,
) -> dict[str, Any]:
    """A page of the person's messages, oldest first: {messages, older, newer} (cursors)."""
    params: dict[str, Any] = {"person_id": person_uuid(person_id), "max_count": max_count}
    for key, value in (("before", before), ("after", after), ("query", query)):
        if value is not None:
            params[key] = value
    return dict(client.rpc("person_timeline", params))


def export(client: MessagingClient, person_id: str) -> dict[str, Any]:
    """Everything the store holds about the person, as one JSON document."""
    return dict(client.rpc("export_person", {"person_id": person_uuid(person_id)}))


def erase(client: MessagingClient, person_id: str) -> dict[str, Any]:
    """Erases the person and their conversations; {person_id, conversations, messages}."""
    return dict(client.rpc("erase_person", {"person_id": person_uuid(person_id)}))


def _cmd_person(args: argparse.Namespace) -> int:
    client = MessagingClient.from_env()
    if args.person_action == "export":
        json.dump(export(client, args.id), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    if args.person_action == "erase":
        if not args.yes:
            raise InputError(
                "person erase: this removes the person and their messages for good; add --yes"
            )
        done = erase(client, args.id)
        print(
            f"erased person {done['person_id']}: {done['conversations']} conversations,"
            f" {done['messages']} messages (hashes of their ids are kept so a re-import"
            " does not bring them back)"
        )
        return 0
    page = timeline(client, args.id, before=args.before, query=args.query, max_count=args.limit)
    for item in page["messages"]:
        m = item["message"]
        arrow = "->" if m.get("direction") == "outbound" else "<-"
        print(
            f"{m['sent_at']}  {item['platform']:8} {arrow} {(m.get('content') or m.get('type') or '')[:100]}"
        )
    if page.get("older"):
        print(f"older: --before '{page['older']}'")
    return 0


def add_person_parser(sub: Any) -> None:
    p = sub.add_parser("person", help="a person's timeline, export (JSON) or erasure")
    actions = p.add_subparsers(dest="person_action", required=True)
    e = actions.add_parser("export", help="print everything stored about the person as JSON")
    e.add_argument("id", help="the person's UUID")
    r = actions.add_parser("erase", help="erase the person, their identifiers and conversations")
    r.add_argument("id", help="the person's UUID")
    r.add_argument("--yes", action="store_true", help="confirm: nothing can bring it back")
    t = actions.add_parser("timeline", help="the person's messages on every platform, oldest first")
    t.add_argument("id", help="the person's UUID")
    t.add_argument("--before", help="a cursor a page printed (older:)")
    t.add_argument("--query", help="only messages matching these words")
    t.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_cmd_person)
