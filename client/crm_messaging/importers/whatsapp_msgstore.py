"""WhatsApp for Android's message database: a decrypted `msgstore.db`.

The phone keeps every chat in SQLite (the schema WhatsApp has used since 2022: `message`,
`chat`, `jid`, with `message_media`, `message_quoted`, `message_location`, `message_system`
and, where LIDs are in use, `jid_map` beside them). Backups are encrypted (`.crypt14`,
`.crypt15`): decrypt one first (with the account's key, as WhatsApp-Chat-Exporter or
wa-crypt-tools do); this module only reads the plain database, opened read-only.

Unlike the "Export chat" text, the database has exact times (milliseconds, UTC) and the
platform's own message key: (chat, from_me, key_id), the id the sender's phone gave the
message. A Cloud API `wamid` is that same key, serialized (a small Thrift compact struct:
the chat's wa_id, a flag, from_me, key_id) and base64-encoded; so a direct chat's message
gets as id the wamid the Cloud API gives it (`wamid_of`), and an import of the business
phone's database (Business app with the Cloud API, coexistence) meets the live copies by id.
Group messages get `key:<sender>:<key_id>` (the Cloud API's group wamids were not checked).
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..models import Message
from . import ExportFormatError, ParsedChat, invalid_message, limits

#: message.message_type values (WhatsApp for Android)
_TYPES = {
    0: "text", 1: "image", 2: "audio", 3: "video", 4: "contact", 5: "location", 9: "document",
    13: "video", 16: "location", 20: "sticker",
}  # fmt: skip
_DELETED = 15
_SYSTEM_TYPE = 7
_METADATA_STATUS = 6
#: message_system.action_type, as a short notice
_NOTICES = {
    1: "changed the group name", 4: "was added", 5: "left", 6: "changed the group icon",
    7: "removed you", 11: "created the group", 12: "added someone", 14: "removed someone",
    20: "joined using an invite link",
}  # fmt: skip
_SQLITE_MAGIC = b"SQLite format 3\x00"


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def wamid_of(wa_id: str, from_me: bool, key_id: str) -> str:
    """The Cloud API id of a direct chat's message: the key (chat, from_me, key_id) as the
    Cloud API serializes it. Field 1 is a struct (the wa_id as a string, then the integer
    1), field 2 the from_me flag (a compact-protocol boolean: 1 true, 2 false), field 3 the
    key id; then the stop byte."""
    user, key = wa_id.encode(), key_id.encode()
    raw = (
        b"\x1c\x18" + _varint(len(user)) + user + b"\x15\x02\x00"
        + (b"\x11" if from_me else b"\x12")
        + b"\x18" + _varint(len(key)) + key + b"\x00"
    )  # fmt: skip
    return "wamid." + base64.b64encode(raw).decode()


def key_of_wamid(wamid: str) -> tuple[str, bool, str] | None:
    """(wa_id, from_me, key_id) of a Cloud API wamid of that shape; None for another shape."""
    try:
        raw = base64.b64decode(wamid.removeprefix("wamid."), validate=True)
    except ValueError:
        return None
    if raw[:2] != b"\x1c\x18" or len(raw) < 4:
        return None
    n = raw[2]
    user, rest = raw[3 : 3 + n], raw[3 + n :]
    if (
        rest[:3] != b"\x15\x02\x00"
        or len(rest) < 6
        or rest[3] not in (0x11, 0x12)
        or rest[4] != 0x18
    ):
        return None
    k = rest[5]
    key = rest[6 : 6 + k]
    if rest[6 + k :] != b"\x00":
        return None
    return user.decode(), rest[3] == 0x11, key.decode()


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in db.execute(f"pragma table_info({table})")}


def _query(db: sqlite3.Connection) -> str:
    tables = {str(r[0]) for r in db.execute("select name from sqlite_master where type = 'table'")}
    if "message" not in tables or "chat" not in tables or "jid" not in tables:
        if "messages" in tables:
            raise ExportFormatError(
                "an older msgstore.db (a `messages` table, before 2022): open it in a current"
                " WhatsApp once, or export the chats as text"
            )
        raise ExportFormatError("not a WhatsApp msgstore.db (no message, chat and jid tables)")
    mapped = "jid_map" in tables and {"lid_row_id", "jid_row_id"} <= _columns(db, "jid_map")

    def jid(alias: str, row: str) -> tuple[str, str]:
        if not mapped:
            return f"left join jid {alias} on {alias}._id = {row}", f"{alias}.raw_string"
        return (
            f"left join jid_map {alias}_m on {alias}_m.lid_row_id = {row}"
            f" left join jid {alias}_p on {alias}_p._id = {alias}_m.jid_row_id"
            f" left join jid {alias} on {alias}._id = {row}",
            f"coalesce({alias}_p.raw_string, {alias}.raw_string)",
        )

    chat_join, chat_jid = jid("cj", "c.jid_row_id")
    sender_join, sender_jid = jid("sj", "m.sender_jid_row_id")
    optional = []
    joins = [chat_join, sender_join]
    if "message_media" in tables:
        optional += ["mm.file_path as media_path", "mm.mime_type as mime_type"]
        joins.append("left join message_media mm on mm.message_row_id = m._id")
    if "message_quoted" in tables and {"key_id", "from_me"} <= _columns(db, "message_quoted"):
        optional += ["q.key_id as quoted_key", "q.from_me as quoted_from_me"]
        joins.append("left join message_quoted q on q.message_row_id = m._id")
    if "message_location" in tables:
        optional += ["ml.latitude as latitude", "ml.longitude as longitude"]
        joins.append("left join message_location ml on ml.message_row_id = m._id")
    if "message_system" in tables:
        optional += ["ms.action_type as action_type"]
        joins.append("left join message_system ms on ms.message_row_id = m._id")
    cols = ", ".join(["", *optional]) if optional else ""
    return (
        f"select m._id as row_id, m.key_id, m.from_me, m.timestamp, m.text_data, m.message_type,"
        f" m.status, {chat_jid} as chat_jid, c.subject, {sender_jid} as sender_jid{cols}"
        f" from message m join chat c on c._id = m.chat_row_id {' '.join(joins)}"
        f" where m.key_id is not null and m.timestamp > 0"
        f" order by m.timestamp, m._id"
    )


def _phone(jid: str | None) -> str | None:
    """+<digits> of a phone jid (`34612345678@s.whatsapp.net`), else None."""
    if not jid or not jid.endswith("@s.whatsapp.net"):
        return None
    user = jid.split("@", 1)[0].split(":", 1)[0]
    return f"+{user}" if user.isdigit() else None


def _message(row: sqlite3.Row, me: str | None) -> Message | None:
    chat = str(row["chat_jid"] or "")
    if chat.endswith("@broadcast") or chat.endswith("@newsletter") or not chat:
        return None  # status updates, broadcast lists, channels: not conversations
    group = chat.endswith("@g.us")
    peer = _phone(chat)
    conv = f"group:{row['subject'] or chat.split('@', 1)[0]}" if group else (peer or chat)
    from_me = bool(row["from_me"])
    keys = row.keys()
    kind_code = row["message_type"]
    meta: dict[str, Any] = {"key_id": row["key_id"]}
    content = row["text_data"]
    media = None
    action = row["action_type"] if "action_type" in keys else None
    if kind_code == _SYSTEM_TYPE or row["status"] == _METADATA_STATUS or action is not None:
        kind = "system"
        who = "You" if from_me else (_phone(row["sender_jid"]) or "Someone")
        content = f"{who} {_NOTICES.get(action or -1, 'changed the chat')}"
    elif kind_code == _DELETED:
        kind, content = "text", "This message was deleted"
        meta["deleted"] = True
    else:
        kind = _TYPES.get(kind_code, "other")
        if kind == "other":
            meta["whatsapp_type"] = kind_code
        if "media_path" in keys and row["media_path"]:
            media = str(row["media_path"])
        if "mime_type" in keys and row["mime_type"]:
            meta["mime_type"] = row["mime_type"]
        if kind == "location" and "latitude" in keys and row["latitude"] is not None:
            content = f"{row['latitude']},{row['longitude']}"
    sender = None if from_me else (_phone(row["sender_jid"]) if group else peer)
    if group:
        mid = f"key:{sender or ('me' if from_me else '?')}:{row['key_id']}"
    elif peer:
        mid = wamid_of(peer[1:], from_me, str(row["key_id"]))
    else:
        mid = f"key:{chat}:{int(from_me)}:{row['key_id']}"
    reply = None
    if "quoted_key" in keys and row["quoted_key"]:
        if peer and not group:
            reply = wamid_of(peer[1:], bool(row["quoted_from_me"]), str(row["quoted_key"]))
        else:
            reply = f"key:{row['quoted_key']}"
    return Message(
        platform="whatsapp",
        external_conversation_id=conv,
        participant_identifier=None if group else peer,
        participant_name=row["subject"] if group else None,
        conversation_type="group" if group else "direct",
        id=mid,
        direction="outbound" if from_me else "inbound",
        type=kind,
        content=content or None,
        media_url=media,
        sent_at=datetime.fromtimestamp(int(row["timestamp"]) / 1000, tz=timezone.utc),
        sender_identifier=sender,
        sender_name=me if from_me else None,
        reply_to_id=reply,
        metadata=meta,
    )


class MsgstoreDatabase:
    """The messages of a msgstore.db, read from the database on each iteration (never all
    at once, like WhatsAppExport): the constructor reads it once to check every row and
    count the messages, iterating reads it again."""

    def __init__(self, path: Path, me: str | None) -> None:
        self.path, self.me = Path(path), me
        if not is_sqlite(self.path):
            raise ExportFormatError(
                f"{self.path}: not a plain SQLite database (an encrypted .crypt14/.crypt15"
                " backup must be decrypted first)"
            )
        self.count = sum(1 for _ in self)
        if not self.count:
            raise ExportFormatError(f"{self.path}: no WhatsApp messages found")

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Message]:
        # read-only, each value, SQLite's memory and the steps bounded (limits.connect_sqlite)
        db = limits.connect_sqlite(self.path)
        db.row_factory = sqlite3.Row
        try:
            limits.refuse_computed(self.path, db, limits.MSGSTORE_TABLES)
            for row in db.execute(_query(db)):
                try:
                    m = _message(row, self.me)
                except ValidationError as exc:
                    raise invalid_message(
                        f"{self.path} (message row {row['row_id']})", exc
                    ) from None
                if m is not None:
                    yield m
        except sqlite3.Error as exc:
            raise limits.sqlite_refusal(self.path, exc) from None
        finally:
            db.close()


def parse_msgstore(path: Path, *, me: str | None = None, **_: Any) -> ParsedChat:
    """Every chat of a decrypted msgstore.db (read-only), streamed. `me` names the phone's
    owner on their own messages. The times are exact: no --tz is needed."""
    return ParsedChat("whatsapp", MsgstoreDatabase(Path(path), me), account_name=me)  # type: ignore[arg-type]
