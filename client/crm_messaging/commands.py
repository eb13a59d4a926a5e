"""The data commands of the CLI: import, conversations, show, search, connections, identifiers."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, get_args

from .client import MessagingClient, Progress
from .config import load_settings, read_env
from .contract import Contract, contract
from .errors import ExportFormatError, InputError
from .importers import ParsedChat, parser_for
from .models import IngestSummary, Platform, count_valid_messages
from .person import add_person_parser
from .reads import ConversationSummary, StoredMessage

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
    date_order = getattr(args, "date_order", None)
    participant = getattr(args, "participant", None)
    if date_order and args.platform != "whatsapp":
        raise ExportFormatError("--date-order is for WhatsApp exports (the others carry dates)")
    options: dict[str, Any] = {"me": args.me, "tz": args.tz, "region": args.region}
    if date_order:
        options["date_order"] = date_order
    year = getattr(args, "year", None)
    if year is not None and args.platform != "whatsapp":
        raise ExportFormatError("--year is for WhatsApp .txt exports (the others carry years)")
    if year is not None:
        options["year"] = year
    if participant:
        options["participant"] = participant
    chats = [parse(Path(p), **options) for p in args.paths]
    for path, chat in zip(args.paths, chats, strict=True):
        chat.source_name = chat.source_name or Path(path).name
    return chats


def import_chats(
    client: MessagingClient,
    chats: list[ParsedChat],
    *,
    user_id: str | None,
    me: str | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
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
                source=chat.source,
                source_name=chat.source_name,
            )
        )
    return summary


def _cmd_import(args: argparse.Namespace) -> int:
    chats = parse_files(args)
    total = sum(len(c.messages) for c in chats)
    if args.dry_run:
        for chat in chats:
            count_valid_messages(chat.messages)
        convs = {m.external_conversation_id for c in chats for m in c.messages}
        notes = [note for chat in chats for note in chat.notes]
        result: dict[str, Any] = {"dry_run": True, "messages": total, "conversations": len(convs)}
        if notes:
            result["notes"] = notes
        print(
            json.dumps(result)
            if args.json
            else "\n".join([*notes, f"{total} messages in {len(convs)} conversation(s) would be"
                             " imported; nothing written"])
        )  # fmt: skip
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
    notes = [note for chat in chats for note in chat.notes]
    if args.json:
        print(json.dumps(json.loads(summary.model_dump_json()) | {"notes": notes}))
    else:
        for note in notes:
            print(note)
        print(
            f"{summary.inserted} inserted, {summary.duplicates} duplicates"
            f" ({summary.matched} matched to live messages), {summary.updated} updated"
            f" in {len(summary.conversations)} conversation(s)"
        )
    if summary.refused:
        # the rest is stored; say what was not, and why, and exit non-zero
        for refused in summary.refused:
            print(f"crm-messaging: refused {refused}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


def _minute(when: datetime | None) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if when else ""


def print_inbox(rows: list[ConversationSummary]) -> None:
    if not rows:
        print("no conversations")
    for r in rows:
        who = r.participant_name or r.participant_identifier or r.external_conversation_id
        linked = " (linked)" if r.person_id else ""
        print(
            f"{r.id}  {r.platform:8}  {_minute(r.last_message_at):16}  {who[:28]:28}{linked}  "
            f"{r.message_count:>5} msgs  {(r.last_message_preview or '')[:50]}"
        )


def _client(args: argparse.Namespace) -> MessagingClient:
    client = MessagingClient.from_env()
    client.user_id = getattr(args, "user_id", None)
    return client


def _day(when: str | None) -> str:
    return when[:10] if when else "?"


def coverage_lines(c: dict[str, Any]) -> list[str]:
    """`conversations coverage ID`: each source with its span and counts, then the gaps."""
    lines = [
        f"{c['platform']} {c['external_conversation_id']}: {c['message_count']} messages"
        f" from {_day(c['first_message_at'])} to {_day(c['last_message_at'])}",
        f"{'covers':24}  {'new':>6}  {'dups':>6}  {'matched':>7}  source",
    ]
    for s in c["sources"]:
        label = s["kind"] + (f" {s['name']}" if s.get("name") else "")
        label += f" ({s['phase']})" if s.get("phase") else ""
        until = "now (live)" if s["covers_until"] is None else _day(s["covers_until"])
        span = f"{_day(s['covers_from'])} .. {until}"
        lines.append(
            f"{span:24}  {s['inserted']:>6}  {s['duplicates']:>6}  {s['matched']:>7}  {label}"
        )
    lines.append(f"{c['matched']} copies matched between sources")
    gaps = c["gaps"]
    if not gaps:
        lines.append("no gaps: every span has a source")
    for g in gaps:
        lines.append(f"gap: {_minute(datetime.fromisoformat(g['from']))} .. "
                     f"{_minute(datetime.fromisoformat(g['to']))} (no source covers it)")  # fmt: skip
    return lines


def _cmd_coverage(args: argparse.Namespace) -> int:
    found = _client(args).coverage(args.id)
    print(json.dumps(found) if args.json else "\n".join(coverage_lines(found)))
    return 0


def _cmd_conversations(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "coverage":
        return _cmd_coverage(args)
    print_inbox(_client(args).conversations(person_id=args.person, limit=args.limit))
    return 0


def show_line(m: StoredMessage) -> str:
    """One message of `show`: time, direction, sender and text; notices without a sender."""
    when = _minute(m.sent_at)
    meta = m.metadata or {}
    body = m.content or ("[deleted]" if meta.get("deleted") else f"[{m.type}]")
    if m.type == "system":
        return f"{when} · {body}"
    arrow = "→" if m.direction == "outbound" else "←"
    who = m.sender_name or ("me" if m.direction == "outbound" else "")
    return f"{when} {arrow} {who}: {body}" if who else f"{when} {arrow} {body}"


def _cmd_show(args: argparse.Namespace) -> int:
    page = _client(args).messages(args.id, max_count=args.limit)
    for m in reversed(page):
        print(show_line(m))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    hits = _client(args).search(
        args.text, person_id=args.person, platform=args.platform, max_count=args.limit
    )
    if not hits:
        print("no matches")
    for h in hits:
        m = h.message
        who = m.sender_name or ("me" if m.direction == "outbound" else h.participant_name or "")
        text = h.snippet or f"[{m.type}]"
        print(f"{h.conversation_id}  {h.platform:8}  {_minute(m.sent_at)}  {who[:20]:20}  {text}")
    return 0


# ------------------------------------------------------------------ connections
# `connections` lists each connection with its webhook URL; `connections add` creates one
# with the secrets its platform signs deliveries with. Both come from the contract the
# database publishes (contract.json): each platform's secret names, and the URL form.

#: the platforms the CLI offers: models.Platform's, in its order
PLATFORM_CHOICES: list[str] = list(get_args(Platform))


def connection_secrets(c: Contract) -> dict[str, dict[str, str]]:
    """Each platform's webhook secrets: add_messaging_connection key -> CLI option."""
    return {p.platform: {s.name: s.option for s in p.secrets} for p in c.platforms}


