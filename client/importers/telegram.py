"""Telegram Desktop "Export chat history" JSON: a single chat's result.json or the full export."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..models import Message
from . import ExportFormatError, ParsedChat, read_text

_MEDIA_TYPES = {
    "voice_message": "voice", "video_message": "video", "video_file": "video", "animation": "video",
    "audio_file": "audio", "sticker": "sticker",
}  # fmt: skip


def _text(value: Any) -> str:
    """`text` is a string or a list of strings and entity objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in value)
    return ""


def _when(msg: dict[str, Any], key: str) -> datetime | None:
    raw = msg.get(f"{key}_unixtime")
    if raw is None:
        return None
    return datetime.fromtimestamp(int(raw), tz=timezone.utc)


def _kind(msg: dict[str, Any]) -> tuple[str, str | None]:
    if msg.get("type") == "service":
        return "system", None
    if "photo" in msg:
        return "image", str(msg["photo"])
    if msg.get("media_type") in _MEDIA_TYPES:
        return _MEDIA_TYPES[msg["media_type"]], msg.get("file")
    if "file" in msg:
        return "document", str(msg["file"])
    if "location_information" in msg:
        return "location", None
    if "contact_information" in msg:
        return "contact", None
    return "text", None


def _chat_messages(chat: dict[str, Any], my_id: str | None, me: str | None) -> list[Message]:
    chat_id = str(chat.get("id"))
    direct = chat.get("type") in ("personal_chat", "bot_chat", "saved_messages")
    out: list[Message] = []
    for msg in chat.get("messages", []):
        sent = _when(msg, "date")
        if sent is None or "id" not in msg:
            continue
        kind, media = _kind(msg)
        text = _text(msg.get("text"))
        if kind == "system":
            actor = msg.get("actor") or ""
            text = " ".join(x for x in (actor, str(msg.get("action", "")).replace("_", " ")) if x)
        sender_id = msg.get("from_id") or msg.get("actor_id")
        outbound = (my_id is not None and sender_id == my_id) or (
            me is not None and msg.get("from") == me
        )
        out.append(Message(
            platform="telegram",
            external_conversation_id=chat_id,
            participant_name=chat.get("name") if direct else None,
            conversation_type="direct" if direct else "group",
            id=f"{chat_id}:{msg['id']}",
            direction="outbound" if outbound else "inbound",
            type=kind,  # type: ignore[arg-type]
            content=text or None,
            media_url=media,
            sent_at=sent,
            edited_at=_when(msg, "edited"),
            sender_name=msg.get("from") or msg.get("actor"),
            sender_identifier=sender_id,
            reply_to_id=f"{chat_id}:{msg['reply_to_message_id']}" if msg.get("reply_to_message_id") else None,
        ))  # fmt: skip
    return out


def parse_telegram(path: Path, *, me: str | None = None, **_: Any) -> ParsedChat:
    try:
        data = json.loads(read_text(Path(path)))
    except json.JSONDecodeError as exc:
        raise ExportFormatError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ExportFormatError(f"{path}: not a Telegram export (expected a JSON object)")
    info = data.get("personal_information") or {}
    my_id = f"user{info['user_id']}" if "user_id" in info else None
    if "chats" in data:
        chats = data["chats"].get("list", [])
    elif "messages" in data:
        chats = [data]
    else:
        raise ExportFormatError(f"{path}: not a Telegram export (no messages or chats.list)")
    messages = [m for chat in chats for m in _chat_messages(chat, my_id, me)]
    name = " ".join(x for x in (info.get("first_name"), info.get("last_name")) if x) or me
    account = info.get("phone_number") or info.get("username") or (my_id or None)
    return ParsedChat("telegram", messages, account_identifier=account, account_name=name)
