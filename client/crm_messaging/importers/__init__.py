"""Importers: export files in, messages with stable ids out. No network."""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, get_args, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from typing_extensions import assert_never

from ..db_types import PublicMessagingPlatform
from ..errors import ExportFormatError, IdentifierError
from ..identifiers import normalize_participant
from ..models import Message

__all__ = ["ExportFormatError", "ParsedChat", "parser_for"]


@dataclass
class ParsedChat:
    """What one export file holds: its messages and, when it says, who exported it."""

    platform: str
    #: a list, or a re-iterable stream with a length (WhatsAppExport reads its file lazily)
    messages: Sequence[Message] = field(default_factory=list)
    account_identifier: str | None = None
    account_name: str | None = None
    #: how the file was read where it had to be decided (WhatsApp's date order), for the summary
    notes: list[str] = field(default_factory=list)
    #: where the messages come from, for the conversation's coverage record (payload
    #: `source`): an export file, or the phone's msgstore.db
    source: str = "export"
    #: the file's name (payload `source_name`); the CLI sets it from the path when left out
    source_name: str | None = None


class RereadSequence(Sequence[Message]):
    """The messages of a file streamed again on each pass (__iter__): the length counted by a
    first pass (`total`), and by position only for tests (the file read again up to it)."""

    total: int = 0

    def __iter__(self) -> Iterator[Message]:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.total

    @overload
    def __getitem__(self, index: int) -> Message: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Message]: ...
    def __getitem__(self, index: int | slice) -> Message | Sequence[Message]:
        """By position: the file read again up to it (the CLI only iterates)."""
        if isinstance(index, slice):
            return list(self)[index]
        at = index + self.total if index < 0 else index
        if not 0 <= at < self.total:
            raise IndexError(index)
        return next(itertools.islice(self, at, None))


def stable_id(prefix: str, *parts: object) -> str:
    """A short id hashed from what identifies a message where the source has no id."""
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:20]
    return f"{prefix}{digest}"


def export_copy(precision: str) -> dict[str, str]:
    """The metadata that marks a message whose id the importer made up (no platform id) and
    whose time the export cut to `precision` ("minute" or "second"): the store matches it
    to the live copy of the same message (ingest_match, supabase/schemas/12_match.sql)."""
    return {"id_source": "export", "time_precision": precision}


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


def participant_of(value: str) -> str:
    """`--participant` for Telegram, Signal and WeChat: a phone in international form or a
    username, normalised as the store matches it."""
    try:
        found = normalize_participant(value)
    except IdentifierError as exc:
        raise ExportFormatError(f"--participant: {exc}") from None
    if found is None:
        raise ExportFormatError("--participant is empty")
    return found


def invalid_message(where: object, exc: ValidationError) -> ExportFormatError:
    """A message the export describes that the store would refuse, as a readable error."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
    )
    return ExportFormatError(f"{where}: a message of this export is not valid ({problems})")


def readable(parse: Parser) -> Parser:
    """`parse`, with a message the store would refuse reported as an ExportFormatError."""

    @functools.wraps(parse)
    def wrapper(path: Path, *args: Any, **kwargs: Any) -> ParsedChat:
        try:
            return parse(path, *args, **kwargs)
        except ValidationError as exc:
            raise invalid_message(path, exc) from None

    return wrapper


def _whatsapp_any(path: Path, *args: Any, **kwargs: Any) -> ParsedChat:
    """A WhatsApp "Export chat" (.txt, .zip), or the phone's msgstore.db (SQLite)."""
    from . import limits, whatsapp, whatsapp_msgstore

    limits.regular_file(Path(path))  # a FIFO or a device would block the sniffing below
    if whatsapp_msgstore.is_sqlite(Path(path)):
        return whatsapp_msgstore.parse_msgstore(Path(path), *args, **kwargs)
    return whatsapp.parse_whatsapp(path, *args, **kwargs)


def parser_for(platform: str) -> Parser:
    """The importer of a platform; an unknown name is an ExportFormatError naming the known."""
    known = get_args(PublicMessagingPlatform)
    if platform not in known:
        raise ExportFormatError(f"platform {platform!r}: no importer (one of {', '.join(known)})")
    return _importer(cast(PublicMessagingPlatform, platform))


def _importer(platform: PublicMessagingPlatform) -> Parser:
    """One importer per platform of the database's enum (db_types, generated): mypy fails
    at assert_never until a new platform has its importer."""
    from . import signal, telegram, wechat

    if platform == "whatsapp":
        return _whatsapp_any
    if platform == "telegram":
        return telegram.parse_telegram
    if platform == "signal":
        return signal.parse_signal
    if platform == "wechat":
        return wechat.parse_wechat
    assert_never(platform)


def read_text(path: Path) -> str:
    """A whole UTF-8 export file, bounded (limits.read_text: a regular file, its size and
    its lines capped)."""
    from .limits import read_text as bounded_read_text

    return bounded_read_text(path)
