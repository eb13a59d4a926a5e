"""`make demo` (devstack demo) against the running stack: what alice sees afterwards."""

from __future__ import annotations

from devstack.demo import DEMO_USER, demo


def test_demo_draws_alices_own_messages_on_her_side(db, capsys):
    # from a clean state: a re-import would find the messages already stored
    db.execute(
        "delete from chat_conversations where user_id = %s and platform in ('telegram', 'whatsapp')"
        " and external_conversation_id not like 'e2e-%%'",
        (DEMO_USER,),
    )
    demo()
    capsys.readouterr()
    rows = db.execute(
        "select c.platform, m ->> 'sender_name', m ->> 'direction'"
        " from chat_conversations c, jsonb_array_elements(c.messages) m"
        " where c.user_id = %s and m ->> 'type' <> 'system'"
        " and c.external_conversation_id not like 'e2e-%%'",
        (DEMO_USER,),
    ).fetchall()
    telegram = {(name, direction) for platform, name, direction in rows if platform == "telegram"}
    # the Telegram sample: alice ("Alice Admin") wrote the link; João the other two
    assert ("Alice Admin", "outbound") in telegram
    assert ("João Silva", "inbound") in telegram
    assert all(direction == "outbound" for name, direction in telegram if name == "Alice Admin")
    whatsapp = {(name, direction) for platform, name, direction in rows if platform == "whatsapp"}
    assert ("Alice", "outbound") in whatsapp and ("Alice", "inbound") not in whatsapp


def test_demo_imports_record_a_connection_for_every_platform(db, capsys):
    # from a clean state: the demo's chats and their connections removed first
    db.execute(
        "delete from chat_conversations where user_id = %s and platform in ('telegram', 'wechat')"
        " and external_conversation_id not like 'e2e-%%'",
        (DEMO_USER,),
    )
    db.execute(
        "delete from messaging_connections where user_id = %s and platform in ('telegram', 'wechat')",
        (DEMO_USER,),
    )
    demo()
    capsys.readouterr()
    rows = db.execute(
        "select mc.platform, mc.account_identifier, count(c.id)"
        " from messaging_connections mc join chat_conversations c on c.connection_id = mc.id"
        " where mc.user_id = %s group by 1, 2",
        (DEMO_USER,),
    ).fetchall()
    platforms = {platform for platform, _, _ in rows}
    # WeChat's exporting account comes from its own messages (IsSender = 1), Telegram's from --me
    assert {"whatsapp", "telegram", "wechat"} <= platforms, rows
    assert ("wechat", "Alice") in {(p, a) for p, a, _ in rows}
