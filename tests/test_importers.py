"""Importers on small export files written for these tests (examples/ and tests/fixtures/)."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_messaging.importers import ExportFormatError
from crm_messaging.importers.signal import parse_signal
from crm_messaging.importers.telegram import parse_telegram
from crm_messaging.importers.wechat import parse_wechat
from crm_messaging.importers.whatsapp import parse_whatsapp
from devstack.layout import REPO_ROOT

EX = REPO_ROOT / "examples"
FX = Path(__file__).parent / "fixtures"
WA_ANDROID = EX / "WhatsApp Chat with +34 612 34 56 78.txt"


def own(meta):
    """A WhatsApp message's metadata without the marks every export copy carries."""
    assert meta is not None and meta.pop("id_source") == "export"
    assert meta.pop("time_precision") in ("minute", "second")
    return meta or None


def utc(*a):
    return datetime(*a, tzinfo=timezone.utc)


def test_whatsapp_android_dmy_24h():
    chat = parse_whatsapp(WA_ANDROID, me="Alice", tz="Europe/Madrid")
    m = list(chat.messages)  # a WhatsAppExport streams from the file
    assert [x.type for x in m] == [
        "system",
        "text",
        "text",
        "image",
        "other",
        "text",
        "text",
        "text",
    ]
    assert m[0].sent_at.astimezone(timezone.utc) == utc(2026, 3, 12, 8, 14)  # CET = UTC+1
    # no platform ids, times to the minute (the headers show no seconds): the store matches
    # these to live copies
    assert {(x.metadata["id_source"], x.metadata["time_precision"]) for x in m} == {
        ("export", "minute")
    }
    assert m[1].direction == "inbound" and m[1].sender_identifier == "+34612345678"
    assert m[2].content == "¡Hola María! Sí, nos quedan tres.\nTe mando fotos ahora."
    assert m[2].direction == "outbound"
    assert (m[3].media_url, m[3].content) == ("IMG-20260312-WA0003.jpg", "Este es el azul 😀")
    assert own(m[4].metadata) == {"media_omitted": True}
    assert own(m[5].metadata) == {"deleted": True} and m[5].content == "This message was deleted"
    assert m[6].content == "Perfecto, paso mañana a las 10" and own(m[6].metadata) == {
        "edited": True
    }
    assert {x.external_conversation_id for x in m} == {"+34612345678"}
    assert m[1].participant_identifier == "+34612345678" and m[1].conversation_type == "direct"


def test_whatsapp_ios_mdy_12h_with_narrow_spaces_and_repeats():
    chat = parse_whatsapp(FX / "WhatsApp Chat with Bob.txt", tz="America/New_York")
    m = list(chat.messages)
    assert chat.account_name == "Alice"  # the sender who is not the chat's title
    assert m[0].sent_at.astimezone(timezone.utc) == utc(2026, 1, 16, 2, 5, 13)
    assert m[1].content == "Hello!\nSecond line of hello"
    assert [x.type for x in m[2:4]] == ["image", "image"]
    assert m[3].media_url == "00000012-PHOTO-2026-01-15-21-08-00.jpg"
    assert m[4].id != m[5].id and m[4].content == m[5].content  # identical repeats
    assert m[6].sent_at.astimezone(timezone.utc) == utc(2026, 1, 15, 5, 10)  # 12:10 AM
    assert m[0].external_conversation_id == "contact:Bob"


def test_whatsapp_ids_are_stable_and_the_zip_matches_the_txt(tmp_path):
    first = list(parse_whatsapp(WA_ANDROID, me="Alice", tz="Europe/Madrid").messages)
    zipped = tmp_path / "WhatsApp Chat with +34 612 34 56 78.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("_chat.txt", WA_ANDROID.read_text())
        zf.writestr("IMG-20260312-WA0003.jpg", b"\xff\xd8")
    again = list(parse_whatsapp(zipped, me="Alice", tz="Europe/Madrid").messages)
    assert [x.id for x in first] == [x.id for x in again]
    longer = tmp_path / WA_ANDROID.name
    longer.write_text(WA_ANDROID.read_text() + "14/03/2026, 10:00 - Alice: ¿Llegaste?\n")
    later = list(parse_whatsapp(longer, me="Alice", tz="Europe/Madrid").messages)
    assert [x.id for x in later[:-1]] == [x.id for x in first]


