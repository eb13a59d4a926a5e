"""Merges of conversations and people, and their undo: thin calls of the store's RPCs.

The store does the work (`merge_conversations`, `merge_people`, `undo_merge`,
`suggest_duplicates`, `list_merges`; see docs/contract.md, "Merges"); these functions
name the call and hand back its answer. The CLI's `conversations merge`, `people merge`
and `merges undo` print them.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .client import MessagingClient


def merge_conversations(
    client: MessagingClient, keep_id: str, other_id: str, *, dry_run: bool = False
) -> dict[str, Any]:
    """Moves every message of other_id into keep_id (same owner, platform, one customer)."""
    answer: dict[str, Any] = client.rpc(
        "merge_conversations", {"keep_id": keep_id, "other_id": other_id, "dry_run": dry_run}
    )
    return answer


def merge_people(
    client: MessagingClient, keep_id: str, other_id: str, *, dry_run: bool = False
) -> dict[str, Any]:
    """Moves the other person's identifiers and conversations to keep_id."""
    answer: dict[str, Any] = client.rpc(
        "merge_people", {"keep_id": keep_id, "other_id": other_id, "dry_run": dry_run}
    )
    return answer


def undo_merge(client: MessagingClient, merge_id: str) -> dict[str, Any]:
    """Undoes a standing merge (latest first) and answers what was restored."""
    answer: dict[str, Any] = client.rpc("undo_merge", {"merge_id": merge_id})
    return answer


def _client(args: argparse.Namespace) -> MessagingClient:
    return MessagingClient.from_env()


def _print(answer: dict[str, Any], args: argparse.Namespace, line: str) -> int:
    print(json.dumps(answer, ensure_ascii=False) if args.json else line)
    return 0


def _cmd_conversations_merge(args: argparse.Namespace) -> int:
    a = merge_conversations(_client(args), args.keep, args.other, dry_run=args.dry_run)
    span = f"{a['first_moved_at'] or '-'} .. {a['last_moved_at'] or '-'}"
    verb = "would move" if a["dry_run"] else "moved"
    head = "" if a["dry_run"] else f"merge {a['merge_id']}: "
    return _print(
        a,
        args,
        f"{head}{verb} {a['moved']} messages ({span}) into {a['keep_id']},"
        f" {a['duplicates']} duplicates; {a['message_count']} messages in all",
    )


def _cmd_people_merge(args: argparse.Namespace) -> int:
    a = merge_people(_client(args), args.keep, args.other, dry_run=args.dry_run)
    verb = "would move" if a["dry_run"] else "moved"
    head = "" if a["dry_run"] else f"merge {a['merge_id']}: "
    return _print(
        a,
        args,
        f"{head}{verb} {a['identifiers']} identifiers and {a['conversations']} conversations"
        f" to {a['keep_id']}",
    )


def _cmd_merges_undo(args: argparse.Namespace) -> int:
    a = undo_merge(_client(args), args.merge_id)
    if a["kind"] == "conversations":
        kept = a["kept_in_keep"]
        line = (
            f"undone: {a['restored']} messages back in {a['other_id']};"
            f" {len(kept)} that arrived after the merge stay in {a['keep_id']}"
        )
    else:
        line = (
            f"undone: {a['identifiers']} identifiers and {a['conversations']} conversations"
            f" back to {a['other_id']}"
        )
    return _print(a, args, line)


def add_merge_commands(sub: Any) -> None:
    """`conversations merge KEEP OTHER`, `people merge KEEP OTHER`, `merges undo ID`."""

    def both(p: Any) -> None:
        p.add_argument("keep", help="the id that stays")
        p.add_argument("other", help="the id merged into it")
        p.add_argument(
            "--dry-run", action="store_true", help="show what would move, change nothing"
        )
        p.add_argument("--json", action="store_true", help="print the answer as JSON")

    # `conversations` already has its sub-commands (coverage): merge joins them
    conversations = sub.choices["conversations"]
    actions = next(
        (a for a in conversations._actions if isinstance(a, argparse._SubParsersAction)), None
    ) or conversations.add_subparsers(dest="action", required=False)
    p = actions.add_parser("merge", help="merge two conversations of one customer (same platform)")
    both(p)
    p.set_defaults(func=_cmd_conversations_merge)

    people = sub.add_parser("people", help="people: merge two who are one")
    p = people.add_subparsers(dest="people_action", required=True).add_parser(
        "merge", help="merge two people (identifiers and conversations move to KEEP)"
    )
    both(p)
    p.set_defaults(func=_cmd_people_merge)

    merges = sub.add_parser("merges", help="merges of conversations and people")
    p = merges.add_subparsers(dest="merges_action", required=True).add_parser(
        "undo", help="undo a merge (latest first)"
    )
    p.add_argument("merge_id")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(func=_cmd_merges_undo)
