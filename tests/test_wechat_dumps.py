"""WeChat exports of PyWxDump (CSV and JSON) and chatlog (JSON), beside the WeChatMsg /
MemoTrace CSV: what a person reading the chat on the phone sees (senders, times, media,
notices), with WeChat's type codes mapped as the live path maps them (wechat.ts). No stack."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_messaging.importers import ExportFormatError, parser_for
from crm_messaging.importers.wechat import parse_wechat
from devstack.layout import REPO_ROOT

FX = REPO_ROOT / "tests" / "fixtures" / "wechat"
CST = timezone(timedelta(hours=8))


def test_pywxdump_csv_direct_chat():
    path = FX / "pywxdump" / "wxid_liwei88_0_11.csv"
    with pytest.raises(ExportFormatError, match="--tz"):
        parse_wechat(path)
    m = parse_wechat(path, tz="Asia/Shanghai").messages
    assert [(x.type, x.direction) for x in m] == [
        ("text", "inbound"), ("text", "outbound"), ("image", "inbound"), ("voice", "inbound"),
        ("text", "inbound"), ("document", "outbound"), ("location", "inbound"), ("text", "outbound"),
        ("sticker", "inbound"), ("system", "inbound"),
    ]  # fmt: skip
    assert {x.external_conversation_id for x in m} == {"wxid_liwei88"}
    assert {x.participant_identifier for x in m} == {"wxid_liwei88"}
    assert m[0].id == "wxid_liwei88:7421938572619384701"  # the MemoTrace CSV's id too
    assert m[0].sent_at == datetime(2024, 3, 15, 18, 53, 20, tzinfo=CST)
    assert m[0].content == "你好，样品到了吗？"
    assert m[2].content is None and m[2].media_url.endswith("9c1e77.dat")
    assert m[3].content == "好的，谢谢"  # the transcription, as the live path keeps Recognition
    assert m[4].content == "样品规格书\n2024 版\nhttps://example.com/spec"
    # PyWxDump writes a (49, 6) file as its type name, the name only in src's Windows path
    assert (
        m[5].content == "报价单.xlsx" and m[5].media_url == "FileStorage/File/2024-03/报价单.xlsx"
    )
    assert m[6].content == "上海市黄浦区人民大道 人民广场"
    assert (m[6].metadata["latitude"], m[6].metadata["longitude"]) == (31.2304, 121.4737)
    assert m[7].content == "收到"
    assert m[9].metadata["recalled"] is True and m[9].sender_identifier is None
    assert (m[4].metadata["wechat_type"], m[4].metadata["wechat_subtype"]) == (49, 5)


def test_pywxdump_json_group():
    m = parse_wechat(FX / "pywxdump" / "12345678@chatroom_0_5.json", tz="Asia/Shanghai").messages
    assert {x.conversation_type for x in m} == {"group"}
    assert [x.sender_identifier for x in m] == ["wxid_lina01", "wxid_wangq02", None, None]
    assert [x.type for x in m] == ["text", "text", "text", "system"]
    assert m[1].content == "展会时间表\n三月展会\nhttps://example.com/fair"
    assert m[2].direction == "outbound" and m[3].content == '"李娜"邀请"赵敏"加入了群聊'
    assert m[0].id == "12345678@chatroom:7421938572619384651"


def test_chatlog_json_group():
    m = parser_for("wechat")(FX / "chatlog" / "12345678@chatroom.json", tz=None).messages
    assert [(x.type, x.sender_name) for x in m] == [
        ("text", "李娜"), ("image", "王强"), ("text", "Alice"), ("text", "王强"),
        ("location", "李娜"), ("document", "李娜"), ("system", None), ("other", "王强"),
    ]  # fmt: skip
    assert m[0].sent_at == datetime(2024, 3, 15, 10, 53, 20, tzinfo=timezone.utc)  # exact
    assert m[0].id == "12345678@chatroom:seq:1710500000000"
    assert m[0].participant_name == "样品群" and m[0].conversation_type == "group"
    assert m[1].media_url == "msg/attach/5f3c/2024-03/Img/9c1e77a0b3f4d5e6a7b8c9d0e1f2a3b4"
    assert m[2].direction == "outbound" and m[2].content == "收到，谢谢"
    assert m[3].content == "展会时间表\n三月展会\nhttps://example.com/fair"
    assert m[4].content == "上海市黄浦区人民大道" and m[4].metadata["latitude"] == 31.2304
    assert m[5].content == "报价单.xlsx"
    assert m[6].metadata["recalled"] is True and m[6].sender_identifier is None
    assert m[7].content == "[转账|发送 ￥200.00](样品费)"


def test_a_json_that_is_no_wechat_export_is_refused(tmp_path):
    other = tmp_path / "x.json"
    other.write_text('[{"a": 1}]', encoding="utf-8")
    with pytest.raises(ExportFormatError, match="not a PyWxDump or chatlog JSON export"):
        parse_wechat(other)
    broken = tmp_path / "y.json"
    broken.write_text(
        '[{"seq": 1, "time": "yesterday", "talker": "a", "isSelf": false, "type": 1}]'
    )
    with pytest.raises(ExportFormatError, match="message 1: time"):
        parse_wechat(broken)
