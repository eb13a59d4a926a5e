"""WhatsApp "Export chat": the .txt, or the .zip holding _chat.txt and the media.

Android (`31/12/2023, 21:05 - Name: text`), iOS (`[31/12/2023, 21:05:13] Name: text`) and
the other header layouts locales write (`13.6.2018 klo 21.25.15 - `, `13. 6. 2018. 21:25:15 `,
`13.06.18 21.25.15: `), one layout decided per file; the date order (D/M/Y, M/D/Y, Y/M/D,
two-digit years in any place) decided from every date of the file, then from the evidence
the file carries (region, WhatsApp's own words, `p. m.`, phones, and last a 24 h clock),
refused when nothing tells (then `date_order` says it); 12 h and 24 h clocks; the bidi
and no-break marks WhatsApp sprinkles in; multi-line messages; media placeholders, attachments, deleted and
edited markers and system notices in the languages of whatsapp_text. The file carries no
ids: each message gets a hash of (conversation, local time, sender, text) plus a counter for
identical repeats, so a later export yields the same ids. Messages of the same minute (or
second) get increasing millisecond offsets in file order, so the store's (sent_at, id) order is
the file's order; `metadata.time_precision` says how precise the file's time was ("minute" or
"second"), and the offset is not part of the id.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date as date_cls
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import IdentifierError
from ..identifiers import looks_like_phone, normalize_phone
from ..models import Message
from . import ExportFormatError, ParsedChat, export_copy, invalid_message, limits, stable_id, zone
from . import whatsapp_text as words
from .zip_media import ZipMedia, zip_media

_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile("[\u202f\u00a0\u2007]")
_DATE = r"(?P<date>\d{1,4}[./-] ?\d{1,2}[./-] ?\d{1,4})\.?"
_WORD = r"(?:[^\W\d_]{1,4}\.?\s)?"  # "klo", "kl.", "à" between date and time
_TIME = r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s?(?P<ampm>[AaPp]\.?\s?[Mm]\.?))?)"
#: the header layouts, in the order a tie is decided
LAYOUTS: dict[str, re.Pattern[str]] = {
    "ios": re.compile(rf"^\[{_DATE},?\s{_WORD}{_TIME}\]\s(?P<rest>.*)$"),
    "dash": re.compile(rf"^{_DATE},?\s{_WORD}{_TIME}\s[-–]\s(?P<rest>.*)$"),
    "colon": re.compile(rf"^{_DATE},?\s{_WORD}{_TIME}:\s(?P<rest>.*)$"),
    "bare": re.compile(rf"^{_DATE},?\s{_WORD}{_TIME}\s(?P<rest>.*)$"),
}
#: lines read to decide the layout
LAYOUT_SAMPLE = 5000
#: a header time that shows seconds (iOS, Finnish, ...): its messages are exact to the second
_SECONDS = re.compile(r"\d[:.]\d{2}[:.]\d{2}")
#: a 12 h clock's marker in a header time (`PM`, `am`, `p. m.`)
_AMPM = re.compile(r"[AaPp]\.?\s?[Mm]")
DATE_ORDERS = ("dmy", "mdy", "ymd")


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


def choose_layout(lines: Iterable[str]) -> re.Pattern[str] | None:
    """The header layout most lines of the file's start follow (None: no WhatsApp header)."""
    counts = dict.fromkeys(LAYOUTS, 0)
    for n, raw in enumerate(lines):
        if n >= LAYOUT_SAMPLE:
            break
        line = _clean(raw)
        for name, pattern in LAYOUTS.items():
            counts[name] += bool(pattern.match(line))
    best = max(counts.values())
    if not best:
        return None
    return LAYOUTS[next(name for name, n in counts.items() if n == best)]


