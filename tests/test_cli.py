"""The CLI through the real stack: main() called directly, output captured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_messaging.cli import main
from crm_messaging.config import REPO_ROOT

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
    assert code == 0 and json.loads(out) == {"dry_run": True, "messages": 4, "conversations": 1}
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
