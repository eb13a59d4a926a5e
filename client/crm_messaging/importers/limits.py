"""Bounds on what an importer reads: every format opens its input through these helpers.

An export file comes from a phone, a backup tool or a stranger, so it may be hostile: a
FIFO or a device (which never ends), a one-line file of a gigabyte, a zip bomb, a SQLite
database whose columns are computed on reading. Each helper refuses such input with an
ExportFormatError naming the file and the reason (the CLI prints it on one line and exits
2), and reads what it accepts as a stream, so the CLI's memory stays bounded (under 256 MiB,
tests/test_hostile_files.py) whatever the input.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import sqlite3
import stat
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..errors import ExportFormatError

#: the longest line a chat export has (a WhatsApp message is at most 65,536 characters,
#: a Telegram one 4,096); a longer line is not a chat export
MAX_LINE = 1 << 20
#: the largest file read whole: parsed in memory, it takes several times its size, so past
#: this the 256 MiB the CLI keeps to would not hold (Telegram, signal-cli and WeChat files
#: are read as streams instead: text_lines, JsonStream)
MAX_WHOLE_FILE = 16 << 20
#: the largest JSON value a stream decodes at once (one message object of an array): a
#: Telegram message is at most 4,096 characters with its entities, so larger is not a chat
MAX_OBJECT = 1 << 20
#: how much a stream reads at a time
_CHUNK = 1 << 16
#: a zip member may expand to at most this many times its compressed size (text compresses
#: about 3 to 10 times, media not at all; deflate's bombs reach 1,000)
MAX_ZIP_RATIO = 100
#: below this many bytes a member's ratio does not matter
ZIP_RATIO_FLOOR = 1 << 20
#: the most all of a zip's members may expand to
MAX_ZIP_TOTAL = 16 << 30
#: SQLite: the largest string or blob one value may be (a message is far smaller)
SQLITE_MAX_VALUE = 16 << 20
#: SQLite: the page cache of the connection (pragma hard_heap_limit would bound SQLite's
#: memory too, but for the whole process and for good: a library must not set it)
SQLITE_CACHE_KIB = 16 << 10
#: SQLite: virtual machine steps per page of the database (a full read of every table with
#: its joins costs a few hundred steps per row, tens of rows a page), and a floor
SQLITE_STEPS_PER_PAGE = 50_000
SQLITE_MIN_STEPS = 50_000_000
SQLITE_SECONDS = 600.0
_TICK = 10_000
#: the tables of a msgstore.db the importer reads (refused when virtual)
MSGSTORE_TABLES = {
    "message", "chat", "jid", "jid_map", "message_media", "message_quoted", "message_location",
    "message_system", "message_edit_info", "message_add_on", "message_forwarded",
    "message_add_on_reaction", "message_call_log", "call_log", "message_vcard", "message_future",
}  # fmt: skip


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not an export file"
    if stat.S_ISFIFO(mode):
        return "is a pipe (FIFO), not an export file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not an export file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not an export file"
    return "is not a regular file"


def regular_file(path: Path) -> Path:
    """`path` when it is (or a symlink leads to) a regular file; else ExportFormatError."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ExportFormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise ExportFormatError(f"{path}: {exc.strerror}") from None
    reason = _kind(st.st_mode)
    if reason is not None:
        raise ExportFormatError(f"{path}: {reason}")
    return path


