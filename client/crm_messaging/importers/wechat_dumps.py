"""WeChat exports read from the decrypted databases of WeChat 3 and 4: PyWxDump's CSV and
JSON (`id, MsgSvrID, type_name, is_sender, talker, room_name, msg, src, CreateTime`, the
JSON rows with `extra`) and chatlog's JSON (`seq, time, talker, sender, isSelf, type,
subType, content, contents`).

Both carry WeChat's message type and subtype; `kind` maps them as the live path
(supabase/functions/messaging-ingest/wechat.ts) maps the Official Account's: text, image,
voice (its transcription as text), video, location (`label` or `x,y`, with latitude and
longitude), a link as text (`title`, `description`, `url` one a line); a file is a document,
a sticker a sticker, a card a contact, notices (10000) system; the rest `other`. The codes
stay in `metadata.wechat_type` / `wechat_subtype`, as in the WeChatMsg CSV.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path, PureWindowsPath
from typing import Any
from zoneinfo import ZoneInfo

from ..models import Message
from . import ExportFormatError

PYWXDUMP_COLUMNS = {"MsgSvrID", "type_name", "is_sender", "talker", "room_name", "CreateTime"}
CHATLOG_KEYS = {"seq", "time", "talker", "isSelf", "type"}
#: PyWxDump's type names (pywxdump/db/utils/common_utils.py, type_converter) -> (type, subtype)
TYPE_NAMES = {
    "文本": (1, 0), "图片": (3, 0), "语音": (34, 0), "添加好友": (37, 0), "推荐公众号": (42, 0),
    "视频": (43, 0), "动画表情": (47, 0), "位置": (48, 0), "文件": (49, 6), "粘贴的文本": (49, 1),
    "(分享)音乐": (49, 3), "(分享)卡片式链接": (49, 5), "用户上传的GIF表情": (49, 8),
    "位置共享": (49, 17), "合并转发的聊天记录": (49, 19), "(分享)笔记": (49, 24),
    "(分享)小程序": (49, 33), "引用回复": (49, 57), "群公告": (49, 87), "转账": (49, 2000),
    "语音通话": (50, 0), "系统通知": (10000, 0), "消息撤回1": (10000, 1), "拍一拍": (10000, 4),
    "消息撤回5": (10000, 5), "消息撤回6": (10000, 6), "消息撤回33": (10000, 33),
    "消息撤回36": (10000, 36), "消息撤回57": (10000, 57), "邀请加群": (10000, 8000),
}  # fmt: skip
_SIMPLE = {1: "text", 3: "image", 34: "voice", 42: "contact", 43: "video", 47: "sticker",
           48: "location", 10000: "system"}  # fmt: skip
_LINKS = {1, 3, 4, 5, 24, 92}  # pasted text, music, links, notes
_FILES = {0, 6, 74}
_RECALLED = {1, 5, 6, 33, 36, 57}
_ANCHOR = re.compile(r"\s*<a href=.*?</a>\s*$", re.S)
_LATLON = re.compile(r"纬度:【([-0-9.]+)】\s*经度:【([-0-9.]+)】")
_PLACE = re.compile(r"位置：(.*)")
_VOICE_TEXT = re.compile(r"翻译结果：(.*)", re.S)


def kind(
    code: int, sub: int, text: str | None, fields: Mapping[str, Any]
) -> tuple[str, str | None, dict[str, Any]]:
    """(message type, content, metadata) of one WeChat message; `fields` holds what the
    exporter parsed out of the message's XML (title, desc, url, x, y, label, transcription)."""
    meta: dict[str, Any] = {"wechat_type": code, "wechat_subtype": sub}
    text = text or None
    if code == 49 and sub in _LINKS:
        parts = [fields.get("title"), fields.get("desc"), fields.get("url")]
        label = "\n".join(str(p) for p in parts if p)
        return "text", label or text, meta
    if code == 49 and sub in _FILES:
        return "document", fields.get("title") or text, meta
    if code == 49 and sub == 8:
        return "sticker", None, meta
    if code == 49 and sub == 57:  # a reply: its own words; the quoted one in metadata
        return "text", fields.get("title") or text, meta
    if code == 49 and sub == 87:
        return "text", fields.get("title") or text, meta
    if code == 48:
        x, y = fields.get("x"), fields.get("y")
        if x not in (None, "") and y not in (None, ""):
            meta["latitude"], meta["longitude"] = float(x), float(y)
        return "location", fields.get("label") or (f"{x},{y}" if x else text), meta
    if code == 10000:
        if sub in _RECALLED or (text and "撤回" in text):
            meta["recalled"] = True
        return "system", text, meta
    if code == 34:
        return "voice", fields.get("transcription") or None, meta
    found = _SIMPLE.get(code)
    if found is None:
        return "other", text, meta
    return found, text if found in ("text", "system") else None, meta


def _pywxdump_fields(
    row: Mapping[str, Any], code: int, sub: int
) -> tuple[str | None, dict[str, Any]]:
    """The text and the parsed fields of a PyWxDump row (its `msg` is a display string)."""
    msg = str(row.get("msg") or "")
    src = str(row.get("src") or "") or None
    given = row.get("extra")
    extra: dict[str, Any] = given if isinstance(given, dict) else {}
    fields: dict[str, Any] = {}
    if code == 49 and sub in _LINKS:
        head = _ANCHOR.sub("", msg).strip().split("\n")
        fields = {"title": extra.get("title") or (head[0] if head else None),
                  "desc": extra.get("des") or ("\n".join(head[1:]).strip() or None),
                  "url": extra.get("url") or src}  # fmt: skip
    elif code == 49 and sub == 57:
        fields["title"] = msg.split("\n\n[引用]", 1)[0]
    elif code == 48:
        found = _LATLON.search(msg)
        place = _PLACE.search(msg)
        if found:
            fields["x"], fields["y"] = found.group(1), found.group(2)
        if place and place.group(1).strip():
            fields["label"] = place.group(1).strip()
    elif code == 34:
        said = _VOICE_TEXT.search(msg)
        fields["transcription"] = said.group(1).strip() if said else None
    elif code == 49 and sub in _FILES:
        # PyWxDump writes the file's name for (49, 0) but only the type name ("文件") for
        # (49, 6), WeChat's file messages; the name is then the last part of src, a path
        # that keeps WeChat's Windows separators
        named = msg and msg != str(row.get("type_name") or "").strip()
        fields["title"] = msg if named else (_file_name(src) if src else None)
    return msg, fields


