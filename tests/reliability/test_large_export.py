"""A 200,000-message WhatsApp export: imported in bounded memory, progress to the end."""

from __future__ import annotations

import json
import os
import random
import subprocess

import pytest

from devstack.layout import REPO_ROOT

from ..helpers import check_invariants

MESSAGES = int(os.environ.get("LARGE_EXPORT_MESSAGES", "200000"))


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
    # the CLI in a process of its own that reports its own peak RSS when it ends
    probe = (
        "import resource, sys; from crm_messaging.cli import main; rc = main(sys.argv[1:]); "
        "print(f'peak_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr); sys.exit(rc)"
    )
    out = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "python"), "-c", probe, "import", "whatsapp", str(path),
         "--user-id", alice.id, "--me", "Me", "--tz", "Europe/Madrid", "--json"],
        capture_output=True, text=True, timeout=1200, env={**os.environ, "CRM_MESSAGING_PROGRESS": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-1000:]
    *progress, peak = out.stderr.strip().splitlines()
    peak_mib = int(peak.removeprefix("peak_kib=")) / 1024
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
