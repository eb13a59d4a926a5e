"""Telegram Desktop and signal-cli exports from public repositories and exporter docs
(tests/fixtures/SOURCES.md): what a person reading the chat on the phone sees. No stack."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from crm_messaging.importers import ExportFormatError
from crm_messaging.importers.signal import parse_signal
from crm_messaging.importers.telegram import parse_telegram

FX = Path(__file__).parent / "fixtures"
TG = FX / "telegram"
SG = FX / "signal"


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc]


def _by_id(messages):
    return {m.id: m for m in messages}


# --- Telegram Desktop ------------------------------------------------------------------


def test_tg_epoch_sentinel_is_not_edited():
    m = parse_telegram(TG / "epoch_sentinel_2018.json", tz="Europe/Moscow").messages
    assert [x.id for x in m] == [
        "182120723:5164",
        "182120723:5165",
        "182120723:5166",
        "182120723:5167",
    ]
    assert m[0].edited_at is None and m[1].edited_at is None and m[3].edited_at is None
    assert m[0].sent_at == _utc(2016, 11, 18, 17, 8, 51)


def test_tg_epoch_sentinel_keeps_real_edits():
    m = parse_telegram(TG / "epoch_sentinel_2018.json", tz="Europe/Moscow").messages
    assert m[2].edited_at == _utc(2016, 11, 18, 17, 12, 2)
    assert m[2].content == "Да, оплачу завтра."


def test_tg_epoch_sentinel_sticker_and_call():
    m = parse_telegram(TG / "epoch_sentinel_2018.json", tz="Europe/Moscow").messages
    assert m[1].type == "sticker" and m[1].media_url == "chats/chat_01/stickers/sticker (14).webp"
    assert m[1].content == "💪"
    assert m[3].type == "system" and m[3].sender_name == "Alice Admin"
    assert m[3].content == "Alice Admin called (1 min 13 s)"
    assert m[3].metadata == {
        "telegram_type": "phone_call",
        "duration_seconds": 73,
        "discard_reason": "hangup",
    }


def test_tg_saved_2020_forwards_keep_their_origin():
    m = _by_id(parse_telegram(TG / "tcp_saved_2020.json", tz="UTC").messages)
    fwd = m["9999999999:176390"]
    assert fwd.type == "text" and fwd.content.startswith("I’m a message from another person")
    assert fwd.metadata == {"forwarded_from": "Other Person", "saved_from": "Other Person"}
    voice = m["9999999999:217584"]
    assert (
        voice.type == "voice"
        and voice.media_url == "voice_messages/audio_1@06-10-2020_00-33-06.ogg"
    )
    assert voice.metadata == {"forwarded_from": "Other Person", "saved_from": "Other Person"}


def test_tg_saved_2020_media():
    m = _by_id(parse_telegram(TG / "tcp_saved_2020.json", tz="UTC").messages)
    assert m["9999999999:173429"].type == "image"
    assert m["9999999999:173429"].content == "I'm a photo message sent straight to saved."
    assert m["9999999999:226106"].type == "video" and m["9999999999:226106"].metadata == {
        "via_bot": "@gif"
    }
    assert (
        m["9999999999:278329"].type == "sticker" and m["9999999999:278329"].content == "DoNotChange"
    )
    big = m["9999999999:318170"]
    assert big.type == "video" and big.media_url is None
    assert big.metadata == {
        "media_omitted": True,
        "forwarded_from": "Other Person",
        "saved_from": "Other Person",
    }


def test_tg_channel_2021_service_lines_and_poll():
    m = parse_telegram(TG / "tcp_private_channel_2021.json", tz="UTC").messages
    chat = "-10010036995664"
    assert [x.id for x in m] == [f"{chat}:{n}" for n in range(1, 6)]
    assert (m[0].type, m[0].content) == ("system", "test created the channel “test”")
    assert m[2].reply_to_id == f"{chat}:2"
    assert (m[3].type, m[3].content) == ("system", "test pinned a message")
    assert m[3].reply_to_id == f"{chat}:3"
    assert m[4].type == "other" and m[4].content == "Poll question"
    assert m[4].metadata == {
        "telegram_type": "poll",
        "poll": {"question": "Poll question", "closed": False, "total_voters": 1,
                 "answers": [{"text": "option 1", "voters": 1, "chosen": True},
                             {"text": "option 2", "voters": 0, "chosen": False}]},
    }  # fmt: skip


def test_tg_supergroup_2021_created_and_migrated():
    m = parse_telegram(TG / "tcp_public_supergroup_2021.json", tz="UTC").messages
    assert m[0].content == "Ben created the group “test” with Ben, BenBot"
    assert m[0].metadata == {
        "telegram_type": "create_group",
        "title": "test",
        "members": ["Ben", "BenBot"],
    }
    assert m[1].type == "text" and m[1].sender_name == "Ben"
    assert m[2].content == "Ben upgraded the group to a supergroup"
    assert m[3].content == "test: the group “test” became this supergroup"


def test_tg_2024_service_lines_name_who_and_what():
    m = _by_id(parse_telegram(TG / "desktop_2024_features.json").messages)
    chat = "-1001801234567"
    assert m[f"{chat}:10"].content == "Alice Admin added Hannah Becker, Luis Romero"
    assert m[f"{chat}:10"].metadata == {
        "telegram_type": "invite_members",
        "members": ["Hannah Becker", "Luis Romero"],
    }
    assert m[f"{chat}:10"].sender_identifier == "user352786456"
    assert m[f"{chat}:11"].content == "Alice Admin changed the group name to “Lieferteam Süd”"
    assert m[f"{chat}:17"].content == "Alice Admin pinned a message"
    assert m[f"{chat}:17"].reply_to_id == f"{chat}:16"
    assert m[f"{chat}:18"].content == "Alice Admin removed Luis Romero"
    assert m[f"{chat}:19"].content == "Hannah Becker started a group call (5 min)"
    assert all(m[f"{chat}:{n}"].type == "system" for n in (10, 11, 17, 18, 19))


def test_tg_2024_forward_keeps_origin_id():
    m = _by_id(parse_telegram(TG / "desktop_2024_features.json").messages)
    fwd = m["-1001801234567:12"]
    assert fwd.content == "Streik am Montag: keine Zustellung."
    assert fwd.metadata == {
        "forwarded_from": "Spedition News",
        "forwarded_from_id": "channel1398765432",
    }


def test_tg_2024_reply_into_another_chat_stays_with_that_chat():
    m = _by_id(parse_telegram(TG / "desktop_2024_features.json").messages)
    reply = m["-1001801234567:13"]
    assert reply.reply_to_id == "-1001398765432:4411"
    assert reply.metadata == {"reply_to_chat": "-1001398765432"}
    assert m["-1001801234567:16"].reply_to_id == "-1001801234567:15"  # a reply in this chat


def test_tg_2024_inline_buttons_only_is_kept_with_buttons():
    m = _by_id(parse_telegram(TG / "desktop_2024_features.json").messages)
    bot = m["-1001801234567:14"]
    assert bot.type == "other" and bot.content == "[Bestätigen] [Sendung verfolgen]"
    assert bot.metadata == {
        "telegram_type": "inline_bot_buttons", "via_bot": "@lieferbot",
        "buttons": [[{"type": "callback", "text": "Bestätigen", "data": "ok"},
                     {"type": "url", "text": "Sendung verfolgen", "data": "https://track.example/123"}]],
    }  # fmt: skip


def test_tg_2024_venue_and_location():
    m = _by_id(parse_telegram(TG / "desktop_2024_features.json").messages)
    venue = m["-1001801234567:15"]
    assert venue.type == "location" and venue.content == "Lager Nord, Industriestraße 5, München"
    assert venue.metadata == {"latitude": 48.1901, "longitude": 11.5763,
                              "place_name": "Lager Nord", "address": "Industriestraße 5, München"}  # fmt: skip
    loc = m["-1001801234567:20"]
    assert loc.type == "location" and loc.content == "48.137154,11.576124"
    assert loc.metadata == {"latitude": 48.137154, "longitude": 11.576124}


def test_tg_2024_edit_time():
    m = _by_id(parse_telegram(TG / "desktop_2024_features.json").messages)
    assert m["-1001801234567:16"].edited_at == _utc(2024, 3, 4, 9, 12, 30)
    assert m["-1001801234567:15"].edited_at is None


# --- signal-cli ------------------------------------------------------------------------


def test_signal_jsonrpc_daemon_capture():
    chat = parse_signal(SG / "jsonrpc_daemon_tcp.jsonl")
    assert chat.account_identifier == "+1857xxxxxxx"
    [m] = chat.messages  # the typing notices are not messages
    assert (m.id, m.content, m.sender_name) == (
        "+1857yyyyyyy:1745372301011",
        "This is a test",
        "Gabriel",
    )
    assert m.sent_at == datetime.fromtimestamp(1745372301.011, tz=timezone.utc)


def test_signal_jsonrpc_manpage_auto_and_manual_receive():
    chat = parse_signal(SG / "jsonrpc_manpage.jsonl")
    assert [(m.id, m.direction, m.content) for m in chat.messages] == [
        ("+33123456789:1631458508784", "inbound", "foobar"),
        ("+33123456789:1693064367769", "outbound", "j"),
    ]
    assert chat.account_identifier == "+33123456789"


def test_signal_mixed_plain_and_jsonrpc_lines():
    m = parse_signal(SG / "updates_mixed.jsonl").messages
    ids = [x.id for x in m]
    assert ids == [
        "+4915123456789:1700000000000", "+4915123456789:1700000180000",
        "+4915123456789:1700000300000", "+4915123456789:1700000360000",
        "+4915123456789:1700000420000",
    ]  # fmt: skip


def test_signal_edit_by_service_id_meets_its_message():
    m = _by_id(parse_signal(SG / "updates_mixed.jsonl").messages)
    first = m["+4915123456789:1700000000000"]
    assert first.content == "Lieferung kommt um 16 Uhr"
    assert first.edited_at == _utc(2023, 11, 14, 22, 14, 20)
    assert first.sent_at == _utc(2023, 11, 14, 22, 13, 20)
    assert first.sender_name == "Hannah Becker"


def test_signal_reaction_as_the_live_path_records_it():
    m = _by_id(parse_signal(SG / "updates_mixed.jsonl").messages)
    first = m["+4915123456789:1700000000000"]
    assert first.metadata == {
        "reactions": {"+34600000001": {"emoji": "👍", "at": "2023-11-14T22:15:20Z"}},
        # the file's edit replaced this text: kept as the store keeps an edit's version
        "versions": [{"content": "Lieferung kommt um 15 Uhr", "at": "2023-11-14T22:13:20Z"}],
    }


def test_signal_remote_delete_as_the_live_path_records_it():
    chat = parse_signal(SG / "updates_mixed.jsonl")
    gone = _by_id(chat.messages)["+4915123456789:1700000180000"]
    # marked deleted; the store erases the text unless the user keeps deleted text
    # (test_message_versions.py: test_an_import_s_deleted_message_follows_the_delete_setting)
    assert gone.content == "Falsche Adresse, sorry"
    assert gone.metadata == {"deleted": True, "deleted_at": "2023-11-14T22:17:20Z"}
    assert any("1 update" in n and "not in this file" in n for n in chat.notes)


def test_signal_shared_contact():
    c = _by_id(parse_signal(SG / "updates_mixed.jsonl").messages)["+4915123456789:1700000300000"]
    assert c.type == "contact" and c.content == "Jonas Weber +49 151 98765432"
    assert c.metadata == {"contacts": [{"name": "Jonas Weber", "phones": ["+49 151 98765432"],
                                        "organization": "Spedition Weber"}]}  # fmt: skip


def test_signal_group_update_names_the_group():
    g = _by_id(parse_signal(SG / "updates_mixed.jsonl").messages)["+4915123456789:1700000360000"]
    assert g.type == "system" and g.content == "Group updated: Lieferteam"
    assert g.external_conversation_id == "group:Vm9yc3RhbmQgTGllZmVydGVhbQ=="


def test_signal_poll_with_votes_and_close():
    p = _by_id(parse_signal(SG / "updates_mixed.jsonl").messages)["+4915123456789:1700000420000"]
    assert p.type == "other" and p.content == "Wann liefern?"
    assert p.participant_name == "Lieferteam"
    assert p.metadata == {
        "signal_type": "poll", "poll_options": ["Montag", "Dienstag"], "allow_multiple": False,
        "poll_votes": {"+34600000001": {"options": [1], "at": "2023-11-14T22:21:20Z"}},
        "poll_closed_at": "2023-11-14T22:22:20Z",
    }  # fmt: skip


def test_signal_jsonrpc_other_method_is_refused_naming_the_line(tmp_path):
    bad = tmp_path / "rpc.jsonl"
    bad.write_text('{"jsonrpc":"2.0","id":4,"method":"send","params":{"message":"x"}}\n')
    with pytest.raises(
        ExportFormatError,
        match=r"rpc\.jsonl:1: a JSON-RPC 'send' message, not a receive notification",
    ):
        parse_signal(bad)
