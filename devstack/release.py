"""Releases of the database: supabase/releases.txt, checksums, and new migrations.

The SQL source is supabase/schemas (one file per concern, run in name order). The
migrations are the release history: a release's migration files never change once its line
is in supabase/releases.txt (`<version> <last migration version> <sha256>`; the checksum
covers the release's own files, those after the previous release's last one, concatenated
in order). Every later change is a new migration, which `write_migration` drafts from the
difference between a database built from the migrations and one built from the schemas.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import catalog, schema_order
from .layout import REPO_ROOT

RELEASES_TXT = REPO_ROOT / "supabase" / "releases.txt"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,60}$")
VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class Release:
    version: str
    last_migration: str
    sha256: str


def migration_version(path: Path) -> str:
    return path.name.split("_", 1)[0]


def read_releases(path: Path = RELEASES_TXT) -> list[Release]:
    out = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            version, last, digest = line.split()
            out.append(Release(version, last, digest))
    return out


def release_files(release: Release, releases: list[Release], folder: Path) -> list[Path]:
    """The migration files a release added: after the previous release's last, up to its own."""
    previous = ""
    for r in releases:
        if r == release:
            break
        previous = r.last_migration
    return [
        f
        for f in catalog.source_files(folder)
        if previous < migration_version(f) <= release.last_migration
    ]


def checksum(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    return digest.hexdigest()


def files_up_to(version: str, folder: Path) -> list[Path]:
    """Every migration up to and including one version: what installs that release."""
    return [f for f in catalog.source_files(folder) if migration_version(f) <= version]


def render_baseline(files: list[Path]) -> str:
    """The schema files as one migration, each under a line naming its source."""
    parts = [
        "-- Baseline rendered from supabase/schemas (python -m devstack release); do not edit.\n"
    ]
    for f in files:
        parts.append(f"\n-- ---- supabase/schemas/{f.name} ----\n\n{f.read_text()}")
    return "".join(parts)


def now_version() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")


# ---------------------------------------------------------------------------------------
# A new migration: the functions whose source changed, and todo lines for the rest
# ---------------------------------------------------------------------------------------


def function_blocks(files: list[Path]) -> dict[str, str]:
    """Each function's statements in the source: `create or replace function` up to the
    next blank line that follows its body, which holds its comment, revokes and grants."""
    blocks: dict[str, str] = {}
    for f in files:
        lines = f.read_text().split("\n")
        for name, start, end in schema_order.function_spans(lines):
            stop = end + 1
            while stop < len(lines) and lines[stop].strip():
                stop += 1
            blocks[name] = blocks.get(name, "") + "\n".join(lines[start:stop]).strip() + "\n"
    return blocks


def _function_name(signature: str) -> str:
    """schema.name of a regprocedure text (public's functions print without their schema)."""
    name = signature.split("(", 1)[0].lower()
    return name if "." in name else f"public.{name}"


def draft_migration(
    migrations: catalog.Snapshot, schemas: catalog.Snapshot, files: list[Path]
) -> tuple[str, list[str]]:
    """The text of a migration from the migrations' catalog to the schemas', and the
    differences it could not write (todo lines)."""
    blocks = function_blocks(files)
    changes = catalog.diff(migrations, schemas, ("migrations", "schemas"))
    written: list[str] = []
    drops: list[str] = []
    todo: list[str] = []
    for line in changes:
        kind, rest = line.split(" ", 1)
        signature = rest.rsplit(": ", 1)[0]
        if kind == "function" and "only in migrations" in rest:
            drops.append(f"drop function if exists {signature};")
        elif kind == "function" and _function_name(signature) in blocks:
            name = _function_name(signature)
            if blocks[name] not in written:
                written.append(blocks[name])
        else:
            todo.append(line)
    parts = ["-- Written by `make migration` from supabase/schemas; finish the todo lines.\n"]
    parts += [f"-- todo: {t}\n" for t in todo]
    parts += [f"\n{d}\n" for d in drops]
    parts += [f"\n{b}" for b in written]
    return "".join(parts), todo


def write_migration(name: str, folder: Path | None = None) -> tuple[Path, list[str]]:
    """supabase/migrations/<now>_<name>.sql drafted from the catalogs of the two builds."""
    if not NAME.match(name):
        raise ValueError(f"NAME: lower-case letters, digits and _ (got {name!r})")
    folder = folder or catalog.MIGRATIONS_DIR
    files = catalog.source_files(catalog.SCHEMAS_DIR)
    with (
        catalog.scratch_database("crm_draft_migrations") as a,
        catalog.scratch_database("crm_draft_schemas") as b,
    ):
        catalog.run_sql_files(a, catalog.source_files(folder))
        catalog.run_sql_files(b, files)
        text, todo = draft_migration(catalog.snapshot_of(a), catalog.snapshot_of(b), files)
    if text.count("\n") <= 1:
        raise ValueError("supabase/schemas and the migrations build the same database")
    path = folder / f"{now_version()}_{name}.sql"
    path.write_text(text)
    return path, todo


def cut_release(version: str, folder: Path | None = None, path: Path = RELEASES_TXT) -> Release:
    """Append `<version> <last migration> <sha256>` for the migrations since the last release."""
    if not VERSION.match(version):
        raise ValueError(f"VERSION: x.y.z (got {version!r})")
    folder = folder or catalog.MIGRATIONS_DIR
    releases = read_releases(path) if path.exists() else []
    if any(r.version == version for r in releases):
        raise ValueError(f"release {version} exists already")
    previous = releases[-1].last_migration if releases else ""
    new = [f for f in catalog.source_files(folder) if migration_version(f) > previous]
    if not new:
        raise ValueError("no migration since the last release")
    release = Release(version, migration_version(new[-1]), checksum(new))
    with path.open("a") as out:
        out.write(f"{release.version} {release.last_migration} {release.sha256}\n")
    return release
