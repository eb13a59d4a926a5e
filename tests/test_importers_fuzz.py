"""Hypothesis fuzzing of the four importers: any file gives messages or a readable
ExportFormatError naming the file, never another exception (a traceback for the user)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from crm_messaging.importers import ExportFormatError
from crm_messaging.importers.signal import parse_signal
from crm_messaging.importers.telegram import parse_telegram
from crm_messaging.importers.wechat import parse_wechat
from crm_messaging.importers.whatsapp import parse_whatsapp
from crm_messaging.models import Message

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False), TEXT,
    st.sampled_from(["2026-03-10T14:00:05", "1773151205", "user777", "service", "message",
                     "personal_chat", "private_group", "(File not included. Change data exporting settings to download.)",
                     "voice_message", "UPDATE", "image/jpeg", "+34612345678", "0"]),
)  # fmt: skip
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def keyed(keys: list[str], values: st.SearchStrategy[Any] = JSON) -> st.SearchStrategy[dict]:
    """Objects with some of the keys a real export uses, and arbitrary values."""
    return st.dictionaries(st.sampled_from(keys) | TEXT, values, max_size=len(keys))


def check(parse: Any, path: Path, **kw: Any) -> None:
    try:
        chat = parse(path, **kw)
        messages = list(chat.messages)
    except ExportFormatError as exc:
        assert str(path) in str(exc) or "--" in str(exc), str(exc)
        event("refused with a readable error")
        return
    assert all(isinstance(m, Message) for m in messages)
    event("read: some messages" if messages else "read: no messages")


TG_MESSAGE = keyed([
    "id", "type", "date", "date_unixtime", "from", "from_id", "text", "photo", "file",
    "media_type", "edited", "edited_unixtime", "reply_to_message_id", "actor", "actor_id",
    "action", "location_information", "contact_information",
])  # fmt: skip
TG_CHAT = st.fixed_dictionaries(
    {"messages": st.lists(TG_MESSAGE, max_size=5)},
    optional={"id": SCALAR, "name": SCALAR, "type": SCALAR},
)
TG_FILE = st.one_of(
    TG_CHAT,
    st.fixed_dictionaries(
        {"chats": st.one_of(JSON, st.fixed_dictionaries({"list": st.lists(TG_CHAT, max_size=3)}))},
        optional={"personal_information": JSON},
    ),
    JSON,
)


@FUZZ
@given(TG_FILE, st.sampled_from([None, "Europe/Madrid"]), st.sampled_from([None, "@ana"]))
# what test_telegram_mutated_exports once found (a TypeError at the media_type lookup)
@example(
    {"id": 1, "messages": [{"id": 1, "date_unixtime": "1773151205", "media_type": ["x"]}]},
    None,
    None,
)
@example({"chats": {"list": [{"messages": []}, {"id": [1], "messages": []}]}}, None, None)
@example({"id": 1, "messages": [{"id": [2], "date_unixtime": "1"}]}, None, None)
def test_telegram_fuzz(tmp_path, data, tz, participant):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    check(parse_telegram, path, tz=tz, participant=participant)


SIGNAL_DATA = keyed([
    "timestamp", "message", "attachments", "groupInfo", "quote", "reaction", "sticker",
    "destination", "destinationNumber", "destinationUuid",
])  # fmt: skip
SIGNAL_ENVELOPE = keyed(
    ["source", "sourceNumber", "sourceUuid", "sourceName", "timestamp", "dataMessage",
     "editMessage", "syncMessage", "receiptMessage", "typingMessage"],
    st.one_of(JSON, SIGNAL_DATA, st.fixed_dictionaries({"sentMessage": SIGNAL_DATA}),
              st.fixed_dictionaries({"dataMessage": SIGNAL_DATA}, optional={"targetSentTimestamp": SCALAR})),
)  # fmt: skip
SIGNAL_LINE = st.one_of(
    st.fixed_dictionaries({"envelope": SIGNAL_ENVELOPE}, optional={"account": SCALAR}).map(json.dumps),
    JSON.map(json.dumps),
    TEXT,
)  # fmt: skip


@FUZZ
@given(st.lists(SIGNAL_LINE, max_size=6))
def test_signal_fuzz(tmp_path, lines):
    path = tmp_path / "signal.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    check(parse_signal, path)


WECHAT_COLUMNS = ["localId", "TalkerId", "MsgSvrID", "Type", "SubType", "IsSender",
                  "CreateTime", "StrContent", "StrTalker", "Remark", "NickName", "Sender"]  # fmt: skip
CELL = st.one_of(
    TEXT,
    st.integers(-5, 2**40).map(str),
    st.sampled_from(["1", "0", "10000", "wxid_a", "1@chatroom", ""]),
)


@FUZZ
@given(
    st.one_of(
        st.lists(st.sampled_from(WECHAT_COLUMNS), min_size=1, max_size=12, unique=True),
        st.permutations(WECHAT_COLUMNS),  # every column a real export has
    ),
    st.lists(st.lists(CELL, max_size=13), max_size=6),
    st.booleans(),
)
def test_wechat_fuzz(tmp_path, header, rows, raw):
    path = tmp_path / "chat.csv"
    if raw:  # not even a CSV
        path.write_text("\n".join(",".join(r) for r in rows), encoding="utf-8")
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    check(parse_wechat, path)


WA_LINE = st.one_of(
    st.sampled_from([
        "12/03/2026, 09:14 - Ann: hi", "[1/15/26, 9:05:13\u202fPM] Bob: yo",
        "2026-01-02, 10:00 - me: x", "31.12.25, 23:59 - Ann: <Media omitted>",
        "13.6.2018 klo 21.25.15 - a: m", "13. 6. 2018. 21:25:15 a: m", "13.06.18 21.25.15: a: m",
        "20-01-15, 02:22 - me: hi", "[8/15/23, 9:12:33 AM] Dr. Feather: \u200eMessages and calls are end-to-end encrypted.",
        "15.04.2016, 15:04 - Family: \u200eAna created group \"Family\"",
        "[1/15/26, 9:08:00 PM] Bob: \u200e< attached: 00000042-PHOTO-x.jpg >",
        "99/99/9999, 99:99 - Bad: time", "0/0/0, 0:00 - z: z", "garbage", "",
    ]),
    TEXT,
)  # fmt: skip


@FUZZ
@given(
    st.lists(WA_LINE, max_size=10),
    st.sampled_from([None, "dmy", "mdy", "ymd"]),
    st.sampled_from([None, "+34 612 34 56 78", "not a phone"]),
)
def test_whatsapp_fuzz(tmp_path, lines, order, participant):
    path = tmp_path / "WhatsApp Chat with Z.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    check(parse_whatsapp, path, tz="UTC", me="me", date_order=order, participant=participant)


# -------------------------------------------- real exports with a few fields broken at random

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FIXTURES = Path(__file__).parent / "fixtures"


def _mutate(obj: Any, data: st.DataObject, depth: int = 0) -> Any:
    """`obj` with some values replaced by arbitrary JSON, some keys dropped, recursively."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            action = data.draw(
                st.sampled_from(["keep", "keep", "keep", "recurse", "drop", "replace"])
            )
            if action == "drop":
                continue
            if action == "replace":
                out[key] = data.draw(JSON)
            elif action == "recurse" and depth < 4:
                out[key] = _mutate(value, data, depth + 1)
            else:
                out[key] = value
        return out
    if isinstance(obj, list):
        return [_mutate(x, data, depth + 1) for x in obj]
    return obj


