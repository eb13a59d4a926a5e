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

from ..contract import contract
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
#: the longest text read from any column: the contract's content limit (a longer value is
#: refused, naming its message, never loaded whole)
_CAP = contract().max_length("content") or 65536
#: message_forwarded.forward_score from which WhatsApp says "Forwarded many times"
_FREQUENTLY_FORWARDED = 5
#: call_log.call_result of a call that was connected (its duration is the talk time)
_CALL_CONNECTED = 5


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


def _tables(db: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in db.execute("select name from sqlite_master where type = 'table'")}


def _capped(expr: str, alias: str, cap: int = _CAP) -> str:
    """A text column read at most cap + 1 characters long: a longer value is refused by
    `_text` without ever being loaded whole into Python."""
    return f"substr({expr}, 1, {cap + 1}) as {alias}"


def _jid(mapped: bool, alias: str, row: str) -> tuple[str, str]:
    """The join of a jid row (through jid_map to its phone jid where a LID has one) and the
    capped expression of its raw string."""
    if not mapped:
        return f"left join jid {alias} on {alias}._id = {row}", _capped(
            f"{alias}.raw_string", alias
        )
    return (
        f"left join jid_map {alias}_m on {alias}_m.lid_row_id = {row}"
        f" left join jid {alias}_p on {alias}_p._id = {alias}_m.jid_row_id"
        f" left join jid {alias} on {alias}._id = {row}",
        _capped(f"coalesce({alias}_p.raw_string, {alias}.raw_string)", alias),
    )


def _is_mapped(db: sqlite3.Connection, tables: set[str]) -> bool:
    return "jid_map" in tables and {"lid_row_id", "jid_row_id"} <= _columns(db, "jid_map")


def _query(db: sqlite3.Connection) -> str:
    """The messages, one row each, with their 1:1 side tables (media, quote, place, notice,
    edit, forward) as left joins on the side table's message row id."""
    tables = _tables(db)
    if "message" not in tables or "chat" not in tables or "jid" not in tables:
        if "messages" in tables:
            raise ExportFormatError(
                "an older msgstore.db (a `messages` table, before 2022): open it in a current"
                " WhatsApp once, or export the chats as text"
            )
        raise ExportFormatError("not a WhatsApp msgstore.db (no message, chat and jid tables)")
    mapped = _is_mapped(db, tables)
    chat_join, chat_jid = _jid(mapped, "cj", "c.jid_row_id")
    sender_join, sender_jid = _jid(mapped, "sj", "m.sender_jid_row_id")
    # the chat's own jid too: a LID (123@lid) mapped to a phone is an alias of the chat
    optional = [chat_jid, sender_jid, _capped("cj.raw_string", "cj_raw")]
    joins = [chat_join, sender_join]
    if "message_media" in tables:
        optional += [_capped("mm.file_path", "media_path"), _capped("mm.mime_type", "mime_type")]
        joins.append("left join message_media mm on mm.message_row_id = m._id")
    if "message_quoted" in tables and {"key_id", "from_me"} <= _columns(db, "message_quoted"):
        optional += [_capped("q.key_id", "quoted_key"), "q.from_me as quoted_from_me"]
        joins.append("left join message_quoted q on q.message_row_id = m._id")
        if "sender_jid_row_id" in _columns(db, "message_quoted"):
            quoted_join, quoted_jid = _jid(mapped, "qj", "q.sender_jid_row_id")
            optional.append(quoted_jid)
            joins.append(quoted_join)
    if "message_location" in tables:
        optional += ["ml.latitude as latitude", "ml.longitude as longitude"]
        if {"place_name", "place_address"} <= _columns(db, "message_location"):
            optional += [_capped("ml.place_name", "place_name"),
                         _capped("ml.place_address", "place_address")]  # fmt: skip
        joins.append("left join message_location ml on ml.message_row_id = m._id")
    if "message_system" in tables:
        optional += ["ms.action_type as action_type"]
        joins.append("left join message_system ms on ms.message_row_id = m._id")
    if "message_edit_info" in tables and "edited_timestamp" in _columns(db, "message_edit_info"):
        optional += ["me.edited_timestamp as edited_timestamp"]
        joins.append("left join message_edit_info me on me.message_row_id = m._id")
    if "message_forwarded" in tables and "forward_score" in _columns(db, "message_forwarded"):
        optional += ["mf.forward_score as forward_score"]
        joins.append("left join message_forwarded mf on mf.message_row_id = m._id")
    return (
        f"select m._id as row_id, {_capped('m.key_id', 'key_id', 256)}, m.from_me, m.timestamp,"
        f" {_capped('m.text_data', 'text_data')}, m.message_type, m.status,"
        f" {_capped('c.subject', 'subject')}, {', '.join(optional)}"
        f" from message m join chat c on c._id = m.chat_row_id {' '.join(joins)}"
        f" where m.key_id is not null and m.timestamp > 0"
        f" order by m.timestamp, m._id"
    )