def test_whatsapp_needs_tz_and_me_where_ambiguous(tmp_path):
    with pytest.raises(ExportFormatError, match="--tz"):
        parse_whatsapp(WA_ANDROID, me="Alice")
    group = tmp_path / "WhatsApp Chat with Team.txt"
    group.write_text(
        "01/02/2026, 10:00 - Ann: a\n01/02/2026, 10:01 - Ben: b\n01/02/2026, 10:02 - Cy: c\n"
    )
    with pytest.raises(ExportFormatError, match=r"--date-order dmy\|mdy"):
        parse_whatsapp(group, tz="UTC", me="Ann")
    with pytest.raises(ExportFormatError, match="--me"):
        parse_whatsapp(group, tz="UTC", date_order="dmy")
    chat = parse_whatsapp(group, tz="UTC", me="Ann", date_order="dmy")
    assert {m.conversation_type for m in chat.messages} == {"group"}
    assert next(iter(chat.messages)).external_conversation_id == "group:Team"


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ExportFormatError, match="no such file"):
        parse_whatsapp(tmp_path / "nope.txt", tz="UTC")
    bad = tmp_path / "WhatsApp Chat with X.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ExportFormatError, match="not a WhatsApp export zip"):
        parse_whatsapp(bad, tz="UTC")
    junk = tmp_path / "result.json"
    junk.write_text("{broken")
    with pytest.raises(ExportFormatError, match="not JSON"):
        parse_telegram(junk)
    csvf = tmp_path / "x.csv"
    csvf.write_text("a,b\n1,2\n")
    with pytest.raises(ExportFormatError, match="missing columns"):
        parse_wechat(csvf)


