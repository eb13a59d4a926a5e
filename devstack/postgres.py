"""PostgreSQL 15 of the local stack: the cluster, run as the `postgres` user, and the
bootstrap that gives it the roles and `auth` schema a Supabase database has."""

from __future__ import annotations

import os
from pathlib import Path

from .layout import DB_PASSWORD, DB_PORT, REPO_ROOT, Paths, db_url
from .process import StackError, as_postgres, chown_postgres, pid_alive, port_open, run

PG_BIN = Path(os.environ.get("CRM_PG_BIN", "/usr/lib/postgresql/15/bin"))
BOOTSTRAP_SQL = REPO_ROOT / "supabase" / "sql" / "bootstrap.sql"

PG_CONF = f"""
# crm-messaging local stack
# 127.0.0.2 is the same server under a second loopback address: the Supabase CLI takes
# 127.0.0.1:<config db.port> for its own Docker container and would ask for Docker.
listen_addresses = '127.0.0.1,127.0.0.2'
port = {DB_PORT}
max_connections = 120
shared_buffers = 512MB
work_mem = 16MB
maintenance_work_mem = 256MB
wal_compression = lz4
default_toast_compression = lz4
max_wal_size = 2GB
checkpoint_timeout = 15min
log_min_messages = warning
log_min_error_statement = panic
log_line_prefix = '%m [%p] %q%u@%d '
"""


def init_cluster(paths: Paths) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    for d in (paths.run, paths.logs):
        d.mkdir(exist_ok=True)
        chown_postgres(d)
    pwfile = paths.run / "pwfile"
    pwfile.write_text(DB_PASSWORD + "\n")
    chown_postgres(pwfile)
    log = paths.log("initdb")
    cmd = [
        str(PG_BIN / "initdb"),
        "-D",
        str(paths.pgdata),
        "-U",
        "postgres",
        f"--pwfile={pwfile}",
        "--auth-local=peer",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ]
    if os.geteuid() == 0:
        paths.pgdata.mkdir(mode=0o700, exist_ok=True)
        chown_postgres(paths.pgdata)
    out = run("postgres", as_postgres(cmd))
    log.write_text(out)
    pwfile.unlink()
    with (paths.pgdata / "postgresql.conf").open("a") as f:
        f.write(PG_CONF + f"unix_socket_directories = '{paths.run}'\n")
    with (paths.pgdata / "pg_hba.conf").open("a") as f:
        f.write("host all all 127.0.0.0/8 scram-sha-256\n")


def postgres_running(paths: Paths) -> bool:
    return pid_alive(paths.pgdata / "postmaster.pid", "postgres") is not None


def start_postgres(paths: Paths) -> bool:
    """Start the cluster (creating it first if needed). True if it was started now."""
    if postgres_running(paths):
        return False
    if port_open(DB_PORT):
        raise StackError("postgres", f"port {DB_PORT} is taken by another program")
    if not (paths.pgdata / "PG_VERSION").exists():
        init_cluster(paths)
    log = paths.log("postgres")
    if os.geteuid() == 0 and log.exists():
        chown_postgres(log)
    cmd = [
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(paths.pgdata),
        "-l",
        str(log),
        "-w",
        "-t",
        "60",
        "start",
    ]
    run("postgres", as_postgres(cmd), log)
    return True


def stop_postgres(paths: Paths, mode: str = "fast") -> bool:
    if not postgres_running(paths):
        return False
    cmd = [str(PG_BIN / "pg_ctl"), "-D", str(paths.pgdata), "-m", mode, "-w", "stop"]
    run("postgres", as_postgres(cmd), paths.log("postgres"))
    return True


def bootstrap(paths: Paths) -> None:
    """Give the cluster the roles, schemas and functions of a Supabase database."""
    run(
        "bootstrap",
        ["psql", db_url(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(BOOTSTRAP_SQL)],
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )


def migrations_applied() -> bool:
    out = run(
        "postgres",
        [
            "psql",
            db_url(),
            "-X",
            "-At",
            "-c",
            "select to_regclass('supabase_migrations.schema_migrations') is not null",
        ],
    )
    return out.strip() == "t"


def notify_schema_reload() -> None:
    run("postgres", ["psql", db_url(), "-X", "-q", "-c", "notify pgrst, 'reload schema'"])