def _reactions_query(db: sqlite3.Connection) -> str | None:
    """Each reaction (message_add_on of a message_add_on_reaction) with its message's row id,
    who reacted and when; None where the database has no reactions tables."""
    tables = _tables(db)
    if not {"message_add_on", "message_add_on_reaction"} <= tables:
        return None
    needed = {"_id", "parent_message_row_id", "from_me", "sender_jid_row_id"}
    if not needed <= _columns(db, "message_add_on") or not {
        "message_add_on_row_id", "reaction"} <= _columns(db, "message_add_on_reaction"):  # fmt: skip
        return None
    at = (
        "r.sender_timestamp"
        if "sender_timestamp" in _columns(db, "message_add_on_reaction")
        else "a.timestamp"
    )
    mapped = _is_mapped(db, tables)
    join, jid = _jid(mapped, "rj", "a.sender_jid_row_id")
    chat_join, chat_jid = _jid(mapped, "rc", "c.jid_row_id")
    return (
        f"select a.parent_message_row_id as parent, a.from_me, {jid}, {chat_jid}, {at} as at,"
        f" {_capped('r.reaction', 'reaction', 64)}"
        f" from message_add_on a join message_add_on_reaction r on r.message_add_on_row_id = a._id"
        f" left join chat c on c._id = a.chat_row_id {join} {chat_join} order by {at}, a._id"
    )


def _calls_query(db: sqlite3.Connection) -> str | None:
    """The calls of call_log with the chat's jid; None without a call_log."""
    tables = _tables(db)
    needed = {
        "jid_row_id",
        "from_me",
        "call_id",
        "timestamp",
        "video_call",
        "duration",
        "call_result",
    }
    if "call_log" not in tables or not needed <= _columns(db, "call_log"):
        return None
    join, jid = _jid(_is_mapped(db, tables), "cl", "k.jid_row_id")
    return (
        f"select k._id as row_id, k.from_me, {_capped('k.call_id', 'call_id', 128)}, k.timestamp,"
        f" k.video_call, k.duration, k.call_result, {jid}"
        f" from call_log k {join} where k.timestamp > 0 order by k.timestamp, k._id"
    )


def _phone(jid: str | None) -> str | None:
    """+<digits> of a phone jid (`34612345678@s.whatsapp.net`), else None."""
    if not jid or not jid.endswith("@s.whatsapp.net"):
        return None
    user = jid.split("@", 1)[0].split(":", 1)[0]
    return f"+{user}" if user.isdigit() else None


def _peer_ids(peer: str | None, raw_jid: str | None) -> dict[str, str] | None:
    """A direct chat's participant_ids: its phone and, where the chat is a LID
    (`123456789012345@lid`, mapped to a phone by jid_map or not), the LID's digits."""
    ids: dict[str, str] = {}
    if peer:
        ids["phone"] = peer
    if raw_jid and raw_jid.endswith("@lid"):
        lid = raw_jid.split("@", 1)[0].split(":", 1)[0]
        if lid.isdigit() and len(lid) <= 24:
            ids["whatsapp_lid"] = lid
    return ids or None


def _text(row: sqlite3.Row, column: str, cap: int = _CAP) -> str | None:
    """A capped column's value; longer than any real message is refused, naming it."""
    names = row.keys()  # sqlite3.Row: `in row` would look among the values
    value = row[column] if column in names else None
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = str(value)
    if len(value) > cap:
        raise ExportFormatError(
            f"{column} of message row {row['row_id'] if 'row_id' in names else '?'}"
            f" is longer than {cap} characters: not a message WhatsApp writes"
        )
    return value


