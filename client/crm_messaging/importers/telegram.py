"""Telegram Desktop "Export chat history" JSON: a single chat's result.json or the full export.

Times come from `date_unixtime` (UTC); older exports carry only `date`, a local time without
offset, which is read in the `--tz` zone (refused without one, never the server's zone).
Media the export left out (`(File not included. ...)`) stays media, without a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..models import Message
from . import (
    ExportFormatError,
    ParsedChat,
    RereadSequence,
    export_copy,
    participant_of,
    readable,
    zone,
)
from .limits import JsonStream, open_text

_MEDIA_TYPES = {
    "voice_message": "voice", "video_message": "video", "video_file": "video", "animation": "video",
    "audio_file": "audio", "sticker": "sticker",
}  # fmt: skip
_DIRECT = ("personal_chat", "bot_chat", "saved_messages")
#: chats whose message ids every member (and a bot in them) sees alike; Telegram Desktop
#: writes their id without the -100 the Bot API's chat.id carries
#: exports from before about 2020 write `"edited": "1970-01-01T05:00:00"` (Unix time 0 in
#: the exporting computer's zone) on every message never edited: any time this close to
#: the epoch is that sentinel, never a real edit
_EPOCH = datetime(1970, 1, 1)
_EPOCH_SLACK = 86400
_SHARED_IDS = ("public_supergroup", "private_supergroup", "public_channel", "private_channel")


def _chat_id(chat: dict[str, Any]) -> tuple[str, bool]:
    """The Bot API's chat id of an exported chat, and whether its message ids are the ones
    a bot sees. Supergroups and channels number their messages once for everyone, so the
    export's ids are the live message_ids. A private chat's ids are the exporting account's
    own numbering, the one a bot of that account's Business connection sees. A basic group
    numbers messages per member, so a bot in it sees other ids: such messages are marked as
    export copies (ids of their own, times to the second) and matched by content."""
    raw = str(chat.get("id"))
    kind = chat.get("type") if isinstance(chat.get("type"), str) else None
    if raw.isdigit() and kind in _SHARED_IDS:
        return f"-100{raw}", True
    if raw.isdigit() and kind == "private_group":
        return f"-{raw}", False
    return raw, True


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
                if key == "edited" and abs(int(raw)) <= _EPOCH_SLACK:
                    return None  # the "never edited" sentinel
                return datetime.fromtimestamp(int(raw), tz=timezone.utc)
            except (TypeError, ValueError, OverflowError, OSError):
                raise ExportFormatError(
                    f"{self.path}: {where}.{key}_unixtime {raw!r} is not a Unix time"
                ) from None
        local = msg.get(key)
        if local is None:
            return None
        try:
            naive = datetime.fromisoformat(str(local))
        except ValueError:
            raise ExportFormatError(f"{self.path}: {where}.{key} {local!r} is not a date") from None
        if (
            key == "edited"
            and abs((naive.replace(tzinfo=None) - _EPOCH).total_seconds()) <= _EPOCH_SLACK
        ):
            return None  # the "never edited" sentinel, whatever the exporting zone
        if self.tz is None:
            raise ExportFormatError(
                f"{self.path}: {where} has only a local {key} ({local!r}, an older export):"
                " pass --tz (like Europe/Madrid)"
            )
        return naive.replace(tzinfo=self.tz)


def _coords(msg: dict[str, Any]) -> dict[str, Any]:
    loc = msg.get("location_information")
    if not isinstance(loc, dict):
        return {}
    return {k: loc[k] for k in ("latitude", "longitude") if isinstance(loc.get(k), int | float)}


def _kind(msg: dict[str, Any], text: str) -> tuple[str, str | None, str | None, dict[str, Any]]:
    """(type, content, media path, metadata) of a message that is no service line, in the
    live path's shapes (messaging-ingest/telegram.ts) where it has them."""
    meta: dict[str, Any] = {}
    content = text or None
    if "photo" in msg:
        kind, media = "image", _file(msg["photo"])
    elif isinstance(msg.get("media_type"), str) and msg["media_type"] in _MEDIA_TYPES:
        kind, media = _MEDIA_TYPES[msg["media_type"]], _file(msg.get("file"))
        if kind == "sticker" and content is None and isinstance(msg.get("sticker_emoji"), str):
            content = msg["sticker_emoji"] or None
    elif "file" in msg:
        kind, media = "document", _file(msg["file"])
    elif "place_name" in msg or "address" in msg:  # a venue
        meta = _coords(msg)
        for key in ("place_name", "address"):
            if isinstance(msg.get(key), str) and msg[key]:
                meta[key] = msg[key]
        named = ", ".join(x for x in (meta.get("place_name"), meta.get("address")) if x)
        return "location", content or named or None, None, meta
    elif "location_information" in msg:
        meta = _coords(msg)
        if content is None and len(meta) == 2:
            content = f"{meta['latitude']},{meta['longitude']}"
        return "location", content, None, meta
    elif "contact_information" in msg:
        info = msg["contact_information"] if isinstance(msg["contact_information"], dict) else {}
        parts = (info.get("first_name"), info.get("last_name"), info.get("phone_number"))
        named = " ".join(str(x) for x in parts if x)
        return "contact", content or named or None, None, meta
    elif isinstance(msg.get("poll"), dict):
        poll = msg["poll"]
        question = poll.get("question") if isinstance(poll.get("question"), str) else None
        return "other", question or content, None, {"telegram_type": "poll", "poll": poll}
    elif isinstance(msg.get("inline_bot_buttons"), list) and content is None:
        return (
            "other",
            _button_labels(msg["inline_bot_buttons"]),
            None,
            {"telegram_type": "inline_bot_buttons"},
        )
    else:
        return "text", content, None, meta
    if media is None:
        meta["media_omitted"] = True
    return kind, content, media, meta


