"""Upgrade safety: a new migration applied with `supabase migration up` keeps every message."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from devstack import stack
from devstack.layout import REPO_ROOT

from ..helpers import check_invariants, msg

pytestmark = pytest.mark.skipif(
    stack.external_stack() is not None, reason="migrates the native stack"
)

VERSION = "29991231235959"
MIGRATION = """
-- a feature added after data exists: a column with a default and an index
alter table public.chat_conversations add column upgrade_probe text not null default 'x';
create index chat_conversations_upgrade_probe_idx on public.chat_conversations (upgrade_probe);
"""


def test_migration_up_keeps_every_stored_message(make_user, db, small_caps, tmp_path):
    alice = make_user("alice")
    batch = [msg("up", f"u{i:03d}", minutes=i, content=f"kept {i}") for i in range(60)]
    cid = (
        alice.client.rpc("ingest_messages", {"payload": {"messages": batch}})
        .execute()
        .data["conversations"][0]["id"]
    )
    before = check_invariants(db, cid)
    # the project as it is, plus one new migration, in a scratch copy of supabase/
    work = tmp_path / "project"
    shutil.copytree(
        REPO_ROOT / "supabase", work / "supabase", ignore=shutil.ignore_patterns(".temp", "tests")
    )
    (work / "supabase" / "migrations" / f"{VERSION}_upgrade_probe.sql").write_text(MIGRATION)
    try:
        out = subprocess.run(
            [
                str(stack.SUPABASE_CLI),
                "migration",
                "up",
                stack.cli_db_flag(),
                "--yes",
                "--workdir",
                str(work),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert db.execute(
            "select upgrade_probe from chat_conversations where id = %s", (cid,)
        ).fetchone() == ("x",)
        assert check_invariants(db, cid) == before
        again = (
            alice.client.rpc(
                "ingest_messages", {"payload": {"messages": [*batch, msg("up", "after")]}}
            )
            .execute()
            .data
        )
        assert (again["inserted"], again["duplicates"]) == (1, 60)
    finally:
        db.execute(
            "alter table public.chat_conversations drop column if exists upgrade_probe;"
            f"delete from supabase_migrations.schema_migrations where version = '{VERSION}';"
            "notify pgrst, 'reload schema'"
        )
