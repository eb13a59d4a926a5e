"""Issue 11's goals against the measured keys, and the tables written from them."""

from __future__ import annotations

from typing import Any

# key, goal operator, target, what the key measures (ratios are store / baseline)
GOALS: list[tuple[str, str, float, str]] = [
    ("ingest.ratio", ">=", 1.0, "history import throughput"),
    ("live.ratio", ">=", 0.6, "live single-message throughput"),
    ("reimport.ratio", "<=", 0.5, "re-import time / first import (store)"),
    ("storage.ratio", "<=", 0.5, "storage, compacted, every index included"),
    ("read_latest_50.ratio", "<=", 1.0, "latest 50 of a thread, worst of SQL / HTTP"),
    (
        "read_history_page.ratio",
        "<=",
        1.5,
        "a history page, worst of mid-thread / deep in the archive, SQL / HTTP",
    ),
    (
        "list_50.ratio",
        "<=",
        1.0,
        "inbox list of 50, worst of SQL / HTTP, 505 / 5,000 conversations",
    ),
    ("search.ratio", "<=", 1.0, "signed-in search p50 via HTTP, worst of the three queries"),
    ("search.rare_code_ms", "<=", 100, "store search p50 at 1M messages, rare code (ms)"),
    ("search.common_word_ms", "<=", 300, "store search p50 at 1M messages, common word (ms)"),
    ("search.no_match_ms", "<=", 100, "store search p50 at 1M messages, no match (ms)"),
    ("append_cost.flatness", "<=", 1.5, "store append at 50,000 / at 500 messages"),
    ("http.ratio", ">=", 0.75, "HTTP import through supabase-py / the same calls in SQL"),
]
ABSOLUTE_AT = 1_000_000

REPORTS: list[tuple[str, str]] = [
    ("ingest.store_msgs_per_s.median", "store history import, msg/s"),
    ("ingest.baseline_msgs_per_s.median", "baseline history import, msg/s"),
    ("live.store_ms.median", "store, one message per call, ms"),
    ("live.baseline_ms.median", "baseline, one message per call, ms"),
    ("reimport.baseline_ratio", "baseline re-import / first import"),
    ("storage.store_bytes_per_message", "store bytes per message"),
    ("storage.baseline_bytes_per_message", "baseline bytes per message"),
    ("append_cost.vs_row", "store / baseline append at 50,000"),
    ("append_cost.baseline_flatness", "baseline append at 50,000 / at 500"),
    ("search.rare_code_ratio", "search ratio, rare code"),
    ("search.common_word_ratio", "search ratio, common word"),
    ("search.no_match_ratio", "search ratio, no match"),
    ("http.rpc_msgs_per_s", "HTTP import, msg/s"),
    ("read_latest_50.modes.sql.ratio", "latest 50, SQL"),
    ("read_latest_50.modes.http.ratio", "latest 50, HTTP"),
    ("read_latest_50.modes.sql.store_ms.median", "latest 50, SQL, store ms"),
    ("read_history_page.modes.sql.ratio", "page mid-thread, SQL"),
    ("read_history_page.modes.http.ratio", "page mid-thread, HTTP"),
    ("read_history_page.modes.deep_sql.ratio", "page deep in the archive, SQL"),
    ("read_history_page.modes.deep_http.ratio", "page deep in the archive, HTTP"),
    ("read_history_page.modes.deep_sql.store_ms.median", "page deep in the archive, SQL, store ms"),
    ("list_50.modes.sql.ratio", "inbox of 505 conversations, SQL"),
    ("list_50.modes.http.ratio", "inbox of 505 conversations, HTTP"),
    ("list_50.modes.sql_wide.ratio", "inbox of 5,000 conversations, SQL"),
    ("list_50.modes.http_wide.ratio", "inbox of 5,000 conversations, HTTP"),
    ("list_50.modes.http_wide.store_ms.median", "inbox of 5,000 conversations, HTTP, store ms"),
]


def lookup(results: dict[str, Any], key: str) -> Any:
    value: Any = results
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def search_keys(curve: dict[str, Any]) -> dict[str, Any]:
    """The search keys, from the curve's top point (the largest user measured)."""
    top = curve["points"][-1]
    out: dict[str, Any] = {"at_messages": top["messages"], "queries": curve["queries"]}
    ratios = []
    for kind, v in top["search"].items():
        store, base = v["store_ms"]["median"], v["baseline_ms"]["median"]
        out[f"{kind}_ms"] = store
        out[f"{kind}_baseline_ms"] = base
        out[f"{kind}_ratio"] = store / base
        ratios.append(store / base)
    out["ratio"] = max(ratios)
    return out


