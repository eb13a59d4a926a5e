"""Old against new definitions of the store's SQL functions, on one running stack.

    python -m bench.ab <commit> [--rounds N] [--calls N] [--big N]

Each round runs, in alternation (the order flips every round), one transaction per side:
the old side first replays the function migrations of <commit> (`create or replace` of
every function as it was, trigger functions aside: they go with their triggers, which are
DDL and stay as the database has them), the new side uses the functions the database has; both time
the same calls, then roll back, so nothing either side writes or redefines stays. Timed:
one-message ingest calls into conversations with an archive, `--rotate` of them in turn
(the live case), a batch
of `--big` new one-message conversations and the same batch again, and `--big` messages
into one conversation and the same again. Prints medians per side; a direct database
session as the superuser (no PostgREST), so the figures are the functions' own cost.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
import uuid
from typing import Any

import psycopg

OWNER = "00000000-0000-4000-a000-00000000a11c"  # alice of the seed
# before supabase/schemas (0.2.0) the functions lived in these migrations
OLD_MIGRATIONS = (
    "supabase/migrations/20261123205454_ingest_messages.sql",
    "supabase/migrations/20261124031000_messaging_webhooks.sql",
    "supabase/migrations/20261123212055_message_search.sql",
)


def source_paths(commit: str) -> list[str]:
    """The SQL source files at commit: supabase/schemas/*.sql, or the old migrations."""
    listed = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{commit}:supabase/schemas"],
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:
        return list(OLD_MIGRATIONS)
    return [f"supabase/schemas/{n}" for n in sorted(listed.stdout.split()) if n.endswith(".sql")]


def old_functions(commit: str) -> str:
    """The `create or replace function` statements (with their comments) of the source at
    commit: the tables it also creates exist already and stay as they are."""
    out = []
    for path in source_paths(commit):
        text = subprocess.run(
            ["git", "show", f"{commit}:{path}"], check=True, capture_output=True, text=True
        ).stdout
        for part in text.split("\ncreate or replace function ")[1:]:
            body_end = part.index("\n$$;\n") + len("\n$$;\n")
            if "\nreturns trigger\n" in part[:body_end]:
                continue  # a trigger's function goes with its trigger (DDL, kept as it is)
            out.append("create or replace function " + part[:body_end])
    return "\n".join(out)


def message(conv: str, mid: str, minute: int) -> dict[str, Any]:
    sent = f"2026-03-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z"
    return {
        "platform": "whatsapp",
        "external_conversation_id": conv,
        "id": mid,
        "direction": "inbound",
        "content": f"mensaje {mid}",
        "sent_at": sent,
    }


# After the old definitions are replayed: a function whose name the old side (re)defined in
# this transaction, but whose own signature it did not, is the new side's overload (a
# parameter added since); dropped (rolled back with the rest), so the old code's calls
# resolve to the old signatures only.
DROP_NEWER_OVERLOADS = """
do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure
      from pg_catalog.pg_proc p
     where p.pronamespace in ('messaging_private'::regnamespace, 'public'::regnamespace)
       and p.xmin::text::bigint <> pg_catalog.txid_current() % 4294967296
       and p.proname in (select q.proname from pg_catalog.pg_proc q
                          where q.pronamespace = p.pronamespace
                            and q.xmin::text::bigint = pg_catalog.txid_current() % 4294967296)
  loop
    execute pg_catalog.format('drop function %s', f);
  end loop;
end;
$$;
"""


#: the function each timed call goes through (--entry): the private body, or the public RPC
#: that every caller uses (with what it does around the body: kept updates, poll ids)
ENTRY = {"private": "messaging_private.ingest_messages", "public": "public.ingest_messages"}
entry = ENTRY["private"]


def ingest(cur: psycopg.Cursor[Any], msgs: list[dict[str, Any]]) -> float:
    payload = json.dumps({"user_id": OWNER, "messages": msgs})
    start = time.perf_counter()
    cur.execute(f"select {entry}(%s::jsonb)", (payload,))
    cur.fetchone()
    return (time.perf_counter() - start) * 1000


def side(
    conn: psycopg.Connection[Any],
    redefine: str | None,
    calls: int,
    big: int,
    tag: str,
    rotate: int,
) -> dict[str, list[float]]:
    got: dict[str, list[float]] = {}
    with conn.cursor() as cur:
        cur.execute("begin")
        try:
            if redefine:
                # not checked as they are created: an old body may call a function whose
                # newer overload (a parameter added since) makes the call ambiguous until
                # DROP_NEWER_OVERLOADS has run
                cur.execute("set local check_function_bodies = off")
                cur.execute(redefine)
                cur.execute(DROP_NEWER_OVERLOADS)
            cur.execute(
                "select pg_catalog.md5(pg_catalog.string_agg(p.prosrc, '' order by p.oid::regprocedure::text))"
                " from pg_catalog.pg_proc p where p.pronamespace = 'messaging_private'::regnamespace"
            )
            row = cur.fetchone()
            assert row is not None
            got["source"] = [float(int(str(row[0])[:8], 16))]  # which definitions ran
            # the live case: conversations of 150 messages (an archive each), then appends
            # in turn (as make bench's live calls rotate over conversations: 200 updates of
            # one row in one transaction would make each call step over the row's earlier
            # versions, the transaction's own, which a committed call never meets)
            convs = [f"ab-live-{tag}-{k}" for k in range(rotate)]
            for conv in convs:
                ingest(cur, [message(conv, f"h{i}", i) for i in range(150)])
            for i in range(5):  # warm-up: plans cached
                ingest(cur, [message(convs[i % rotate], f"w{i}", 200 + i)])
            got["one message"] = [
                ingest(cur, [message(convs[i % rotate], f"n{i}", 300 + i)]) for i in range(calls)
            ]
            many = [message(f"ab-{tag}-{i:06d}", "m1", i % 600) for i in range(big)]
            got[f"{big} new conversations"] = [ingest(cur, many)]
            got[f"{big} new conversations again"] = [ingest(cur, many)]
            one = [message(f"ab-one-{tag}", f"o{i}", i) for i in range(big)]
            got[f"{big} messages, one conversation"] = [ingest(cur, one)]
            got[f"{big} messages, one conversation again"] = [ingest(cur, one)]
        finally:
            cur.execute("rollback")
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit", help="the commit whose function definitions are the old side")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--entry",
        choices=sorted(ENTRY),
        default="private",
        help="time the private body or the public RPC",
    )
    parser.add_argument("--calls", type=int, default=200, help="one-message calls per block")
    parser.add_argument("--big", type=int, default=10_000, help="size of the large batches")
    parser.add_argument(
        "--rotate", type=int, default=20, help="conversations the one-message calls take in turn"
    )
    args = parser.parse_args()
    global entry
    entry = ENTRY[args.entry]
    old_sql = old_functions(args.commit)
    results: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    with psycopg.connect(os.environ["DB_URL"], autocommit=True) as conn:
        conn.execute("set statement_timeout = 0")
        for r in range(args.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for name in order:
                tag = uuid.uuid4().hex[:8]
                got = side(
                    conn, old_sql if name == "old" else None, args.calls, args.big, tag, args.rotate
                )
                for key, values in got.items():
                    results[name].setdefault(key, []).extend(values)
            print(f"round {r + 1}/{args.rounds} done", flush=True)

    def fmt(v: list[float]) -> str:
        q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
        return (
            f"median {statistics.median(v):8.2f} ms  (quartiles {q[0]:.2f} / {q[2]:.2f},"
            f" min {min(v):.2f}, n {len(v)})"
        )

    assert set(results["old"].pop("source")).isdisjoint(results["new"].pop("source")), (
        "both sides ran the same functions: nothing to compare"
    )
    for key in results["old"]:
        print(key)
        for name in ("old", "new"):
            print(f"  {name}: {fmt(results[name][key])}")


if __name__ == "__main__":
    main()