def _button_labels(rows: list[Any]) -> str | None:
    labels = [
        f"[{b['text']}]"
        for row in rows if isinstance(row, list)
        for b in row if isinstance(b, dict) and isinstance(b.get("text"), str)
    ]  # fmt: skip
    return " ".join(labels) or None


def _buttons(rows: Any) -> list[list[dict[str, Any]]] | None:
    """The inline buttons as rows of {type, text, data}; a callback's raw bytes (base64) left out."""
    if not isinstance(rows, list):
        return None
    out = [
        [{k: b[k] for k in ("type", "text", "data") if k in b} for b in row if isinstance(b, dict)]
        for row in rows if isinstance(row, list)
    ]  # fmt: skip
    return out or None


def _peer_chat(peer: Any) -> str | None:
    """The Bot API chat id of an export's peer id (`channel123`, `chat123`, `user123`)."""
    if not isinstance(peer, str | int) or isinstance(peer, bool):
        return None
    raw = str(peer)
    for prefix, bot_api in (("channel", "-100"), ("chat", "-"), ("user", "")):
        if raw.startswith(prefix) and raw[len(prefix) :].isdigit():
            return bot_api + raw[len(prefix) :]
    return raw if raw.lstrip("-").isdigit() else None


def _duration(seconds: Any) -> str | None:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        return None
    minutes, secs = divmod(seconds, 60)
    return " ".join(
        x for x in (f"{minutes} min" if minutes else "", f"{secs} s" if secs else "") if x
    )


def _quoted(value: Any) -> str:
    return f"“{value}”" if isinstance(value, str) and value else ""


def _names(value: Any) -> str:
    if not isinstance(value, list):
        return ""
    return ", ".join(str(x) if x is not None else "a deleted account" for x in value)


