"""`make bench`: the conversation store against a row-per-message baseline, in one run.

Both sides get exactly the same messages in the same order; every figure is the median
of repeated runs taken in alternation (store, baseline, store, ...), with min and max.
Writes bench/results.json and bench/RESULTS.md, and the table into README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from crm_messaging.client import MessagingClient
from crm_messaging.config import load_settings
from devstack.layout import REPO_ROOT

from .data import BASE, conversation, history

HERE = Path(__file__).parent
SEARCH_INDEXES = (
    "chat_conversations_search_fts_idx",
    "chat_conversations_search_trgm_idx",
    "chat_conversation_archives_search_fts_idx",
    "chat_conversation_archives_search_trgm_idx",
)

GOALS = {
    "ingest.ratio": (">=", 1.0),
    "live.ratio": (">=", 0.5),
    "append_cost.flatness": ("<=", 1.5),
    "append_cost.vs_row": ("<=", 2.0),
    "reimport.ratio": ("<=", 0.5),
    "storage.ratio": ("<=", 0.6),
    "read_latest_50.ratio": ("<=", 1.2),
    "read_history_page.ratio": ("<=", 2.0),
    "list_50.ratio": ("<=", 1.0),
    "http.ratio": (">=", 0.75),
    "search.ratio": ("<=", 1.5),
}


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def batches(msgs: list[dict[str, Any]], size: int = 1000) -> list[list[dict[str, Any]]]:
    return [msgs[i : i + size] for i in range(0, len(msgs), size)]


class Bench:
    def __init__(self, db: psycopg.Connection, log: Callable[[str], None]) -> None:
        self.db = db
        self.log = log

    # ------------------------------------------------------------------ sides
    def new_user(self) -> str:
        uid = str(uuid.uuid4())
        self.db.execute(
            "insert into auth.users (id, email) values (%s, %s)", (uid, f"bench-{uid[:8]}@bench")
        )
        return uid

    def drop_user(self, uid: str) -> None:
        self.db.execute("delete from auth.users where id = %s", (uid,))
        self.db.execute("delete from bench_baseline.conversations where user_id = %s", (uid,))

    def store(self, uid: str, batch: list[dict[str, Any]]) -> None:
        self.db.execute(
            "select messaging_private.ingest_messages(%s)",
            (Jsonb({"user_id": uid, "messages": batch}),),
        )

    def baseline(self, uid: str, batch: list[dict[str, Any]]) -> None:
        self.db.execute("select bench_baseline.ingest(%s, %s)", (uid, Jsonb(batch)))

    def side(self, name: str) -> Callable[[str, list[dict[str, Any]]], None]:
        return self.store if name == "store" else self.baseline

    def timed_import(self, name: str, uid: str, parts: list[list[dict[str, Any]]]) -> float:
        ingest = self.side(name)
        start = time.perf_counter()
        for b in parts:
            ingest(uid, b)
        return time.perf_counter() - start

    def per_call(self, fn: Callable[[], Any], reps: int) -> list[float]:
        out = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
        return out

    def alternate(
        self, fns: dict[str, Callable[[], Any]], reps: int, blocks: int = 4
    ) -> dict[str, list[float]]:
        got: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(blocks):
            for k, fn in fns.items():
                got[k] += self.per_call(fn, reps // blocks)
        return got

    def sizes(self) -> dict[str, int]:
        row = self.db.execute(
            """select
                 pg_total_relation_size('public.chat_conversations') + pg_total_relation_size('public.chat_conversation_archives'),
                 (select coalesce(sum(pg_relation_size(i.indexrelid)), 0) from pg_index i
                   join pg_class c on c.oid = i.indexrelid where c.relname = any(%s)),
                 pg_total_relation_size('bench_baseline.conversations') + pg_total_relation_size('bench_baseline.messages')""",
            (list(SEARCH_INDEXES),),
        ).fetchone()
        return {
            "store": int(row[0] - row[1]),
            "store_search_indexes": int(row[1]),
            "baseline": int(row[2]),
        }

    def vacuum(self) -> None:
        for t in ("public.chat_conversations", "public.chat_conversation_archives",
                  "bench_baseline.conversations", "bench_baseline.messages"):  # fmt: skip
            self.db.execute(f"vacuum full analyze {t}")


def run(scale: float, reps: int, log: Callable[[str], None]) -> dict[str, Any]:
    settings = load_settings(require=("service_role_key", "db_url"))
    db = psycopg.connect(settings.db_url, autocommit=True)
    db.execute((HERE / "baseline.sql").read_text())
    b = Bench(db, log)
    results: dict[str, Any] = {}
    n_small, n_big = int(1000 * scale), max(1, int(10 * scale))
    hist = history(1, n_small, 100, "h") + history(2, n_big, 10_000, "H")
    parts = batches(hist)
    log(
        f"history import: {n_small} x 100 + {n_big} x 10,000 = {len(hist):,} messages, batches of 1,000"
    )
    b.vacuum()
    before = b.sizes()

    # ---- history import, alternated; the last run's data stays for the rest --------------
    rates: dict[str, list[float]] = {"store": [], "baseline": []}
    firsts: dict[str, float] = {}
    users: dict[str, str] = {}
    for r in range(reps):
        for name in ("store", "baseline"):
            uid = b.new_user()
            secs = b.timed_import(name, uid, parts)
            rates[name].append(len(hist) / secs)
            log(f"  run {r + 1} {name:8} {len(hist) / secs:9,.0f} msg/s")
            if r < reps - 1:
                b.drop_user(uid)
            else:
                users[name], firsts[name] = uid, secs
    results["ingest"] = {
        "store_msgs_per_s": summary(rates["store"]),
        "baseline_msgs_per_s": summary(rates["baseline"]),
        "ratio": statistics.median(rates["store"]) / statistics.median(rates["baseline"]),
    }

    # ---- re-import of the whole history: all duplicates ------------------------------------
    again: dict[str, list[float]] = {"store": [], "baseline": []}
    for _ in range(2):
        for name in ("store", "baseline"):
            again[name].append(b.timed_import(name, users[name], parts))
    results["reimport"] = {
        "store_seconds": summary(again["store"]),
        "baseline_seconds": summary(again["baseline"]),
        "store_first_import_seconds": firsts["store"],
        "ratio": statistics.median(again["store"]) / firsts["store"],
    }
    log(
        f"  re-import: store {statistics.median(again['store']):.1f} s vs first {firsts['store']:.1f} s"
    )

    # ---- storage, after vacuum -----------------------------------------------------------------
    b.vacuum()
    after = b.sizes()
    store_bytes = after["store"] - before["store"]
    base_bytes = after["baseline"] - before["baseline"]
    results["storage"] = {
        "store_bytes": store_bytes,
        "baseline_bytes": base_bytes,
        "store_search_index_bytes": after["store_search_indexes"] - before["store_search_indexes"],
        "ratio": store_bytes / base_bytes,
    }
    log(f"  storage: store {store_bytes / 2**20:.1f} MiB vs baseline {base_bytes / 2**20:.1f} MiB")

    # ---- reads on a 10,000-message conversation -------------------------------------------------
    big = [m for m in hist if m["external_conversation_id"] == "H00000"]
    sconv = db.execute(
        "select id from public.chat_conversations where user_id = %s and external_conversation_id = 'H00000'",
        (users["store"],),
    ).fetchone()[0]
    bconv = db.execute(
        "select id from bench_baseline.conversations where user_id = %s and external_conversation_id = 'H00000'",
        (users["baseline"],),
    ).fetchone()[0]
    pivot = big[5000]
    pivot_at = datetime.fromisoformat(pivot["sent_at"])
    latest = b.alternate({
        "store": lambda: db.execute("select public.get_conversation_messages(%s, null, null, 50)", (sconv,)).fetchone(),
        "baseline": lambda: db.execute(
            "select jsonb_agg(to_jsonb(m)) from (select id, direction, type, content, media_url, sent_at"
            " from bench_baseline.messages where conversation_id = %s order by sent_at desc, id desc limit 50) m",
            (bconv,)).fetchone(),
    }, 400)  # fmt: skip
    page = b.alternate({
        "store": lambda: db.execute(
            "select public.get_conversation_messages(%s, %s, %s, 50)", (sconv, pivot_at, pivot["id"])).fetchone(),
        "baseline": lambda: db.execute(
            "select jsonb_agg(to_jsonb(m)) from (select id, direction, type, content, media_url, sent_at"
            " from bench_baseline.messages where conversation_id = %s and (sent_at, id) < (%s, %s)"
            " order by sent_at desc, id desc limit 50) m", (bconv, pivot_at, pivot["id"])).fetchone(),
    }, 400)  # fmt: skip
    listing = b.alternate({
        "store": lambda: db.execute(
            "select id, platform, external_conversation_id, participant_name, message_count, last_message_at,"
            " last_message_preview from public.chat_conversation_list where user_id = %s"
            " order by last_message_at desc nulls last limit 50", (users["store"],)).fetchall(),
        "baseline": lambda: db.execute(
            "select id, platform, external_conversation_id, message_count, last_message_at, last_message_preview"
            " from bench_baseline.conversations where user_id = %s order by last_message_at desc limit 50",
            (users["baseline"],)).fetchall(),
    }, 400)  # fmt: skip
    for key, got in (("read_latest_50", latest), ("read_history_page", page), ("list_50", listing)):
        results[key] = {
            "store_ms": summary(got["store"]),
            "baseline_ms": summary(got["baseline"]),
            "ratio": statistics.median(got["store"]) / statistics.median(got["baseline"]),
        }
        log(
            f"  {key}: store {statistics.median(got['store']):.2f} ms vs baseline {statistics.median(got['baseline']):.2f} ms"
        )

    # ---- live traffic: one message per call, 1,000 active conversations -------------------------
    live_at = BASE + timedelta(days=400)
    counter = {"store": 0, "baseline": 0}

    def live_call(name: str) -> Callable[[], None]:
        def call() -> None:
            n = counter[name]
            counter[name] += 1
            m = {"platform": "whatsapp", "external_conversation_id": f"h{n % n_small:05d}", "id": f"live{n}",
                 "direction": "inbound", "type": "text", "content": f"live message {n}",
                 "sent_at": (live_at + timedelta(seconds=n)).isoformat()}  # fmt: skip
            b.side(name)(users[name], [m])

        return call

    live = b.alternate({name: live_call(name) for name in ("store", "baseline")}, 2000)
    results["live"] = {
        "store_calls_per_s": 1000 / statistics.median(live["store"]),
        "baseline_calls_per_s": 1000 / statistics.median(live["baseline"]),
        "store_ms": summary(live["store"]),
        "baseline_ms": summary(live["baseline"]),
        "ratio": statistics.median(live["baseline"]) / statistics.median(live["store"]),
    }
    log(
        f"  live: store {statistics.median(live['store']):.2f} ms/call vs baseline {statistics.median(live['baseline']):.2f}"
    )

    # ---- append cost as a conversation grows -----------------------------------------------------
    import random

    rng = random.Random(5)
    sizes = {
        500: list(conversation(rng, "A500", 500)),
        50_000: list(conversation(rng, "A50000", 50_000)),
    }
    for msgs in sizes.values():
        for name in ("store", "baseline"):
            b.timed_import(name, users[name], batches(msgs))
    append: dict[str, Any] = {}
    for size, msgs in sizes.items():
        last = datetime.fromisoformat(msgs[-1]["sent_at"])
        seq = {"store": 0, "baseline": 0}

        def appender(
            name: str, size: int = size, last: datetime = last, seq: dict[str, int] = seq
        ) -> Callable[[], None]:
            def call() -> None:
                seq[name] += 1
                b.side(name)(users[name], [{
                    "platform": "whatsapp", "external_conversation_id": f"A{size}", "id": f"app{seq[name]}",
                    "direction": "outbound", "type": "text", "content": "one more message",
                    "sent_at": (last + timedelta(seconds=seq[name])).isoformat()}])  # fmt: skip

            return call

        append[size] = b.alternate({name: appender(name) for name in ("store", "baseline")}, 400)
    s500, s50k = statistics.median(append[500]["store"]), statistics.median(append[50_000]["store"])
    b50k = statistics.median(append[50_000]["baseline"])
    results["append_cost"] = {
        "store_ms_at_500": summary(append[500]["store"]),
        "store_ms_at_50000": summary(append[50_000]["store"]),
        "baseline_ms_at_500": summary(append[500]["baseline"]),
        "baseline_ms_at_50000": summary(append[50_000]["baseline"]),
        "flatness": s50k / s500,
        "vs_row": s50k / b50k,
    }
    log(
        f"  append: store {s500:.2f} ms at 500, {s50k:.2f} ms at 50,000; baseline {b50k:.2f} ms at 50,000"
    )

    # ---- search over the history import ---------------------------------------------------------
    db.execute(
        "create index bench_fts on bench_baseline.messages using gin"
        " (to_tsvector('simple', messaging_private.search_normalize(content)));"
        "create index bench_trgm on bench_baseline.messages using gin"
        " (messaging_private.search_normalize(content) extensions.gin_trgm_ops); analyze bench_baseline.messages"
    )
    base_search_bytes = int(
        db.execute(
            "select pg_relation_size('bench_baseline.bench_fts') + pg_relation_size('bench_baseline.bench_trgm')"
        ).fetchone()[0]
    )
    codes = [w for m in hist[:20000] for w in (m["content"] or "").split() if w.startswith("INV-")][
        :2
    ]
    queries = [*codes, "próxima semana", "rechnung", "订单", "factura", "cafe"]
    search_ms: dict[str, list[float]] = {"store": [], "baseline": []}
    for q in queries:
        got = b.alternate({
            "store": lambda q=q: db.execute(
                "select count(*) from public.search_messages(%s, max_count => 50, user_id => %s)",
                (q, users["store"])).fetchone(),
            "baseline": lambda q=q: db.execute(
                """select count(*) from (
                     select m.id from bench_baseline.messages m
                     join bench_baseline.conversations c on c.id = m.conversation_id
                     cross join lateral (select messaging_private.search_normalize(%(q)s) as n) x
                     where c.user_id = %(u)s
                       and (to_tsvector('simple', messaging_private.search_normalize(m.content))
                              @@ websearch_to_tsquery('simple', x.n)
                            or messaging_private.search_normalize(m.content) like '%%' || x.n || '%%')
                     order by ts_rank(to_tsvector('simple', messaging_private.search_normalize(m.content)),
                                      websearch_to_tsquery('simple', x.n)) desc, m.sent_at desc
                     limit 50) s""", {"q": q, "u": users["baseline"]}).fetchone(),
        }, 6, blocks=2)  # fmt: skip
        log(
            f"  search {q!r}: store {statistics.median(got['store']):.1f} ms vs baseline {statistics.median(got['baseline']):.1f} ms"
        )
        for k in search_ms:
            search_ms[k] += got[k]
    results["search"] = {
        "queries": queries,
        "p50_ms": statistics.median(search_ms["store"]),
        "store_ms": summary(search_ms["store"]),
        "baseline_ms": summary(search_ms["baseline"]),
        "ratio": statistics.median(search_ms["store"]) / statistics.median(search_ms["baseline"]),
        "store_index_bytes": results["storage"]["store_search_index_bytes"],
        "baseline_index_bytes": base_search_bytes,
        "index_bytes_ratio": results["storage"]["store_search_index_bytes"] / base_search_bytes,
    }

    # ---- HTTP end to end vs the same batches in SQL ---------------------------------------------
    sub = history(3, int(300 * scale) or 1, 100, "x")
    client = MessagingClient.from_env()
    http_rate, sql_rate = [], []
    for _ in range(2):
        uid = b.new_user()
        start = time.perf_counter()
        client.ingest(sub, user_id=uid, batch_size=1000)
        http_rate.append(len(sub) / (time.perf_counter() - start))
        b.drop_user(uid)
        uid = b.new_user()
        sql_rate.append(len(sub) / b.timed_import("store", uid, batches(sub)))
        b.drop_user(uid)
    results["http"] = {
        "messages": len(sub),
        "rpc_msgs_per_s": statistics.median(http_rate),
        "sql_msgs_per_s": statistics.median(sql_rate),
        "ratio": statistics.median(http_rate) / statistics.median(sql_rate),
    }
    log(
        f"  http: {statistics.median(http_rate):,.0f} msg/s vs SQL {statistics.median(sql_rate):,.0f} msg/s"
    )

    for name in ("store", "baseline"):
        b.drop_user(users[name])
    db.execute("drop schema bench_baseline cascade")
    return results


def goal_rows(results: dict[str, Any]) -> list[tuple[str, float, str, str]]:
    rows = []
    for key, (op, target) in GOALS.items():
        section, field = key.split(".")
        value = results[section][field]
        ok = value >= target if op == ">=" else value <= target
        rows.append((key, value, f"{op} {target}", "met" if ok else "missed"))
    rows.append(("http.rpc_msgs_per_s", results["http"]["rpc_msgs_per_s"], "report", ""))
    rows.append(("search.p50_ms", results["search"]["p50_ms"], "report", ""))
    rows.append(("search.index_bytes_ratio", results["search"]["index_bytes_ratio"], "report", ""))
    return rows


def table(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']} with `{meta['command']}` "
        f"(scale {meta['scale']}, {meta['reps']} alternated runs for the imports).",
        "",
        "| key | value | goal | |",
        "|---|---:|---|---|",
    ]
    lines += [f"| `{k}` | {v:,.3f} | {g} | {s} |" for k, v, g, s in goal_rows(results)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    started = time.monotonic()
    results = run(args.scale, args.reps, lambda s: print(s, flush=True))
    meta = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": "make bench" + (f" BENCH_SCALE={args.scale}" if args.scale != 1 else ""),
        "scale": args.scale,
        "reps": args.reps,
        "seconds": round(time.monotonic() - started, 1),
    }
    (HERE / "results.json").write_text(json.dumps({"meta": meta, **results}, indent=2) + "\n")
    text = table(results, meta)
    (HERE / "RESULTS.md").write_text(
        "# Benchmark results\n\n"
        + text
        + "\n\nDetails (medians, min, max): `bench/results.json`.\n"
    )
    readme = REPO_ROOT / "README.md"
    body = readme.read_text()
    start_mark, end_mark = "<!-- bench:start -->", "<!-- bench:end -->"
    if start_mark in body and end_mark in body:
        head, rest = body.split(start_mark, 1)
        _, tail = rest.split(end_mark, 1)
        readme.write_text(head + start_mark + "\n" + text + "\n" + end_mark + tail)
    print("\n" + text)
    print(f"\nwrote bench/results.json and bench/RESULTS.md in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
