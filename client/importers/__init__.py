"""Importers: export files in, messages with stable ids out. No network."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..models import Message


class ExportFormatError(ValueError):
    """The file is missing, unreadable, or not the export it should be."""


@dataclass
class ParsedChat:
    """What one export file holds: its messages and, when it says, who exported it."""

    platform: str
    #: a list, or a re-iterable stream with a length (WhatsAppExport reads its file lazily)
    messages: Sequence[Message] = field(default_factory=list)
    account_identifier: str | None = None
    account_name: str | None = None


def stable_id(prefix: str, *parts: object) -> str:
    """A short id hashed from what identifies a message where the source has no id."""
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:20]
    return f"{prefix}{digest}"


def zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExportFormatError(
            f"--tz {name!r} is not an IANA time zone (like Europe/Madrid)"
        ) from None


Parser = Callable[..., ParsedChat]


def parser_for(platform: str) -> Parser:
    from . import signal, telegram, wechat, whatsapp

    parsers: dict[str, Parser] = {
        "whatsapp": whatsapp.parse_whatsapp,
        "telegram": telegram.parse_telegram,
        "signal": signal.parse_signal,
        "wechat": wechat.parse_wechat,
    }
    return parsers[platform]


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ExportFormatError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ExportFormatError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise ExportFormatError(f"{path}: {exc.strerror}") from None