def _utc(ms: object) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc)  # type: ignore[call-overload]


def _key(jid: str | None, from_me: bool) -> str:
    """Who a group message's key names: `me`, the sender's +phone, or `?` (an unmapped LID)."""
    return "me" if from_me else (_phone(jid) or "?")


def _place(row: sqlite3.Row, meta: dict[str, Any]) -> str | None:
    """A location as the live path writes one: its place's name and address, else lat,lon."""
    keys = row.keys()
    if "latitude" not in keys or row["latitude"] is None:
        return None
    meta["latitude"], meta["longitude"] = row["latitude"], row["longitude"]
    label = ", ".join(x for x in (_text(row, "place_name"), _text(row, "place_address")) if x)
    return label or f"{row['latitude']},{row['longitude']}"


def _message(
    row: sqlite3.Row, me: str | None, reactions: dict[int, dict[str, Any]] | None = None
) -> Message | None:
    chat = _text(row, "cj") or ""
    if chat.endswith("@broadcast") or chat.endswith("@newsletter") or not chat:
        return None  # status updates, broadcast lists, channels: not conversations
    group = chat.endswith("@g.us")
    peer = _phone(chat)
    subject = _text(row, "subject")
    conv = f"group:{subject or chat.split('@', 1)[0]}" if group else (peer or chat)
    from_me = bool(row["from_me"])
    keys = row.keys()
    kind_code = row["message_type"]
    key_id = _text(row, "key_id", 256)
    meta: dict[str, Any] = {"key_id": key_id}
    content = _text(row, "text_data")
    media = None
    action = row["action_type"] if "action_type" in keys else None
    sender_jid = _text(row, "sj")
    if kind_code == _SYSTEM_TYPE or row["status"] == _METADATA_STATUS or action is not None:
        kind = "system"
        who = "You" if from_me else (_phone(sender_jid) or "Someone")
        content = f"{who} {_NOTICES.get(action or -1, 'changed the chat')}"
    elif kind_code == _DELETED:
        # as the phone shows it: the owner's own deletions say so
        kind = "text"
        content = "You deleted this message" if from_me else "This message was deleted"
        meta["deleted"] = True
    else:
        kind = _TYPES.get(kind_code, "other")
        if kind == "other":
            meta["whatsapp_type"] = kind_code
        media = _text(row, "media_path", 2048)
        mime = _text(row, "mime_type", 256)
        if mime:
            meta["mime_type"] = mime
        if kind == "location":
            content = _place(row, meta) or content
    score = row["forward_score"] if "forward_score" in keys else None
    if score:  # the Cloud API's context.forwarded / frequently_forwarded
        meta["forwarded"] = True
        if int(score) >= _FREQUENTLY_FORWARDED:
            meta["frequently_forwarded"] = True
    sent_at = _utc(row["timestamp"])
    edited = row["edited_timestamp"] if "edited_timestamp" in keys else None
    edited_at = max(_utc(edited), sent_at) if edited and kind != "system" else None
    if reactions and row["row_id"] in reactions:
        meta["reactions"] = reactions[row["row_id"]]
    sender = None if from_me else (_phone(sender_jid) if group else peer)
    if group:
        mid = f"key:{_key(sender_jid, from_me)}:{key_id}"
    elif peer:
        mid = wamid_of(peer[1:], from_me, str(key_id))
    else:
        mid = f"key:{chat}:{int(from_me)}:{key_id}"
    reply = None
    quoted = _text(row, "quoted_key", 256)
    if quoted:
        quoted_from_me = bool(row["quoted_from_me"])
        if peer and not group:
            reply = wamid_of(peer[1:], quoted_from_me, quoted)
        elif group:  # the quoted message's own id: its sender's key
            reply = f"key:{_key(_text(row, 'qj'), quoted_from_me)}:{quoted}"
        else:
            reply = f"key:{chat}:{int(quoted_from_me)}:{quoted}"
    return Message(
        platform="whatsapp",
        external_conversation_id=conv,
        participant_identifier=None if group else peer,
        participant_ids=None if group else _peer_ids(peer, _text(row, "cj_raw")),
        participant_name=subject if group else None,
        conversation_type="group" if group else "direct",
        id=mid,
        direction="outbound" if from_me else "inbound",
        type=kind,
        content=content or None,
        media_url=media,
        sent_at=sent_at,
        edited_at=edited_at,
        sender_identifier=sender,
        sender_name=me if from_me else None,
        reply_to_id=reply,
        metadata=meta,
    )