WA_LINES = st.sampled_from(
    [
        "12/03/2026, 09:14 - Ann: hi",
        "[1/15/26, 9:05:13\u202fPM] Bob: yo",
        "2026-01-02, 10:00 - me: x",
        "31.12.25, 23:59 - Ann: <Media omitted>",
        "garbage line",
        "",
        "13/13/2026, 25:61 - Bad: time",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            WA_LINES, st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)
        ),
        max_size=12,
    )
)
def test_whatsapp_parser_never_raises_anything_but_a_format_error(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("wa") / "WhatsApp Chat with Z.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    try:  # the messages are read lazily: a bad line surfaces while iterating
        first = [m.id for m in parse_whatsapp(path, tz="UTC", me="me").messages]
    except ExportFormatError:
        return
    assert first == [m.id for m in parse_whatsapp(path, tz="UTC", me="me").messages]


def test_telegram_single_chat():
    chat = parse_telegram(EX / "telegram_result.json", me="Alice Admin")
    m = chat.messages
    assert [x.id for x in m] == [
        "4815162342:101",
        "4815162342:102",
        "4815162342:103",
        "4815162342:104",
    ]
    assert m[1].content == "Ótimo! Veja os detalhes em https://crm.example/p/42"
    assert m[1].direction == "outbound" and m[1].reply_to_id == "4815162342:101"
    assert m[2].type == "image" and m[2].edited_at == utc(2026, 3, 10, 14, 6)
    assert m[3].type == "system"
    assert m[0].sent_at == utc(2026, 3, 10, 14, 0, 5)


def test_telegram_full_export_finds_the_exporter(tmp_path):
    single = (EX / "telegram_result.json").read_text()
    full = tmp_path / "result.json"
    full.write_text(
        '{"personal_information": {"user_id": 777, "first_name": "Alice", "phone_number": "+34600000001"},'
        f' "chats": {{"list": [{single}]}}}}'
    )
    chat = parse_telegram(full)
    assert chat.account_identifier == "+34600000001"
    assert [x.direction for x in chat.messages] == ["inbound", "outbound", "inbound", "inbound"]


def test_signal_lines():
    chat = parse_signal(EX / "signal-receive.jsonl")
    m = chat.messages
    assert chat.account_identifier == "+34600000001"
    # data, sync sent, data with attachment; receipts/typing skipped; the edit of the first
    # applied to it, the reaction to the second (as the live path records it)
    assert [x.direction for x in m] == ["inbound", "outbound", "inbound"]
    assert m[0].id == "+4915123456789:1773230000000"
    assert m[0].content.startswith("Guten Morgen! Ist meine") and m[0].edited_at is not None
    assert m[1].metadata == {
        "reactions": {"+4915123456789": {"emoji": "👍", "at": "2026-03-11T12:01:40Z"}}
    }
    assert (
        m[1].external_conversation_id == "+4915123456789"
        and m[1].id == "+34600000001:1773230100000"
    )
    assert m[2].type == "image" and m[2].media_url == "att1"  # the id signal-cli stores it under
    assert m[2].metadata == {"filename": "lieferschein.jpg", "content_type": "image/jpeg"}


def test_wechat_csv_with_bom():
    m = parse_wechat(EX / "wechat_liwei.csv").messages
    assert [x.type for x in m] == ["text", "text", "image", "system", "voice"]
    assert [x.direction for x in m] == ["inbound", "outbound", "inbound", "inbound", "inbound"]
    assert {x.external_conversation_id for x in m} == {"wxid_liwei88"}  # a wxid names the chat
    assert m[0].participant_identifier == "wxid_liwei88" and m[0].conversation_type == "direct"
    assert m[0].id.startswith("wc_") and m[0].content == "你好，我想订购二十个样品。"
    assert m[3].metadata["recalled"] is True
    assert m[0].sent_at == utc(2026, 3, 12, 7, 20)


def test_whatsapp_ymd_dotted_am_pm_and_translated_placeholders(tmp_path):
    path = tmp_path / "WhatsApp Chat mit Jonas.txt"
    path.write_text(
        "2026-02-03, 9:15 a. m. - Jonas: <Medien ausgeschlossen>\n"
        "2026-02-03, 9:16 p. m. - Eva: Bild weggelassen\n"
        "2026-02-04, 12:00 p. m. - Jonas: Diese Nachricht wurde gelöscht\n"
        "2026-02-04, 12:30 a. m. - Eva: Standort: https://maps.google.com/?q=52.5,13.4\n",
        encoding="utf-8",
    )
    m = list(parse_whatsapp(path, tz="Europe/Berlin", me="Eva").messages)
    assert [x.sent_at.astimezone(timezone.utc).strftime("%d %H:%M") for x in m] == [
        "03 08:15",
        "03 20:16",
        "04 11:00",
        "03 23:30",
    ]
    assert [x.type for x in m] == ["other", "image", "text", "location"]
    assert own(m[2].metadata) == {"deleted": True} and m[2].direction == "inbound"
    assert m[2].content == "Diese Nachricht wurde gelöscht"
    assert m[0].external_conversation_id == "contact:Jonas"


# ---------------------------------------------------------------- WhatsApp, issue 10 cases

WA_FX = FX / "whatsapp"


def test_whatsapp_ios_banner_under_the_contact_name_is_a_system_notice():
    chat = parse_whatsapp(WA_FX / "WhatsApp Chat - Dr. Feather.txt", tz="America/New_York")
    m = list(chat.messages)
    assert chat.account_name == "Sam"  # the banner's name does not count as a sender
    assert [x.type for x in m] == ["system", "text", "text", "image", "image", "image", "text"]
    assert m[0].sender_name is None and m[0].content.startswith("Messages and calls")
    assert m[6].sender_name == "Dr. Feather" and m[6].content == "I left the forms at the desk"
    # both older iOS attachment forms
    assert m[4].media_url == "00000042-PHOTO-2023-08-16-10-03-00.jpg"
    assert m[5].media_url == "2015-08-04-PHOTO-00004762.jpg"
    assert m[0].external_conversation_id == "contact:Dr. Feather"


def test_whatsapp_participant_puts_a_saved_contact_in_the_live_conversation():
    path = WA_FX / "WhatsApp Chat - Dr. Feather.txt"
    chat = parse_whatsapp(path, tz="America/New_York", participant="+1 (415) 555-2671")
    m = list(chat.messages)
    assert {x.external_conversation_id for x in m} == {"+14155552671"}
    assert {x.participant_identifier for x in m} == {"+14155552671"}
    assert m[1].participant_name == "Dr. Feather" and m[1].direction == "inbound"
    with pytest.raises(ExportFormatError, match="--participant"):
        parse_whatsapp(path, tz="America/New_York", participant="Dr. Feather")
    pokemon = WA_FX / "WhatsApp Chat with Pokemon Chat.txt"
    with pytest.raises(ExportFormatError, match="group"):
        parse_whatsapp(pokemon, tz="UTC", me="Ash", participant="+14155552671")


def test_whatsapp_ios_group_zip_named_after_the_file_with_named_notices(tmp_path):
    zipped = tmp_path / "WhatsApp Chat - Family.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("_chat.txt", (WA_FX / "family_chat.txt").read_text())
    m = list(parse_whatsapp(zipped, tz="America/Sao_Paulo", me="Ana Souza").messages)
    assert {x.external_conversation_id for x in m} == {"group:Family"}
    assert {x.participant_name for x in m} == {"Family"}
    assert {x.conversation_type for x in m} == {"group"}
    # iOS headers show seconds: exact to the second
    assert {x.metadata["time_precision"] for x in m} == {"second"}
    assert [x.type for x in m[:3]] == ["system"] * 3
    assert [x.sender_name for x in m[:3]] == [None] * 3
    assert m[2].content == "Ana Souza added Bruno"
    assert m[4].type == "text" and m[4].sender_name == "Bruno"  # "I left work early"
    assert own(m[5].metadata) == {"deleted": True} and m[5].content == "This message was deleted."


def test_whatsapp_android_banner_under_the_group_name():
    m = list(
        parse_whatsapp(WA_FX / "WhatsApp Chat with Pokemon Chat.txt", tz="UTC", me="Ash").messages
    )
    assert [x.type for x in m] == ["system", "system", "text", "text", "text"]
    assert m[0].sender_name is None
    assert m[0].external_conversation_id == "group:Pokemon Chat"
    assert m[0].sent_at == datetime(2016, 4, 15, 15, 4, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    "name, first",
    [
        ("layout_fi.txt", "Moi! Mitä kuuluu?"),
        ("layout_hr.txt", "Zdravo"),
        ("layout_colon.txt", "Hallo"),
    ],
)
def test_whatsapp_other_header_layouts(name, first):
    m = list(parse_whatsapp(WA_FX / name, tz="Europe/Helsinki", me="Aino").messages)
    assert len(m) == 3 and m[0].content == first
    assert m[0].sent_at.replace(tzinfo=None) == datetime(2018, 6, 13, 21, 25, 15)
    assert m[2].sent_at.replace(tzinfo=None).date() == datetime(2018, 6, 14).date()
    assert m[0].direction == ("outbound" if m[0].sender_name == "Aino" else "inbound")


def test_whatsapp_two_digit_year_first_is_read_from_the_whole_file():
    m = list(parse_whatsapp(WA_FX / "two_digit_year_first.txt", tz="UTC", me="Ann").messages)
    assert [x.sent_at.strftime("%Y-%m-%d %H:%M") for x in m] == [
        "2020-01-15 02:22",
        "2020-01-16 10:00",
        "2020-02-03 18:45",
    ]


def test_whatsapp_ambiguous_dates_are_refused_until_the_order_is_named():
    path = WA_FX / "ambiguous_dates.txt"
    with pytest.raises(ExportFormatError, match=r"--date-order dmy\|mdy"):
        parse_whatsapp(path, tz="UTC", me="Ann")
    dmy = list(parse_whatsapp(path, tz="UTC", me="Ann", date_order="dmy").messages)
    mdy = list(parse_whatsapp(path, tz="UTC", me="Ann", date_order="mdy").messages)
    assert dmy[1].sent_at.strftime("%m-%d") == "02-03"
    assert mdy[1].sent_at.strftime("%m-%d") == "03-02"
    with pytest.raises(ExportFormatError, match="does not exist"):
        parse_whatsapp(WA_FX / "two_digit_year_first.txt", tz="UTC", me="Ann", date_order="mdy")


@pytest.mark.parametrize("lang", ["en", "de", "es", "pt", "fr", "it", "nl", "ru", "tr", "id"])
def test_whatsapp_placeholders_markers_and_notices_in_each_language(lang):
    m = list(parse_whatsapp(WA_FX / "lang" / f"{lang}.txt", tz="UTC", me="Me").messages)
    assert [x.type for x in m] == [
        "system", "system", "other", "image", "image", "text", "text", "text",
    ]  # fmt: skip
    assert [x.sender_name for x in m[:2]] == [None, None]
    assert own(m[2].metadata) == {"media_omitted": True} and own(m[3].metadata) == {
        "media_omitted": True
    }
    assert m[4].media_url == "IMG-20240314-WA0001.jpg"
    assert own(m[5].metadata) == {"deleted": True} and m[5].content
    assert own(m[6].metadata) == {"edited": True} and "<" not in m[6].content
    assert m[7].direction == "outbound" and own(m[7].metadata) is None


# ---------------------------------------------------- Telegram, Signal, WeChat: issue 10 cases


def test_telegram_older_export_without_unixtime_reads_local_dates_in_tz():
    path = FX / "telegram" / "old_desktop_export.json"
    with pytest.raises(ExportFormatError, match="--tz"):
        parse_telegram(path)
    m = parse_telegram(path, tz="Europe/Warsaw", me="Alice Admin").messages
    assert len(m) == 4  # none dropped
    assert m[0].sent_at.astimezone(timezone.utc) == utc(2019, 7, 2, 7, 15)  # CEST = UTC+2
    assert m[2].edited_at.astimezone(timezone.utc) == utc(2019, 7, 2, 7, 23)
    assert m[1].direction == "outbound" and m[1].reply_to_id == "5123987744:1"
    # media the export left out: media without a file, not text
    assert (m[2].type, m[2].media_url, m[2].content) == ("image", None, "Zdjęcie umowy")
    assert m[2].metadata == {"media_omitted": True}
    assert (m[3].type, m[3].media_url) == ("voice", None)


def test_telegram_message_without_id_is_named_not_dropped():
    with pytest.raises(ExportFormatError, match=r"messages\[1\] has no id"):
        parse_telegram(FX / "telegram" / "message_without_id.json")


def test_telegram_participant_links_the_direct_chat():
    m = parse_telegram(EX / "telegram_result.json", participant="@JoaoSilva").messages
    assert {x.participant_identifier for x in m} == {"joaosilva"}


def test_signal_replies_attachments_and_group_updates():
    m = parse_signal(FX / "signal" / "quote_attachment_group_update.jsonl").messages
    assert [x.type for x in m] == ["text", "text", "image", "system", "text"]
    ids = {x.id for x in m}
    assert m[1].reply_to_id == "+4915123456789:1632576001632" and m[1].reply_to_id in ids
    assert m[2].media_url == "Wx3f9Kq2LmN8pQ1r.jpg" and m[2].metadata["filename"] == "IMG_0042.jpg"
    assert m[3].content == "Group updated: Lieferteam" and m[3].conversation_type == "group"
    assert m[3].external_conversation_id == m[4].external_conversation_id
    assert m[4].participant_name == "Lieferteam"


def test_signal_edit_without_target_is_a_readable_error():
    with pytest.raises(
        ExportFormatError, match=r"edit_without_target.jsonl:2: .*targetSentTimestamp"
    ):
        parse_signal(FX / "signal" / "edit_without_target.jsonl")


def test_signal_participant_names_the_direct_peer():
    m = parse_signal(EX / "signal-receive.jsonl", participant="hannah.42").messages
    assert {x.participant_identifier for x in m} == {"hannah.42"}


def test_wechat_numeric_talker_ids_make_one_conversation_with_ids_stable_across_backups():
    first = parse_wechat(FX / "wechat" / "backup1" / "张伟.csv").messages
    second = parse_wechat(FX / "wechat" / "backup2" / "张伟.csv").messages
    assert {x.external_conversation_id for x in first + second} == {"张伟"}
    assert [x.id for x in first] == [x.id for x in second]
    assert len({x.id for x in first}) == 5  # identical repeats stay two messages
    assert {x.conversation_type for x in first} == {"direct"}
    assert first[0].participant_identifier is None  # the file names no WeChat id
    linked = parse_wechat(FX / "wechat" / "backup1" / "张伟.csv", participant="wxid_Zhang88")
    assert {x.participant_identifier for x in linked.messages} == {"wxid_zhang88"}


def test_wechat_str_talker_and_msg_svr_id():
    m = parse_wechat(FX / "wechat" / "group_memotrace.csv").messages
    assert {x.external_conversation_id for x in m} == {"12345678@chatroom"}
    assert {x.conversation_type for x in m} == {"group"}
    assert m[0].id == "12345678@chatroom:7421938572619384651"
    assert m[2].direction == "outbound" and m[3].metadata["recalled"] is True


def test_a_message_the_store_would_refuse_is_a_readable_error(tmp_path):
    path = tmp_path / "WhatsApp Chat with Ann.txt"
    path.write_text("14/03/2026, 10:00 - Ann: " + "x" * 70_000 + "\n14/03/2026, 10:01 - Me: ok\n")
    with pytest.raises(ExportFormatError, match=r"14/03/2026 10:00.*content"):
        list(parse_whatsapp(path, tz="UTC", me="Me").messages)
    with pytest.raises(ExportFormatError, match="--participant"):
        parse_telegram(EX / "telegram_result.json", participant="@")


# ------------------------------------------------------------------ issue 18: newcomer cases


def _telegram_file(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_telegram_media_type_that_is_not_a_string_is_no_type_error(tmp_path):
    # the fuzz test's failing example (TypeError: unhashable type: 'list' before)
    data = json.loads((EX / "telegram_result.json").read_text())
    data["messages"][0]["media_type"] = ["voice_message"]
    data["messages"][1]["media_type"] = {"x": 1}
    m = parse_telegram(_telegram_file(tmp_path, data), tz="UTC").messages
    assert [x.type for x in m][:2] == ["text", "text"]


def test_telegram_different_messages_with_one_id_are_refused_naming_both(tmp_path):
    data = json.loads((EX / "telegram_result.json").read_text())
    data["messages"][2]["id"] = data["messages"][0]["id"]
    with pytest.raises(ExportFormatError, match=r"messages\[0\] and messages\[2\] .* same id 101"):
        parse_telegram(_telegram_file(tmp_path, data), tz="UTC")


def test_telegram_the_same_message_written_twice_is_one_message(tmp_path):
    data = json.loads((EX / "telegram_result.json").read_text())
    data["messages"].append(dict(data["messages"][0]))
    m = parse_telegram(_telegram_file(tmp_path, data), tz="UTC").messages
    assert len(m) == 4 and len({x.id for x in m}) == 4


def test_telegram_full_export_chat_without_id_is_refused_not_named_none(tmp_path):
    single = json.loads((EX / "telegram_result.json").read_text())
    other = {k: v for k, v in single.items() if k != "id"} | {"name": "Old group"}
    full = {"personal_information": {"user_id": 777}, "chats": {"list": [single, other]}}
    with pytest.raises(ExportFormatError, match=r"chats\[1\] \('Old group'\) has no chat id"):
        parse_telegram(_telegram_file(tmp_path, full), tz="UTC")


def _wa(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_whatsapp_english_android_deleted_with_lower_case_am(tmp_path):
    path = _wa(tmp_path, "WhatsApp Chat with Bob.txt", (
        "13/09/2020, 12:15 am - Ann: hi\n"
        "13/09/2020, 12:16\u202fam - Bob: This message was deleted\n"
        "13/09/2020, 12:17 am - Bob: \U0001f6ab This message was deleted by admin Ann\n"
        "14/09/2020, 1:00 pm - Ann: ok\n"
    ))  # fmt: skip
    m = list(parse_whatsapp(path, tz="UTC", me="Ann").messages)
    assert m[1].sent_at == utc(2020, 9, 13, 0, 16)
    assert [(x.metadata or {}).get("deleted") for x in m] == [None, True, True, None]


def test_whatsapp_german_ios_attachments_are_media(tmp_path):
    path = _wa(tmp_path, "WhatsApp Chat - Bob.txt", (
        "[13.09.20, 00:15:00] Ann: hallo\n"
        "[13.09.20, 00:17:00] Bob: \u200e<Anhang: 00000012-PHOTO-2020-09-13-00-17-00.jpg>\n"
        "[13.09.20, 00:18:00] Bob: \u200ePHOTO-0000001.jpg \u2039angehängt>\n"
        "[13.09.20, 00:19:00] Bob: \u200e<Anhang: 00000013-AUDIO-2020-09-13.opus>\n"
    ))  # fmt: skip
    m = list(parse_whatsapp(path, tz="Europe/Berlin", me="Ann").messages)
    assert [(x.type, x.media_url, x.content) for x in m[1:]] == [
        ("image", "00000012-PHOTO-2020-09-13-00-17-00.jpg", None),
        ("image", "PHOTO-0000001.jpg", None),
        ("audio", "00000013-AUDIO-2020-09-13.opus", None),
    ]


def test_whatsapp_file_of_notices_only_imports_without_me(tmp_path):
    path = _wa(tmp_path, "WhatsApp Chat with Family.txt", (
        "15/04/2016, 15:04 - Messages and calls are end-to-end encrypted. No one outside of"
        " this chat, not even WhatsApp, can read or listen to them.\n"
        '15/04/2016, 15:04 - Ana created group "Family"\n'
        "15/04/2016, 15:05 - Ana added you\n"
    ))  # fmt: skip
    m = list(parse_whatsapp(path, tz="UTC").messages)
    assert [x.type for x in m] == ["system"] * 3
    assert {x.direction for x in m} == {"inbound"}
    assert {x.external_conversation_id for x in m} == {"group:Family"}


def test_wechat_newer_memotrace_header_is_read():
    path = FX / "wechat" / "李伟_memotrace.csv"
    with pytest.raises(ExportFormatError, match="--tz"):
        parse_wechat(path)
    m = parse_wechat(path, tz="Asia/Shanghai").messages
    assert [x.type for x in m] == ["text", "text", "image", "system"]
    assert [x.direction for x in m] == ["inbound", "outbound", "inbound", "inbound"]
    assert m[0].id == "李伟_memotrace:7421938572619384701"
    assert m[0].sent_at == utc(2024, 3, 15, 10, 53, 20)  # CST = UTC+8
    assert m[0].content == "你好，样品到了吗？" and m[0].participant_name == "李伟（供应商）"
    assert {x.conversation_type for x in m} == {"direct"}
    assert m[3].metadata["recalled"] is True
    # the same file again: the same ids (the server's MsgSvrID)
    assert [x.id for x in parse_wechat(path, tz="Asia/Shanghai").messages] == [x.id for x in m]


@pytest.mark.parametrize(
    "extra_line, options, order, rule",
    [
        ("03/02/2026, 11:05 - Ben: <Medien ausgeschlossen>", {}, "dmy", "German"),
        ("03/02/2026, 11:05 - Ben: Diese Nachricht wurde gelöscht", {}, "dmy", "German"),
        ("03/02/2026, 11:05 - Ben: ok", {"region": "US"}, "mdy", "--region US"),
        ("03/02/2026, 11:05 - Ben: ok", {"region": "es"}, "dmy", "--region ES"),
        ("03/02/2026, 11:05 p. m. - Ben: ok", {}, "dmy", "p. m."),
        ("03/02/2026, 11:05 - +1 415 555 0100: ok", {}, "mdy", "+1"),
        ("03/02/2026, 11:05 - +44 7700 900123: ok", {}, "dmy", "+44"),
    ],
)
def test_whatsapp_date_order_from_the_evidence_a_file_carries(
    tmp_path, extra_line, options, order, rule
):
    text = (WA_FX / "ambiguous_dates.txt").read_text() + extra_line + "\n"
    path = _wa(tmp_path, "WhatsApp Chat with Ben.txt", text)
    chat = parse_whatsapp(path, tz="UTC", me="Ann", **options)
    assert chat.messages.order == order
    (note,) = chat.notes
    assert note.startswith(f"date order {'/'.join(order.upper())}: ") and rule in note


def test_whatsapp_date_order_is_still_refused_without_evidence(tmp_path):
    # people writing in German is no evidence: only WhatsApp's own words are
    text = (WA_FX / "ambiguous_dates.txt").read_text() + "03/02/2026, 11:05 - Ben: Die Gruppe\n"
    with pytest.raises(ExportFormatError, match=r"--date-order dmy\|mdy"):
        parse_whatsapp(_wa(tmp_path, "WhatsApp Chat with Ben.txt", text), tz="UTC", me="Ann")


@pytest.mark.parametrize(
    "name, me, first",
    [
        # Android, hours past 12 (14:05, 18:47, 21:30), every date fits D/M and M/D
        ("clock_24h.txt", "Tom", (2025, 3, 2, 9, 12)),
        # iOS, no hour past 12 but 00:03: no 12 h clock writes hour 0
        ("clock_24h_midnight.txt", "Lena", (2024, 4, 6, 0, 3, 41)),
    ],
)
def test_whatsapp_a_24_hour_clock_reads_ambiguous_dates_day_first(name, me, first):
    chat = parse_whatsapp(WA_FX / name, tz="UTC", me=me)
    assert chat.messages.order == "dmy"
    (note,) = chat.notes
    assert note.startswith("date order D/M/Y: the 24 h clock")
    assert "pass --date-order mdy if" in note  # the weakest rule says how to overrule it
    m = list(chat.messages)
    assert m[0].sent_at.replace(tzinfo=None) == datetime(*first)
    assert [x.sent_at for x in m] == sorted(x.sent_at for x in m)
    # --date-order still overrules it
    mdy = parse_whatsapp(WA_FX / name, tz="UTC", me=me, date_order="mdy")
    assert mdy.notes == ["date order M/D/Y: --date-order mdy"]


@pytest.mark.parametrize(
    "extra_line, options, order, rule",
    [
        # stronger evidence than the clock decides first
        ("11/03/2025, 21:31 - +1 415 555 0100: ok", {}, "mdy", "+1"),
        ("11/03/2025, 21:31 - Tom: ok", {"region": "US"}, "mdy", "--region US"),
        ("11/03/2025, 21:31 - Tom: Mensagem apagada", {}, "dmy", "Portuguese"),
    ],
)
def test_whatsapp_the_24_hour_clock_is_the_weakest_rule(tmp_path, extra_line, options, order, rule):
    text = (WA_FX / "clock_24h.txt").read_text() + extra_line + "\n"
    chat = parse_whatsapp(
        _wa(tmp_path, "WhatsApp Chat with Tom.txt", text), tz="UTC", me="Priya", **options
    )
    assert chat.messages.order == order
    (note,) = chat.notes
    assert rule in note and "24 h" not in note


def test_whatsapp_a_12_hour_clock_with_ambiguous_dates_is_still_refused(tmp_path):
    with pytest.raises(
        ExportFormatError, match=r"cannot tell the date order.*--date-order dmy\|mdy"
    ):
        parse_whatsapp(WA_FX / "clock_12h.txt", tz="UTC", me="Tom")
    # a 24 h file with am/pm in one header is no 24 h clock either
    text = (WA_FX / "clock_24h.txt").read_text() + "11/03/2025, 9:31 PM - Tom: ok\n"
    with pytest.raises(ExportFormatError, match=r"--date-order dmy\|mdy"):
        parse_whatsapp(_wa(tmp_path, "WhatsApp Chat with Tom.txt", text), tz="UTC", me="Tom")
    # hours up to 12 without am/pm (the existing fixture) show no clock
    with pytest.raises(ExportFormatError, match=r"--date-order dmy\|mdy"):
        parse_whatsapp(WA_FX / "ambiguous_dates.txt", tz="UTC", me="Ann")


def test_every_platform_of_the_database_has_an_importer_and_an_unknown_one_is_refused():
    from typing import get_args

    from crm_messaging.db_types import PublicMessagingPlatform
    from crm_messaging.importers import ExportFormatError, parser_for

    for platform in get_args(PublicMessagingPlatform):
        assert callable(parser_for(platform))
    with pytest.raises(ExportFormatError) as err:
        parser_for("line")
    assert (
        str(err.value) == "platform 'line': no importer (one of whatsapp, signal, telegram, wechat)"
    )


def test_mypy_fails_until_a_new_platform_of_the_database_has_its_importer(tmp_path):
    """The importer table is checked by the type checker: a platform added to the generated
    enum (db_types.py, `make types`) and not to `_importer` is a mypy error."""
    import shutil
    import subprocess
    import sys

    package = Path(__file__).resolve().parents[1] / "client" / "crm_messaging"
    shutil.copytree(package, tmp_path / "crm_messaging")
    types = tmp_path / "crm_messaging" / "db_types.py"
    text = types.read_text()
    enum = 'PublicMessagingPlatform: TypeAlias = Literal["whatsapp", "signal", "telegram", "wechat"'
    assert enum in text
    types.write_text(text.replace(enum, enum + ', "line"'))
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         "-m", "crm_messaging.importers"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout
    assert '"assert_never" has incompatible type "Literal[\'line\']"' in out.stdout