@contextmanager
def open_binary(path: Path) -> Iterator[IO[bytes]]:
    """The file opened for reading when it is a regular file; checked again on the open
    descriptor (never blocking), so a file swapped for a FIFO in between is refused too."""
    regular_file(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ExportFormatError(f"{path}: {exc.strerror}") from None
    reason = _kind(os.fstat(fd).st_mode)
    if reason is not None:
        os.close(fd)
        raise ExportFormatError(f"{path}: {reason}")
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as f:
        yield f


def too_long(path: Path | str) -> ExportFormatError:
    return ExportFormatError(f"{path}: a line over {MAX_LINE // (1 << 20)} MiB: not a chat export")


def bounded_lines(text: IO[str], path: Path | str) -> Iterator[str]:
    """The lines of a text stream, refusing one longer than MAX_LINE characters: never more
    than that is held, however long the line runs (a one-line gigabyte, /dev/zero)."""
    readline = text.readline
    for line in iter(lambda: readline(MAX_LINE + 1), ""):
        if len(line) > MAX_LINE:
            raise too_long(path)
        yield line


class _Utf8Text(io.TextIOBase):
    """A binary stream read as UTF-8 text (BOM dropped), a decoding error an
    ExportFormatError naming the file and the byte."""

    def __init__(self, raw: IO[bytes], path: Path) -> None:
        self._raw, self._path, self._at = raw, path, 0
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._pending = ""

    def readable(self) -> bool:
        return True

    def _more(self) -> bool:
        data = self._raw.read(_CHUNK)
        try:
            self._pending += self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise ExportFormatError(
                f"{self._path}: not UTF-8 text ({exc.reason} at byte {self._at + exc.start})"
            ) from None
        self._at += len(data)
        return bool(data)

    def read(self, size: int | None = -1) -> str:
        want = -1 if size is None else size
        while want < 0 or len(self._pending) < want:
            if not self._more():
                break
        if want < 0:
            want = len(self._pending)
        out, self._pending = self._pending[:want], self._pending[want:]
        return out

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        limit = -1 if size is None else size
        start = 0
        while True:
            newline = self._pending.find("\n", start)
            if newline != -1 and (limit < 0 or newline < limit):
                return self.read(newline + 1)
            if 0 <= limit <= len(self._pending):
                return self.read(limit)
            start = len(self._pending)
            if not self._more():
                return self.read(len(self._pending))


@contextmanager
def open_text(path: Path) -> Iterator[IO[str]]:
    """A regular file as a stream of UTF-8 text (BOM dropped), never read whole."""
    path = Path(path)
    with open_binary(path) as f:
        yield _Utf8Text(f, path)  # type: ignore[misc]


@contextmanager
def text_lines(path: Path) -> Iterator[Iterator[str]]:
    """The lines of a UTF-8 file (with their line ends), one at a time, a line over
    MAX_LINE refused: what a file of JSON lines or a CSV is read through, whatever its size."""
    with open_text(path) as text:
        yield bounded_lines(text, path)


class JsonStream:
    """A JSON document read incrementally from a text stream over a bounded buffer.

    The caller walks the structure it expects: `members()` of an object (each key, the
    stream then at its value), `items()` of an array, and at each value `decode()` (one
    whole value of at most MAX_OBJECT characters, json.JSONDecoder.raw_decode) or `skip()`
    (any value, streamed). Memory holds one decoded value and one buffer, whatever the size
    of the document; what is not JSON, or a value over the cap, is an ExportFormatError.
    """

    _WS = " \t\n\r"

    def __init__(self, text: IO[str], path: Path | str, cap: int = MAX_OBJECT) -> None:
        self._text, self.path, self._cap = text, path, cap
        self._buf, self._pos, self._eof = "", 0, False
        self._decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        if self._eof:
            return False
        if self._pos > _CHUNK:  # drop what was read: the buffer stays bounded
            self._buf, self._pos = self._buf[self._pos :], 0
        data = self._text.read(_CHUNK)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def _peek(self) -> str:
        """The next character that is not white space; "" at the end."""
        while True:
            buf, pos = self._buf, self._pos
            while pos < len(buf) and buf[pos] in self._WS:
                pos += 1
            self._pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self._fill():
                return ""

    def error(self, what: str) -> ExportFormatError:
        return ExportFormatError(f"{self.path}: not JSON ({what})")

    def _expect(self, char: str) -> None:
        found = self._peek()
        if found != char:
            raise self.error(f"expected {char!r}, found {found or 'the end of the file'!r}")
        self._pos += 1

    def decode(self) -> Any:
        """The value at the stream's position, whole (at most the cap in characters)."""
        self._peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof:
                    raise self.error(f"{exc.msg} at the end of the file") from None
                value, end = None, -1
            except RecursionError:
                raise ExportFormatError(f"{self.path}: JSON nested too deeply") from None
            # a value that ends where the buffer does may go on (a number, cut in two)
            if end != -1 and (end < len(self._buf) or self._eof):
                self._pos = end
                return value
            if len(self._buf) - self._pos > self._cap:
                raise ExportFormatError(
                    f"{self.path}: a JSON value over {self._cap >> 20} MiB: not a chat export"
                )
            if not self._fill() and end == -1:
                raise self.error("it ends inside a value")

    def kind(self) -> str:
        """What the next value is: "object", "array" or "scalar" ("" at the end)."""
        char = self._peek()
        return {"{": "object", "[": "array", "": ""}.get(char, "scalar")

    def members(self) -> Iterator[str]:
        """The keys of the object at the position; after each, the caller reads its value."""
        self._expect("{")
        if self._peek() == "}":
            self._pos += 1
            return
        while True:
            if self._peek() != '"':
                raise self.error("an object key is not a string")
            key = self.decode()
            self._expect(":")
            yield key
            char = self._peek()
            self._pos += 1
            if char == "}":
                return
            if char != ",":
                raise self.error(f"expected ',' or '}}' in an object, found {char or 'the end'!r}")

    def items(self) -> Iterator[int]:
        """The indexes of the array at the position; at each, the caller reads the item."""
        self._expect("[")
        if self._peek() == "]":
            self._pos += 1
            return
        n = 0
        while True:
            yield n
            n += 1
            char = self._peek()
            self._pos += 1
            if char == "]":
                return
            if char != ",":
                raise self.error(f"expected ',' or ']' in an array, found {char or 'the end'!r}")

    def skip(self) -> None:
        """The value at the position, passed over without holding it (streamed)."""
        kind = self.kind()
        if kind == "object":
            for _key in self.members():
                self.skip()
        elif kind == "array":
            for _n in self.items():
                self.skip()
        else:
            self.decode()

    def end(self) -> None:
        """Refuses anything but white space after the document."""
        if self._peek():
            raise self.error("extra data after the document")


def read_text(path: Path) -> str:
    """A whole UTF-8 text file (BOM dropped), when it is a regular file of at most
    MAX_WHOLE_FILE bytes without a line over MAX_LINE."""
    path = Path(path)
    with open_binary(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_WHOLE_FILE:
            raise ExportFormatError(
                f"{path}: {size / (1 << 20):.0f} MiB, over the {MAX_WHOLE_FILE >> 20} MiB this"
                " importer reads (export fewer chats or a shorter period per file)"
            )
        data = f.read(MAX_WHOLE_FILE + 1)
    if len(data) > MAX_WHOLE_FILE:  # grew while read
        raise ExportFormatError(f"{path}: grew over {MAX_WHOLE_FILE >> 20} MiB while read")
    start = 0  # a line over MAX_LINE: a window of that many bytes without a newline
    while len(data) - start > MAX_LINE:
        newline = data.rfind(b"\n", start, start + MAX_LINE + 1)
        if newline == -1:
            raise too_long(path)
        start = newline + 1
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportFormatError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


# -- zip ---------------------------------------------------------------------------------


class _Capped(io.RawIOBase):
    """A zip member's bytes, refused past the size its header declares (or `cap`): a forged
    header cannot make a member expand further than it said."""

    def __init__(self, raw: IO[bytes], limit: int, where: str) -> None:
        self._raw, self._left, self._where = raw, limit, where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        data = self._raw.read(min(len(view), self._left + 1))
        if len(data) > self._left:
            raise ExportFormatError(f"{self._where}: expands past the size its zip header declares")
        self._left -= len(data)
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def check_zip(path: Path, zf: zipfile.ZipFile) -> None:
    """Refuses a zip whose members together expand past MAX_ZIP_TOTAL, or one member past
    MAX_ZIP_RATIO times its compressed size (a zip bomb), from the headers alone."""
    total = 0
    for info in zf.infolist():
        total += info.file_size
        if info.file_size > ZIP_RATIO_FLOOR and info.file_size > MAX_ZIP_RATIO * max(
            info.compress_size, 1
        ):
            raise ExportFormatError(
                f"{path}: {info.filename} expands {info.file_size // max(info.compress_size, 1):,}"
                f" times (over {MAX_ZIP_RATIO}): not a chat export"
            )
    if total > MAX_ZIP_TOTAL:
        raise ExportFormatError(
            f"{path}: its files expand to {total / (1 << 30):.1f} GiB, over"
            f" {MAX_ZIP_TOTAL >> 30} GiB"
        )


@contextmanager
def open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    """A zip archive (a regular file, checked against bombs), opened for streaming reads."""
    with open_binary(path) as f:
        try:
            with zipfile.ZipFile(f) as zf:
                check_zip(path, zf)
                yield zf
        except zipfile.BadZipFile as exc:
            raise ExportFormatError(f"{path}: not a WhatsApp export zip ({exc})") from None


@contextmanager
def zip_member(path: Path, zf: zipfile.ZipFile, name: str) -> Iterator[IO[bytes]]:
    """One member's bytes as a stream, refused past the size its header declares."""
    info = zf.getinfo(name)
    try:
        raw = zf.open(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        raise ExportFormatError(f"{path}: {name}: cannot be read ({exc})") from None
    capped = _Capped(raw, info.file_size, f"{path}: {name}")
    with io.BufferedReader(capped, 1 << 16) as stream:
        try:
            yield stream
        except (zipfile.BadZipFile, EOFError) as exc:
            raise ExportFormatError(f"{path}: {name}: damaged ({exc})") from None


# -- SQLite ------------------------------------------------------------------------------


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A SQLite database opened read-only and bounded: one value of at most
    SQLITE_MAX_VALUE bytes, a page cache of SQLITE_CACHE_KIB, sorts on disk, a progress handler
    that stops a query past its steps (per page of the file) or SQLITE_SECONDS; what
    passes a bound is an sqlite3.Error that `sqlite_refusal` words."""
    regular_file(path)
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ExportFormatError(f"{path}: {exc}") from None
    # Connection.setlimit: Python 3.11+ (on 3.10 values are not capped)
    setlimit = getattr(db, "setlimit", None)
    if setlimit is not None:
        setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQLITE_MAX_VALUE)  # type: ignore[attr-defined]
    try:
        db.execute("pragma query_only = 1")
        db.execute("pragma temp_store = file")  # a large sort spills to disk, not memory
        db.execute(f"pragma cache_size = -{SQLITE_CACHE_KIB}")
        pages = int(db.execute("pragma page_count").fetchone()[0])
    except sqlite3.Error as exc:
        db.close()
        raise ExportFormatError(f"{path}: not a readable SQLite database ({exc})") from None
    budget = max(SQLITE_MIN_STEPS, pages * SQLITE_STEPS_PER_PAGE) // _TICK
    deadline = time.monotonic() + SQLITE_SECONDS
    ticks = 0

    def progress() -> int:
        nonlocal ticks
        ticks += 1
        return int(ticks > budget or time.monotonic() > deadline)

    db.set_progress_handler(progress, _TICK)
    return db


def sqlite_refusal(path: Path, exc: sqlite3.Error) -> ExportFormatError:
    """An sqlite3 error while reading, as a one-line refusal (a bound says which)."""
    # by SQLite's result code (Python 3.11+), never by the words
    code = getattr(exc, "sqlite_errorcode", None)
    if code == 9:  # SQLITE_INTERRUPT: the progress handler stopped it
        reason = (
            "reading it takes longer than any WhatsApp database of its size"
            " (tables without their keys or indexes?)"
        )
    elif code in (7, 18):  # SQLITE_NOMEM, SQLITE_TOOBIG (the value limit)
        reason = f"holds a value over {SQLITE_MAX_VALUE >> 20} MiB, larger than any message"
    else:
        reason = str(exc)
    return ExportFormatError(f"{path}: {reason}")


def real_columns(db: sqlite3.Connection, table: str) -> dict[str, bool]:
    """The columns of a table, each with whether it is stored (False: generated, computed
    on every read, which a real database from the phone never has)."""
    quoted = table.replace('"', '""')
    rows = db.execute(f'pragma table_xinfo("{quoted}")').fetchall()
    # hidden: 0 a column, 1 a virtual table's hidden column, 2 and 3 generated columns
    return {str(r[1]): int(r[6]) not in (2, 3) for r in rows}


def refuse_computed(path: Path, db: sqlite3.Connection, read: set[str]) -> None:
    """Refuses a database where a table it reads (`read`) is virtual, or any table has a
    generated column: only stored values are read, never code the file brings."""
    tables = []
    for name, sql in db.execute("select name, sql from sqlite_master where type = 'table'"):
        virtual = str(sql or "").lstrip().lower().startswith("create virtual")
        if virtual and name in read:
            raise ExportFormatError(f"{path}: table {name} is virtual, not a WhatsApp database")
        if not virtual:
            tables.append(str(name))
    for table in tables:
        computed = [c for c, stored in real_columns(db, table).items() if not stored]
        if computed:
            raise ExportFormatError(
                f"{path}: column {table}.{computed[0]} is generated, not a WhatsApp database"
            )