def _reactions(db: sqlite3.Connection) -> dict[int, dict[str, Any]]:
    """{message row id: {reactor: {emoji, at}}}, the shape the live path's reaction updates
    leave in metadata.reactions: the reactor a +phone (`me` for the phone's owner), the
    newest reaction of each reactor kept, a removed one (empty) dropped."""
    query = _reactions_query(db)
    out: dict[int, dict[str, Any]] = {}
    if query is None:
        return out
    for row in db.execute(query):
        # in a direct chat the peer's reactions name no sender: the chat is the peer
        chat = _text(row, "rc") or ""
        who = _text(row, "rj") or ("" if chat.endswith("@g.us") else chat)
        reactor = "me" if row["from_me"] else _phone(who)
        if reactor is None or row["parent"] is None:
            continue
        emoji = _text(row, "reaction", 64)
        given = out.setdefault(int(row["parent"]), {})
        if not emoji:
            given.pop(reactor, None)
            continue
        at = _utc(row["at"]).isoformat() if row["at"] and int(row["at"]) > 0 else None
        given[reactor] = {"emoji": emoji, "at": at}
    return {k: v for k, v in out.items() if v}


def _call(row: sqlite3.Row, me: str | None) -> Message | None:
    """A call of call_log as a message of its chat: `other` with whatsapp_type `call`, as
    the live path keeps a type it does not map; the line the phone shows as content."""
    chat = _text(row, "cl") or ""
    peer = _phone(chat)
    if peer is None:
        return None  # group calls and calls of unmapped LIDs: no conversation to put them in
    from_me = bool(row["from_me"])
    video = bool(row["video_call"])
    what = "video call" if video else "voice call"
    result = row["call_result"]
    duration = int(row["duration"] or 0)
    answered = result == _CALL_CONNECTED
    if answered:
        content = f"{what.capitalize()} ({duration // 60}:{duration % 60:02d})"
    elif from_me:
        content = f"{what.capitalize()}, not answered"
    else:
        content = f"Missed {what}"
    call_id = _text(row, "call_id", 128) or str(row["row_id"])
    return Message(
        platform="whatsapp",
        external_conversation_id=peer,
        participant_identifier=peer,
        conversation_type="direct",
        id=f"call:{call_id}",
        direction="outbound" if from_me else "inbound",
        type="other",
        content=content,
        sent_at=_utc(row["timestamp"]),
        sender_identifier=None if from_me else peer,
        sender_name=me if from_me else None,
        metadata={
            "whatsapp_type": "call",
            # the call shape of the text export's call lines (docs/contract.md), with what
            # call_log knows beside it
            "call": {
                "media": "video" if video else "voice",
                "missed": not answered and not from_me,
                "answered": answered,
                "duration_seconds": duration,
            },
            "call_result": result,
        },
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
        where = f"{self.path} (message row ?)"
        try:
            limits.refuse_computed(self.path, db, limits.MSGSTORE_TABLES)
            reactions = _reactions(db)
            for row in db.execute(_query(db)):
                where = f"{self.path} (message row {row['row_id']})"
                m = _message(row, self.me, reactions)
                if m is not None:
                    yield m
            calls = _calls_query(db)
            for row in db.execute(calls) if calls else ():
                where = f"{self.path} (call_log row {row['row_id']})"
                m = _call(row, self.me)
                if m is not None:
                    yield m
        except ValidationError as exc:
            raise invalid_message(where, exc) from None
        except ExportFormatError as exc:
            raise ExportFormatError(f"{self.path}: {exc}") from None
        except sqlite3.Error as exc:
            raise limits.sqlite_refusal(self.path, exc) from None
        finally:
            db.close()


def parse_msgstore(path: Path, *, me: str | None = None, **_: Any) -> ParsedChat:
    """Every chat of a decrypted msgstore.db (read-only), streamed. `me` names the phone's
    owner on their own messages. The times are exact: no --tz is needed."""
    return ParsedChat(
        "whatsapp",
        MsgstoreDatabase(Path(path), me),  # type: ignore[arg-type]
        account_name=me,
        source="msgstore",
    )
