"""WeChatMsg / MemoTrace CSV exports (UTF-8 with BOM): localId, TalkerId, Type, ...

One CSV is one conversation unless it says otherwise: `StrTalker` names the chat where the
export has it; a `TalkerId` that is a WeChat id (`wxid_…`, `…@chatroom`) names it too, but
WeChatMsg's own exporter writes a numeric table index there that changes between backups, so
then the file's name names the conversation. Message ids are `conversation:MsgSvrID` (the
server's id, the same in every export) where present, else a hash of the message's time,
side, type and text with a counter for identical repeats (never localId, which is a row
number of one backup).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..models import Message
from . import ExportFormatError, ParsedChat, participant_of, read_text, readable, stable_id

TYPES = {1: "text", 3: "image", 34: "voice", 42: "contact", 43: "video", 47: "sticker",
         48: "location", 49: "document", 50: "system", 10000: "system"}  # fmt: skip
REQUIRED = {"Type", "IsSender", "CreateTime"}
_TEXT_TYPES = ("text", "system", "location", "document")


def _conversation(rows: list[dict[str, Any]], path: Path) -> tuple[str | None, bool]:
    """(the conversation id the file's rows share or None when rows name their own, whether
    it is a real WeChat id)."""
    talkers = {(r.get("TalkerId") or "").strip() for r in rows} - {""}
    if len(talkers) == 1:
        (talker,) = talkers
        if not re.fullmatch(r"[0-9]+", talker):
            return talker, True
    return path.stem, False


@readable
def parse_wechat(path: Path, *, participant: str | None = None, **_: Any) -> ParsedChat:
    """One chat's CSV. `participant` (the other party's WeChat id) links a direct chat whose
    CSV does not name it."""
    path = Path(path)
    try:
        reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
        fields = set(reader.fieldnames or [])
        rows = list(reader)
    except csv.Error as exc:
        raise ExportFormatError(f"{path}: not a CSV file ({exc})") from None
    missing = REQUIRED - fields
    if "localId" not in fields and "MsgSvrID" not in fields:
        missing.add("localId or MsgSvrID")
    if missing:
        raise ExportFormatError(
            f"{path}: not a WeChatMsg CSV (missing columns {', '.join(sorted(missing))})"
        )
    file_conv, real_id = _conversation(rows, path)
    wanted = participant_of(participant) if participant else None
    seen: dict[tuple[Any, ...], int] = {}
    parsed: list[tuple[str, dict[str, Any], int, datetime, bool]] = []
    for n, row in enumerate(rows, 2):
        if None in row:
            raise ExportFormatError(f"{path}:{n}: more values than the header has columns")
        try:
            code = int(row["Type"] or "")
            sent = datetime.fromtimestamp(int(row["CreateTime"] or ""), tz=timezone.utc)
        except (TypeError, ValueError, OverflowError, OSError):
            raise ExportFormatError(
                f"{path}:{n}: Type and CreateTime must be numbers (a Unix time)"
            ) from None
        conv = (row.get("StrTalker") or "").strip() or file_conv or path.stem
        parsed.append((conv, row, code, sent, (row.get("IsSender") or "").strip() == "1"))
    # a chat is a group when WeChat says so or when more than one other person writes in it
    senders: dict[str, set[str]] = {}
    for conv, row, _code, _sent, outbound in parsed:
        if not outbound and (row.get("Sender") or "").strip():
            senders.setdefault(conv, set()).add(row["Sender"].strip())
    if wanted and any(c.endswith("@chatroom") or len(senders.get(c, ())) > 1 for c in senders):
        raise ExportFormatError(
            f"{path}: --participant names the other party of a direct chat; this is a group"
        )
    messages: list[Message] = []
    for conv, row, code, sent, outbound in parsed:
        group = conv.endswith("@chatroom") or len(senders.get(conv, ())) > 1
        named = conv != file_conv or real_id
        kind = TYPES.get(code, "other")
        content = row.get("StrContent") or None
        meta: dict[str, Any] = {"wechat_type": code, "wechat_subtype": row.get("SubType")}
        if kind == "system" and content and ("撤回" in content or "recalled" in content):
            meta["recalled"] = True
        server_id = (row.get("MsgSvrID") or "").strip()
        if server_id and server_id != "0":
            msg_id = f"{conv}:{server_id}"
        else:
            key = (conv, row["CreateTime"], outbound, code, content, row.get("Sender"))
            seen[key] = repeat = seen.get(key, 0) + 1
            msg_id = stable_id("wc_", *key, repeat)
        messages.append(Message(
            platform="wechat",
            external_conversation_id=conv,
            participant_identifier=None if group else (wanted or (conv if named else None)),
            participant_name=None if group else (row.get("Remark") or row.get("NickName") or None),
            conversation_type="group" if group else "direct",
            id=msg_id,
            direction="outbound" if outbound else "inbound",
            type=kind,
            content=content if kind in _TEXT_TYPES else None,
            sent_at=sent,
            sender_name=row.get("Sender") or None,
            metadata=meta,
        ))  # fmt: skip
    # the exporting account: the name its own messages (IsSender = 1) carry, so an import
    # records a connection like the other platforms' imports do
    mine = next(
        (m.sender_name for m in messages if m.direction == "outbound" and m.sender_name), None
    )
    return ParsedChat("wechat", messages, account_name=mine)
