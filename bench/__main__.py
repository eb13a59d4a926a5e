"""`make bench`: the conversation store against a feature-equal row-per-message baseline.

Both sides get exactly the same messages (the same JSON bytes) in alternation, are used
only through their public contract as signed-in users (SQL in PostgREST's transaction
shape; searches through HTTP), and are compacted before sizes are taken. The baseline is
`bench/baseline.sql`. Then a scale curve grows one user per side to 10k, 100k and 1M
messages. If `bench/webhooks.py` exists, its `run(settings, scale) -> dict` adds `webhook.*`
keys: every number in the dict (nested dicts give dotted keys) is reported, and an optional
`"goals": {"key": [">=" or "<=", target]}` entry gives those keys a goal and met / missed.

At BENCH_SCALE=1 the run writes bench/results.json, bench/RESULTS.md and the table in bench/README.md;
any other scale is a quick look, written to bench/.data/ only.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crm_messaging.config import Settings, load_settings
from devstack.layout import REPO_ROOT

from . import equivalence
from .curve import points, run_curve
from .keys import run_keys
from .report import search_keys, table
from .sides import SignedIn

HERE = Path(__file__).parent
README_MARKS = ("<!-- bench:start -->", "<!-- bench:end -->")


def webhook_section(
    settings: Settings, scale: float, log: Callable[[str], None]
) -> dict[str, Any] | None:
    """The webhook keys of bench/webhooks.py (issue 12), when that module exists."""
    if importlib.util.find_spec("bench.webhooks") is None:
        return None
    log("webhooks (bench/webhooks.py)")
    try:
        module = importlib.import_module("bench.webhooks")
        got = module.run(settings, scale)
    except Exception as err:  # a failing section is reported, not allowed to lose the run
        traceback.print_exc()
        return {"error": f"{type(err).__name__}: {err}"}
    return dict(got)


def guarded(
    label: str, measure: Callable[[], dict[str, Any]], log: Callable[[str], None]
) -> dict[str, Any]:
    """One section's figures; a failing section is reported, not allowed to lose the run."""
    log(label)
    try:
        return dict(measure())
    except Exception as err:
        traceback.print_exc()
        return {"error": f"{type(err).__name__}: {err}"}


def sections(settings: Settings, scale: float, log: Callable[[str], None]) -> dict[str, Any]:
    """The sections measured through HTTP after the store and the baseline:
    - timeline: a page of one person's timeline against reading it per conversation
      (bench/timeline.py, issue 27);
    - inbox_poll: 500 signed-in users polling inbox_changes against reloading the first list
      page, and a webhook's answer to its row (bench/inbox_poll.py, issue 31);
    - kinds_mix: a delivery of 100 mixed kinds against one of 100 texts, per message, through
      the function (bench/kinds_mix.py, issue 28)."""
    from . import inbox_poll, kinds_mix, timeline

    return {
        "timeline": guarded(
            "person timeline (bench/timeline.py)", lambda: timeline.run(settings, scale, log), log
        ),
        "inbox_poll": guarded(
            "live inbox (bench/inbox_poll.py)", lambda: inbox_poll.run(settings), log
        ),
        "kinds_mix": guarded(
            "mixed kinds (bench/kinds_mix.py)", lambda: kinds_mix.run(settings, scale, log), log
        ),
    }


def run(settings: Settings, scale: float, reps: int, log: Callable[[str], None]) -> dict[str, Any]:
    s = SignedIn(settings)
    try:
        s.admin.execute((HERE / "baseline.sql").read_text())
        probe = s.new_user()
        s.wait_for_rpc("bench_baseline_search", probe)
        s.drop_user(probe)
        notes = equivalence.check(s, log)
        results = run_keys(s, scale, reps, log)
        results["equivalence_notes"] = notes
        log(f"scale curve: {', '.join(f'{p:,}' for p in points(scale))} messages per user")
        results["curve"] = run_curve(s, scale, log)
        results["search"] = search_keys(results["curve"])
    finally:
        # whatever happened: no benchmark user, row or object is left behind
        s.admin.execute("delete from auth.users where email like 'bench-%@bench'")
        s.admin.execute("drop function if exists public.bench_baseline_search(text, integer)")
        s.admin.execute(
            "drop function if exists"
            " public.bench_baseline_get_conversation_messages(uuid, timestamptz, text, integer)"
        )
        s.admin.execute("drop view if exists public.bench_baseline_conversation_list")
        s.admin.execute("drop schema if exists bench_baseline cascade")
        s.admin.execute("notify pgrst, 'reload schema'")
        s.close()
    webhook = webhook_section(settings, scale, log)
    if webhook is not None:
        results["webhook"] = webhook
    results.update(sections(settings, scale, log))
    return results


def write(results: dict[str, Any], meta: dict[str, Any]) -> str:
    text = table(results, meta)
    full = meta["scale"] == 1.0
    out = HERE if full else HERE / ".data"
    out.mkdir(exist_ok=True)
    suffix = "" if full else f"-scale-{meta['scale']:g}"
    (out / f"results{suffix}.json").write_text(
        json.dumps({"meta": meta, **results}, indent=2) + "\n"
    )
    (out / f"RESULTS{suffix}.md").write_text(
        "# Benchmark results\n\n"
        + text
        + "\n\nDetails (medians, min, max): `bench/results.json`.\n"
    )
    written = [
        str((out / f"results{suffix}.json").relative_to(REPO_ROOT)),
        str((out / f"RESULTS{suffix}.md").relative_to(REPO_ROOT)),
    ]
    if full:
        readme = REPO_ROOT / "bench" / "README.md"
        body = readme.read_text()
        start, end = README_MARKS
        if start in body and end in body:
            head, rest = body.split(start, 1)
            _, tail = rest.split(end, 1)
            readme.write_text(head + start + "\n" + text + "\n" + end + tail)
            written.append("bench/README.md")
    return ", ".join(written)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="The conversation store against a feature-equal row-per-message baseline"
        " (keys of issue 11 and a scale curve to 1M messages per user).",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=float(os.environ.get("BENCH_SCALE", "1")),
        help="data size factor (env BENCH_SCALE, default 1; 0.05 is a quick look of a minute or two;"
        " only scale 1 writes bench/results.json, bench/RESULTS.md and bench/README.md)",
    )
    parser.add_argument(
        "--reps", type=int, default=3, help="alternated history import runs (default 3)"
    )
    parser.add_argument(
        "--note",
        default=os.environ.get("BENCH_NOTE", ""),
        help="a remark printed with the results (env BENCH_NOTE), e.g. that the machine was shared",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="measure nothing: write bench/RESULTS.md and the bench/README.md table again from bench/results.json",
    )
    args = parser.parse_args()
    if args.render:
        recorded = json.loads((HERE / "results.json").read_text())
        meta = recorded.pop("meta")
        print(f"wrote {write(recorded, meta)} from bench/results.json")
        return 0
    if args.scale <= 0 or args.reps < 1:
        parser.error("--scale must be > 0 and --reps >= 1")
    settings = load_settings(require=("service_role_key", "jwt_secret", "db_url"))
    started = time.monotonic()
    results = run(
        settings,
        args.scale,
        args.reps,
        lambda line: print(f"[{time.monotonic() - started:4.0f} s] {line}", flush=True),
    )
    meta = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": "make bench" if args.scale == 1 else f"BENCH_SCALE={args.scale:g} make bench",
        "scale": args.scale,
        "reps": args.reps,
        "seconds": round(time.monotonic() - started, 1),
        "note": args.note,
    }
    written = write(results, meta)
    print("\n" + table(results, meta))
    print(f"\nwrote {written} in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
