"""WhatsApp "Export chat": the .txt, or the .zip holding _chat.txt and the media.

Android (`31/12/2023, 21:05 - Name: text`) and iOS (`[31/12/2023, 21:05:13] Name: text`)
layouts; the date order (D/M/Y, M/D/Y, Y-M-D) is decided once per file from its content;
12 h and 24 h clocks; the bidi and no-break marks WhatsApp sprinkles in; multi-line
messages; media placeholders in several languages; system notices; deleted and edited
markers. The file carries no ids: each message gets a hash of (conversation, local time,
sender, text) plus a counter for identical repeats, so a later export yields the same ids.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..identifiers import IdentifierError, looks_like_phone, normalize_phone
from ..models import Message
from . import ExportFormatError, ParsedChat, stable_id, zone

_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile("[\u202f\u00a0\u2007]")
_DATE = r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
_TIME = r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s?(?P<ampm>[AaPp]\.?\s?[Mm]\.?))?)"
_ANDROID = re.compile(rf"^{_DATE},?\s{_TIME}\s[-–]\s(?P<rest>.*)$")
_IOS = re.compile(rf"^\[{_DATE},?\s{_TIME}\]\s(?P<rest>.*)$")

_MEDIA: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^<?(Media omitted|Medien ausgeschlossen|Multimedia omitido|Mídia oculta|Médias omis|Media weggelaten)>?$",
            re.I,
        ),
        "other",
    ),
    (
        re.compile(
            r"^(image|imagen|imagem|Bild|photo) (omitted|omitida|ocultada|weggelassen|absente)$",
            re.I,
        ),
        "image",
    ),
    (
        re.compile(r"^(video|vídeo|GIF) (omitted|omitido|ocultado|weggelassen|absente)$", re.I),
        "video",
    ),
    (re.compile(r"^(audio|áudio) (omitted|omitido|ocultado|weggelassen|absent)$", re.I), "audio"),
    (re.compile(r"^(sticker|Sticker) (omitted|omitido|weggelassen)$", re.I), "sticker"),
    (
        re.compile(
            r"^(Contact card|Kontaktkarte|tarjeta de contacto) (omitted|weggelassen|omitida)$", re.I
        ),
        "contact",
    ),
    (re.compile(r"document omitted$|Dokument weggelassen$", re.I), "document"),
]
_ATTACHED = re.compile(
    r"^<attached: (?P<file>[^>]+)>$|^(?P<file2>\S+\.\w{2,5}) \((file attached|Datei angehängt|archivo adjunto)\)$",
    re.I,
)
_LOCATION = re.compile(r"^(location|Standort|ubicación|localização): (https?://\S+)$", re.I)
_DELETED = re.compile(
    r"^(This message was deleted|You deleted this message|Diese Nachricht wurde gelöscht|Du hast diese Nachricht gelöscht|Se eliminó este mensaje|Eliminaste este mensaje|Mensagem apagada|Você apagou esta mensagem)\.?$",
    re.I,
)
_EDITED = re.compile(
    r"\s*<(This message was edited|Diese Nachricht wurde bearbeitet|Se editó este mensaje|Mensagem editada)>$",
    re.I,
)
_FILE_NAME = re.compile(
    r"^WhatsApp (Chat|Unterhaltung|Chat de|Conversa) (with|mit|con|com) (?P<name>.+?)(\.txt|\.zip)?$",
    re.I,
)


def _media_type_of_file(name: str) -> str:
    upper = name.upper()
    for key, kind in (("PTT", "voice"), ("AUD", "audio"), ("OPUS", "voice"), ("IMG", "image"),
                      ("PHOTO", "image"), ("VID", "video"), ("STK", "sticker"), ("STICKER", "sticker"),
                      ("DOC", "document")):  # fmt: skip
        if key in upper:
            return kind
    ext = name.rsplit(".", 1)[-1].lower()
    return {"jpg": "image", "jpeg": "image", "png": "image", "webp": "sticker", "mp4": "video",
            "opus": "voice", "m4a": "audio", "mp3": "audio", "pdf": "document"}.get(ext, "document")  # fmt: skip


@dataclass
class _Raw:
    date: str
    time: str
    ampm: bool
    sender: str | None
    lines: list[str] = field(default_factory=list)


@lru_cache(maxsize=4096)
def _phone_of(name: str, region: str | None) -> str | None:
    """E.164 when a sender or chat name is a phone number (an unsaved contact), else None."""
    if not looks_like_phone(name):
        return None
    try:
        return normalize_phone(name, region)
    except IdentifierError:
        return None


def _clean(line: str) -> str:
    return _SPACES.sub(" ", _MARKS.sub("", line)).rstrip("\r\n")


def _split_sender(rest: str) -> tuple[str | None, str]:
    if ": " in rest:
        sender, text = rest.split(": ", 1)
        if 0 < len(sender) <= 60:
            return sender.strip(), text
    return None, rest  # a system notice


def _records(lines: Iterable[str]) -> Iterator[_Raw]:
    """Messages as they come: a header line starts one, other lines continue it."""
    current: _Raw | None = None
    for raw_line in lines:
        line = _clean(raw_line)
        m = _IOS.match(line) or _ANDROID.match(line)
        if m:
            if current is not None:
                yield current
            sender, body = _split_sender(m.group("rest"))
            current = _Raw(m.group("date"), m.group("time"), bool(m.group("ampm")), sender, [body])
        elif current is not None:
            current.lines.append(line)
    if current is not None:
        yield current


@dataclass
class _Survey:
    """What the first pass learns: enough to read every date the same way, and the senders."""

    records: int = 0
    four_digit_first: bool = False
    first_over_12: bool = False
    second_over_12: bool = False
    dotted: bool = False
    ampm: bool = False
    senders: set[str] = field(default_factory=set)

    def add(self, rec: _Raw) -> None:
        self.records += 1
        first, second, *_ = re.split(r"[./-]", rec.date)
        self.four_digit_first |= len(first) == 4
        self.first_over_12 |= int(first) > 12
        self.second_over_12 |= int(second) > 12
        self.dotted |= "." in rec.date
        self.ampm |= rec.ampm
        if rec.sender:
            self.senders.add(rec.sender)

    def date_order(self) -> str:
        """'ymd', 'dmy' or 'mdy', decided once for the whole file."""
        if self.four_digit_first:
            return "ymd"
        if self.first_over_12:
            return "dmy"
        if self.second_over_12:
            return "mdy"
        if self.dotted:
            return "dmy"
        return "mdy" if self.ampm else "dmy"


@lru_cache(maxsize=4096)
def _local_time(date: str, time: str, order: str) -> datetime:
    """The local time of a header; cached, as chats repeat the same minute many times."""
    a, b, c = (int(x) for x in re.split(r"[./-]", date))
    year, month, day = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
    if year < 100:
        year += 2000
    t = time.lower().replace(".", ":").replace(" ", "")
    pm = "pm" in t or "p:m" in t
    am = "am" in t or "a:m" in t
    t = re.sub(r"[^\d:]", "", t).strip(":")
    pieces = [int(x) for x in t.split(":") if x]
    hour, minute = pieces[0], pieces[1]
    second = pieces[2] if len(pieces) > 2 else 0
    if pm and hour < 12:
        hour += 12
    if am and hour == 12:
        hour = 0
    return datetime(year, month, day, hour, minute, second)


@contextmanager
def _open_lines(path: Path) -> Iterator[Iterator[str]]:
    """The chat's lines, read as a stream: the .txt, or _chat.txt inside the export .zip."""
    try:
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.endswith(".txt")]
                chosen = "_chat.txt" if "_chat.txt" in names else (names[0] if names else None)
                if chosen is None:
                    raise ExportFormatError(f"{path}: the zip holds no chat .txt")
                with zf.open(chosen) as raw:
                    yield io.TextIOWrapper(raw, encoding="utf-8-sig")
        else:
            with path.open(encoding="utf-8-sig") as f:
                yield f
    except zipfile.BadZipFile as exc:
        raise ExportFormatError(f"{path}: not a WhatsApp export zip ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ExportFormatError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except FileNotFoundError:
        raise ExportFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ExportFormatError(f"{path}: is a folder, not an export file") from None


def _classify(text: str) -> tuple[str, str | None, str | None, dict[str, Any]]:
    """(type, content, media_url, metadata) of a message body."""
    meta: dict[str, Any] = {}
    edited = _EDITED.search(text)
    if edited:
        text = text[: edited.start()]
        meta["edited"] = True
    first, _, caption = text.partition("\n")
    caption_text = caption.strip() or None
    if _DELETED.match(text.strip()):
        meta["deleted"] = True
        return "text", None, None, meta
    attached = _ATTACHED.match(first.strip())
    if attached:
        name = attached.group("file") or attached.group("file2")
        return _media_type_of_file(name), caption_text, name, meta
    for pattern, kind in _MEDIA:
        if pattern.search(first.strip()):
            meta["media_omitted"] = True
            return kind, caption_text, None, meta
    loc = _LOCATION.match(first.strip())
    if loc:
        return "location", text, loc.group(2), meta
    return "text", text, None, meta


class WhatsAppExport:
    """The messages of one export, read from the file on each iteration (never all at once).

    The first pass (in the constructor) reads every header to decide the date order and
    who is who; iterating reads the file again and yields Message objects one by one, so a
    200,000-message export is imported in bounded memory.
    """

    def __init__(self, path: Path, *, me: str | None, tz: str | None, region: str | None,
                 chat_name: str | None) -> None:  # fmt: skip
        zone_info = zone(tz)
        if zone_info is None:
            raise ExportFormatError(
                "WhatsApp exports carry local times: pass --tz (like Europe/Madrid)"
            )
        self.path, self.zone, self.region = Path(path), zone_info, region
        survey = _Survey()
        with _open_lines(self.path) as lines:
            for rec in _records(lines):
                survey.add(rec)
        if not survey.records:
            raise ExportFormatError(f"{path}: no WhatsApp messages found (is this a chat export?)")
        self.order = survey.date_order()
        self.count = survey.records
        name_match = _FILE_NAME.match(chat_name or self.path.stem)
        title = name_match.group("name") if name_match else (chat_name or self.path.stem)
        senders = sorted(survey.senders)
        if me is None:
            others = [s for s in senders if s != title]
            if len(senders) != 2 or len(others) != 1:
                raise ExportFormatError(
                    f"{path}: say which sender is you with --me (senders: {', '.join(senders[:8])})"
                )
            me = others[0]
        self.me = me
        self.group = len([s for s in senders if s != me]) > 1
        self.other = next((s for s in senders if s != me), title)
        self.participant = None if self.group else _phone_of(self.other, region)
        self.conv_id = (
            f"group:{title}" if self.group else (self.participant or f"contact:{self.other}")
        )

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Message]:
        # identical repeats (same minute, sender and text) get a counter; keyed by a hash,
        # so the map stays small however long the chat is
        seen: dict[int, int] = {}
        with _open_lines(self.path) as lines:
            for rec in _records(lines):
                yield self._message(rec, seen)

    def _message(self, rec: _Raw, seen: dict[int, int]) -> Message:
        body = "\n".join(rec.lines).strip("\n")
        try:
            local = _local_time(rec.date, rec.time, self.order)
        except ValueError:
            raise ExportFormatError(
                f"{self.path}: impossible date or time {rec.date!r} {rec.time!r} (read as {self.order.upper()})"
            ) from None
        key = (local.isoformat(), rec.sender, body)
        seen[hash(key)] = repeat = seen.get(hash(key), 0) + 1
        kind, content, media, meta = _classify(body)
        if rec.sender is None:
            kind, content, media = "system", body, None
        return Message(
            platform="whatsapp",
            external_conversation_id=self.conv_id,
            participant_identifier=self.participant,
            participant_name=None if self.group else self.other,
            conversation_type="group" if self.group else "direct",
            id=stable_id("wa_", self.conv_id, *key, repeat),
            direction="outbound" if rec.sender == self.me else "inbound",
            type=kind,  # type: ignore[arg-type]
            content=content,
            media_url=media,
            sent_at=local.replace(tzinfo=self.zone),
            sender_name=rec.sender,
            sender_identifier=_phone_of(rec.sender, self.region) if rec.sender else None,
            metadata=meta or None,
        )  # fmt: skip


def parse_whatsapp(
    path: Path,
    *,
    me: str | None = None,
    tz: str | None = None,
    region: str | None = None,
    chat_name: str | None = None,
) -> ParsedChat:
    """One exported chat. `tz` is required: the export has local times. The messages are a
    WhatsAppExport: iterate them (or list() them); the file is streamed, not loaded."""
    export = WhatsAppExport(Path(path), me=me, tz=tz, region=region, chat_name=chat_name)
    return ParsedChat("whatsapp", export, account_name=export.me)  # type: ignore[arg-type]
