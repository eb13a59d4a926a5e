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
from . import whatsapp_placeholders as placeholders
from . import whatsapp_text as words
from .zip_media import ZipMedia, zip_media

_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile("[\u202f\u00a0\u2007]")
# `\d` is any script's digit (Arabic-Indic, Persian, Devanagari, Bengali, Thai...), and
# int() reads them all, so native digits need no translation line by line
_NUM_DATE = r"\d{1,4}[./-] ?\d{1,2}[./-] ?\d{1,4}"
#: a Japanese era date: `R5/03/12`, `H31/04/30` (iOS), `令和5年3月12日`, `令和元年5月1日`
_ERA_DATE = r"(?:令和|平成|[RH])(?:\d{1,2}|元)(?:[./-]\d{1,2}[./-]\d{1,2}|年\d{1,2}月\d{1,2}日)"
_DATE = rf"(?P<date>{_NUM_DATE}|{_ERA_DATE})\.?"
_WORD = r"(?:[^\W\d_]{1,4}\.?\s)?"  # "klo", "kl.", "à" between date and time
#: the clock: `21:05`, `21.25.15`, `9:05 PM`, `9:15 p. m.`, Arabic `٢:٠٥ م` (ص am, م pm)
_TIME = r"(?P<time>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s?(?P<ampm>[AaPp]\.?\s?[Mm]\.?|[صم]))?)"
_COMMA = "[,،]?"  # the Arabic comma too
#: English month names of the 2013 Android layouts (`28 Aug 2013`, `Mar 5`)
_MON = r"[A-Z][a-z]{2,8}\.?"
#: the header layouts, in the order a tie is decided
LAYOUTS: dict[str, re.Pattern[str]] = {
    "ios": re.compile(rf"^\[{_DATE}{_COMMA}\s{_WORD}{_TIME}\]\s(?P<rest>.*)$"),
    "dash": re.compile(rf"^{_DATE}{_COMMA}\s{_WORD}{_TIME}\s[-–]\s(?P<rest>.*)$"),
    "colon": re.compile(rf"^{_DATE}{_COMMA}\s{_WORD}{_TIME}:\s(?P<rest>.*)$"),
    "bare": re.compile(rf"^{_DATE}{_COMMA}\s{_WORD}{_TIME}\s(?P<rest>.*)$"),
    # Vietnamese: the time first (`14:05, 12/3/2023 - `, iOS `[14:05:10, 12/3/2023] `)
    "ios_time_first": re.compile(rf"^\[{_TIME}{_COMMA}\s{_DATE}\]\s(?P<rest>.*)$"),
    "dash_time_first": re.compile(rf"^{_TIME}{_COMMA}\s{_DATE}\s[-–]\s(?P<rest>.*)$"),
    # Android 2013: `19:23, 28 Aug 2013 - `, and `Mar 5, 8:11 PM - ` (no year: see _Years)
    "dash_2013_time_first": re.compile(
        rf"^{_TIME},\s(?P<date>\d{{1,2}} {_MON} \d{{4}})\s[-–]\s(?P<rest>.*)$"
    ),
    "dash_2013_month_first": re.compile(
        rf"^(?P<date>{_MON} \d{{1,2}}(?:, \d{{4}})?),\s{_TIME}\s[-–]\s(?P<rest>.*)$"
    ),
}
#: layouts whose dates are words (month names), turned into year-month-day by _Years
_WORDY_LAYOUTS = (LAYOUTS["dash_2013_time_first"], LAYOUTS["dash_2013_month_first"])
_MONTHS = {m: n for n, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
)}  # fmt: skip
_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988}
#: lines read to decide the layout
LAYOUT_SAMPLE = 5000
#: a header time that shows seconds (iOS, Finnish, ...): its messages are exact to the second
_SECONDS = re.compile(r"\d[:.]\d{2}[:.]\d{2}")
#: a 12 h clock's marker in a header time (`PM`, `am`, `p. m.`, Arabic `م`/`ص`)
_AMPM = re.compile(r"[AaPp]\.?\s?[Mm]|[صم]")
#: WhatsApp began in 2009: an earlier year is another calendar's (Persian, Hijri), not read
FIRST_YEAR = 2009
#: a year past this is the Buddhist era's (Thai phones by default): 543 years ahead
_BUDDHIST_FROM = 2500
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
            "opus": "voice", "m4a": "audio", "mp3": "audio", "pdf": "document",
            "vcf": "contact"}.get(ext, "document")  # fmt: skip


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