@FUZZ
@given(
    st.data(),
    st.sampled_from(
        [EXAMPLES / "telegram_result.json", FIXTURES / "telegram" / "old_desktop_export.json"]
    ),
)
def test_telegram_mutated_exports(tmp_path, data, source):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(_mutate(json.loads(source.read_text()), data)), encoding="utf-8")
    check(parse_telegram, path, tz="UTC")


@FUZZ
@given(
    st.data(),
    st.sampled_from(
        [
            EXAMPLES / "signal-receive.jsonl",
            FIXTURES / "signal" / "quote_attachment_group_update.jsonl",
        ]
    ),
)
def test_signal_mutated_exports(tmp_path, data, source):
    lines = [json.loads(x) for x in source.read_text().splitlines() if x.strip()]
    path = tmp_path / "signal.jsonl"
    path.write_text("\n".join(json.dumps(_mutate(x, data)) for x in lines), encoding="utf-8")
    check(parse_signal, path)


@FUZZ
@given(
    st.data(),
    st.sampled_from([EXAMPLES / "wechat_liwei.csv", FIXTURES / "wechat" / "group_memotrace.csv"]),
)
def test_wechat_mutated_exports(tmp_path, data, source):
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8-sig"))))
    for row in rows[1:]:
        for i in range(len(row)):
            if data.draw(st.integers(0, 9)) == 0:
                row[i] = data.draw(CELL)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path = tmp_path / "chat.csv"
    path.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    check(parse_wechat, path)
