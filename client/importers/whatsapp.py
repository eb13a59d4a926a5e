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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..identifiers import IdentifierError, looks_like_phone, normalize_phone
from ..models import Message
from . import ExportFormatError, ParsedChat, read_text, stable_id, zone

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


def _clean(line: str) -> str:
    return _SPACES.sub(" ", _MARKS.sub("", line)).rstrip("\r\n")


def _split_sender(rest: str) -> tuple[str | None, str]:
    if ": " in rest:
        sender, text = rest.split(": ", 1)
        if 0 < len(sender) <= 60:
            return sender.strip(), text
    return None, rest  # a system notice


def _records(text: str) -> list[_Raw]:
    records: list[_Raw] = []
    for raw_line in io.StringIO(text):
        line = _clean(raw_line)
        m = _IOS.match(line) or _ANDROID.match(line)
        if m:
            sender, body = _split_sender(m.group("rest"))
            records.append(
                _Raw(m.group("date"), m.group("time"), bool(m.group("ampm")), sender, [body])
            )
        elif records:
            records[-1].lines.append(line)
    return records


def _date_order(records: list[_Raw]) -> str:
    """'ymd', 'dmy' or 'mdy', from the whole file's dates."""
    parts = [re.split(r"[./-]", r.date) for r in records]
    if any(len(p[0]) == 4 for p in parts):
        return "ymd"
    if any(int(p[0]) > 12 for p in parts):
        return "dmy"
    if any(int(p[1]) > 12 for p in parts):
        return "mdy"
    if any("." in r.date for r in records):
        return "dmy"
    return "mdy" if any(r.ampm for r in records) else "dmy"


def _local_time(rec: _Raw, order: str) -> datetime:
    a, b, c = (int(x) for x in re.split(r"[./-]", rec.date))
    year, month, day = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
    if year < 100:
        year += 2000
    t = rec.time.lower().replace(".", ":").replace(" ", "")
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


def _load(path: Path) -> tuple[str, str]:
    """The chat text and the name it came under (the .txt, or the .zip's file name)."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.endswith(".txt")]
                chosen = "_chat.txt" if "_chat.txt" in names else (names[0] if names else None)
                if chosen is None:
                    raise ExportFormatError(f"{path}: the zip holds no chat .txt")
                return zf.read(chosen).decode("utf-8-sig"), path.stem
        except (zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise ExportFormatError(f"{path}: not a WhatsApp export zip ({exc})") from None
        except FileNotFoundError:
            raise ExportFormatError(f"{path}: no such file") from None
    return read_text(path), path.stem


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


def parse_whatsapp(
    path: Path,
    *,
    me: str | None = None,
    tz: str | None = None,
    region: str | None = None,
    chat_name: str | None = None,
) -> ParsedChat:
    """Messages of one exported chat. `tz` is required: the export has local times."""
    zone_info: ZoneInfo | None = zone(tz)
    if zone_info is None:
        raise ExportFormatError(
            "WhatsApp exports carry local times: pass --tz (like Europe/Madrid)"
        )
    text, stem = _load(Path(path))
    records = _records(text)
    if not records:
        raise ExportFormatError(f"{path}: no WhatsApp messages found (is this a chat export?)")
    order = _date_order(records)
    name_match = _FILE_NAME.match(chat_name or stem)
    title = name_match.group("name") if name_match else (chat_name or stem)
    senders = sorted({r.sender for r in records if r.sender})
    if me is None:
        others = [s for s in senders if s != title]
        if len(senders) == 2 and len(others) == 1:
            me = others[0]
        else:
            raise ExportFormatError(
                f"{path}: say which sender is you with --me (senders: {', '.join(senders[:8])})"
            )
    group = len([s for s in senders if s != me]) > 1
    other = next((s for s in senders if s != me), title)
    participant = None
    if not group and looks_like_phone(other):
        try:
            participant = normalize_phone(other, region)
        except IdentifierError:
            participant = None
    conv_id = f"group:{title}" if group else (participant or f"contact:{other}")
    messages: list[Message] = []
    seen: dict[tuple[str, str | None, str], int] = {}
    for rec in records:
        body = "\n".join(rec.lines).strip("\n")
        try:
            local = _local_time(rec, order)
        except ValueError:
            raise ExportFormatError(
                f"{path}: impossible date or time {rec.date!r} {rec.time!r} (read as {order.upper()})"
            ) from None
        key = (local.isoformat(), rec.sender, body)
        seen[key] = seen.get(key, 0) + 1
        kind, content, media, meta = _classify(body)
        if rec.sender is None:
            kind, content, media = "system", body, None
        sender_id = None
        if rec.sender and looks_like_phone(rec.sender):
            try:
                sender_id = normalize_phone(rec.sender, region)
            except IdentifierError:
                sender_id = None
        messages.append(Message(
            platform="whatsapp",
            external_conversation_id=conv_id,
            participant_identifier=participant,
            participant_name=None if group else other,
            conversation_type="group" if group else "direct",
            id=stable_id("wa_", conv_id, *key, seen[key]),
            direction="outbound" if rec.sender == me else "inbound",
            type=kind,  # type: ignore[arg-type]
            content=content,
            media_url=media,
            sent_at=local.replace(tzinfo=zone_info),
            sender_name=rec.sender,
            sender_identifier=sender_id,
            metadata=meta or None,
        ))  # fmt: skip
    return ParsedChat("whatsapp", messages, account_name=me)
