"""Hostile input files: each is refused in one line, exit 2, under 256 MiB and in bounded time.

Every file is made at test time and is small on disk: sparse files, a zip bomb written by
streaming, symlinks to /dev/zero and to a folder, a FIFO, SQLite databases with a generated
column, an oversized value or rows a missing key multiplies. The CLI runs in a subprocess
whose address space is capped with RLIMIT_AS (so a MemoryError, not the machine, is what an
unbounded read would meet) and with a timeout (a hang would fail it, not stall the suite).
No stack is needed: `--dry-run` parses and validates without writing.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

MEMORY_LIMIT = 256 << 20
#: a hang guard, not a speed figure: every case ends in seconds
TIME_LIMIT = 90
SCHEMA = REPO_ROOT / "tests" / "fixtures" / "whatsapp" / "msgstore.sql"

_RUNNER = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from crm_messaging.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    code = _RUNNER.format(limit=MEMORY_LIMIT)
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True, text=True, timeout=TIME_LIMIT, check=False,
        env={**os.environ, "CRM_ENV_FILE": os.devnull},
    )  # fmt: skip


# -- the files --------------------------------------------------------------------------


def fifo(tmp: Path, name: str) -> Path:
    path = tmp / name
    os.mkfifo(path)
    return path


def folder(tmp: Path) -> Path:
    path = tmp / "WhatsApp Chat with Ana.txt"
    path.mkdir()
    return path


def link(tmp: Path, name: str, target: Path) -> Path:
    path = tmp / name
    path.symlink_to(target)
    return path


def sparse(tmp: Path, name: str, size: int, head: bytes = b"") -> Path:
    """A file of `size` bytes on almost no disk: `head`, then a hole (zero bytes, no newline)."""
    path = tmp / name
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)
    return path


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 4 MB: an export zip whose _chat.txt is one line of 4 GiB, written by streaming."""
    path = tmp_path_factory.mktemp("bomb") / "WhatsApp Chat - Bomb.zip"
    chunk = b"a" * (1 << 20)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("_chat.txt", "w", force_zip64=True) as member,
    ):
        member.write(b"[01/02/2024, 10:00:00] Ana: ")
        for _ in range(4096):
            member.write(chunk)
    assert path.stat().st_size < 8 << 20
    return path


def msgstore(tmp: Path, schema_edit: Callable[[str], str] = lambda s: s) -> sqlite3.Connection:
    path = tmp / "msgstore.db"
    db = sqlite3.connect(path)
    db.executescript(schema_edit(SCHEMA.read_text(encoding="utf-8").split("\ninsert")[0]))
    db.execute("insert into jid (_id, user, server, raw_string) values"
               " (1, '34611222333', 's.whatsapp.net', '34611222333@s.whatsapp.net')")  # fmt: skip
    db.execute("insert into chat (_id, jid_row_id) values (1, 1)")
    return db


def message_rows(db: sqlite3.Connection, n: int, text: str = "hola") -> None:
    db.executemany(
        "insert into message (_id, chat_row_id, from_me, key_id, sender_jid_row_id, status,"
        " timestamp, message_type, text_data) values (?, 1, 0, ?, 0, 0, ?, 0, ?)",
        [(i, f"3AB46A8635A5665F{i:04d}", 1781083812345 + i, text) for i in range(1, n + 1)],
    )


def generated_column(tmp: Path) -> Path:
    """A message table whose text is computed on reading: 900 MB of text a row (the column
    added after the rows, so nothing computes it here)."""
    db = msgstore(tmp, lambda s: s.replace("text_data text,", ""))
    db.executemany(
        "insert into message (_id, chat_row_id, from_me, key_id, sender_jid_row_id, status,"
        " timestamp, message_type) values (?, 1, 0, ?, 0, 0, ?, 0)",
        [(1, "3AB46A8635A5665F0001", 1781083812345)],
    )
    db.execute(
        "alter table message add column"
        " text_data text generated always as (hex(zeroblob(450000000))) virtual"
    )
    db.commit()
    return tmp / "msgstore.db"


def huge_value(tmp: Path) -> Path:
    """One stored message text of 20 MB (WhatsApp caps a message at 65,536 characters)."""
    db = msgstore(tmp)
    message_rows(db, 3)
    db.execute("update message set text_data = ? where _id = 2", ("x" * (20 << 20),))
    db.commit()
    return tmp / "msgstore.db"


def keyless(tmp: Path) -> Path:
    """No primary keys: 400 messages, each with 400 copies of its media row and of its
    system row, so the importer's joins would yield 64 million rows."""
    db = msgstore(tmp, lambda s: re.sub(r"\s(primary key autoincrement|primary key|unique)", "", s))
    message_rows(db, 400)
    ids = range(1, 401)
    db.executemany("insert into message_media (message_row_id, file_path) values (?, 'x')",
                   [(i,) for i in ids for _ in range(400)])  # fmt: skip
    db.executemany("insert into message_quoted (message_row_id, key_id, from_me) values (?, 'k', 0)",
                   [(i,) for i in ids for _ in range(400)])  # fmt: skip
    db.commit()
    return tmp / "msgstore.db"


