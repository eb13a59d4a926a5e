"""The database's shape as comparable data, and scratch databases to compare.

`snapshot` reads what a migration can change from the catalog of one database: schemas,
types and enum labels, tables and views with their columns, constraints, indexes, policies,
triggers, functions (their whole definition), grants, comments, default privileges,
extensions, and the rows of the reference tables that the source seeds (settings and the
contract). Two databases built two ways (from supabase/schemas, from the migrations, from
an older release upgraded) must give equal snapshots; `diff` names what differs.

`scratch_database` creates an empty database in the local cluster with the bootstrap a
Supabase database has (supabase/sql/bootstrap.sql), so builds never touch the stack's own
`postgres` database.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg

from .layout import REPO_ROOT, db_url
from .postgres import BOOTSTRAP_SQL

SCHEMAS_DIR = REPO_ROOT / "supabase" / "schemas"
MIGRATIONS_DIR = REPO_ROOT / "supabase" / "migrations"

#: the schemas this project writes into
SCHEMAS = ("public", "messaging_private")

#: tables whose rows the source itself writes (tunables and the contract): part of the shape
REFERENCE_TABLES = (
    "messaging_private.settings",
    "messaging_private.contract_limits",
    "messaging_private.payload_fields",
    "messaging_private.stored_message_keys",
    "messaging_private.platforms",
    "messaging_private.platform_secrets",
    "messaging_private.delivery_statuses",
    "messaging_private.connection_statuses",
    "messaging_private.refusal_kinds",
)

Snapshot = dict[str, dict[str, Any]]

_QUERIES: dict[str, str] = {
    "schema": """
        select n.nspname, pg_catalog.array_to_string(n.nspacl, ','),
               pg_catalog.obj_description(n.oid, 'pg_namespace')
          from pg_catalog.pg_namespace n where n.nspname = any(%(schemas)s)""",
    "extension": """
        select e.extname, n.nspname from pg_catalog.pg_extension e
          join pg_catalog.pg_namespace n on n.oid = e.extnamespace
         where e.extname not in ('plpgsql')""",
    "type": """
        select n.nspname || '.' || t.typname, t.typtype,
               (select pg_catalog.string_agg(e.enumlabel, ',' order by e.enumsortorder)
                  from pg_catalog.pg_enum e where e.enumtypid = t.oid),
               pg_catalog.obj_description(t.oid, 'pg_type')
          from pg_catalog.pg_type t join pg_catalog.pg_namespace n on n.oid = t.typnamespace
         where n.nspname = any(%(schemas)s) and t.typtype in ('e', 'd', 'c')
           and (t.typtype <> 'c' or (select c.relkind from pg_catalog.pg_class c
                                      where c.oid = t.typrelid) = 'c')""",
    "relation": """
        select n.nspname || '.' || c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
               pg_catalog.array_to_string(c.relacl, ','), pg_catalog.array_to_string(c.reloptions, ','),
               pg_catalog.obj_description(c.oid, 'pg_class'),
               case when c.relkind in ('v', 'm') then pg_catalog.pg_get_viewdef(c.oid) end
          from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'v', 'm', 'p', 'S', 'f')""",
    "column": """
        select n.nspname || '.' || c.relname || '.' || a.attname,
               a.attnum, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity,
               a.attcompression, pg_catalog.array_to_string(a.attacl, ','),
               pg_catalog.col_description(c.oid, a.attnum)
          from pg_catalog.pg_attribute a
          join pg_catalog.pg_class c on c.oid = a.attrelid
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
         where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'v', 'm', 'p', 'f')
           and a.attnum > 0 and not a.attisdropped""",
    "constraint": """
        select n.nspname || '.' || c.relname || '.' || k.conname, k.contype,
               pg_catalog.pg_get_constraintdef(k.oid),
               pg_catalog.obj_description(k.oid, 'pg_constraint')
          from pg_catalog.pg_constraint k
          join pg_catalog.pg_class c on c.oid = k.conrelid
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any(%(schemas)s)""",
    "index": """
        select n.nspname || '.' || i.relname, pg_catalog.pg_get_indexdef(i.oid),
               pg_catalog.obj_description(i.oid, 'pg_class')
          from pg_catalog.pg_index x
          join pg_catalog.pg_class i on i.oid = x.indexrelid
          join pg_catalog.pg_namespace n on n.oid = i.relnamespace
         where n.nspname = any(%(schemas)s)""",
    "policy": """
        select p.schemaname || '.' || p.tablename || '.' || p.policyname, p.permissive,
               pg_catalog.array_to_string(p.roles, ','), p.cmd, p.qual, p.with_check
          from pg_catalog.pg_policies p where p.schemaname = any(%(schemas)s)""",
    "trigger": """
        select n.nspname || '.' || c.relname || '.' || t.tgname, pg_catalog.pg_get_triggerdef(t.oid),
               t.tgenabled
          from pg_catalog.pg_trigger t
          join pg_catalog.pg_class c on c.oid = t.tgrelid
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any(%(schemas)s) and not t.tgisinternal""",
    "function": """
        select p.oid::pg_catalog.regprocedure::text, pg_catalog.pg_get_functiondef(p.oid),
               pg_catalog.array_to_string(p.proacl, ','),
               pg_catalog.obj_description(p.oid, 'pg_proc'),
               pg_catalog.pg_get_userbyid(p.proowner)
          from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
         where n.nspname = any(%(schemas)s) and p.prokind in ('f', 'p', 'w')
           and not exists (select 1 from pg_catalog.pg_depend d
                            where d.objid = p.oid and d.deptype = 'e')""",
    "default_acl": """
        select pg_catalog.pg_get_userbyid(d.defaclrole) || ':' || coalesce(n.nspname, '*') || ':'
               || d.defaclobjtype::text, pg_catalog.array_to_string(d.defaclacl, ',')
          from pg_catalog.pg_default_acl d
          left join pg_catalog.pg_namespace n on n.oid = d.defaclnamespace""",
}


def snapshot(conn: psycopg.Connection[Any]) -> Snapshot:
    """Everything a migration can change, keyed by kind and then by object name."""
    out: Snapshot = {}
    for kind, sql in _QUERIES.items():
        rows = conn.execute(sql, {"schemas": list(SCHEMAS)}).fetchall()
        out[kind] = {str(r[0]): tuple(r[1:]) for r in rows}
    out["rows"] = {}
    for table in REFERENCE_TABLES:
        exists = conn.execute("select pg_catalog.to_regclass(%s) is not null", (table,)).fetchone()
        if exists and exists[0]:
            rows = conn.execute(
                f"select pg_catalog.to_jsonb(t)::text from {table} t order by 1"
            ).fetchall()
            out["rows"][table] = tuple(r[0] for r in rows)
    return out


def diff(left: Snapshot, right: Snapshot, names: tuple[str, str] = ("a", "b")) -> list[str]:
    """One line per object that differs: only on one side, or with another definition."""
    lines: list[str] = []
    for kind in sorted(set(left) | set(right)):
        a, b = left.get(kind, {}), right.get(kind, {})
        for key in sorted(set(a) | set(b)):
            if key not in b:
                lines.append(f"{kind} {key}: only in {names[0]}")
            elif key not in a:
                lines.append(f"{kind} {key}: only in {names[1]}")
            elif a[key] != b[key]:
                lines.append(f"{kind} {key}: differs ({_first_difference(a[key], b[key])})")
    return lines


def _first_difference(a: Any, b: Any) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            xs, ys = str(x), str(y)
            at = next(
                (j for j, (p, q) in enumerate(zip(xs, ys, strict=False)) if p != q),
                min(len(xs), len(ys)),
            )
            return (
                f"field {i}: {xs[max(0, at - 40) : at + 60]!r} vs {ys[max(0, at - 40) : at + 60]!r}"
            )
    return f"{len(a)} vs {len(b)} fields"


def source_files(folder: Path = SCHEMAS_DIR) -> list[Path]:
    """The .sql files of a folder in the order they run (their names sort in that order)."""
    return sorted(folder.glob("*.sql"))


def database_url(name: str, user: str = "postgres") -> str:
    return db_url(user).rsplit("/", 1)[0] + "/" + name


def run_sql_files(url: str, files: Iterable[Path], single_transaction: bool = True) -> None:
    """psql -f each file in order, each in one transaction (as `supabase db reset` applies a
    migration), stopping at the first error (which is raised)."""
    for f in files:
        one = ["-1"] if single_transaction else []
        out = subprocess.run(
            ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", *one, "-f", str(f)],
            capture_output=True,
            text=True,
            env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
        )
        if out.returncode != 0:
            raise RuntimeError(f"{f.name}: {out.stderr.strip()[-2000:]}")


@contextlib.contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """An empty database with Supabase's bootstrap, dropped afterwards; yields its URL."""
    admin = psycopg.connect(db_url(), autocommit=True)
    try:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
        url = database_url(name)
        run_sql_files(url, [BOOTSTRAP_SQL])
        yield url
    finally:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def snapshot_of(url: str) -> Snapshot:
    with psycopg.connect(url) as conn:
        return snapshot(conn)


def build_problems(
    schemas_dir: Path = SCHEMAS_DIR, migrations_dir: Path = MIGRATIONS_DIR
) -> list[str]:
    """What a database built from the migrations lacks or has beyond one built from the
    schema files (empty when they build the same catalog)."""
    with (
        scratch_database("crm_build_migrations") as a,
        scratch_database("crm_build_schemas") as b,
    ):
        run_sql_files(a, source_files(migrations_dir))
        run_sql_files(b, source_files(schemas_dir))
        return diff(snapshot_of(a), snapshot_of(b), ("migrations", "schemas"))