def _file_name(src: str) -> str | None:
    """The last part of an exporter's media path, with either separator."""
    return PureWindowsPath(src).name or None


def _media_path(src: str | None) -> str | None:
    """An exporter's media path with forward slashes (PyWxDump keeps WeChat's backslashes
    in file paths but not in image paths)."""
    return src.replace("\\", "/") if src else None


def pywxdump_messages(
    path: Path, rows: Sequence[Mapping[str, Any]], tz: ZoneInfo | None, participant: str | None
) -> list[Message]:
    """PyWxDump rows (CSV or JSON): `room_name` is the chat, `MsgSvrID` the server's id,
    `CreateTime` a local time (so --tz), `talker` the sender's wxid (or `我` / your wxid)."""
    out: list[Message] = []
    for n, row in enumerate(rows, 1):
        where = f"{path}: message {n}"
        name = str(row.get("type_name") or "").strip()
        code, sub = TYPE_NAMES.get(name, (-1, 0))
        when = str(row.get("CreateTime") or "").strip()
        if not when.isdigit() and tz is None:
            raise ExportFormatError(
                f"{where}: CreateTime {when!r} is a local time: pass --tz (like Asia/Shanghai)"
            )
        try:
            if when.isdigit():
                sent = datetime.fromtimestamp(int(when), tz=timezone.utc)
            else:
                sent = datetime.fromisoformat(when).replace(tzinfo=tz)
        except (ValueError, OverflowError, OSError):
            raise ExportFormatError(
                f"{where}: CreateTime {when!r} is not a date and time"
            ) from None
        conv = str(row.get("room_name") or "").strip()
        server_id = str(row.get("MsgSvrID") or "").strip()
        if not conv or not server_id:
            raise ExportFormatError(f"{where}: room_name and MsgSvrID are required")
        text, fields = _pywxdump_fields(row, code, sub)
        kind_, content, meta = kind(code, sub, text, fields)
        if code == -1:
            meta["wechat_type_name"] = name
        src = _media_path(str(row.get("src") or "") or None)
        outbound = str(row.get("is_sender") or "0").strip() in ("1", "True", "true")
        group = conv.endswith("@chatroom")
        talker = str(row.get("talker") or "").strip() or None
        out.append(Message(
            platform="wechat",
            external_conversation_id=conv,
            participant_identifier=None if group else (participant or conv),
            conversation_type="group" if group else "direct",
            id=f"{conv}:{server_id}",
            direction="outbound" if outbound else "inbound",
            type=kind_,
            content=content,
            media_url=src if kind_ in ("image", "video", "voice", "document", "sticker") else None,
            sent_at=sent,
            sender_identifier=None if outbound or code == 10000 else talker,
            metadata=meta,
        ))  # fmt: skip
    return out


def chatlog_messages(
    path: Path, items: Sequence[Mapping[str, Any]], participant: str | None
) -> list[Message]:
    """chatlog's JSON (`/api/v1/chatlog?format=json`): exact times with their offset; the id
    is the chat and the database's `seq` (the time and a counter), the same in every export
    of that database."""
    out: list[Message] = []
    for n, item in enumerate(items, 1):
        where = f"{path}: message {n}"
        try:
            sent = datetime.fromisoformat(str(item["time"]))
            code, sub = int(item["type"]), int(item.get("subType") or 0)
        except (KeyError, TypeError, ValueError):
            raise ExportFormatError(
                f"{where}: time (ISO 8601) and type (a number) are required"
            ) from None
        if sent.tzinfo is None:
            raise ExportFormatError(f"{where}: time {item['time']!r} has no offset")
        conv = str(item.get("talker") or "").strip()
        if not conv or item.get("seq") in (None, ""):
            raise ExportFormatError(f"{where}: talker and seq are required")
        given = item.get("contents")
        contents: dict[str, Any] = given if isinstance(given, dict) else {}
        text = str(item.get("content") or "") or None
        fields = dict(contents)
        if code == 49 and sub == 57:
            fields["title"] = text
        kind_, content, meta = kind(code, sub, text, fields)
        group = bool(item.get("isChatRoom")) or conv.endswith("@chatroom")
        outbound = bool(item.get("isSelf"))
        sender = str(item.get("sender") or "").strip() or None
        out.append(Message(
            platform="wechat",
            external_conversation_id=conv,
            participant_identifier=None if group else (participant or conv),
            participant_name=str(item.get("talkerName") or "") or None,
            conversation_type="group" if group else "direct",
            id=f"{conv}:seq:{item['seq']}",
            direction="outbound" if outbound else "inbound",
            type=kind_,
            content=content,
            media_url=str(contents.get("path") or "") or None,
            sent_at=sent,
            sender_identifier=None if outbound or code == 10000 else sender,
            sender_name=str(item.get("senderName") or "") or None,
            metadata=meta,
        ))  # fmt: skip
    return out