def goal_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    at = lookup(results, "search.at_messages") or 0
    for key, op, target, what in GOALS:
        value = lookup(results, key)
        if value is None:
            rows.append((key, what, "not measured", f"{op} {target:g}", ""))
            continue
        goal = f"{op} {target:g}"
        if key.endswith("_ms") and key.startswith("search.") and at < ABSOLUTE_AT:
            rows.append(
                (key, what + f" (here at {at:,})", f"{value:,.1f}", goal + " at 1M", "not at 1M")
            )
            continue
        ok = value >= target if op == ">=" else value <= target
        rows.append((key, what, f"{value:,.3f}", goal, "met" if ok else "missed"))
    for key, what in REPORTS:
        value = lookup(results, key)
        if isinstance(value, (int, float)):
            rows.append((key, what, f"{value:,.3f}", "report", ""))
    # bench/webhooks.py may name goals of its own: {"goals": {"some.key": [">=", 100]}}
    rows.extend(section_rows(results, "webhook", "webhooks"))
    # bench/timeline.py: a person's timeline page (ms, p50/p95) against per-conversation reads
    for key, value in sorted(flatten(dict(results.get("timeline") or {}), "timeline").items()):
        if not key.endswith(".n"):
            rows.append((key, "person timeline page", f"{value:,.3f}", "report", ""))
    # bench/kinds_mix.py: 100 mixed kinds against 100 texts per delivery, per message
    rows.extend(section_rows(results, "kinds_mix", "mixed kinds"))
    # bench/inbox_poll.py: the live inbox's poll against reloading the list, and its latency
    poll = dict(results.get("inbox_poll") or {})
    for key in ("one_at_a_time", "served", "inbox_latency"):
        for k, value in sorted(flatten(dict(poll.get(key) or {}), f"inbox_poll.{key}").items()):
            if not k.endswith(".n"):
                rows.append((k, "live inbox", f"{value:,.3f}", "report", ""))
    return rows


def section_rows(
    results: dict[str, Any], section: str, what: str
) -> list[tuple[str, str, str, str, str]]:
    """The rows of a section that names goals of its own ({"goals": {"key": [op, target]}}):
    met / missed for a key with a goal, "report" for the others."""
    figures = dict(results.get(section) or {})
    goals = figures.pop("goals", None) or {}
    rows: list[tuple[str, str, str, str, str]] = []
    for key, value in sorted(flatten(figures, section).items()):
        goal = goals.get(key.removeprefix(f"{section}."))
        if goal:
            op, target = goal[0], float(goal[1])
            ok = value >= target if op == ">=" else value <= target
            rows.append((key, what, f"{value:,.3f}", f"{op} {target:g}", "met" if ok else "missed"))
        else:
            rows.append((key, what, f"{value:,.3f}", "report", ""))
    return rows


def flatten(d: dict[str, Any], prefix: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}.{k}"))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[f"{prefix}.{k}"] = float(v)
    return out


def search_cell(v: dict[str, Any], side: str) -> str:
    cell = f"{v[f'{side}_ms']['median']:,.1f}"
    failed = v.get(f"{side}_failures") or 0
    if not failed:
        return cell
    why = v.get(f"{side}_error") or "see the log"
    return cell + f" ({failed} of {v[f'{side}_ms']['n']} calls failed: {why})"


def curve_table(curve: dict[str, Any]) -> list[str]:
    q = curve["queries"]
    lines = [
        f"Scale curve (one signed-in user per side; search through HTTP for `{q['rare_code']}`,"
        f" `{q['common_word']}`, `{q['no_match']}`; p50 ms):",
        "",
        "| messages | side | ingest msg/s | bytes/msg | rare code | common word | no match | latest 50 | history page |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in curve["points"]:
        for side in ("store", "baseline"):
            s = p["search"]
            lines.append(
                f"| {p['messages']:,} | {side} | {p[f'{side}_ingest_msgs_per_s']:,.0f}"
                f" | {p[f'{side}_bytes_per_message']:,.0f}"
                + "".join(
                    f" | {search_cell(s[k], side)}"
                    for k in ("rare_code", "common_word", "no_match")
                )
                + f" | {p[f'{side}_latest_50_ms']:.2f} | {p[f'{side}_history_page_ms']:.2f} |"
            )
    return lines


def table(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']} with `{meta['command']}`"
        f" (scale {meta['scale']}, {meta['reps']} alternated import runs, {meta['seconds']:.0f} s in all)."
        + (f" {meta['note']}" if meta.get("note") else ""),
        "",
        "| key | what | value | goal | |",
        "|---|---|---:|---|---|",
    ]
    lines += [f"| `{k}` | {w} | {v} | {g} | {s} |" for k, w, v, g, s in goal_rows(results)]
    lines += ["", *curve_table(results["curve"])]
    notes = results.get("equivalence_notes") or []
    if notes:
        lines += [
            "",
            "Where the store differed from the baseline on the equivalence check of this run:",
            "",
        ]
        lines += [f"- {n}" for n in notes]
    return "\n".join(lines)
