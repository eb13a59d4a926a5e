"""The data commands of the CLI: import, conversations, show, connections, demo."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .client import MessagingClient
from .config import REPO_ROOT
from .importers import ParsedChat, parser_for
from .models import IngestSummary

DEMO_USER = "00000000-0000-4000-a000-00000000a11c"  # alice@crm.example in supabase/seed.sql
#: exit status of an import that stored everything but the conversations it names as refused
EXIT_REFUSED = 3


class ProgressBar:
    """A plain progress bar on stderr; silent when asked or when stderr is no terminal."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = width * done // total
        end = "\n" if done >= total else ""
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}"
        )
        sys.stderr.flush()


def parse_files(args: argparse.Namespace) -> list[ParsedChat]:
    parse = parser_for(args.platform)
    return [parse(Path(p), me=args.me, tz=args.tz, region=args.region) for p in args.paths]


def import_chats(
    client: MessagingClient,
    chats: list[ParsedChat],
    *,
    user_id: str | None,
    me: str | None = None,
    batch_size: int = 1000,
    progress: Any = None,
) -> IngestSummary:
    """Records the exporting account as a connection, then ingests every chat under it."""
    summary = IngestSummary()
    for chat in chats:
        account = chat.account_identifier or me or chat.account_name
        connection_id = None
        if account:
            connection_id = client.ensure_connection(
                chat.platform, account, display_name=chat.account_name or me, user_id=user_id
            )
        summary = summary.merge(
            client.ingest(
                chat.messages,
                user_id=user_id,
                connection_id=connection_id,
                batch_size=batch_size,
                progress=progress,
            )
        )
    return summary


