"""signal-cli `receive -o json`: one JSON envelope per line.

Incoming dataMessage, own messages from syncMessage.sentMessage, editMessage applied to
its target (same id, newer edited_at); group updates are system notices; receipts, typing
and reactions are not messages. Message ids are `author:sent timestamp`, and so are the
ids replies point at. Attachments are named by the id signal-cli stores them under, with
the original file name in metadata.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import IdentifierError
from ..identifiers import normalize_phone
from ..models import Message
from . import ExportFormatError, ParsedChat, participant_of, read_text, readable


class _LineError(ValueError):
    """What is wrong with one line; the caller adds the file and line number."""


def _ts(value: Any, field: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _LineError(f"{field} is missing or not a timestamp")
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise _LineError(f"{field} {value!r} is not a timestamp in milliseconds") from None


def _obj(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _LineError(f"{field} is not an object")
    return value


def _kind(data: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    attachments = data.get("attachments") or []
    if not isinstance(attachments, list):
        raise _LineError("attachments is not a list")
    for att in attachments:
        att = _obj(att, "attachments[]")
        ctype = str(att.get("contentType", ""))
        stored = att.get("id")
        meta = {"filename": str(att["filename"])} if att.get("filename") else {}
        if ctype:
            meta["content_type"] = ctype
        name = str(stored) if stored else None
        if att.get("voiceNote"):
            return "voice", name, meta
        for prefix, kind in (("image/", "image"), ("video/", "video"), ("audio/", "audio")):
            if ctype.startswith(prefix):
                return kind, name, meta
        return "document", name, meta
    if data.get("sticker"):
        return "sticker", None, {}
    return "text", None, {}


def _phone(value: Any) -> str | None:
    if not value:
        return None
    try:
        return normalize_phone(str(value))
    except IdentifierError:
        return str(value)


def _message(
    env: dict[str, Any], account: str | None
) -> tuple[dict[str, Any], bool, str | None, str | None, datetime | None] | None:
    """(data, outbound, author, peer, edited_at) of an envelope that carries a message."""
    author = _phone(env.get("sourceNumber") or env.get("source")) or env.get("sourceUuid")
    if "dataMessage" in env:
        return _obj(env["dataMessage"], "dataMessage"), False, author, author, None
    if "editMessage" in env:
        edit = _obj(env["editMessage"], "editMessage")
        if "targetSentTimestamp" not in edit:
            raise _LineError("editMessage has no targetSentTimestamp (which message it edits)")
        data = {**_obj(edit.get("dataMessage"), "editMessage.dataMessage")}
        data["timestamp"] = edit["targetSentTimestamp"]
        return data, False, author, author, _ts(env.get("timestamp"), "timestamp")
    sync = _obj(env.get("syncMessage"), "syncMessage")
    if "sentMessage" in sync:
        data = _obj(sync["sentMessage"], "syncMessage.sentMessage")
        peer = _phone(data.get("destinationNumber") or data.get("destination")) or data.get(
            "destinationUuid"
        )
        return data, True, _phone(account) or author, peer, None
    return None  # receipts, typing, calls


def _one(env: dict[str, Any], account: str | None) -> Message | None:
    found = _message(env, account)
    if found is None:
        return None
    data, outbound, author, peer, edited_at = found
    if data.get("reaction"):
        return None
    group_info = _obj(data.get("groupInfo"), "groupInfo")
    group = group_info.get("groupId")
    text = data.get("message")
    if text is not None and not isinstance(text, str):
        raise _LineError("message is not text")
    kind, media, meta = _kind(data)
    if kind == "text" and not text:
        if group and str(group_info.get("type", "")).upper() == "UPDATE":
            kind, text = "system", "Group updated"
            if group_info.get("groupName"):
                text += f": {group_info['groupName']}"
        else:
            return None  # nothing to show (a profile key update, an expiry timer, ...)
    if "timestamp" not in data:
        raise _LineError("the message has no timestamp")
    sent = _ts(data["timestamp"], "timestamp")
    if author is None:
        raise _LineError("no sourceNumber, source or sourceUuid: who sent it?")
    if not group and not peer:
        raise _LineError("no destination: whom was it sent to?")
    conv = f"group:{group}" if group else str(peer)
    quote = _obj(data.get("quote"), "quote")
    reply_to = None
    if quote.get("id") is not None:
        quoted_author = _phone(quote.get("authorNumber") or quote.get("author")) or quote.get(
            "authorUuid"
        )
        reply_to = f"{quoted_author}:{quote['id']}" if quoted_author else None
        if reply_to is None:
            meta["reply_to_timestamp"] = quote["id"]
    name = env.get("sourceName")
    return Message(
        platform="signal",
        external_conversation_id=conv,
        participant_identifier=None if group else peer,
        participant_name=(str(group_info["groupName"]) if group_info.get("groupName") else None)
        if group else (None if outbound or not name else str(name)),
        conversation_type="group" if group else "direct",
        id=f"{author}:{int(data['timestamp'])}",
        direction="outbound" if outbound else "inbound",
        type=kind,
        content=text or None,
        media_url=media,
        sent_at=sent,
        edited_at=edited_at,
        sender_identifier=str(author),
        sender_name=None if outbound or not name else str(name),
        reply_to_id=reply_to,
        metadata=meta or None,
    )  # fmt: skip


@readable
def parse_signal(path: Path, *, participant: str | None = None, **_: Any) -> ParsedChat:
    """The lines of `signal-cli receive -o json`. `participant` (a phone or a username)
    names the other party when the file holds one direct conversation."""
    account: str | None = None
    messages: list[Message] = []
    for n, line in enumerate(read_text(Path(path)).splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ExportFormatError(f"{path}:{n}: not a JSON line ({exc.msg})") from None
        except RecursionError:
            raise ExportFormatError(f"{path}:{n}: JSON nested too deeply") from None
        env = obj.get("envelope") if isinstance(obj, dict) else None
        if not isinstance(env, dict):
            raise ExportFormatError(f"{path}:{n}: not a signal-cli envelope")
        if isinstance(obj.get("account"), str):
            account = account or obj["account"]
        try:
            message = _one(env, account)
        except _LineError as exc:
            raise ExportFormatError(f"{path}:{n}: {exc}") from None
        if message is not None:
            messages.append(message)
    # a group's name comes with its updates only: every message of the group carries it
    names = {
        m.external_conversation_id: m.participant_name
        for m in messages
        if m.conversation_type == "group" and m.participant_name
    }
    messages = [
        m.model_copy(update={"participant_name": names[m.external_conversation_id]})
        if m.external_conversation_id in names and not m.participant_name else m
        for m in messages
    ]  # fmt: skip
    if participant is not None:
        direct = {m.external_conversation_id for m in messages if m.conversation_type == "direct"}
        if len(direct) != 1:
            raise ExportFormatError(
                f"{path}: --participant names the other party of one direct conversation;"
                f" this file holds {len(direct)}"
            )
        wanted = participant_of(participant)
        messages = [
            m.model_copy(update={"participant_identifier": wanted})
            if m.conversation_type == "direct" else m
            for m in messages
        ]  # fmt: skip
    return ParsedChat("signal", messages, account_identifier=_phone(account))
