"""Large Telegram Desktop and signal-cli files stream: a 40 MiB export is read under the
CLI's 256 MiB address-space limit (issue 29 item 7 follow-up), with the right count.

The files are generated at test time, written by streaming (never held whole here either),
in the layouts of the real fixtures (examples/telegram_result.json, signal-receive.jsonl).
`--dry-run` parses and validates every message without a stack.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from crm_messaging.errors import ExportFormatError
from crm_messaging.importers.limits import JsonStream
from tests.test_hostile_files import check_refusal, run_cli

SIZE = 40 << 20
#: a message text of a long chat (Telegram allows 4,096 characters)
TEXT = "Olá, segue o relatório da semana com os números de vendas por região. " * 8


def telegram_message(i: int) -> dict[str, object]:
    return {
        "id": i, "type": "message", "date": "2024-03-01T10:00:00",
        "date_unixtime": str(1709287200 + i), "from": "Ana" if i % 2 else "Alice Admin",
        "from_id": "user4815162342" if i % 2 else "user1000001",
        "text": TEXT, "text_entities": [{"type": "plain", "text": TEXT}],
    }  # fmt: skip


def write_messages(f: io.TextIOBase, start: int, size: int) -> int:
    """Messages from id `start` until the file passes `size` bytes; the next id."""
    i = start
    while f.tell() < size:
        f.write(("," if i > start else "") + json.dumps(telegram_message(i), ensure_ascii=False))
        i += 1
    return i


def big_telegram_chat(tmp: Path) -> tuple[Path, int]:
    path = tmp / "result.json"
    with path.open("w", encoding="utf-8") as f:
        f.write('{"name": "Ana", "type": "personal_chat", "id": 4815162342, "messages": [')
        end = write_messages(f, 1, SIZE)  # type: ignore[arg-type]
        f.write("]}\n")
    return path, end - 1


def big_telegram_export(tmp: Path) -> tuple[Path, int]:
    """The export of all chats: personal_information, then chats.list of two chats, then
    left_chats (which the importer passes over)."""
    path = tmp / "result.json"
    with path.open("w", encoding="utf-8") as f:
        f.write('{"about": "Here is the data you requested.", "personal_information": {"user_id":'
                ' 1000001, "first_name": "Alice", "last_name": "Admin", "phone_number":'
                ' "+34 600 000 001"}, "chats": {"about": "chats", "list": [')  # fmt: skip
        f.write('{"name": "Ana", "type": "personal_chat", "id": 4815162342, "messages": [')
        middle = write_messages(f, 1, SIZE // 2)  # type: ignore[arg-type]
        f.write(']}, {"name": "Sales", "type": "private_supergroup", "id": 1234567, "messages": [')
        end = write_messages(f, 1, SIZE)  # type: ignore[arg-type]
        f.write(']}]}, "left_chats": {"about": "left", "list": [{"name": "Old", "type":'
                ' "private_group", "id": 99, "messages": [')  # fmt: skip
        write_messages(f, 1, SIZE + (1 << 20))  # type: ignore[arg-type]
        f.write("]}]}}\n")
    return path, (middle - 1) + (end - 1)


def big_signal(tmp: Path) -> tuple[Path, int]:
    path = tmp / "signal.jsonl"
    n = 0
    with path.open("w", encoding="utf-8") as f:
        while f.tell() < SIZE:
            n += 1
            env = {"envelope": {
                "source": "+34600000002", "sourceNumber": "+34600000002", "sourceName": "Ana",
                "sourceDevice": 1, "timestamp": 1709287200000 + n,
                "dataMessage": {"timestamp": 1709287200000 + n, "message": TEXT},
            }, "account": "+34600000001"}  # fmt: skip
            f.write(json.dumps(env, ensure_ascii=False) + "\n")
    return path, n


@pytest.mark.parametrize(
    ("platform", "make", "conversations"),
    [
        pytest.param("telegram", big_telegram_chat, 1, id="telegram chat 40 MiB"),
        pytest.param("telegram", big_telegram_export, 2, id="telegram full export 80 MiB"),
        pytest.param("signal", big_signal, 1, id="signal-cli 40 MiB"),
    ],
)
def test_a_large_file_streams_under_the_memory_limit(tmp_path, platform, make, conversations):
    path, count = make(tmp_path)
    assert path.stat().st_size > SIZE
    result = run_cli("import", platform, str(path), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["messages"] == count
    assert summary["conversations"] == conversations


def test_a_telegram_message_over_the_object_limit_is_refused(tmp_path):
    """One message object of 2 MiB (Telegram caps a message at 4,096 characters)."""
    path = tmp_path / "result.json"
    big = json.dumps(telegram_message(2) | {"text": "x" * (2 << 20)})
    path.write_text('{"name": "Ana", "type": "personal_chat", "id": 1, "messages": ['
                    + json.dumps(telegram_message(1)) + "," + big + "]}")  # fmt: skip
    check_refusal(run_cli("import", "telegram", str(path), "--dry-run"), path,
                  "a JSON value over 1 MiB: not a chat export")  # fmt: skip


class Trickle(io.StringIO):
    """A text stream that hands out a few characters a read: every value crosses a buffer
    boundary somewhere."""

    def read(self, size: int | None = -1) -> str:
        return super().read(3)


DOC = '{"a": 12345, "b": [1, 2.5e3, true, null, "x\\"y"], "messages": [{"id": 1}, 7, []], "z": {}}'


def test_the_json_stream_reads_across_any_buffer_boundary():
    stream = JsonStream(Trickle(DOC), "doc")
    seen: dict[str, object] = {}
    for key in stream.members():
        if key == "messages":
            seen[key] = [stream.decode() for _ in stream.items()]
        elif key == "z":
            stream.skip()
        else:
            seen[key] = stream.decode()
    stream.end()
    assert seen == {"a": 12345, "b": [1, 2500.0, True, None, 'x"y'], "messages": [{"id": 1}, 7, []]}


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ('{"a": 1', "expected ',' or '}' in an object"),
        ('{"a": [1, 2', "expected ',' or ']' in an array"),
        ('{"a": 1} x', "extra data after the document"),
        ("{a: 1}", "an object key is not a string"),
        ('{"a" 1}', "expected ':'"),
        ('{"a": tru', "it ends inside a value"),
    ],
)
def test_the_json_stream_refuses_what_is_not_json(doc, reason):
    stream = JsonStream(Trickle(doc), "doc")
    with pytest.raises(ExportFormatError, match=re.escape(reason)):
        for _key in stream.members():
            stream.skip()
        stream.end()
