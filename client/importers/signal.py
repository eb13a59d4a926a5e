"""signal-cli `receive -o json`: one JSON envelope per line.

Incoming dataMessage, own messages from syncMessage.sentMessage, editMessage applied to
its target (same id, newer edited_at); receipts, typing and reactions are not messages.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..identifiers import IdentifierError, normalize_phone
from ..models import Message
from . import ExportFormatError, ParsedChat, read_text


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _kind(data: dict[str, Any]) -> tuple[str, str | None]:
    for att in data.get("attachments") or []:
        ctype = str(att.get("contentType", ""))
        name = att.get("filename") or att.get("id")
        if att.get("voiceNote"):
            return "voice", name
        for prefix, kind in (("image/", "image"), ("video/", "video"), ("audio/", "audio")):
            if ctype.startswith(prefix):
                return kind, name
        return "document", name
    if data.get("sticker"):
        return "sticker", None
    return "text", None


def _phone(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalize_phone(value)
    except IdentifierError:
        return value


def parse_signal(path: Path, **_: Any) -> ParsedChat:
    account: str | None = None
    messages: list[Message] = []
    for n, line in enumerate(read_text(Path(path)).splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ExportFormatError(f"{path}:{n}: not a JSON line ({exc.msg})") from None
        env = obj.get("envelope") if isinstance(obj, dict) else None
        if not isinstance(env, dict):
            raise ExportFormatError(f"{path}:{n}: not a signal-cli envelope")
        account = account or obj.get("account")
        author = _phone(env.get("sourceNumber") or env.get("source")) or env.get("sourceUuid")
        edited_at = None
        if "dataMessage" in env:
            data, outbound, peer = env["dataMessage"], False, author
        elif "editMessage" in env:
            data = env["editMessage"].get("dataMessage", {})
            data = {**data, "timestamp": env["editMessage"]["targetSentTimestamp"]}
            outbound, peer, edited_at = False, author, _ts(env["timestamp"])
        elif "syncMessage" in env and "sentMessage" in env["syncMessage"]:
            data = env["syncMessage"]["sentMessage"]
            outbound = True
            peer = _phone(data.get("destinationNumber") or data.get("destination")) or data.get(
                "destinationUuid"
            )
            author = _phone(account) or author
        else:
            continue  # receipts, typing, calls
        if data.get("reaction") or ("message" not in data and not data.get("attachments")):
            continue
        group = (data.get("groupInfo") or {}).get("groupId")
        conv = f"group:{group}" if group else str(peer)
        kind, media = _kind(data)
        quote = (data.get("quote") or {}).get("id")
        messages.append(Message(
            platform="signal",
            external_conversation_id=conv,
            participant_identifier=None if group else peer,
            participant_name=None if group or outbound else env.get("sourceName"),
            conversation_type="group" if group else "direct",
            id=f"{author}:{data['timestamp']}",
            direction="outbound" if outbound else "inbound",
            type=kind,  # type: ignore[arg-type]
            content=data.get("message"),
            media_url=media,
            sent_at=_ts(int(data["timestamp"])),
            edited_at=edited_at,
            sender_identifier=author,
            sender_name=None if outbound else env.get("sourceName"),
            reply_to_id=str(quote) if quote else None,
        ))  # fmt: skip
    return ParsedChat("signal", messages, account_identifier=_phone(account))