def long_jsonl_line(tmp: Path) -> Path:
    path = tmp / "signal.jsonl"
    body = '{"envelope": {"source": "+34600000002", "timestamp": 1781083812345, "dataMessage": {"message": "'
    path.write_text(body + "x" * (2 << 20) + '"}}}\n', encoding="utf-8")
    return path


WA = ["--tz", "Europe/Madrid", "--me", "Alice"]

#: (id, platform, make the file, extra options, what the one line says)
CASES: list[tuple[str, str, Callable[[Path], Path], list[str], str]] = [
    ("fifo", "whatsapp", lambda t: fifo(t, "WhatsApp Chat with Ana.txt"), WA, "is a pipe (FIFO)"),
    ("folder", "whatsapp", folder, WA, "is a folder"),
    (
        "symlink to a folder",
        "whatsapp",
        lambda t: link(t, "chat.txt", folder(t)),
        WA,
        "is a folder",
    ),
    (
        "symlink to /dev/zero",
        "whatsapp",
        lambda t: link(t, "chat.txt", Path("/dev/zero")),
        WA,
        "is a device",
    ),
    ("/dev/zero", "whatsapp", lambda t: Path("/dev/zero"), WA, "is a device"),
    (
        "1 GiB one-line .txt",
        "whatsapp",
        lambda t: sparse(t, "WhatsApp Chat with Ana.txt", 1 << 30, b"[01/02/2024, 10:00:00] Ana: "),
        WA,
        "a line over 1 MiB: not a chat export",
    ),
    (
        "msgstore: generated column",
        "whatsapp",
        generated_column,
        [],
        "column message.text_data is generated",
    ),
    ("msgstore: a 20 MB value", "whatsapp", huge_value, [], "holds a value over 16 MiB"),
    ("msgstore: no keys", "whatsapp", keyless, [], "(tables without their keys or indexes?)"),
    (
        "1 GiB result.json",
        "telegram",
        lambda t: sparse(t, "result.json", 1 << 30, b"{"),
        ["--tz", "UTC"],
        "not JSON (an object key is not a string)",
    ),
    (
        "a 2 MiB line of JSON lines",
        "signal",
        long_jsonl_line,
        [],
        "a line over 1 MiB: not a chat export",
    ),
    ("fifo .csv", "wechat", lambda t: fifo(t, "Li Wei.csv"), [], "is a pipe (FIFO)"),
]


def check_refusal(result: subprocess.CompletedProcess[str], path: Path, reason: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"crm-messaging: {path}: "), lines[0]
    assert reason in lines[0], lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize(("make", "platform", "extra", "reason"),
                         [pytest.param(c[2], c[1], c[3], c[4], id=c[0]) for c in CASES])  # fmt: skip
def test_a_hostile_file_is_refused_in_one_line(tmp_path, make, platform, extra, reason):
    path = make(tmp_path)
    result = run_cli("import", platform, str(path), "--dry-run", *extra)
    check_refusal(result, path, reason)


def test_a_zip_bomb_is_refused_from_its_headers(zip_bomb):
    result = run_cli("import", "whatsapp", str(zip_bomb), "--dry-run", *WA)
    check_refusal(result, zip_bomb, "_chat.txt expands")
    assert "times (over 100): not a chat export" in result.stderr


def test_a_zip_member_longer_than_its_header_says_is_refused(tmp_path):
    """A forged header (a 64 MiB line declared as 2,000 bytes): the member is read no
    further than it declared, and the mismatch is a refusal."""
    path = tmp_path / "WhatsApp Chat - Forged.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_chat.txt", b"[01/02/2024, 10:00:00] Ana: " + b"a" * (64 << 20))
    data = bytearray(path.read_bytes())
    real = (64 << 20) + 28
    for at in [m.start() for m in re.finditer(re.escape(real.to_bytes(4, "little")), data)]:
        data[at : at + 4] = (2000).to_bytes(4, "little")  # the local and the central header
    path.write_bytes(bytes(data))
    result = run_cli("import", "whatsapp", str(path), "--dry-run", *WA)
    check_refusal(result, path, "_chat.txt")


def test_real_exports_still_import_under_the_same_limits(tmp_path):
    """The bounds refuse nothing a real export holds: the samples and the msgstore fixture."""
    store = tmp_path / "msgstore.db"
    with sqlite3.connect(store) as db:
        db.executescript(SCHEMA.read_text(encoding="utf-8"))
    for platform, path, extra in [
        ("whatsapp", REPO_ROOT / "examples" / "WhatsApp Chat with +34 612 34 56 78.txt", WA),
        ("telegram", REPO_ROOT / "examples" / "telegram_result.json", ["--tz", "UTC"]),
        ("signal", REPO_ROOT / "examples" / "signal-receive.jsonl", []),
        ("wechat", REPO_ROOT / "examples" / "wechat_liwei.csv", ["--me", "wxid_me"]),
        ("whatsapp", store, []),
    ]:
        result = run_cli("import", platform, str(path), "--dry-run", *extra)
        assert result.returncode == 0, (platform, result.stderr)
        assert "would be imported" in result.stdout
