"""WhatsApp .txt header layouts of other phones, languages and years (issue 29 item 2).

Each fixture in tests/fixtures/whatsapp/layouts/ (sources in tests/fixtures/SOURCES.md) is
read as a person reading the chat on the phone would: who wrote, the Gregorian day and the
time the phone showed, and what kind of message it is. No stack needed.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from crm_messaging.importers import ExportFormatError
from crm_messaging.importers.whatsapp import parse_whatsapp
from devstack.layout import REPO_ROOT

LAYOUTS = Path(__file__).parent / "fixtures" / "whatsapp" / "layouts"

#: fixture -> (options, [(sender, local time as the phone showed it, type, content)]);
#: content None means "not asserted here" for media and notices
CASES: dict[str, tuple[dict[str, Any], list[tuple[str | None, str, str, str | None]]]] = {
    "ios_ar.txt": (
        {"me": "أحمد"},
        [
            ("أحمد", "2023-03-12 09:05:10", "text", "صباح الخير"),
            ("سارة", "2023-03-12 09:06:02", "text", "أهلاً، الطلب رقم ٤٥ جاهز؟"),
            ("أحمد", "2023-03-12 14:15:30", "text", "نعم\nالساعة ٣"),
            ("سارة", "2023-03-13 00:00:00", "text", "شكراً"),
        ],
    ),
    "android_fa.txt": (
        {"me": "Reza"},
        [
            ("Reza", "2023-03-12 14:05:00", "text", "سلام"),
            ("Mina", "2023-03-12 14:06:00", "text", "سلام، ۲ دقیقه"),
            ("Reza", "2023-03-13 08:30:00", "text", "صبح بخیر"),
        ],
    ),
    "android_mr.txt": (
        {"me": "Amit"},
        [
            ("Amit", "2023-03-12 14:05:00", "text", "नमस्कार"),
            ("Priya", "2023-03-12 14:07:00", "text", "नमस्कार, ३ वाजता भेटू"),
            ("Amit", "2023-03-13 09:10:00", "text", "ठीक आहे"),
            ("Priya", "2023-04-01 10:00:00", "text", "धन्यवाद"),
        ],
    ),
    "android_bn.txt": (
        {"me": "Rahim"},
        [
            ("Rahim", "2023-03-12 14:05:00", "text", "হ্যালো"),
            ("Karim", "2023-03-13 09:10:00", "text", "ঠিক আছে"),
            ("Rahim", "2023-04-01 10:00:00", "text", "ধন্যবাদ"),
        ],
    ),
    "android_th_digits.txt": (
        {"me": "Somchai"},
        [
            ("Somchai", "2023-03-12 14:05:00", "text", "สวัสดี"),
            ("Malee", "2023-03-13 09:10:00", "text", "ครับ"),
        ],
    ),
    "ios_th_buddhist.txt": (
        {"me": "Somchai"},
        [
            ("Somchai", "2023-03-12 14:05:10", "text", "สวัสดีครับ"),
            ("Malee", "2023-03-12 14:06:00", "text", "สวัสดีค่ะ"),
            ("Somchai", "2024-01-01 00:00:05", "text", "สวัสดีปีใหม่"),
        ],
    ),
    "ios_ja_era.txt": (
        {"me": "健太"},
        [
            ("健太", "2019-04-30 23:59:00", "text", "平成最後の日"),
            ("由美", "2019-05-01 00:01:00", "text", "令和になりました"),
            ("健太", "2023-03-12 14:05:10", "text", "こんにちは"),
        ],
    ),
    "android_ja_era_kanji.txt": (
        {"me": "健太"},
        [
            ("健太", "2019-04-30 23:59:00", "text", "平成最後"),
            ("由美", "2019-05-01 00:01:00", "text", "令和元年"),
            ("健太", "2023-03-12 14:05:00", "text", "こんにちは"),
        ],
    ),
    "android_vi.txt": (
        {"me": "Minh"},
        [
            ("Minh", "2023-03-12 14:05:00", "text", "Chào bạn"),
            ("Lan", "2023-03-12 14:06:00", "text", "Chào anh"),
            ("Minh", "2023-03-13 09:10:00", "text", "Hẹn gặp lại"),
        ],
    ),
    "ios_vi.txt": (
        {"me": "Minh"},
        [
            ("Minh", "2023-03-12 14:05:10", "text", "Chào bạn"),
            ("Lan", "2023-03-12 14:06:00", "text", "Chào anh\nnhiều dòng"),
            ("Minh", "2023-03-13 09:10:30", "text", "Hẹn gặp lại"),
        ],
    ),
    "android_time_first_month_name.txt": (
        {"me": "Bob"},
        [
            ("Bob", "2013-08-28 19:23:00", "text", "Hey, are you there?"),
            ("Carol", "2013-08-28 19:25:00", "text", "Yes"),
            ("Bob", "2013-09-01 08:02:00", "text", "Good morning"),
        ],
    ),
    "android_no_year.txt": (
        {"me": "Dana", "year": 2013},
        [
            ("Dana", "2013-12-30 20:11:00", "text", "See you next year"),
            ("Eve", "2013-12-31 23:59:00", "text", "Happy new year!"),
            ("Dana", "2014-01-01 00:01:00", "text", "Happy new year"),
            ("Eve", "2014-03-05 20:11:00", "other", None),
        ],
    ),
    "WhatsApp Chat with Dana 2013.txt": (
        {"me": "Dana"},
        [
            ("Dana", "2013-12-30 20:11:00", "text", "See you next year"),
            ("Eve", "2013-12-31 23:59:00", "text", "Happy new year!"),
            ("Dana", "2014-01-01 00:01:00", "text", "Happy new year"),
            ("Eve", "2014-03-05 20:11:00", "other", None),
        ],
    ),
    "android_dated_then_no_year.txt": (
        {"me": "Dana"},
        [
            ("Dana", "2012-12-28 20:11:00", "text", "Last year's message"),
            ("Eve", "2013-01-02 09:00:00", "text", "This year's message"),
        ],
    ),
    "special_lines.txt": (
        {"me": "Ana"},
        [
            ("Ana", "2015-06-15 18:02:00", "location", None),
            ("Ben", "2015-06-15 18:03:00", "location", "Cafe Central"),
            ("Ana", "2015-06-15 18:04:00", "location", "40.4168,-3.7038"),
            ("Ben", "2015-06-15 18:05:00", "other", None),
            ("Ana", "2015-06-15 18:06:00", "other", "Missed voice call"),
            ("Ben", "2015-06-15 18:07:00", "other", "Missed video call"),
            ("Ana", "2015-06-15 18:08:00", "text", "null and void is what I said"),
        ],
    ),
}


def read(name: str, **options: Any) -> list[Any]:
    return list(parse_whatsapp(LAYOUTS / name, tz="UTC", **options).messages)


def readings(name: str) -> list[tuple[str | None, str, str, str | None]]:
    """What the importer reads, in the shape of CASES (times without the file-order ms)."""
    options, expected = CASES[name]
    got = []
    for m, want in zip(read(name, **options), expected, strict=False):
        local = m.sent_at.replace(microsecond=0, tzinfo=None)
        got.append((m.sender_name, local.isoformat(sep=" "), m.type,
                    None if want[3] is None else m.content))  # fmt: skip
    return got


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_layout_reads_senders_gregorian_times_and_types(name):
    assert readings(name) == CASES[name][1]
    assert len(read(name, **CASES[name][0])) == len(CASES[name][1])


def score() -> tuple[int, int]:
    """(checks right, checks): one check per message of CASES; a refused file gets none."""
    right = total = 0
    for name, (_, expected) in CASES.items():
        total += len(expected)
        with contextlib.suppress(ExportFormatError):
            right += sum(a == b for a, b in zip(readings(name), expected, strict=False))
    return right, total


def test_every_check_of_the_corpus_is_right():
    assert score() == (sum(len(e) for _, e in CASES.values()),) * 2


def test_a_year_less_file_without_a_year_is_refused_naming_the_option():
    with pytest.raises(ExportFormatError, match="--year"):
        read("android_no_year.txt", me="Dana")


def test_the_year_option_outranks_the_file_name():
    got = read("WhatsApp Chat with Dana 2013.txt", me="Dana", year=2015)
    assert got[0].sent_at.year == 2015 and got[-1].sent_at.year == 2016


def test_the_summary_says_where_the_year_and_the_calendar_came_from():
    notes = " ".join(parse_whatsapp(LAYOUTS / "WhatsApp Chat with Dana 2013.txt", tz="UTC",
                                    me="Dana").notes)  # fmt: skip
    assert "2013" in notes and "file name" in notes
    notes = " ".join(parse_whatsapp(LAYOUTS / "ios_th_buddhist.txt", tz="UTC", me="Somchai").notes)
    assert "Buddhist" in notes
    notes = " ".join(parse_whatsapp(LAYOUTS / "ios_ja_era.txt", tz="UTC", me="健太").notes)
    assert "Japanese era" in notes


def test_a_year_before_whatsapp_is_refused_not_read_as_gregorian(tmp_path):
    # a Solar Hijri (Persian calendar) date: 1402 is no Gregorian year of a WhatsApp chat
    path = tmp_path / "chat.txt"
    path.write_text("۱۴۰۲/۱۲/۲۱، ۱۴:۰۵ - Reza: سلام\n۱۴۰۲/۱۲/۲۲، ۱۴:۰۶ - Mina: سلام\n")
    with pytest.raises(ExportFormatError, match=r"۱۴۰۲/۱۲/۲۱.*before 2009"):
        read(str(path), me="Reza")


def test_native_digits_in_a_message_stay_as_written():
    got = read("ios_ar.txt", me="أحمد")
    assert got[1].content == "أهلاً، الطلب رقم ٤٥ جاهز؟"


def test_locations_in_the_live_paths_shape():
    ana, ben, plain = read("special_lines.txt", me="Ana")[:3]
    assert ana.media_url == "https://foursquare.com/v/4b5a1d0ff964a520aeb128e3"
    assert ana.content == "https://foursquare.com/v/4b5a1d0ff964a520aeb128e3"
    assert ben.content == "Cafe Central"
    assert ben.metadata["latitude"] == 40.416775 and ben.metadata["longitude"] == -3.70379
    assert plain.metadata["latitude"] == 40.4168 and plain.metadata["longitude"] == -3.7038
    assert "latitude" not in ana.metadata


def test_view_once_and_missed_calls_are_what_they_are():
    msgs = read("special_lines.txt", me="Ana")
    once, voice, video, text = msgs[3:]
    assert once.content is None
    assert once.metadata["view_once"] is True and once.metadata["media_omitted"] is True
    assert voice.metadata["whatsapp_type"] == "call"
    assert voice.metadata["call"] == {"media": "voice", "missed": True}
    assert video.metadata["call"] == {"media": "video", "missed": True}
    assert voice.direction == "outbound" and video.direction == "inbound"
    assert "view_once" not in text.metadata and "call" not in text.metadata


def test_the_cli_takes_the_year_and_refuses_without_it_in_one_line(monkeypatch, tmp_path, capsys):
    from crm_messaging.cli import main

    monkeypatch.setenv("CRM_ENV_FILE", str(tmp_path / "missing.env"))
    monkeypatch.chdir(tmp_path)
    path = str(LAYOUTS / "android_no_year.txt")
    args = ["import", "whatsapp", path, "--tz", "UTC", "--me", "Dana", "--dry-run", "--json"]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "--year" in err
    assert main([*args, "--year", "2013"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert "dates without a year: the year from --year 2013" in notes
    assert main(["import", "signal", str(REPO_ROOT / "examples" / "signal-receive.jsonl"),
                 "--year", "2013", "--dry-run"]) == 2  # fmt: skip
    assert "--year is for WhatsApp" in capsys.readouterr().err
