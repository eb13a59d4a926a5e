"""A 200,000-message WhatsApp export: imported in bounded memory, progress to the end."""

from __future__ import annotations

import json
import os
import random
import subprocess
from typing import Any

import pytest

from devstack.layout import REPO_ROOT

from ..helpers import check_invariants

MESSAGES = int(os.environ.get("LARGE_EXPORT_MESSAGES", "200000"))
#: Run by the child: the CLI, then the peak RSS of the child's own address space on stderr.
#: VmHWM of /proc/self/status, not getrusage's ru_maxrss: on Linux a process's ru_maxrss
#: keeps the high-water mark of the address space it replaced at exec, and subprocess
#: spawns with vfork, whose address space is the parent's. So the CLI "peaked" at whatever
#: pytest had peaked at before: 590-665 MiB after test_fairness.py (its bursts of 1,000 hot
#: rows make pytest big), though the CLI itself stayed under 100 MiB.
PEAK_PROBE = """
import sys
from crm_messaging.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as exc:
    rc = exc.code
with open("/proc/self/status") as status:
    hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak_kib={hwm}", file=sys.stderr)
sys.exit(rc)
"""


def run_cli_measuring_peak(
    args: list[str], **run: Any
) -> tuple[subprocess.CompletedProcess[str], float]:
    """The CLI in a process of its own; its answer (the peak line taken off stderr) and the
    process's own peak RSS in MiB."""
    out = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "python"), "-c", PEAK_PROBE, *args],
        capture_output=True, text=True, check=False, **run,
    )  # fmt: skip
    *rest, peak = out.stderr.rstrip("\n").split("\n")
    assert peak.startswith("peak_kib="), out.stderr[-1000:]
    out.stderr = "\n".join(rest)
    return out, int(peak.removeprefix("peak_kib=")) / 1024


def test_the_peak_is_the_cli_processs_own_not_the_test_processs():
    """The probe must not report the parent's high-water mark (the old ru_maxrss did)."""
    grown = 320
    ballast = bytearray(grown * 2**20)
    for i in range(0, len(ballast), 4096):  # touched: resident, so the parent's peak grows
        ballast[i] = 1
    del ballast
    with open("/proc/self/status") as status:
        parent_peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    assert parent_peak / 1024 >= grown
    out, peak_mib = run_cli_measuring_peak(["--help"], timeout=120)
    assert out.returncode == 0 and "crm-messaging" in out.stdout, out.stderr
    # `--help` imports the package and exits: tens of MiB, far below the parent's peak
    assert peak_mib < grown / 2, f"the CLI's --help peaked at {peak_mib:.0f} MiB?"


def write_export(path, n):
    rng = random.Random(9)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            day, hour, minute = 1 + (i // 1440) % 28, (i // 60) % 24, i % 60
            month, year = 1 + (i // 40320) % 12, 2020 + i // 483840
            who = "Ana" if rng.random() < 0.5 else "Me"
            f.write(
                f"{day:02d}/{month:02d}/{year}, {hour:02d}:{minute:02d} - {who}: mensaje {i} "
                + "palabra " * rng.randint(1, 12)
                + "\n"
            )
            if rng.random() < 0.05:
                f.write("una segunda línea\n")


@pytest.mark.slow
def test_a_200k_message_export_imports_in_bounded_memory(make_user, db, tmp_path, capsys):
    alice = make_user("alice")
    path = tmp_path / "WhatsApp Chat with Ana.txt"
    write_export(path, MESSAGES)
    out, peak_mib = run_cli_measuring_peak(
        ["import", "whatsapp", str(path), "--user-id", alice.id, "--me", "Me",
         "--tz", "Europe/Madrid", "--json"],
        timeout=1200, env={**os.environ, "CRM_MESSAGING_PROGRESS": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-1000:]
    progress = out.stderr.strip().splitlines()
    assert (
        progress[-1].rstrip().endswith(f"{MESSAGES}/{MESSAGES}")
    )  # the progress bar reached the end
    assert json.loads(out.stdout)["inserted"] == MESSAGES
    # the file is streamed twice (validate, send), never held: the whole CLI stays small
    assert peak_mib < 256, f"peak RSS {peak_mib:.0f} MiB"
    (cid,) = db.execute(
        "select id from chat_conversations where user_id = %s", (alice.id,)
    ).fetchone()
    assert len(check_invariants(db, str(cid))) == MESSAGES
    with capsys.disabled():
        print(
            f"\nlarge export: {MESSAGES:,} messages, {path.stat().st_size / 2**20:.1f} MiB, CLI peak RSS {peak_mib:.0f} MiB"
        )
