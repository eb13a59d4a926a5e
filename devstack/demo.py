"""`make demo`: the bundled sample exports imported for alice@crm.example, then her inbox."""

from __future__ import annotations

from crm_messaging.client import MessagingClient
from crm_messaging.commands import import_chats, print_inbox
from crm_messaging.config import read_env
from crm_messaging.importers import parser_for

from .layout import REPO_ROOT
from .stack import env_file_path

DEMO_USER = "00000000-0000-4000-a000-00000000a11c"  # alice@crm.example in supabase/seed.sql


def demo() -> None:
    examples = REPO_ROOT / "examples"
    client = MessagingClient.from_env(env_file=env_file_path())
    plan = [
        ("whatsapp", "WhatsApp Chat with +34 612 34 56 78.txt", "Alice", "Europe/Madrid"),
        ("telegram", "telegram_result.json", "Alice Admin", None),
        ("signal", "signal-receive.jsonl", None, None),
        ("wechat", "wechat_liwei.csv", None, None),
    ]
    for platform, name, me, tz in plan:
        chat = parser_for(platform)(examples / name, me=me, tz=tz, region="ES")
        s = import_chats(client, [chat], user_id=DEMO_USER, me=me)
        print(f"{platform:8} {name}: {s.inserted} inserted, {s.duplicates} duplicates")
    print("\ninbox of alice@crm.example:")
    client.user_id = DEMO_USER
    print_inbox(client.conversations())
    web = read_env(env_file_path()).get("WEB_URL")
    if web:
        print(f"\nCRM screens: {web}  (sign in as alice@crm.example)")