def _records(lines: Iterable[str], layout: re.Pattern[str], title: str) -> Iterator[_Raw]:
    """Messages as they come: a header line starts one, other lines continue it.

    A notice iOS puts under the chat's or group's name (`Family: ‎Ana created group`) and
    the encryption banner under any name get no sender: they are system notices.
    """
    current: _Raw | None = None
    for raw_line in lines:
        line = _clean(raw_line)
        m = layout.match(line)
        if m:
            if current is not None:
                yield current
            sender, body = _split_sender(m.group("rest"))
            if sender is not None:
                at = raw_line.find(": \u200e")
                marked = at != -1 and _clean(raw_line[:at]).endswith(sender)
                if (
                    (marked or words.is_banner(body))
                    and _classify(body)[0] == "text"
                    and not _is_deleted(body)
                    and words.is_named_notice(body, marked=marked, by_title=sender == title)
                ):
                    sender = None
            date = re.sub(r"\s", "", m.group("date"))
            current = _Raw(date, m.group("time"), sender, [body])
        elif current is not None:
            current.lines.append(line)
    if current is not None:
        yield current


def _date_parts(date: str) -> tuple[str, str, str]:
    a, b, c = re.split(r"[./-]", date)
    return a, b, c


def _ymd(parts: tuple[str, str, str], order: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a header's date read in `order`, None when it is impossible."""
    a, b, c = parts
    year, month, day = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
    if len(month) > 2 or len(day) > 2 or len(year) not in (2, 4):
        return None
    y = int(year) + (2000 if len(year) == 2 else 0)
    try:
        date_cls(y, int(month), int(day))
    except ValueError:
        return None
    return y, int(month), int(day)


@dataclass
class _Survey:
    """What the first pass learns: enough to read every date the same way, and the senders."""

    records: int = 0
    #: the header dates in file order, consecutive repeats dropped
    dates: list[tuple[str, str, str]] = field(default_factory=list)
    senders: set[str] = field(default_factory=set)
    dotted: bool = False
    #: a notice names a group event (created, added, left...): the chat is a group
    group_notice: bool = False
    #: evidence of the date order where the dates leave D/M and M/D open
    foreign_words: str | None = None
    spanish_clock: bool = False
    #: a header time only a 24 h clock writes (13:00-23:59, or 00:xx) / one with am or pm
    hours_past_twelve: bool = False
    twelve_hour_marks: bool = False

    def add(self, rec: _Raw) -> None:
        self.records += 1
        self.dotted |= "." in rec.date
        parts = _date_parts(rec.date)
        if not self.dates or self.dates[-1] != parts:
            self.dates.append(parts)
        if ". m" in rec.time.lower():
            self.spanish_clock = True  # `p. m.`: Spanish locales, all day/month/year
        if _AMPM.search(rec.time):
            self.twelve_hour_marks = True
        elif not self.hours_past_twelve:
            hour = int(re.split(r"[:.]", rec.time, maxsplit=1)[0])
            self.hours_past_twelve = hour >= 13 or hour == 0
        if self.foreign_words is None:
            self.foreign_words = words.foreign_marker(
                " ".join(rec.lines).strip(), notice=rec.sender is None
            )
        if rec.sender:
            self.senders.add(rec.sender)
        elif not self.group_notice:
            body = " ".join(rec.lines)
            self.group_notice = not words.is_banner(body) and words.is_named_notice(
                body, marked=True, by_title=False
            )

    def _impossible(self, order: str) -> tuple[str, str, str] | None:
        return next((d for d in self.dates if _ymd(d, order) is None), None)

    #: which rule decided the order (for the import's summary)
    rule: str = ""

    def date_order(
        self, path: Path, forced: str | None, region: str | None = None,
        phones: list[str] | None = None,
    ) -> str:  # fmt: skip
        """'dmy', 'mdy' or 'ymd': the one reading under which every date of the file exists
        and the file runs forward in time; ExportFormatError when that leaves a choice."""
        if forced is not None:
            bad = self._impossible(forced)
            if bad:
                raise ExportFormatError(
                    f"{path}: the date {'/'.join(bad)} does not exist read as --date-order {forced}"
                )
            self.rule = f"--date-order {forced}"
            return forced
        phones = phones or []
        fits = [o for o in DATE_ORDERS if self._impossible(o) is None]
        if not fits:
            examples = {o: "/".join(self._impossible(o) or ()) for o in DATE_ORDERS}
            raise ExportFormatError(
                f"{path}: dates that fit no order (day/month/year: {examples['dmy']}, "
                f"month/day/year: {examples['mdy']}, year/month/day: {examples['ymd']})"
            )
        backwards = {o: self._backwards(o) for o in fits}
        fewest = min(backwards.values())
        fits = [o for o in fits if backwards[o] == fewest]
        readings = {o: [_ymd(d, o) for d in self.dates] for o in fits}
        if len({tuple(r) for r in readings.values()}) == 1:
            self.rule = "the only order under which every date exists and the chat runs forward"
            return fits[0]
        if self.dotted and "dmy" in fits:
            self.rule = "dotted dates are day.month.year in every locale WhatsApp writes"
            return "dmy"
        if set(fits) == {"dmy", "mdy"}:
            found = self._evidence(region, phones)
            if found is not None:
                order, self.rule = found
                return order
        sample = "/".join(self.dates[0])
        raise ExportFormatError(
            f"{path}: cannot tell the date order: {sample} and every other date of the file "
            f"read as {' or as '.join(o.upper() for o in fits)}; "
            f"pass --date-order {'|'.join(fits)}"
        )

    def _evidence(self, region: str | None, phones: list[str]) -> tuple[str, str] | None:
        """The order the file's other features show when its dates do not, and why."""
        if region:
            if region.upper() == "US":
                return "mdy", "--region US writes month/day/year"
            if region.upper() != "CA":  # Canada writes both
                return "dmy", f"--region {region.upper()} writes day/month/year"
        if self.foreign_words:
            return "dmy", (
                f"the file's {self.foreign_words} notices and placeholders: that language's"
                " locales write day/month/year"
            )
        if self.spanish_clock:
            return "dmy", "the `p. m.` clock of Spanish locales, which write day/month/year"
        if phones and all(p.startswith("+1") for p in phones):
            return "mdy", "every phone in the chat is +1 (North America, month/day/year)"
        if phones and not any(p.startswith("+1") for p in phones):
            return "dmy", (
                f"the chat's phones ({', '.join(sorted(phones)[:3])}) are of countries that"
                " write day/month/year"
            )
        if self.hours_past_twelve and not self.twelve_hour_marks:
            # the weakest sign, after every other: a US phone can be set to a 24 h clock too
            return "dmy", (
                "the 24 h clock (hours past 12 or 00, no am/pm), which most day/month/year"
                " locales write; pass --date-order mdy if the chat is month/day/year"
            )
        return None

    def _backwards(self, order: str) -> int:
        days = [_ymd(d, order) for d in self.dates]
        return sum(1 for a, b in pairwise(days) if a and b and b < a)


@lru_cache(maxsize=4096)
def _local_time(date: str, time: str, order: str) -> datetime:
    """The local time of a header; cached, as chats repeat the same minute many times."""
    ymd = _ymd(_date_parts(date), order)
    if ymd is None:
        raise ValueError(date)
    year, month, day = ymd
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
    """The chat's lines, read as a stream: the .txt, or _chat.txt inside the export .zip;
    a regular file only, no line over limits.MAX_LINE, a zip checked against bombs."""
    try:
        if path.suffix.lower() == ".zip":
            with limits.open_zip(path) as zf:
                chosen = chat_member(zf)
                if chosen is None:
                    raise ExportFormatError(f"{path}: the zip holds no chat .txt")
                with limits.zip_member(path, zf, chosen) as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8-sig")
                    yield limits.bounded_lines(text, path)
        else:
            with limits.open_binary(path) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8-sig")
                yield limits.bounded_lines(text, path)
    except UnicodeDecodeError as exc:
        raise ExportFormatError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def chat_member(zf: zipfile.ZipFile) -> str | None:
    """The chat's .txt inside an export zip: `_chat.txt` (iOS), else the first .txt."""
    names = [n for n in zf.namelist() if n.endswith(".txt")]
    return "_chat.txt" if "_chat.txt" in names else (names[0] if names else None)


def _is_deleted(text: str) -> bool:
    return bool(words.DELETED.match(text.strip()))


def _classify(text: str) -> tuple[str, str | None, str | None, dict[str, Any]]:
    """(type, content, media_url, metadata) of a message body."""
    meta: dict[str, Any] = {}
    edited = words.EDITED.search(text)
    if edited:
        text = text[: edited.start()]
        meta["edited"] = True
    first, _, caption = text.partition("\n")
    caption_text = caption.strip() or None
    if _is_deleted(text):
        # the tombstone keeps its own words, so the inbox preview says it was deleted
        meta["deleted"] = True
        return "text", text.strip(), None, meta
    attached = words.ATTACHED.match(first.strip())
    if attached:
        name = attached.group("file") or attached.group("file2") or attached.group("file3")
        return _media_type_of_file(name), caption_text, name, meta
    if words.MEDIA_OMITTED.match(first.strip()):
        meta["media_omitted"] = True
        return "other", caption_text, None, meta
    for pattern, kind in words.MEDIA_KIND:
        if pattern.match(first.strip()):
            meta["media_omitted"] = True
            return kind, caption_text, None, meta
    loc = words.LOCATION.match(first.strip())
    if loc:
        return "location", text, loc.group(2), meta
    return "text", text, None, meta


def chat_title(name: str) -> str:
    """The chat's name from the export's file name (`WhatsApp Chat - Family.zip` -> Family)."""
    m = words.FILE_NAME.match(name)
    if not m:
        return re.sub(r"\.(txt|zip)$", "", name, flags=re.I)
    return (m.group("name") or m.group("name2")).strip()


class WhatsAppExport:
    """The messages of one export, read from the file on each iteration (never all at once).

    The first passes (in the constructor) decide the header layout, then read every header
    to decide the date order and who is who; iterating reads the file again and yields
    Message objects one by one, so a 200,000-message export is imported in bounded memory.
    """

    def __init__(self, path: Path, *, me: str | None, tz: str | None, region: str | None,
                 chat_name: str | None, date_order: str | None = None,
                 participant: str | None = None) -> None:  # fmt: skip
        zone_info = zone(tz)
        if zone_info is None:
            raise ExportFormatError(
                "WhatsApp exports carry local times: pass --tz (like Europe/Madrid)"
            )
        if date_order is not None and date_order not in DATE_ORDERS:
            raise ExportFormatError(f"--date-order must be one of {', '.join(DATE_ORDERS)}")
        self.path, self.zone, self.region = Path(path), zone_info, region
        self.title = title = chat_title(chat_name or self.path.name)
        with _open_lines(self.path) as lines:
            layout = choose_layout(lines)
        if layout is None:
            raise ExportFormatError(f"{path}: no WhatsApp messages found (is this a chat export?)")
        self.layout = layout
        survey = _Survey()
        with _open_lines(self.path) as lines:
            for rec in _records(lines, layout, title):
                survey.add(rec)
        if not survey.records:
            raise ExportFormatError(f"{path}: no WhatsApp messages found (is this a chat export?)")
        self.count = survey.records
        wanted = None
        if participant is not None:
            try:
                wanted = normalize_phone(participant, region)
            except IdentifierError as exc:
                raise ExportFormatError(
                    f"--participant for WhatsApp is the other party's phone in international"
                    f" form (+34612345678): {exc}"
                ) from None
        phones = [p for p in (_phone_of(x, None) for x in survey.senders) if p]
        phones += [wanted] if wanted else []
        self.order = survey.date_order(self.path, date_order, region, phones)
        #: what the summary says about how the file was read
        self.notes = [f"date order {'/'.join(self.order.upper())}: {survey.rule}"]
        senders = sorted(survey.senders)
        if me is None and senders:
            others = [
                s
                for s in senders
                if s != title and (wanted is None or _phone_of(s, region) != wanted)
            ]
            if len(senders) != 2 or len(others) != 1:
                raise ExportFormatError(
                    f"{path}: say which sender is you with --me (senders: {', '.join(senders[:8])})"
                )
            me = others[0]
        # a file of notices only (no one wrote) needs no --me: no message is anyone's
        self.me = me
        self.group = len([s for s in senders if s != me]) > 1 or (
            not senders and survey.group_notice
        )
        self.other = next((s for s in senders if s != me), title)
        if wanted is not None and self.group:
            raise ExportFormatError(
                f"{path}: --participant names the other party of a direct chat, and this is"
                f" a group chat ({len(senders)} senders)"
            )
        self.participant = None if self.group else (wanted or _phone_of(self.other, region))
        self.conv_id = (
            f"group:{title}" if self.group else (self.participant or f"contact:{self.other}")
        )

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Message]:
        # identical repeats (same minute, sender and text) get a counter; keyed by a hash,
        # so the map stays small however long the chat is
        seen: dict[int, int] = {}
        previous: datetime | None = None
        offset = 0
        with _open_lines(self.path) as lines, zip_media(self.path) as media:
            for rec in _records(lines, self.layout, self.title):
                message = self._message(rec, seen, media)
                # the file's order within one header time: +1 ms per message of that time
                offset = offset + 1 if message.sent_at == previous else 0
                previous = message.sent_at
                if offset:
                    message = message.model_copy(
                        update={"sent_at": message.sent_at + timedelta(milliseconds=offset)}
                    )
                yield message

    def _message(self, rec: _Raw, seen: dict[int, int], files: ZipMedia | None = None) -> Message:
        body = "\n".join(rec.lines).strip("\n")
        try:
            local = _local_time(rec.date, rec.time, self.order)
        except (ValueError, IndexError):
            raise ExportFormatError(
                f"{self.path}: impossible date or time {rec.date!r} {rec.time!r} (read as {self.order.upper()})"
            ) from None
        key = (local.isoformat(), rec.sender, body)
        seen[hash(key)] = repeat = seen.get(hash(key), 0) + 1
        kind, content, media, meta = _classify(body)
        if rec.sender is None:
            kind, content, media, meta = "system", body, None, {}
        elif media is not None and files is not None:
            # the attached file in the zip: sha256, size, type, name, member (zip_media)
            meta = {**meta, **(files.describe(media) or {})}
        try:
            return self._build(rec, local, key, repeat, kind, content, media, meta)
        except ValidationError as exc:
            raise invalid_message(
                f"{self.path} (the message of {rec.date} {rec.time})", exc
            ) from None

    def _build(
        self, rec: _Raw, local: datetime, key: tuple[str, str | None, str], repeat: int,
        kind: str, content: str | None, media: str | None, meta: dict[str, Any],
    ) -> Message:  # fmt: skip
        return Message(
            platform="whatsapp",
            external_conversation_id=self.conv_id,
            participant_identifier=self.participant,
            participant_name=self.title if self.group else self.other,
            conversation_type="group" if self.group else "direct",
            id=stable_id("wa_", self.conv_id, *key, repeat),
            direction="outbound" if rec.sender is not None and rec.sender == self.me else "inbound",
            type=kind,
            content=content,
            media_url=media,
            sent_at=local.replace(tzinfo=self.zone),
            sender_name=rec.sender,
            sender_identifier=_phone_of(rec.sender, self.region) if rec.sender else None,
            # no platform id, and the time only to the minute (or second) the header shows
            metadata={**meta, **export_copy("second" if _SECONDS.search(rec.time) else "minute")},
        )  # fmt: skip


def parse_whatsapp(
    path: Path,
    *,
    me: str | None = None,
    tz: str | None = None,
    region: str | None = None,
    chat_name: str | None = None,
    date_order: str | None = None,
    participant: str | None = None,
) -> ParsedChat:
    """One exported chat. `tz` is required: the export has local times. The messages are a
    WhatsAppExport: iterate them (or list() them); the file is streamed, not loaded.
    `date_order` (dmy, mdy, ymd) settles a file whose dates fit more than one order;
    `participant` (E.164) is the other party of a direct chat saved under a contact name."""
    export = WhatsAppExport(
        Path(path), me=me, tz=tz, region=region, chat_name=chat_name,
        date_order=date_order, participant=participant,
    )  # fmt: skip
    return ParsedChat("whatsapp", export, account_name=export.me, notes=export.notes)  # type: ignore[arg-type]