class _Years:
    """Year-month-day of the dates written in words: Japanese eras, month names, and the
    2013 Android dates without a year (`Mar 5`). The year of those is never guessed: it is
    `--year` (the year of the first such message), else the year of a dated header before
    it, else a year in the file's name; each later date earlier in the year than the one
    before it starts the next year. `source` says which decided (for the summary)."""

    def __init__(self, where: Path, option: int | None, name_year: int | None) -> None:
        self.where, self.option, self.name_year = where, option, name_year
        self.year: int | None = None
        self.last: tuple[int, int] | None = None
        self.started = False
        self.source = ""
        self.era = False

    def convert(self, date: str) -> str:
        if date[0] in "令平RH":
            return self._era(date)
        words = date.replace(",", " ").replace(".", " ").split()
        if words[0].isdigit():  # `28 Aug 2013`
            day, month, year = int(words[0]), self._month(words[1]), int(words[2])
        else:  # `Mar 5`, `Dec 28, 2012`
            month, day = self._month(words[0]), int(words[1])
            year = int(words[2]) if len(words) > 2 else self._yearless(month, day)
        if len(words) > 2:
            self.year, self.last = year, (month, day)
        return f"{year}-{month}-{day}"

    def _month(self, word: str) -> int:
        month = _MONTHS.get(word[:3].lower())
        if month is None:
            raise ExportFormatError(f"{self.where}: {word!r} is no month name WhatsApp writes")
        return month

    def _era(self, date: str) -> str:
        self.era = True
        era = "令和" if date.startswith("令和") else "平成" if date.startswith("平成") else date[0]
        parts = re.split(r"[./年月日-]", date[len(era) :].replace("元", "1"))
        year, month, day = (int(x) for x in parts[:3])
        return f"{_ERAS[era] + year}-{month}-{day}"

    def _yearless(self, month: int, day: int) -> int:
        if not self.started:
            self.started = True
            if self.option is not None:
                self.year, self.last, self.source = self.option, None, f"--year {self.option}"
            elif self.year is not None:
                self.source = f"the dated header before them ({self.year})"
            elif self.name_year is not None:
                self.year, self.source = self.name_year, f"the file name ({self.name_year})"
            else:
                raise ExportFormatError(
                    f"{self.where}: its dates have no year (`{day}/{month}`, the 2013 Android"
                    " layout) and neither a dated line nor the file name says which: pass"
                    " --year YEAR, the year of its first message"
                )
        assert self.year is not None
        if self.last is not None and (month, day) < self.last:
            self.year += 1
        self.last = (month, day)
        return self.year


def _name_year(path: Path) -> int | None:
    """The one year (2009-2099) a file's name holds, as in `WhatsApp Chat with Ana 2013.txt`;
    None when it holds none or several, or when the name is a phone number's."""
    stem = chat_title(path.name)
    years = re.findall(r"(?<![\d+])20\d\d(?!\d)", path.name)
    if len(years) != 1 or looks_like_phone(stem) or int(years[0]) < FIRST_YEAR:
        return None
    return int(years[0])


def _records(
    lines: Iterable[str], layout: re.Pattern[str], title: str, years: _Years | None = None
) -> Iterator[_Raw]:
    """Messages as they come: a header line starts one, other lines continue it.

    A notice iOS puts under the chat's or group's name (`Family: ‎Ana created group`) and
    the encryption banner under any name get no sender: they are system notices. Dates in
    words (eras, month names) come out as year-month-day through `years`.
    """
    current: _Raw | None = None
    years = years or _Years(Path(title), None, None)
    wordy = layout in _WORDY_LAYOUTS
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
            date = m.group("date")
            if wordy or not date[0].isdigit():
                date = years.convert(date)
            else:
                date = re.sub(r"\s", "", date)
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
    if y >= _BUDDHIST_FROM:
        y -= 543  # the Buddhist era: 2566 is 2023
    if y < FIRST_YEAR:
        return None
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
    #: a year of the Buddhist era (2566 = 2023): Thai phones write those by default
    buddhist: bool = False

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
        if not self.buddhist:
            year = parts[0] if len(parts[0]) == 4 else parts[2]
            self.buddhist = len(year) == 4 and int(year) >= _BUDDHIST_FROM
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
                f"month/day/year: {examples['mdy']}, year/month/day: {examples['ymd']}; "
                f"a year before {FIRST_YEAR}, when WhatsApp began, is another calendar's,"
                " like the Persian or the Hijri one, which the importer does not read)"
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
    pm = "pm" in t or "p:m" in t or "م" in t
    am = "am" in t or "a:m" in t or "ص" in t
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
    found = placeholders.lookup(text.strip())
    return (found is not None and found.kind == "deleted") or bool(
        words.DELETED.match(text.strip())
    )


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
        if attached.group("name"):  # iOS: `Offer.pdf • 2 pages <attached: 00000047-Offer.pdf>`
            meta["filename"] = attached.group("name").split(" • ", 1)[0].strip()
        return _media_type_of_file(name), caption_text, name, meta
    found = placeholders.find(first.strip())
    if found is not None and found.kind != "deleted":
        # `image omitted`, iOS `Offer.pdf • 2 pages document omitted`, `<Média vynechány>`
        meta["media_omitted"] = True
        if found.filename:
            meta["filename"] = found.filename
        return found.kind, caption_text, None, meta
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


