"""WeChatMsg / MemoTrace CSV exports (UTF-8 with BOM): localId, TalkerId, Type, ..."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..models import Message
from . import ExportFormatError, ParsedChat, read_text

TYPES = {1: "text", 3: "image", 34: "voice", 42: "contact", 43: "video", 47: "sticker",
         48: "location", 49: "document", 50: "system", 10000: "system"}  # fmt: skip
REQUIRED = {"localId", "TalkerId", "Type", "IsSender", "CreateTime"}


def parse_wechat(path: Path, **_: Any) -> ParsedChat:
    reader = csv.DictReader(io.StringIO(read_text(Path(path))))
    missing = REQUIRED - set(reader.fieldnames or [])
    if missing:
        raise ExportFormatError(
            f"{path}: not a WeChatMsg CSV (missing columns {', '.join(sorted(missing))})"
        )
    messages: list[Message] = []
    for n, row in enumerate(reader, 2):
        try:
            code = int(row["Type"])
            sent = datetime.fromtimestamp(int(row["CreateTime"]), tz=timezone.utc)
        except (TypeError, ValueError):
            raise ExportFormatError(f"{path}:{n}: Type and CreateTime must be numbers") from None
        talker = row["TalkerId"].strip()
        group = talker.endswith("@chatroom")
        kind = TYPES.get(code, "other")
        outbound = row["IsSender"].strip() == "1"
        content = row.get("StrContent") or None
        meta = {"wechat_type": code, "wechat_subtype": row.get("SubType")}
        if kind == "system" and content and ("撤回" in content or "recalled" in content):
            meta["recalled"] = True
        messages.append(Message(
            platform="wechat",
            external_conversation_id=talker,
            participant_identifier=None if group else talker,
            participant_name=(row.get("Remark") or row.get("NickName") or None) if not group else None,
            conversation_type="group" if group else "direct",
            id=f"{talker}:{row['localId']}",
            direction="outbound" if outbound else "inbound",
            type=kind,  # type: ignore[arg-type]
            content=content if kind in ("text", "system", "location", "document") else None,
            sent_at=sent,
            sender_name=row.get("Sender") or None,
            metadata=meta,
        ))  # fmt: skip
    return ParsedChat("wechat", messages)
