"""Telegram Desktop "Export chat history" JSON: a single chat's result.json or the full export.

Times come from `date_unixtime` (UTC); older exports carry only `date`, a local time without
offset, which is read in the `--tz` zone (refused without one, never the server's zone).
Media the export left out (`(File not included. ...)`) stays media, without a file.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..models import Message
from . import ExportFormatError, ParsedChat, participant_of, read_text, readable, zone

_MEDIA_TYPES = {
    "voice_message": "voice", "video_message": "video", "video_file": "video", "animation": "video",
    "audio_file": "audio", "sticker": "sticker",
}  # fmt: skip
_DIRECT = ("personal_chat", "bot_chat", "saved_messages")


def _text(value: Any) -> str:
    """`text` is a string or a list of strings and entity objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            p if isinstance(p, str) else str(p.get("text", "")) if isinstance(p, dict) else ""
            for p in value
        )
    return ""


def _file(value: Any) -> str | None:
    """The exported file's path; None when the export left the file out."""
    if not isinstance(value, str) or not value or value.startswith("(File "):
        return None
    return value


class _Reader:
    def __init__(self, path: Path, tz: ZoneInfo | None) -> None:
        self.path, self.tz = path, tz

    def when(self, msg: dict[str, Any], key: str, where: str) -> datetime | None:
        raw = msg.get(f"{key}_unixtime")
        if raw is not None:
            try:
                return datetime.fromtimestamp(int(raw), tz=timezone.utc)
            except (TypeError, ValueError, OverflowError, OSError):
                raise ExportFormatError(
                    f"{self.path}: {where}.{key}_unixtime {raw!r} is not a Unix time"
                ) from None
        local = msg.get(key)
        if local is None:
            return None
        if self.tz is None:
            raise ExportFormatError(
                f"{self.path}: {where} has only a local {key} ({local!r}, an older export):"
                " pass --tz (like Europe/Madrid)"
            )
        try:
            return datetime.fromisoformat(str(local)).replace(tzinfo=self.tz)
        except ValueError:
            raise ExportFormatError(f"{self.path}: {where}.{key} {local!r} is not a date") from None


def _kind(msg: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    meta: dict[str, Any] = {}
    if msg.get("type") == "service":
        return "system", None, meta
    if "photo" in msg:
        kind, media = "image", _file(msg["photo"])
    elif isinstance(msg.get("media_type"), str) and msg["media_type"] in _MEDIA_TYPES:
        kind, media = _MEDIA_TYPES[msg["media_type"]], _file(msg.get("file"))
    elif "file" in msg:
        kind, media = "document", _file(msg["file"])
    elif "location_information" in msg:
        return "location", None, meta
    elif "contact_information" in msg:
        return "contact", None, meta
    else:
        return "text", None, meta
    if media is None:
        meta["media_omitted"] = True
    return kind, media, meta


def _chat_messages(
    chat: dict[str, Any], my_id: str | None, me: str | None, reader: _Reader,
    participant: str | None, n_chat: int,
) -> list[Message]:  # fmt: skip
    chat_id = str(chat.get("id"))
    direct = chat.get("type") in _DIRECT
    raw_messages = chat.get("messages", [])
    if not isinstance(raw_messages, list):
        raise ExportFormatError(f"{reader.path}: chats[{n_chat}].messages is not a list")
    out: list[Message] = []
    for n, msg in enumerate(raw_messages):
        where = f"chats[{n_chat}].messages[{n}]" if n_chat >= 0 else f"messages[{n}]"
        if not isinstance(msg, dict):
            raise ExportFormatError(f"{reader.path}: {where} is not an object")
        if msg.get("id") in (None, ""):
            raise ExportFormatError(f"{reader.path}: {where} has no id")
        sent = reader.when(msg, "date", where)
        if sent is None:
            raise ExportFormatError(f"{reader.path}: {where} has neither date_unixtime nor date")
        kind, media, meta = _kind(msg)
        text = _text(msg.get("text"))
        if kind == "system":
            actor = str(msg.get("actor") or "")
            text = " ".join(x for x in (actor, str(msg.get("action", "")).replace("_", " ")) if x)
        sender_id = msg.get("from_id") or msg.get("actor_id")
        sender_id = str(sender_id) if sender_id is not None else None
        outbound = (my_id is not None and sender_id == my_id) or (
            me is not None and msg.get("from") == me
        )
        sender_name = msg.get("from") or msg.get("actor")
        reply = msg.get("reply_to_message_id")
        out.append(Message(
            platform="telegram",
            external_conversation_id=chat_id,
            participant_identifier=participant if direct else None,
            participant_name=str(chat["name"]) if direct and chat.get("name") else None,
            conversation_type="direct" if direct else "group",
            id=f"{chat_id}:{msg['id']}",
            direction="outbound" if outbound else "inbound",
            type=kind,
            content=text or None,
            media_url=media,
            sent_at=sent,
            edited_at=reader.when(msg, "edited", where),
            sender_name=str(sender_name) if sender_name else None,
            sender_identifier=sender_id,
            reply_to_id=f"{chat_id}:{reply}" if reply else None,
            metadata=meta or None,
        ))  # fmt: skip
    return out


@readable
def parse_telegram(
    path: Path,
    *,
    me: str | None = None,
    tz: str | None = None,
    participant: str | None = None,
    **_: Any,
) -> ParsedChat:
    """A Telegram Desktop JSON export. `tz` reads exports without `date_unixtime`;
    `participant` (a username or an international phone) names the other party of the
    export's one direct chat, so it links to the person."""
    reader = _Reader(Path(path), zone(tz))
    try:
        data = json.loads(read_text(Path(path)))
    except json.JSONDecodeError as exc:
        raise ExportFormatError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ExportFormatError(f"{path}: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ExportFormatError(f"{path}: not a Telegram export (expected a JSON object)")
    info = data.get("personal_information") or {}
    if not isinstance(info, dict):
        raise ExportFormatError(f"{path}: personal_information is not an object")
    my_id = f"user{info['user_id']}" if "user_id" in info else None
    if "chats" in data:
        chats_obj = data["chats"]
        chats = chats_obj.get("list", []) if isinstance(chats_obj, dict) else None
        single = False
    elif "messages" in data:
        chats, single = [data], True
    else:
        raise ExportFormatError(f"{path}: not a Telegram export (no messages or chats.list)")
    if not isinstance(chats, list) or not all(isinstance(c, dict) for c in chats):
        raise ExportFormatError(f"{path}: chats.list is not a list of chats")
    wanted = None
    if participant is not None:
        direct = [c for c in chats if c.get("type") in _DIRECT]
        if len(chats) != 1 or not direct:
            raise ExportFormatError(
                f"{path}: --participant names the other party of one direct chat; this export"
                f" holds {len(chats)} chat(s), {len(direct)} of them direct"
            )
        wanted = participant_of(participant)
    messages = [
        m
        for n, chat in enumerate(chats)
        for m in _chat_messages(chat, my_id, me, reader, wanted, -1 if single else n)
    ]
    name = " ".join(str(x) for x in (info.get("first_name"), info.get("last_name")) if x) or me
    account = info.get("phone_number") or info.get("username") or (my_id or None)
    return ParsedChat(
        "telegram", messages, account_identifier=str(account) if account else None,
        account_name=name,
    )  # fmt: skip
