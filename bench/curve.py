"""The scale curve: one signed-in user per side grows to 10k, 100k and 1M messages.

At each point: ingest throughput of the messages added since the last point, signed-in
search p50 through HTTP (a rare order code, a common word, a word with no match),
latest-50 and history-page p50 of the user's first conversation, and storage per message
with both sides compacted. Conversations of 1,000 messages arrive one batch each, the
two sides alternating batch by batch, so the machine's noise falls on both alike.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from typing import Any

from .data import COMMON_WORD, CURVE_CONVERSATION, NO_MATCH, curve_conversation, rare_code
from .measure import alternate, ms, summary
from .sides import SIDES, SearchError, SignedIn

Log = Callable[[str], None]
FULL_POINTS = (10_000, 100_000, 1_000_000)


def points(scale: float) -> list[int]:
    """10k, 100k and 1M messages; BENCH_SCALE scales the top point (0.05: 10k, 50k)."""
    top = max(
        CURVE_CONVERSATION, int(FULL_POINTS[-1] * scale) // CURVE_CONVERSATION * CURVE_CONVERSATION
    )
    return sorted({min(p, top) for p in FULL_POINTS})


def search_point(
    s: SignedIn, users: dict[str, str], q: str, calls: int, log: Log
) -> dict[str, Any]:
    """p50 of a signed-in search through HTTP on both sides. A call the API fails (the
    statement timeout) is timed to its failure and counted; when either side's first call
    takes over a second, each side is measured 3 times, so a slow side cannot stretch the run."""
    failures = {side.name: 0 for side in SIDES}
    hits: dict[str, int | None] = {side.name: None for side in SIDES}
    errors: dict[str, str | None] = {side.name: None for side in SIDES}

    def call(side: Any) -> Callable[[], None]:
        def go() -> None:
            try:
                got = s.search(side, users[side.name], q)
                hits[side.name] = len(got)
            except SearchError as err:
                failures[side.name] += 1
                errors[side.name] = err.code
                log(f"    {err}")

        return go

    fns = {side.name: call(side) for side in SIDES}
    slowest = max(ms(fn) for fn in fns.values())  # the warm-up call, not counted
    warmup_failed = dict(failures)
    failures.update({k: 0 for k in failures})
    got = alternate(fns, calls if slowest < 1000 else 3, blocks=3, warmup=0)
    out: dict[str, Any] = {"query": q}
    for side in SIDES:
        out[f"{side.name}_ms"] = summary(got[side.name])
        out[f"{side.name}_hits"] = hits[side.name]
        out[f"{side.name}_failures"] = failures[side.name]
        out[f"{side.name}_warmup_failed"] = bool(warmup_failed[side.name])
        out[f"{side.name}_error"] = errors[side.name]
    return out


def run_curve(s: SignedIn, scale: float, log: Log, search_calls: int = 9) -> dict[str, Any]:
    s.compact()
    before = s.sizes()
    users = {side.name: s.new_user() for side in SIDES}
    first = curve_conversation(0)
    queries = {"rare_code": rare_code(first), "common_word": COMMON_WORD, "no_match": NO_MATCH}
    pivot = first[len(first) // 2]
    cursor = (pivot["sent_at"], pivot["id"])
    done = 0
    out: list[dict[str, Any]] = []
    for target in points(scale):
        added = 0
        secs = {"store": 0.0, "baseline": 0.0}
        while done < target:
            c = done // CURVE_CONVERSATION
            msgs = first if c == 0 else curve_conversation(c)
            payload = json.dumps({"messages": msgs}, ensure_ascii=False)
            for side in SIDES if c % 2 == 0 else SIDES[::-1]:
                secs[side.name] += s.timed_ingest(side, users[side.name], [payload])
            done += len(msgs)
            added += len(msgs)
        point: dict[str, Any] = {"messages": done}
        for side in SIDES:
            point[f"{side.name}_ingest_msgs_per_s"] = added / secs[side.name]
        s.compact()
        sizes = s.sizes()
        for side in SIDES:
            point[f"{side.name}_bytes_per_message"] = (sizes[side.name] - before[side.name]) / done
        conv = {side.name: s.conversation_id(side, users[side.name], "S000000") for side in SIDES}
        for key, make in (
            (
                "latest_50",
                lambda side, conv=conv: lambda: s.page(side, users[side.name], conv[side.name]),
            ),
            (
                "history_page",
                lambda side, conv=conv: (
                    lambda: s.page(side, users[side.name], conv[side.name], cursor)
                ),
            ),
        ):
            got = alternate({side.name: make(side) for side in SIDES}, 60)
            for side in SIDES:
                point[f"{side.name}_{key}_ms"] = statistics.median(got[side.name])
        point["search"] = {}
        for kind, q in queries.items():
            point["search"][kind] = search_point(s, users, q, search_calls, log)
        for kind, v in point["search"].items():
            if kind != "common_word" and v["store_hits"] != v["baseline_hits"]:
                log(
                    f"    note: {kind} finds {v['store_hits']} (store) vs {v['baseline_hits']} (baseline)"
                )
        out.append(point)
        srch = point["search"]
        log(
            f"  {done:>9,} msgs: ingest {point['store_ingest_msgs_per_s']:,.0f} vs"
            f" {point['baseline_ingest_msgs_per_s']:,.0f} msg/s; bytes/msg"
            f" {point['store_bytes_per_message']:.0f} vs {point['baseline_bytes_per_message']:.0f}; search ms "
            + ", ".join(
                f"{k} {v['store_ms']['median']:.0f} vs {v['baseline_ms']['median']:.0f}"
                for k, v in srch.items()
            )
            + f"; latest {point['store_latest_50_ms']:.2f} vs {point['baseline_latest_50_ms']:.2f},"
            f" page {point['store_history_page_ms']:.2f} vs {point['baseline_history_page_ms']:.2f} ms"
        )
    for side in SIDES:
        s.drop_user(users[side.name])
    return {"queries": queries, "points": out}