#: service actions: what the line says after the actor's name, from the action's fields
_SERVICE: dict[str, Any] = {
    "create_group": lambda m: f"created the group {_quoted(m.get('title'))}"
    + (f" with {_names(m.get('members'))}" if _names(m.get("members")) else ""),
    "create_channel": lambda m: f"created the channel {_quoted(m.get('title'))}",
    "edit_group_title": lambda m: f"changed the group name to {_quoted(m.get('title'))}",
    "edit_group_photo": lambda m: "changed the group photo",
    "delete_group_photo": lambda m: "removed the group photo",
    "invite_members": lambda m: f"added {_names(m.get('members'))}",
    "remove_members": lambda m: f"removed {_names(m.get('members'))}",
    "join_group_by_link": lambda m: "joined the group via an invite link",
    "join_group_by_request": lambda m: "joined the group (request approved)",
    "migrate_to_supergroup": lambda m: "upgraded the group to a supergroup",
    "migrate_from_group": lambda m: f"the group {_quoted(m.get('title'))} became this supergroup",
    "pin_message": lambda m: "pinned a message",
    "clear_history": lambda m: "cleared the history",
    "phone_call": lambda m: (
        "missed call" if m.get("discard_reason") == "missed"
        else "called" + (f" ({_duration(m.get('duration_seconds'))})" if _duration(m.get("duration_seconds")) else "")
    ),
    "group_call": lambda m: "started a group call"
    + (f" ({_duration(m.get('duration'))})" if _duration(m.get("duration")) else ""),
    "invite_to_group_call": lambda m: f"invited {_names(m.get('members'))} to the group call",
    "take_screenshot": lambda m: "took a screenshot",
    "joined_telegram": lambda m: "joined Telegram",
    "topic_created": lambda m: f"created the topic {_quoted(m.get('title'))}",
}  # fmt: skip
#: the fields of a service line kept in its metadata, beside telegram_type
_SERVICE_FIELDS = ("title", "members", "duration_seconds", "duration", "discard_reason", "inviter")
_JOINS_WITH_COLON = ("migrate_from_group",)


