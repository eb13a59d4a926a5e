"""The local Supabase stack, natively: PostgreSQL 15, PostgREST, nginx and Deno, no Docker.

`up` is idempotent: it starts only the parts that are not running, bootstraps a fresh
cluster with the roles and `auth` schema Supabase has, applies the migrations with the
real Supabase CLI, and writes `.env`. `down` stops only what `up` started (it keeps pid
files of its own). When `.env` names a stack this tool did not write (for example
`supabase status -o env` of a `supabase start` stack), `up` starts nothing and uses it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from crm_messaging.config import read_env

from .functions import (
    FUNCTION_NAME,
    functions_pid,
    functions_ready,
    start_functions,
    stop_functions,
)
from .gateway import nginx_pid, start_nginx, stop_nginx, web_ready, write_local_session
from .layout import (
    POSTGREST_PORT,
    REPO_ROOT,
    Paths,
    api_url,
    cli_db_url,
    db_url,
    state_dir,
    web_url,
)
from .postgres import (
    bootstrap,
    migrations_applied,
    notify_schema_reload,
    postgres_running,
    start_postgres,
    stop_postgres,
)
from .postgrest import postgrest_pid, postgrest_ready, start_postgrest, stop_postgrest
from .process import StackError, http_status, run
from .tokens import LOCAL_JWT_SECRET, api_key

ENV_MARKER = "CRM_STACK=native"
SUPABASE_CLI = REPO_ROOT / "node_modules" / ".bin" / "supabase"


def env_file_path() -> Path:
    """The `.env` the stack is named in: $CRM_ENV_FILE, else the checkout's."""
    explicit = os.environ.get("CRM_ENV_FILE")
    return Path(explicit) if explicit else REPO_ROOT / ".env"


def cli_db_flag() -> str:
    """How the Supabase CLI reaches this project's database: the native stack or `supabase start`."""
    return "--local" if external_stack() is not None else f"--remote={cli_db_url()}"


def stack_env(secret: str = LOCAL_JWT_SECRET) -> dict[str, str]:
    """The variables `supabase status -o env` prints, plus the SUPABASE_* spellings."""
    anon, service = api_key(secret, "anon"), api_key(secret, "service_role")
    api = api_url()
    url = db_url()
    return {
        "API_URL": api,
        "REST_URL": f"{api}/rest/v1",
        "DB_URL": url,
        "JWT_SECRET": secret,
        "ANON_KEY": anon,
        "SERVICE_ROLE_KEY": service,
        "SUPABASE_URL": api,
        "SUPABASE_ANON_KEY": anon,
        "SUPABASE_SERVICE_ROLE_KEY": service,
        "SUPABASE_DB_URL": url,
        "SUPABASE_JWT_SECRET": secret,
        "FUNCTIONS_URL": f"{api}/functions/v1",
        "WEB_URL": web_url(),
    }


def db_reset() -> None:
    """`supabase db reset` with the pinned CLI: drop what migrations made, re-apply, seed."""
    run(
        "db reset",
        [str(SUPABASE_CLI), "db", "reset", cli_db_flag(), "--yes", "--workdir", str(REPO_ROOT)],
        cwd=str(REPO_ROOT),
    )


def external_stack() -> dict[str, str] | None:
    """The settings of a stack this tool did not start (a `supabase start` one), if named."""
    path = env_file_path()
    if path.exists() and ENV_MARKER in path.read_text():
        return None
    env = read_env(path)
    url = env.get("API_URL") or env.get("SUPABASE_URL")
    return env if url else None


def write_env(values: dict[str, str], path: Path | None = None) -> Path:
    path = path or REPO_ROOT / ".env"
    lines = ["# written by `python -m devstack up`: the local native Supabase stack", ENV_MARKER]
    lines += [f"{k}={v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def up(echo: Callable[[str], None] = print, reset: bool | None = None) -> dict[str, str]:
    """Start what is not running; apply migrations on a fresh database. Idempotent."""
    external = external_stack()
    if external is not None:
        url = external.get("API_URL") or external.get("SUPABASE_URL", "")
        key = external.get("ANON_KEY") or external.get("SUPABASE_ANON_KEY", "")
        if http_status(f"{url}/rest/v1/", {"apikey": key}) != 200:
            raise StackError("stack", f"{env_file_path()} names {url}, which does not answer")
        echo(f"using the running stack named in {env_file_path()}: {url} (nothing started)")
        if reset:
            echo("applying migrations and seed (supabase db reset) ...")
            db_reset()
        return external

    paths = Paths(state_dir())
    secret = LOCAL_JWT_SECRET
    started_pg = start_postgres(paths)
    bootstrap(paths)
    if reset or (reset is None and not migrations_applied()):
        echo("applying migrations and seed (supabase db reset) ...")
        db_reset()
        if postgrest_pid(paths):
            notify_schema_reload()
    started_rest = start_postgrest(paths, secret)
    write_local_session(paths, secret)  # before nginx serves it (gateway.py)
    started_nginx = start_nginx(paths)
    values = stack_env(secret)
    started_functions = start_functions(paths, values)
    env_path = write_env(values)

    def state(started: bool) -> str:
        return "started" if started else "running"

    echo(f"postgres   {state(started_pg):8} {values['DB_URL']}  (data in {paths.pgdata})")
    echo(f"postgrest  {state(started_rest):8} http://127.0.0.1:{POSTGREST_PORT}")
    echo(f"api        {state(started_nginx):8} {values['API_URL']}/rest/v1/  (nginx)")
    echo(
        f"functions  {state(started_functions):8} {values['FUNCTIONS_URL']}/{FUNCTION_NAME}  (Deno)"
    )
    echo(f"web        {state(started_nginx):8} {values['WEB_URL']}  (CRM screens, web/dist)")
    echo(f".env       written  {env_path}")
    return values


def down(echo: Callable[[str], None] = print) -> None:
    """Stop what `up` started, newest first; leaves the data directory in place."""
    paths = Paths(state_dir())
    parts: list[tuple[str, Callable[[Paths], bool]]] = [
        ("functions", stop_functions),
        ("api", stop_nginx),
        ("postgrest", stop_postgrest),
        ("postgres", stop_postgres),
    ]
    for name, stop in parts:
        echo(f"{name:10} {'stopped' if stop(paths) else 'not running'}")


def status() -> dict[str, bool]:
    paths = Paths(state_dir())
    key = api_key(LOCAL_JWT_SECRET, "anon")
    return {
        "postgres": postgres_running(paths),
        "postgrest": postgrest_pid(paths) is not None and postgrest_ready(),
        "api": nginx_pid(paths) is not None
        and http_status(f"{api_url()}/rest/v1/", {"apikey": key}) == 200,
        "functions": functions_pid(paths) is not None and functions_ready(),
        "web": nginx_pid(paths) is not None and web_ready(),
    }