#: lines that are what they are whatever the language's words (English lines, as Android
#: writes them): a view-once media (`null`), a missed call, a shared place
_CALL = re.compile(r"^Missed (voice|video) call$")
_PLACE = re.compile(r"^[Ll]ocation: (?:(?P<name>.+?) )?(?P<url>https?://\S+)$")
_VENUE_HOSTS = ("https://foursquare.com/v/", "http://foursquare.com/v/")
_LAT_LNG = re.compile(r"[?&]q=(-?\d{1,2}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)(?:&|$)")


def _special(text: str) -> tuple[str, str | None, str | None, dict[str, Any]] | None:
    """(type, content, media_url, metadata) of a line the live path has a shape for, else
    None. The cheap checks first: most bodies are neither."""
    if not text or text[0] not in "nMLl":
        return None
    if text == "null":  # Android writes view-once media as `null`
        return "other", None, None, {"view_once": True, "media_omitted": True}
    call = _CALL.match(text)
    if call:
        meta = {"whatsapp_type": "call", "call": {"media": call.group(1), "missed": True}}
        return "other", text, None, meta
    place = _PLACE.match(text)
    if place and (place.group("url").startswith(_VENUE_HOSTS) or _LAT_LNG.search(text)):
        return _place(place.group("name"), place.group("url"))
    return None


def _place(name: str | None, url: str) -> tuple[str, str | None, str | None, dict[str, Any]]:
    """A location as the live path stores one: the name (else `lat,lng`, else the link) as
    content, the coordinates in metadata where the link has them, the link as media_url."""
    coords = _LAT_LNG.search(url)
    meta: dict[str, Any] = {}
    if coords:
        meta = {"latitude": float(coords.group(1)), "longitude": float(coords.group(2))}
    content = name or (f"{coords.group(1)},{coords.group(2)}" if coords else url)
    return "location", content, url, meta


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
                 participant: str | None = None, year: int | None = None) -> None:  # fmt: skip
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
        if year is not None and not FIRST_YEAR <= year <= 2099:
            raise ExportFormatError(f"--year must be a year from {FIRST_YEAR} to 2099, not {year}")
        self.year, self.name_year = year, _name_year(self.path)
        survey = _Survey()
        years = self._years()
        with _open_lines(self.path) as lines:
            for rec in _records(lines, layout, title, years):
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
        if years.source:
            self.notes.append(f"dates without a year: the year from {years.source}")
        if survey.buddhist:
            self.notes.append("years of the Buddhist era (2566 = 2023) read as Gregorian")
        if years.era:
            self.notes.append("Japanese era dates (令和5 / R5 = 2023, 平成 / H) read as Gregorian")
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

    def _years(self) -> _Years:
        """A fresh reader of worded dates for one pass over the file."""
        return _Years(self.path, self.year, self.name_year)

    def __iter__(self) -> Iterator[Message]:
        # identical repeats (same minute, sender and text) get a counter; keyed by a hash,
        # so the map stays small however long the chat is
        seen: dict[int, int] = {}
        previous: datetime | None = None
        offset = 0
        with _open_lines(self.path) as lines, zip_media(self.path) as media:
            for rec in _records(lines, self.layout, self.title, self._years()):
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
        kind, content, media, meta = _special(body) or _classify(body)
        if kind == "location" and media and content and content.endswith(media):
            kind, content, media, place = _place(None, media)  # `Standort: https://...`
            meta = {**meta, **place}
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
    year: int | None = None,
) -> ParsedChat:
    """One exported chat. `tz` is required: the export has local times. The messages are a
    WhatsAppExport: iterate them (or list() them); the file is streamed, not loaded.
    `date_order` (dmy, mdy, ymd) settles a file whose dates fit more than one order;
    `participant` (E.164) is the other party of a direct chat saved under a contact name;
    `year` is the year of the first message of a file whose dates have none (Android 2013)."""
    export = WhatsAppExport(
        Path(path), me=me, tz=tz, region=region, chat_name=chat_name,
        date_order=date_order, participant=participant, year=year,
    )  # fmt: skip
    return ParsedChat("whatsapp", export, account_name=export.me, notes=export.notes)  # type: ignore[arg-type]
