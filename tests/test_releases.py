"""The SQL source and the release history agree, and every release upgrades with its data.

supabase/schemas is the source (one file per concern, in dependency order); the migrations
are the history, released ones frozen by the checksums of supabase/releases.txt. Each test
here builds scratch databases in the local cluster (devstack.catalog.scratch_database).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devstack import catalog, release, schema_order, stack, upgrade

pytestmark = pytest.mark.skipif(
    stack.external_stack() is not None,
    reason="builds scratch databases with Supabase's bootstrap, which needs the native stack's superuser",
)

RELEASES = release.read_releases()
MIGRATIONS = catalog.source_files(catalog.MIGRATIONS_DIR)


# ---------------------------------------------------------------- the files themselves


def test_released_migrations_never_change():
    for r in RELEASES:
        files = release.release_files(r, RELEASES, catalog.MIGRATIONS_DIR)
        assert files, f"release {r.version} names no migration file"
        assert release.migration_version(files[-1]) == r.last_migration, r
        assert release.checksum(files) == r.sha256, (
            f"a migration of release {r.version} changed: "
            "released migrations never change, write a new one (make migration NAME=...)"
        )


def test_every_migration_belongs_to_a_release_or_comes_after_the_last():
    versions = [release.migration_version(f) for f in MIGRATIONS]
    assert versions == sorted(set(versions)), "migration versions repeat or are out of order"
    assert RELEASES[0].version == "0.2.0" and release.migration_version(MIGRATIONS[0]) <= (
        RELEASES[0].last_migration
    )
    released = {r.last_migration for r in RELEASES}
    assert released <= set(versions)


def test_schema_files_read_nothing_defined_in_a_later_file():
    assert schema_order.forward_references(catalog.source_files()) == []


def test_schema_files_and_functions_are_small():
    files = catalog.source_files()
    assert [f.name for f in files if len(f.read_text().splitlines()) > 400] == []
    sizes = schema_order.function_sizes(files)
    assert len(sizes) > 50, "the size check found too few functions to be reading the source"
    assert {name: n for name, n in sizes.items() if n > 100} == {}


# ---------------------------------------------------------------- builds compared


def test_the_migrations_build_what_supabase_schemas_declares():
    assert catalog.build_problems() == []


@pytest.mark.parametrize("version", [r.version for r in RELEASES])
def test_a_release_filled_with_data_upgrades_to_head_and_reads_back_the_same(version):
    assert upgrade.upgrade_problems(version) == []


# ---------------------------------------------------------------- the checks can fail

NEW_COLUMN = """
alter table public.chat_conversations add column priority integer not null default 0;
create index chat_conversations_priority_idx on public.chat_conversations (user_id, priority);
"""


def _schemas_with(tmp_path: Path, extra: str) -> Path:
    """A copy of supabase/schemas with one more file."""
    copy = tmp_path / "schemas"
    shutil.copytree(catalog.SCHEMAS_DIR, copy)
    (copy / "99_extra.sql").write_text(extra)
    return copy


def test_a_migration_that_forgets_its_ddl_fails_the_build_check(tmp_path):
    schemas = _schemas_with(tmp_path, NEW_COLUMN)
    problems = catalog.build_problems(schemas_dir=schemas)
    assert "column public.chat_conversations.priority: only in schemas" in problems
    assert "index public.chat_conversations_priority_idx: only in schemas" in problems


def test_make_migration_redeclares_changed_functions_and_lists_the_ddl_to_write(tmp_path):
    schemas = _schemas_with(
        tmp_path,
        NEW_COLUMN
        + """
create or replace function public.conversation_priority(conversation_id uuid)
returns integer
language sql
stable
security invoker
set search_path = ''
as $$
  select c.priority from public.chat_conversations c where c.id = conversation_id;
$$;
comment on function public.conversation_priority(uuid) is 'A probe.';
""",
    )
    with (
        catalog.scratch_database("crm_draft_a") as a,
        catalog.scratch_database("crm_draft_b") as b,
    ):
        catalog.run_sql_files(a, MIGRATIONS)
        catalog.run_sql_files(b, catalog.source_files(schemas))
        text, todo = release.draft_migration(
            catalog.snapshot_of(a), catalog.snapshot_of(b), catalog.source_files(schemas)
        )
    assert "create or replace function public.conversation_priority(conversation_id uuid)" in text
    assert "comment on function public.conversation_priority(uuid) is 'A probe.';" in text
    assert "-- todo: column public.chat_conversations.priority: only in schemas" in text
    assert "column public.chat_conversations.priority: only in schemas" in todo
    # the draft with its todo lines written as DDL builds what the schemas declare
    migrations = tmp_path / "migrations"
    shutil.copytree(catalog.MIGRATIONS_DIR, migrations)
    (migrations / "29991231235959_priority.sql").write_text(NEW_COLUMN + text)
    assert catalog.build_problems(schemas_dir=schemas, migrations_dir=migrations) == []


def test_an_upgrade_that_changes_data_fails_the_upgrade_check(tmp_path):
    loses = tmp_path / "29991231235958_moves_markers.sql"
    loses.write_text(
        "update public.chat_conversation_read_markers"
        " set last_read_at = last_read_at - interval '1 day';\n"
    )
    problems = upgrade.upgrade_problems(RELEASES[0].version, extra=(loses,))
    assert problems and all(p.startswith("read back ") for p in problems), problems
    assert any("last_read_at" in p for p in problems), problems


def test_an_upgrade_whose_ddl_depends_on_the_data_fails_the_upgrade_check(tmp_path):
    only_with_data = tmp_path / "29991231235958_only_with_data.sql"
    only_with_data.write_text(
        "do $$ begin\n"
        "  if exists (select 1 from public.chat_conversations) then\n"
        "    alter table public.chat_conversations add column priority integer;\n"
        "  end if;\n"
        "end $$;\n"
    )
    problems = upgrade.upgrade_problems(RELEASES[0].version, extra=(only_with_data,))
    assert "column public.chat_conversations.priority: only in 0.2.0 upgraded" in problems


def test_a_column_an_upgrade_adds_is_new_data_not_a_difference(tmp_path):
    adds = tmp_path / "29991231235957_adds_a_counter.sql"
    adds.write_text(
        "alter table public.messaging_connections add column probe_count bigint not null default 7;\n"
    )
    assert upgrade.upgrade_problems(RELEASES[0].version, extra=(adds,)) == []