def _cmd_import(args: argparse.Namespace) -> int:
    chats = parse_files(args)
    total = sum(len(c.messages) for c in chats)
    if args.dry_run:
        from .models import count_valid_messages

        for chat in chats:
            count_valid_messages(chat.messages)
        convs = {m.external_conversation_id for c in chats for m in c.messages}
        result = {"dry_run": True, "messages": total, "conversations": len(convs)}
        print(
            json.dumps(result)
            if args.json
            else f"{total} messages in {len(convs)} conversation(s) would be imported; nothing written"
        )
        return 0
    client = MessagingClient.from_env()
    # on a terminal by default; CRM_MESSAGING_PROGRESS=1 forces it (logs, CI)
    bar = ProgressBar(
        f"importing {args.platform}",
        enabled=not args.silent
        and (
            os.environ.get("CRM_MESSAGING_PROGRESS") == "1"
            or (sys.stderr.isatty() and not args.json)
        ),
    )
    summary = import_chats(
        client, chats, user_id=args.user_id, me=args.me, batch_size=args.batch_size, progress=bar
    )
    if args.json:
        print(summary.model_dump_json())
    else:
        print(
            f"{summary.inserted} inserted, {summary.duplicates} duplicates, {summary.updated} updated "
            f"in {len(summary.conversations)} conversation(s)"
        )
    if summary.refused:
        # the rest is stored; say what was not, and why, and exit non-zero
        for refused in summary.refused:
            print(f"crm-messaging: refused {refused}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


def _print_inbox(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("no conversations")
    for r in rows:
        who = (
            r.get("participant_name")
            or r.get("participant_identifier")
            or r["external_conversation_id"]
        )
        linked = " (linked)" if r.get("person_id") else ""
        when = (r.get("last_message_at") or "")[:16].replace("T", " ")
        print(
            f"{r['id']}  {r['platform']:8}  {when:16}  {who[:28]:28}{linked}  "
            f"{r['message_count']:>5} msgs  {(r.get('last_message_preview') or '')[:50]}"
        )


def _client(args: argparse.Namespace) -> MessagingClient:
    client = MessagingClient.from_env()
    client.user_id = getattr(args, "user_id", None)
    return client


def _cmd_conversations(args: argparse.Namespace) -> int:
    _print_inbox(_client(args).conversations(person_id=args.person, limit=args.limit))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    page = _client(args).messages(args.id, max_count=args.limit)
    for m in reversed(page):
        arrow = "→" if m["direction"] == "outbound" else "←"
        body = m.get("content") or f"[{m['type']}]"
        print(f"{m['sent_at'][:16].replace('T', ' ')} {arrow} {m.get('sender_name') or ''}: {body}")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    hits = _client(args).search(
        args.text, person_id=args.person, platform=args.platform, max_count=args.limit
    )
    if not hits:
        print("no matches")
    for h in hits:
        m = h["message"]
        who = m.get("sender_name") or (
            "me" if m["direction"] == "outbound" else h.get("participant_name") or ""
        )
        when = m["sent_at"][:16].replace("T", " ")
        text = h.get("snippet") or f"[{m['type']}]"
        print(f"{h['conversation_id']}  {h['platform']:8}  {when}  {who[:20]:20}  {text}")
    return 0


def _cmd_connections(args: argparse.Namespace) -> int:
    for c in _client(args).connections():
        print(
            f"{c['id']}  {c['platform']:8}  {c['account_identifier']:24}  {c['status']:8}  "
            f"last sync {c.get('last_synced_at') or 'never'}"
        )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    examples = REPO_ROOT / "examples"
    client = MessagingClient.from_env()
    plan = [
        (
            "whatsapp",
            examples / "WhatsApp Chat with +34 612 34 56 78.txt",
            "Alice",
            "Europe/Madrid",
        ),
        ("telegram", examples / "telegram_result.json", None, None),
        ("signal", examples / "signal-receive.jsonl", None, None),
        ("wechat", examples / "wechat_liwei.csv", None, None),
    ]
    for platform, path, me, tz in plan:
        chat = parser_for(platform)(path, me=me, tz=tz, region="ES")
        s = import_chats(client, [chat], user_id=DEMO_USER, me=me)
        print(f"{platform:8} {path.name}: {s.inserted} inserted, {s.duplicates} duplicates")
    print("\ninbox of alice@crm.example:")
    client.user_id = DEMO_USER
    _print_inbox(client.conversations())
    return 0


def _cmd_identifiers(args: argparse.Namespace) -> int:
    result = _client(args).sync_person_identifiers(region=args.region)
    print(
        f"{result['added']} identifiers added from {result['people_values']} phones and emails"
        f" of people; {result['skipped']} skipped (not a phone or email)"
    )
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("import", help="import export files")
    p.add_argument("platform", choices=["whatsapp", "telegram", "signal", "wechat"])
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--user-id", help="the owning CRM user (with the service-role key)")
    p.add_argument("--me", help="your name in the export: your messages are outbound")
    p.add_argument(
        "--tz", help="IANA zone of the export's local times (WhatsApp), e.g. Europe/Madrid"
    )
    p.add_argument("--region", help="default country for phone numbers without one, e.g. ES")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--dry-run", action="store_true", help="parse and validate, write nothing")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--silent", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("conversations", help="the inbox, newest first")
    p.add_argument("--person", help="only this person's conversations")
    p.add_argument("--user-id")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_cmd_conversations)

    p = sub.add_parser("show", help="the newest messages of a conversation")
    p.add_argument("id")
    p.add_argument("--user-id")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("search", help="find messages across all conversations")
    p.add_argument("text")
    p.add_argument("--person", help="only this person's conversations")
    p.add_argument("--platform", choices=["whatsapp", "telegram", "signal", "wechat"])
    p.add_argument("--user-id", help="only this CRM user's messages (with the service key)")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("connections", help="messaging accounts and their last sync")
    p.add_argument("--user-id")
    p.set_defaults(func=_cmd_connections)

    p = sub.add_parser(
        "identifiers", help="fill person_identifiers from people's phones and emails"
    )
    p.add_argument("action", choices=["sync"])
    p.add_argument(
        "--user-id", help="only this CRM user's people (default: all, with the service key)"
    )
    p.add_argument("--region", help="default country for phones without one, e.g. ES")
    p.set_defaults(func=_cmd_identifiers)

    p = sub.add_parser("demo", help="import the bundled sample exports for alice@crm.example")
    p.set_defaults(func=_cmd_demo)
