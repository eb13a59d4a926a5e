"""WeChatMsg / MemoTrace CSV exports (UTF-8 with BOM): localId, TalkerId, Type, ...; and the
PyWxDump CSV/JSON and chatlog JSON exports (wechat_dumps).

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
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..models import Message
from . import (
    ExportFormatError,
    ParsedChat,
    participant_of,
    read_text,
    readable,
    stable_id,
    wechat_dumps,
    zone,
)  # fmt: skip

TYPES = {1: "text", 3: "image", 34: "voice", 42: "contact", 43: "video", 47: "sticker",
         48: "location", 49: "document", 50: "system", 10000: "system"}  # fmt: skip
REQUIRED = {"Type", "IsSender", "CreateTime"}
_TEXT_TYPES = ("text", "system", "location", "document")
#: later MemoTrace releases: `消息ID,类型,发送人,时间,内容,备注,昵称,更多信息`, mapped onto
#: the columns above (`时间` is a local time, `发送人` a display name, `我` or `--me` for you)
MEMOTRACE_COLUMNS = {"消息ID": "MsgSvrID", "类型": "Type", "发送人": "Sender", "时间": "CreateTime",
                     "内容": "StrContent", "备注": "Remark", "昵称": "NickName"}  # fmt: skip
_MEMOTRACE_REQUIRED = {"类型", "发送人", "时间"}
#: the type names those releases write instead of WeChat's numeric codes
_TYPE_NAMES = {"文本": 1, "图片": 3, "语音": 34, "名片": 42, "视频": 43, "表情包": 47,
               "动画表情": 47, "位置": 48, "文件": 49, "链接": 49, "分享": 49, "引用": 49,
               "引用消息": 49, "小程序": 49, "系统消息": 10000, "系统通知": 10000,
               "撤回消息": 10000, "拍一拍": 10000}  # fmt: skip
_ME = "我"


def _memotrace_rows(
    path: Path, rows: list[dict[str, Any]], me: str | None, tz: str | None
) -> list[dict[str, Any]]:
    """The rows of the newer MemoTrace header as rows of the classic one."""
    zone_info = zone(tz)
    senders = {(r.get("发送人") or "").strip() for r in rows} - {""}
    if me is None and _ME not in senders and senders:
        raise ExportFormatError(
            f"{path}: say which sender is you with --me (senders: {', '.join(sorted(senders)[:8])})"
        )
    out: list[dict[str, Any]] = []
    for n, row in enumerate(rows, 2):
        if None in row:
            raise ExportFormatError(f"{path}:{n}: more values than the header has columns")
        new = {old: row.get(name) for name, old in MEMOTRACE_COLUMNS.items()}
        kind = (row.get("类型") or "").strip()
        new["Type"] = kind if kind.lstrip("-").isdigit() else str(_TYPE_NAMES.get(kind, -1))
        sender = (row.get("发送人") or "").strip()
        mine = sender == _ME or (
            me is not None and me in (sender, row.get("备注"), row.get("昵称"))
        )
        new["IsSender"] = "1" if mine else "0"
        if new["Type"] == "10000" and not sender:
            new["Sender"] = None
        when = (row.get("时间") or "").strip()
        if not when.isdigit():
            if zone_info is None:
                raise ExportFormatError(
                    f"{path}:{n}: 时间 {when!r} is a local time: pass --tz (like Asia/Shanghai)"
                )
            try:
                local = datetime.fromisoformat(when.replace("/", "-"))
            except ValueError:
                raise ExportFormatError(
                    f"{path}:{n}: 时间 {when!r} is not a date and time"
                ) from None
            when = str(int(local.replace(tzinfo=zone_info).timestamp()))
        new["CreateTime"] = when
        out.append(new)
    return out


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
def parse_wechat(
    path: Path, *, participant: str | None = None, me: str | None = None,
    tz: str | None = None, **_: Any,
) -> ParsedChat:  # fmt: skip
    """One chat's CSV. `participant` (the other party's WeChat id) links a direct chat whose
    CSV does not name it; `me` and `tz` read the newer MemoTrace header (display names,
    local times)."""
    path = Path(path)
    text = read_text(path)
    wanted = participant_of(participant) if participant else None
    if text.lstrip()[:1] in ("[", "{"):
        return _json_export(path, text, wanted, tz)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        fields = set(reader.fieldnames or [])
        rows = list(reader)
    except csv.Error as exc:
        raise ExportFormatError(f"{path}: not a CSV file ({exc})") from None
    if fields >= wechat_dumps.PYWXDUMP_COLUMNS:
        return ParsedChat("wechat", wechat_dumps.pywxdump_messages(path, rows, zone(tz), wanted))
    if "消息ID" in fields or fields >= _MEMOTRACE_REQUIRED:
        absent = _MEMOTRACE_REQUIRED - fields
        if absent:
            raise ExportFormatError(
                f"{path}: not a MemoTrace CSV (missing columns {', '.join(sorted(absent))})"
            )
        rows = _memotrace_rows(path, rows, me, tz)
        fields = set(MEMOTRACE_COLUMNS.values()) | {"IsSender"}
    missing = REQUIRED - fields
    if "localId" not in fields and "MsgSvrID" not in fields:
        missing.add("localId or MsgSvrID")
    if missing:
        raise ExportFormatError(
            f"{path}: not a WeChatMsg CSV (missing columns {', '.join(sorted(missing))})"
        )
    file_conv, real_id = _conversation(rows, path)
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


def _json_export(path: Path, text: str, participant: str | None, tz: str | None) -> ParsedChat:
    """A JSON export: PyWxDump's rows (`MsgSvrID`, `type_name`, ...) or chatlog's messages
    (`seq`, `time`, `type`, ...), told apart by their keys."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ExportFormatError(f"{path}: not JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        data = data["messages"]
    if not isinstance(data, list) or not data or not all(isinstance(x, dict) for x in data):
        raise ExportFormatError(f"{path}: not a WeChat JSON export (expected a list of messages)")
    keys = set(data[0])
    if keys >= wechat_dumps.CHATLOG_KEYS:
        return ParsedChat("wechat", wechat_dumps.chatlog_messages(path, data, participant))
    if keys >= wechat_dumps.PYWXDUMP_COLUMNS:
        return ParsedChat(
            "wechat", wechat_dumps.pywxdump_messages(path, data, zone(tz), participant)
        )
    raise ExportFormatError(
        f"{path}: not a PyWxDump or chatlog JSON export (its messages have none of their keys)"
    )