def _service(msg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A service message as a system line: who did what, with what it names in metadata."""
    action = msg.get("action") if isinstance(msg.get("action"), str) else None
    actor = str(msg["actor"]) if msg.get("actor") else ""
    meta: dict[str, Any] = {"telegram_type": action or "service"}
    meta.update({k: msg[k] for k in _SERVICE_FIELDS if k in msg})
    describe = _SERVICE.get(action or "")
    what = describe(msg) if describe else (action or "service message").replace("_", " ")
    if not actor:
        return what[:1].upper() + what[1:], meta
    return f"{actor}{':' if action in _JOINS_WITH_COLON else ''} {what}", meta


def _check_chat(chat: dict[str, Any], path: Path, n_chat: int) -> None:
    where_chat = f"chats[{n_chat}]" if n_chat >= 0 else "the chat"
    raw_id = chat.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)) or raw_id == "":
        # never the conversation "None": chats without an id would all merge into it
        raise ExportFormatError(
            f"{path}: {where_chat}"
            f"{' (' + repr(str(chat['name'])) + ')' if chat.get('name') else ''}"
            " has no chat id (a Telegram export names every chat by its id)"
        )


def _fingerprint(msg: dict[str, Any]) -> int:
    """A message's content as one number: the duplicate check keeps this, not the message."""
    return hash(json.dumps(msg, sort_keys=True, ensure_ascii=False, default=str))


def _chat_messages(
    chat: dict[str, Any], raw_messages: Iterator[tuple[int, Any]], my_id: str | None,
    me: str | None, reader: _Reader, participant: str | None, n_chat: int,
) -> Iterator[Message]:  # fmt: skip
    """The messages of one chat (its header `chat`: id, name, type) as they stream in."""
    chat_id, shared_ids = _chat_id(chat)
    mark = "" if shared_ids else "export:"
    direct = isinstance(chat.get("type"), str) and chat["type"] in _DIRECT

    def where_of(n: int) -> str:
        return f"chats[{n_chat}].messages[{n}]" if n_chat >= 0 else f"messages[{n}]"

    # a message's id -> (its index, its fingerprint): a few dozen bytes a message
    first_at: dict[str, tuple[int, int]] = {}
    for n, msg in raw_messages:
        where = where_of(n)
        if not isinstance(msg, dict):
            raise ExportFormatError(f"{reader.path}: {where} is not an object")
        msg_id = msg.get("id")
        if msg_id in (None, ""):
            raise ExportFormatError(f"{reader.path}: {where} has no id")
        if isinstance(msg_id, bool) or not isinstance(msg_id, (int, str)):
            raise ExportFormatError(f"{reader.path}: {where}.id {msg_id!r} is not a message id")
        earlier = first_at.get(str(msg_id))
        print_ = _fingerprint(msg)
        if earlier is not None:
            if earlier[1] == print_:
                continue  # the same message written twice: one message
            # the store keys a message by its id: two different messages under one id
            # would silently become one, so the file is refused instead
            raise ExportFormatError(
                f"{reader.path}: {where_of(earlier[0])} and {where} are different messages with"
                f" the same id {msg_id!r}; Telegram numbers a chat's messages uniquely, so this"
                " file is not one export (two merged?): import each export on its own"
            )
        first_at[str(msg_id)] = (n, print_)
        sent = reader.when(msg, "date", where)
        if sent is None:
            raise ExportFormatError(f"{reader.path}: {where} has neither date_unixtime nor date")
        text = _text(msg.get("text"))
        content: str | None
        if msg.get("type") == "service":
            kind, media = "system", None
            content, meta = _service(msg)
        else:
            kind, content, media, meta = _kind(msg, text)
            for key in ("forwarded_from", "forwarded_from_id", "saved_from", "via_bot"):
                if isinstance(msg.get(key), str) and msg[key]:
                    meta[key] = msg[key]
            buttons = _buttons(msg.get("inline_bot_buttons"))
            if buttons:
                meta["buttons"] = buttons
        sender_id = msg.get("from_id") or msg.get("actor_id")
        sender_id = str(sender_id) if sender_id is not None else None
        outbound = (my_id is not None and sender_id == my_id) or (
            me is not None and msg.get("from") == me
        )
        sender_name = msg.get("from") or msg.get("actor")
        # a pin names its message in message_id; a reply into another chat names that chat
        reply = msg.get("message_id") if kind == "system" else msg.get("reply_to_message_id")
        reply_chat, reply_mark = chat_id, mark
        if kind != "system" and msg.get("reply_to_peer_id") is not None:
            other = _peer_chat(msg["reply_to_peer_id"])
            if other is not None and other != chat_id:
                reply_chat = other
                reply_mark = (
                    "export:" if other.startswith("-") and not other.startswith("-100") else ""
                )
                meta["reply_to_chat"] = other
        yield Message(
            platform="telegram",
            external_conversation_id=chat_id,
            participant_identifier=participant if direct else None,
            participant_name=str(chat["name"]) if direct and chat.get("name") else None,
            # a personal chat's id is the other party's user id (identity aliases)
            participant_ids={"telegram_user_id": chat_id} if direct and chat_id.isdigit() else None,
            conversation_type="direct" if direct else "group",
            id=f"{chat_id}:{mark}{msg_id}",
            direction="outbound" if outbound else "inbound",
            type=kind,
            content=content,
            media_url=media,
            sent_at=sent,
            edited_at=reader.when(msg, "edited", where),
            sender_name=str(sender_name) if sender_name else None,
            sender_identifier=sender_id,
            reply_to_id=f"{reply_chat}:{reply_mark}{reply}" if reply else None,
            metadata={**meta, **export_copy("second")} if mark else meta or None,
        )  # fmt: skip


#: what the walk of the document yields: ("info", personal_information), ("chat", n, header)
#: once a chat's object ends, ("messages", n, its messages) when its array begins
_Event = tuple[str, Any, Any]


def _walk(stream: JsonStream, read: str | None) -> Iterator[_Event]:
    """The export's parts as the document streams by. `read` says which messages to decode:
    "chats" (chats.list[]), "single" (the top-level messages) or None (none: a survey)."""
    if stream.kind() != "object":
        raise ExportFormatError(f"{stream.path}: not a Telegram export (expected a JSON object)")
    top: dict[str, Any] = {}
    for key in stream.members():
        if key == "personal_information":
            yield "info", stream.decode(), None
        elif key == "chats" and stream.kind() == "object":
            yield "has_chats", None, None
            for sub in stream.members():
                if sub != "list":
                    stream.skip()
                    continue
                if stream.kind() != "array":
                    raise ExportFormatError(f"{stream.path}: chats.list is not a list of chats")
                for n in stream.items():
                    if stream.kind() != "object":
                        raise ExportFormatError(f"{stream.path}: chats.list is not a list of chats")
                    yield from _chat(stream, n, read == "chats")
        elif key == "chats":
            raise ExportFormatError(f"{stream.path}: chats.list is not a list of chats")
        elif key == "messages":
            yield "has_messages", None, None
            yield from _messages(stream, -1, read == "single")
        elif stream.kind() == "scalar":
            top[key] = stream.decode()
        else:
            stream.skip()
    stream.end()
    yield "chat", -1, top


def _messages(stream: JsonStream, n_chat: int, read: bool) -> Iterator[_Event]:
    if stream.kind() != "array":
        raise ExportFormatError(f"{stream.path}: chats[{n_chat}].messages is not a list")
    if not read:
        stream.skip()
        return
    yield "messages", n_chat, ((n, stream.decode()) for n in stream.items())


def _chat(stream: JsonStream, n_chat: int, read: bool) -> Iterator[_Event]:
    header: dict[str, Any] = {}
    for key in stream.members():
        if key == "messages":
            yield from _messages(stream, n_chat, read)
        elif stream.kind() == "scalar":
            header[key] = stream.decode()
        else:
            stream.skip()
    yield "chat", n_chat, header


class TelegramExport(RereadSequence):
    """The messages of one Telegram Desktop export, read from the file on each iteration
    (JsonStream: one message object at a time, never the whole document).

    The constructor walks the file twice: once for its shape (who exported it, the chats'
    ids, names and types, which come beside the messages), once converting every message,
    so every refusal comes before an import writes anything and the count is known."""

    def __init__(self, path: Path, *, me: str | None, tz: str | None,
                 participant: str | None) -> None:  # fmt: skip
        self.path, self.me = path, me
        self.reader = _Reader(path, zone(tz))
        info: Any = {}
        headers: dict[int, dict[str, Any]] = {}
        seen: set[str] = set()
        with open_text(path) as text:
            for event, n, value in _walk(JsonStream(text, path), None):
                if event == "info":
                    info = n or {}
                elif event == "chat":
                    headers[n] = value
                else:
                    seen.add(event)
        if not isinstance(info, dict):
            raise ExportFormatError(f"{path}: personal_information is not an object")
        if "has_chats" in seen:
            self.single = False
            self.chats = [headers[n] for n in sorted(headers) if n >= 0]
        elif "has_messages" in seen:
            self.single, self.chats = True, [headers[-1]]
        else:
            raise ExportFormatError(f"{path}: not a Telegram export (no messages or chats.list)")
        for n, chat in enumerate(self.chats):
            _check_chat(chat, path, -1 if self.single else n)
        self.wanted = None
        if participant is not None:
            direct = [c for c in self.chats if c.get("type") in _DIRECT]
            if len(self.chats) != 1 or not direct:
                raise ExportFormatError(
                    f"{path}: --participant names the other party of one direct chat; this"
                    f" export holds {len(self.chats)} chat(s), {len(direct)} of them direct"
                )
            self.wanted = participant_of(participant)
        self.my_id = f"user{info['user_id']}" if "user_id" in info else None
        name = " ".join(str(x) for x in (info.get("first_name"), info.get("last_name")) if x)
        self.account_name = name or me
        account = info.get("phone_number") or info.get("username") or (self.my_id or None)
        self.account = str(account) if account else None
        self.total = sum(1 for _ in self)

    def __iter__(self) -> Iterator[Message]:
        with open_text(self.path) as text:
            walk = _walk(JsonStream(text, self.path), "single" if self.single else "chats")
            for event, n, value in walk:
                if event != "messages":
                    continue
                chat = self.chats[max(n, 0)]
                yield from _chat_messages(
                    chat, value, self.my_id, self.me, self.reader, self.wanted, n
                )


@readable
def parse_telegram(
    path: Path,
    *,
    me: str | None = None,
    tz: str | None = None,
    participant: str | None = None,
    **_: Any,
) -> ParsedChat:
    """A Telegram Desktop JSON export, streamed (TelegramExport). `tz` reads exports without
    `date_unixtime`; `participant` (a username or an international phone) names the other
    party of the export's one direct chat, so it links to the person."""
    export = TelegramExport(Path(path), me=me, tz=tz, participant=participant)
    return ParsedChat(
        "telegram", export,
        account_identifier=export.account, account_name=export.account_name,
    )  # fmt: skip
