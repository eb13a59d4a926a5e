"""Edge functions (issue 12): Deno serves supabase/functions/messaging-ingest.

As Supabase's edge runtime does: the function's index.ts under Deno with the env the
runtime injects (SUPABASE_URL = the gateway, the anon and service keys, the database
URL), on loopback at 54332 + offset; nginx routes /functions/v1/<name>/... to it as
Kong does (the path after /functions/v1 passed on, no apikey needed: verify_jwt = false).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from .layout import FUNCTIONS_PORT, REPO_ROOT, Paths
from .process import StackError, http_status, pid_alive, port_open, stop_pid, wait_for

FUNCTION_NAME = "messaging-ingest"
FUNCTION_DIR = REPO_ROOT / "supabase" / "functions" / FUNCTION_NAME
DENO_BIN = REPO_ROOT / "node_modules" / "@deno" / "linux-x64-glibc" / "deno"


def deno_bin() -> Path:
    """Deno from the npm package `deno` (its binary ships in @deno/linux-x64-glibc)."""
    return DENO_BIN if DENO_BIN.exists() else REPO_ROOT / "node_modules" / ".bin" / "deno"


def nginx_upstream() -> str:
    return f"  upstream edge_functions {{ server 127.0.0.1:{FUNCTIONS_PORT}; keepalive 32; }}"


def nginx_location() -> str:
    # the function caps its own bodies (1 MiB for webhooks, 9 MiB for batches) and
    # answers 413; nginx refuses anything past 10 MiB before it reaches Deno
    return """    location /functions/v1/ {
      client_max_body_size 10m;
      proxy_request_buffering off;
      proxy_pass http://edge_functions/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_read_timeout 150s;
    }"""


def source_hash() -> str:
    """A digest of the function's sources: a running Deno with older code is restarted."""
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
    return pid_alive(paths.pid("functions"), "deno")


def functions_ready() -> bool:
    # any HTTP answer from the function (an unknown route is a 404 of its own)
    return http_status(f"http://127.0.0.1:{FUNCTIONS_PORT}/{FUNCTION_NAME}/health") in (
        200,
        404,
        405,
    )


def start_functions(paths: Paths, values: dict[str, str]) -> bool:
    """Start Deno on the function, or restart it when its sources changed. True if started."""
    pidfile = paths.pid("functions")
    source = source_hash()
    if functions_pid(paths):
        lines = pidfile.read_text().split()
        if lines[1:2] == [source]:
            return False
        stop_functions(paths)
        wait_for(lambda: not port_open(FUNCTIONS_PORT), 10)  # the old process lets go of it
    if port_open(FUNCTIONS_PORT):
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
    ready = wait_for(lambda: proc.poll() is not None or functions_ready(), 60)
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