def secret_options(c: Contract) -> dict[str, str]:
    """Every secret name of every platform -> the help of its `connections add` option."""
    helps: dict[str, list[str]] = {}
    for p in c.platforms:
        for s in p.secrets:
            helps.setdefault(s.name, []).append(f"{p.label or p.platform}: {s.description}")
    return {name: " ".join(texts) for name, texts in helps.items()}


CONNECTION_SECRETS = connection_secrets(contract())


def functions_url() -> str:
    """FUNCTIONS_URL of .env, else <API_URL>/functions/v1 (what `supabase status` implies)."""
    env = read_env()
    return (env.get("FUNCTIONS_URL") or f"{load_settings().api_url}/functions/v1").rstrip("/")


def webhook_url(platform: str, connection_id: str, base: str | None = None) -> str:
    return contract().webhook(
        functions_url=base or functions_url(), platform=platform, connection_id=connection_id
    )


def _connection_secrets(args: argparse.Namespace) -> dict[str, str]:
    wanted = CONNECTION_SECRETS[args.platform]
    given = {name: getattr(args, name) for name in secret_options(contract())}
    missing = [opt for key, opt in wanted.items() if not given[key]]
    if missing:
        raise InputError(f"connections add {args.platform}: {' and '.join(missing)} required")
    extra = [f"--{key.replace('_', '-')}" for key, v in given.items() if v and key not in wanted]
    if extra:
        raise InputError(
            f"connections add {args.platform}: {', '.join(extra)} is not used by {args.platform}"
        )
    return {key: given[key] for key in wanted}


def _cmd_connections_add(args: argparse.Namespace) -> int:
    secrets = _connection_secrets(args)
    client = _client(args)
    connection_id = client.add_connection(
        args.platform, args.account, secrets=secrets, display_name=args.name, user_id=args.user_id
    )
    url = webhook_url(args.platform, connection_id)
    if args.json:
        print(json.dumps({"id": connection_id, "webhook_url": url}))
    else:
        print(f"connection {connection_id} ({args.platform} {args.account})")
        print(f"webhook URL: {url}")
    return 0


