"""The CLI through the real stack: main() called directly, output captured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_messaging.cli import main
from devstack.layout import REPO_ROOT

WA = str(REPO_ROOT / "examples" / "WhatsApp Chat with +34 612 34 56 78.txt")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_reimport_and_a_later_export(make_user, capsys, db, tmp_path):
    alice = make_user("alice")
    args = [
        "import",
        "whatsapp",
        WA,
        "--user-id",
        alice.id,
        "--me",
        "Alice",
        "--tz",
        "Europe/Madrid",
        "--json",
    ]
    code, out, _ = run(capsys, *args)
    assert code == 0
    first = json.loads(out)
    assert (first["inserted"], first["duplicates"]) == (8, 0)
    code, out, _ = run(capsys, *args)
    assert (json.loads(out)["inserted"], json.loads(out)["duplicates"]) == (0, 8)
    later = tmp_path / "WhatsApp Chat with +34 612 34 56 78.txt"
    later.write_text(Path(WA).read_text() + "14/03/2026, 10:00 - Alice: ¿Llegaste bien?\n")
    code, out, _ = run(capsys, *args[:2], str(later), *args[3:])
    assert (json.loads(out)["inserted"], json.loads(out)["duplicates"]) == (1, 8)
    row = db.execute(
        "select c.message_count, mc.account_identifier from chat_conversations c"
        " join messaging_connections mc on mc.id = c.connection_id where c.user_id = %s",
        (alice.id,),
    ).fetchone()
    assert row == (9, "Alice")


def test_dry_run_writes_nothing(make_user, capsys, db):
    alice = make_user("alice")
    code, out, _ = run(
        capsys,
        "import",
        "signal",
        str(REPO_ROOT / "examples" / "signal-receive.jsonl"),
        "--user-id",
        alice.id,
        "--dry-run",
        "--json",
    )
    assert code == 0 and json.loads(out) == {"dry_run": True, "messages": 3, "conversations": 1}
    assert db.execute(
        "select count(*) from chat_conversations where user_id = %s", (alice.id,)
    ).fetchone() == (0,)


@pytest.mark.parametrize("content", [None, "{not json"])
def test_missing_or_corrupt_file_exits_non_zero_without_traceback(
    make_user, capsys, tmp_path, db, content
):
    alice = make_user("alice")
    path = tmp_path / "result.json"
    if content is not None:
        path.write_text(content)
    code, _out, err = run(capsys, "import", "telegram", str(path), "--user-id", alice.id)
    assert code == 2 and "Traceback" not in err and str(path) in err
    assert db.execute(
        "select count(*) from chat_conversations where user_id = %s", (alice.id,)
    ).fetchone() == (0,)


def test_whatsapp_without_tz_says_so(capsys, make_user):
    alice = make_user("alice")
    code, _, err = run(capsys, "import", "whatsapp", WA, "--user-id", alice.id, "--me", "Alice")
    assert code == 2 and "--tz" in err


def test_conversations_show_and_connections(make_user, capsys):
    alice = make_user("alice")
    run(
        capsys,
        "import",
        "wechat",
        str(REPO_ROOT / "examples" / "wechat_liwei.csv"),
        "--user-id",
        alice.id,
        "--me",
        "wxid_alice",
    )
    code, out, _ = run(capsys, "conversations", "--user-id", alice.id)
    assert code == 0 and "wechat" in out and "Li Wei" in out
    conv_id = out.split()[0]
    code, out, _ = run(capsys, "show", conv_id, "--user-id", alice.id)
    assert "你好，我想订购二十个样品。" in out and "[voice]" in out
    code, out, _ = run(capsys, "connections", "--user-id", alice.id)
    assert "wxid_alice" in out and "last sync 20" in out


def test_identifiers_sync_fills_from_people_and_links(make_user, capsys, db):
    alice = make_user("alice")
    alice.client.table("people").insert(
        [
            {"full_name": "Local", "phone": "612 34 56 78", "email": "Local@Example.ES"},
            {"full_name": "Nonsense", "phone": "call me maybe"},
        ]
    ).execute()
    code, out, _ = run(capsys, "identifiers", "sync", "--user-id", alice.id, "--region", "ES")
    assert code == 0 and "2 identifiers added" in out and "1 skipped" in out
    values = db.execute(
        "select kind, value from person_identifiers where user_id = %s order by kind", (alice.id,)
    ).fetchall()
    assert values == [("email", "local@example.es"), ("phone", "+34612345678")]
    code, out, _ = run(capsys, "identifiers", "sync", "--user-id", alice.id, "--region", "ES")
    assert "0 identifiers added" in out  # idempotent


def test_search_prints_conversation_time_sender_and_snippet(make_user, capsys):
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        run(
            capsys,
            "import",
            "wechat",
            str(REPO_ROOT / "examples" / "wechat_liwei.csv"),
            "--user-id",
            user.id,
        )
    code, out, _ = run(capsys, "search", "INV-2026", "--user-id", alice.id)
    assert code == 0
    (line,) = out.strip().splitlines()  # only alice's copy, though bob holds the same message
    assert "wechat" in line and "2026-03-12 07:22" in line and "[[INV-2026]]" in line
    code, out, _ = run(capsys, "search", "nothing-like-this", "--user-id", alice.id)
    assert out.strip() == "no matches"


# ------------------------------------------------------------------ issue 10: the CLI as users run it

FX = Path(__file__).parent / "fixtures"
ENV_NAMES = [
    "API_URL", "SUPABASE_URL", "ANON_KEY", "SUPABASE_ANON_KEY", "SERVICE_ROLE_KEY",
    "SUPABASE_SERVICE_ROLE_KEY", "JWT_SECRET", "SUPABASE_JWT_SECRET", "DB_URL", "SUPABASE_DB_URL",
]  # fmt: skip


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No stack settings anywhere: no variables, no .env in the working directory."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRM_ENV_FILE", str(tmp_path / "missing.env"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_dry_run_needs_no_stack_and_no_env(no_env, capsys):
    code, out, err = run(
        capsys, "import", "whatsapp", str(FX / "whatsapp" / "ambiguous_dates.txt"),
        "--tz", "Europe/London", "--me", "Ann", "--date-order", "dmy",
        "--participant", "+44 7700 900123", "--dry-run", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "dry_run": True, "messages": 3, "conversations": 1,
        "notes": ["date order D/M/Y: --date-order dmy"],
    }  # fmt: skip


def test_dry_run_names_the_24_hour_clock_rule(no_env, capsys):
    code, out, err = run(
        capsys, "import", "whatsapp", str(FX / "whatsapp" / "clock_24h.txt"),
        "--tz", "Europe/London", "--me", "Tom", "--dry-run", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    (note,) = json.loads(out)["notes"]
    assert note.startswith("date order D/M/Y: the 24 h clock") and "--date-order mdy" in note


def test_without_env_the_cli_says_so_in_a_sentence(no_env, capsys):
    code, out, err = run(
        capsys, "import", "signal", str(REPO_ROOT / "examples" / "signal-receive.jsonl")
    )
    assert code == 1 and out == ""
    assert "Traceback" not in err and "no Supabase project configured" in err
    assert "API_URL" in err and err.strip().endswith(".")
    code, _, err = run(capsys, "conversations")
    assert code == 1 and "no Supabase project configured" in err


def test_ambiguous_dates_name_the_option(no_env, capsys):
    args = ["import", "whatsapp", str(FX / "whatsapp" / "ambiguous_dates.txt"), "--tz", "UTC"]
    code, _, err = run(capsys, *args, "--me", "Ann", "--dry-run")
    assert code == 2 and "--date-order dmy|mdy" in err
    code, _, err = run(
        capsys,
        "import",
        "telegram",
        str(REPO_ROOT / "examples" / "telegram_result.json"),
        "--date-order",
        "dmy",
        "--dry-run",
    )
    assert code == 2 and "WhatsApp" in err


def test_participant_joins_the_live_conversation_and_links_the_person(make_user, capsys, db):
    alice = make_user("alice")
    person = alice.client.table("people").insert({"full_name": "Dr. Feather"}).execute().data[0]
    alice.client.table("person_identifiers").insert(
        {"person_id": person["id"], "kind": "phone", "value": "+1 415 555 2671"}
    ).execute()
    code, out, _ = run(
        capsys, "import", "whatsapp", str(FX / "whatsapp" / "WhatsApp Chat - Dr. Feather.txt"),
        "--user-id", alice.id, "--tz", "America/New_York", "--participant", "+14155552671",
        "--json",
    )  # fmt: skip
    assert code == 0
    (conv,) = json.loads(out)["conversations"]
    assert conv["external_conversation_id"] == "+14155552671"
    assert conv["person_id"] == person["id"]


def test_show_says_deleted_and_gives_notices_no_empty_sender(make_user, capsys, db, tmp_path):
    alice = make_user("alice")
    run(
        capsys,
        "import",
        "whatsapp",
        WA,
        "--user-id",
        alice.id,
        "--me",
        "Alice",
        "--tz",
        "Europe/Madrid",
    )
    code, out, _ = run(capsys, "conversations", "--user-id", alice.id)
    conv_id = out.split()[0]
    code, out, _ = run(capsys, "show", conv_id, "--user-id", alice.id)
    lines = out.strip().splitlines()
    assert code == 0
    (banner,) = [line for line in lines if "end-to-end encrypted" in line]
    assert banner.startswith("2026-03-12 08:14 · Messages and calls")
    assert not any(" ← : " in line or " → : " in line for line in lines)
    assert "[text]" not in out
    assert "2026-03-12 08:21 ← +34 612 34 56 78: This message was deleted" in lines
    last_deleted = tmp_path / "WhatsApp Chat with +34 699 00 00 00.txt"
    last_deleted.write_text(
        "14/03/2026, 10:00 - Alice: ¿Vienes?\n"
        "14/03/2026, 10:05 - +34 699 00 00 00: Se eliminó este mensaje.\n",
        encoding="utf-8",
    )
    code, out, _ = run(
        capsys, "import", "whatsapp", str(last_deleted), "--user-id", alice.id,
        "--me", "Alice", "--tz", "Europe/Madrid", "--json",
    )  # fmt: skip
    assert code == 0
    preview = db.execute(
        "select last_message_preview from chat_conversations"
        " where user_id = %s and external_conversation_id = '+34699000000'",
        (alice.id,),
    ).fetchone()
    assert preview == ("Se eliminó este mensaje.",)


def test_show_line_of_a_deleted_message_without_text():
    from crm_messaging.commands import show_line
    from crm_messaging.reads import StoredMessage

    line = show_line(StoredMessage.model_validate({
        "id": "d1", "sent_at": "2026-03-12T08:21:00Z", "direction": "inbound", "type": "text",
        "content": None, "sender_name": "Ana", "metadata": {"deleted": True},
    }))  # fmt: skip
    assert line == "2026-03-12 08:21 ← Ana: [deleted]"
    notice = show_line(StoredMessage.model_validate({
        "id": "n1", "sent_at": "2026-03-12T08:14:00Z", "direction": "inbound", "type": "system",
        "content": "Ana created group", "sender_name": None,
    }))  # fmt: skip
    assert notice == "2026-03-12 08:14 · Ana created group"


SIX_IN_ONE_MINUTE = """12/03/2026, 10:01 - Messages and calls are end-to-end encrypted. Only people in this chat can read, listen to, or share them. Tap to learn more.
12/03/2026, 10:01 - +34 612 34 56 78: one
12/03/2026, 10:01 - Alice: two
12/03/2026, 10:01 - +34 612 34 56 78: three
12/03/2026, 10:01 - +34 612 34 56 78: four
12/03/2026, 10:01 - Alice: five
12/03/2026, 10:01 - +34 612 34 56 78: six
12/03/2026, 10:02 - Alice: seven
"""


def test_whatsapp_messages_of_one_minute_keep_the_file_order(make_user, capsys, db, tmp_path):
    # the file gives minutes only and the ids are hashes: the store, its reads and `show`
    # must still read banner, one, two, ... six, seven (the file's order)
    alice = make_user("alice")
    chat = tmp_path / "WhatsApp Chat with +34 612 34 56 78.txt"
    chat.write_text(SIX_IN_ONE_MINUTE)
    args = [
        "import",
        "whatsapp",
        str(chat),
        "--user-id",
        alice.id,
        "--me",
        "Alice",
        "--date-order",
        "dmy",
    ]
    code, _, err = run(capsys, *args, "--tz", "Europe/Madrid")
    assert code == 0, err
    words = ["one", "two", "three", "four", "five", "six", "seven"]
    hot = db.execute(
        "select m ->> 'content', m -> 'metadata' ->> 'time_precision'"
        " from chat_conversations c, jsonb_array_elements(c.messages) m where c.user_id = %s",
        (alice.id,),
    ).fetchall()
    assert [r[0] for r in hot][1:] == words and hot[0][0].startswith("Messages and calls")
    assert {r[1] for r in hot} == {"minute"}
    conv_id = db.execute(
        "select id from chat_conversations where user_id = %s", (alice.id,)
    ).fetchone()[0]
    page = alice.client.rpc(
        "get_conversation_messages", {"conversation_id": str(conv_id)}
    ).execute()
    assert [m["content"] for m in reversed(page.data)][1:] == words
    code, out, _ = run(capsys, "show", str(conv_id), "--user-id", alice.id)
    found = [w for line in out.splitlines() for w in words if line.rstrip().endswith(f": {w}")]
    assert found == words, out
    assert out.index("end-to-end encrypted") < out.index(": one")
    # a re-import finds every message again (the offsets are not part of the ids)
    code, out, _ = run(capsys, *args, "--tz", "Europe/Madrid", "--json")
    assert (json.loads(out)["inserted"], json.loads(out)["duplicates"]) == (0, 8)
