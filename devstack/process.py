"""Running the parts: subprocesses, pid files, ports, and the error that names a failed part."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from crm_messaging.errors import CrmMessagingError


class StackError(CrmMessagingError):
    """A part of the stack failed: says which part, why, and the tail of its log."""

    def __init__(self, part: str, reason: str, log: Path | None = None) -> None:
        self.part = part
        self.reason = reason
        self.log = log
        tail = log_tail(log) if log else ""
        text = f"{part}: {reason}"
        if tail:
            text += f"\n--- last lines of {log} ---\n{tail}"
        super().__init__(text)


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_status(url: str, headers: dict[str, str] | None = None, timeout: float = 2.0) -> int:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def pid_alive(pidfile: Path, needle: str) -> int | None:
    """The pid in `pidfile` if that process runs and its command line mentions `needle`."""
    try:
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return None
    return pid if needle in cmdline else None


def run(part: str, cmd: list[str], log: Path | None = None, **kw: object) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    except FileNotFoundError as exc:
        raise StackError(part, f"{exc.filename} not found: run `make setup`") from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
        raise StackError(part, f"`{' '.join(cmd[:4])} ...` failed:\n" + "\n".join(detail), log)
    return str(proc.stdout)


def stop_pid(pidfile: Path, needle: str) -> bool:
    pid = pid_alive(pidfile, needle)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, 15)
    wait_for(lambda: pid_alive(pidfile, needle) is None, 10)
    if pid_alive(pidfile, needle) is not None:
        os.kill(pid, 9)
    pidfile.unlink(missing_ok=True)
    return True