def _cmd_connections(args: argparse.Namespace) -> int:
    if getattr(args, "connections_action", None) == "add":
        return _cmd_connections_add(args)
    rows = _client(args).connections()
    base = functions_url()
    listed = [{**c, "webhook_url": webhook_url(c["platform"], c["id"], base)} for c in rows]
    if args.json:
        print(json.dumps(listed, default=str))
        return 0
    if not listed:
        print("no connections")
    for c in listed:
        print(
            f"{c['id']}  {c['platform']:8}  {c['account_identifier']:24}  {c['status']:8}  "
            f"last sync {c.get('last_synced_at') or 'never'}"
        )
        print(f"    webhook {c['webhook_url']}")
        if not contract().connection_status(c["status"]).stores:
            print(f"    {c['status']}: webhook deliveries are answered and not stored")
        if c.get("refused_count"):
            print(f"    refused {c['refused_count']}, last at {c.get('last_refused_at')}")
        if c.get("last_error"):
            print(f"    last error: {c['last_error']}")
    return 0


def _add_connections_parser(sub: Any) -> None:
    p = sub.add_parser("connections", help="messaging accounts: webhook URL, status, last sync")
    p.add_argument("--user-id")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=_cmd_connections)
    actions = p.add_subparsers(dest="connections_action")
    a = actions.add_parser("add", help="add a connection and print its webhook URL")
    a.add_argument("platform", choices=PLATFORM_CHOICES)
    a.add_argument("--account", required=True, help="the phone number, bot or account name")
    a.add_argument("--name", help="a display name")
    a.add_argument("--user-id", help="the owning CRM user (with the service-role key)")
    for name, text in secret_options(contract()).items():
        a.add_argument("--" + name.replace("_", "-"), dest=name, help=text)
    a.add_argument("--json", action="store_true", help='print {"id": ..., "webhook_url": ...}')
    a.set_defaults(func=_cmd_connections)


def _cmd_identifiers(args: argparse.Namespace) -> int:
    result = _client(args).sync_person_identifiers(region=args.region)
    print(
        f"{result['added']} identifiers added from {result['people_values']} phones and emails"
        f" of people; {result['skipped']} skipped (not a phone or email)"
    )
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("import", help="import export files")
    p.add_argument("platform", choices=PLATFORM_CHOICES)
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--user-id", help="the owning CRM user (with the service-role key)")
    p.add_argument("--me", help="your name in the export: your messages are outbound")
    p.add_argument(
        "--tz",
        help="IANA zone of the export's local times (WhatsApp; older Telegram exports),"
        " e.g. Europe/Madrid",
    )
    p.add_argument(
        "--date-order",
        choices=["dmy", "mdy", "ymd"],
        help="WhatsApp: how the export writes dates, when its dates fit more than one order",
    )
    p.add_argument(
        "--year",
        type=int,
        help="WhatsApp: the year of the first message of a file whose dates have none"
        " (Android 2013: `Mar 5, 8:11 PM - `)",
    )
    p.add_argument(
        "--participant",
        help="the other party of a direct chat: E.164 phone (WhatsApp) or username"
        " (Telegram, Signal; a WeChat id for WeChat), so the import joins the live"
        " conversation and links to the person",
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
    actions = p.add_subparsers(dest="action", required=False)
    q = actions.add_parser(
        "coverage", help="where a conversation's history comes from: sources, spans, gaps"
    )
    q.add_argument("id", help="the conversation's id")
    q.add_argument("--user-id")
    q.add_argument("--json", action="store_true", help="print the RPC's answer as JSON")

    p = sub.add_parser("show", help="the newest messages of a conversation")
    p.add_argument("id")
    p.add_argument("--user-id")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("search", help="find messages across all conversations")
    p.add_argument("text")
    p.add_argument("--person", help="only this person's conversations")
    p.add_argument("--platform", choices=PLATFORM_CHOICES)
    p.add_argument("--user-id", help="only this CRM user's messages (with the service key)")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=_cmd_search)

    _add_connections_parser(sub)
    add_person_parser(sub)

    p = sub.add_parser(
        "identifiers", help="fill person_identifiers from people's phones and emails"
    )
    p.add_argument("action", choices=["sync"])
    p.add_argument(
        "--user-id", help="only this CRM user's people (default: all, with the service key)"
    )
    p.add_argument("--region", help="default country for phones without one, e.g. ES")
    p.set_defaults(func=_cmd_identifiers)
