"""The two sides of the benchmark, used the way a signed-in user uses them.

Both sides are reached only through their public contract: `ingest_messages`,
`get_conversation_messages`, the inbox list and `search_messages` (the store's in
`public`, the baseline's in `bench_baseline`). SQL calls run in the transaction shape
PostgREST gives a signed-in user (`role` and `request.jwt.claims` set locally, then the
call); searches go through HTTP (nginx -> PostgREST) with the user's token, and the
reads are measured both ways (SQL, and HTTP as the CRM screens make them).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from crm_messaging.config import Settings
from devstack.tokens import user_token


class SearchError(RuntimeError):
    """The API refused or failed a search (a statement timeout is HTTP 500 with 57014)."""

    def __init__(self, side: str, query: str, status: int, body: str) -> None:
        super().__init__(f"{side} search {query!r}: HTTP {status} {body[:300]}")
        self.status = status
        self.code = "57014 statement timeout" if "57014" in body else f"HTTP {status}"


@dataclass(frozen=True)
class Side:
    """One design under test: the SQL and RPC names of its public contract."""

    name: str
    ingest: str
    messages: str
    inbox: str
    search_rpc: str
    conversations: str
    messages_rpc: str  # the page function over HTTP
    list_view: str  # the inbox view over HTTP


#: The inbox as the CRM screen reads it (web/src/hooks/use-chat-conversations.ts): keyset
#: order (newest first, id breaking ties), conversations with messages, 50 a page. The
#: screen also embeds the linked person (people); the baseline has no such relationship,
#: so neither side embeds it here.
LIST_COLUMNS = (
    "id, platform, external_conversation_id, participant_identifier, participant_name,"
    " conversation_type, person_id, entity_table, entity_id, connection_id, message_count,"
    " first_message_at, last_message_at, last_message_preview, user_id, created_at, updated_at"
)
INBOX_SQL = (
    "select {cols} from {view} where last_message_at is not null"
    " order by last_message_at desc, id desc limit 50"
)


STORE = Side(
    name="store",
    ingest="select public.ingest_messages(%s::jsonb)",
    messages="select public.get_conversation_messages(%s, %s, %s, 50)",
    inbox=INBOX_SQL.format(cols=LIST_COLUMNS, view="public.chat_conversation_list"),
    search_rpc="search_messages",
    conversations="public.chat_conversation_list",
    messages_rpc="get_conversation_messages",
    list_view="chat_conversation_list",
)
BASELINE = Side(
    name="baseline",
    ingest="select bench_baseline.ingest_messages(%s::jsonb)",
    messages="select bench_baseline.get_conversation_messages(%s, %s, %s, 50)",
    inbox=INBOX_SQL.format(cols=LIST_COLUMNS, view="bench_baseline.conversation_list"),
    search_rpc="bench_baseline_search",
    conversations="bench_baseline.conversation_list",
    messages_rpc="bench_baseline_get_conversation_messages",
    list_view="bench_baseline_conversation_list",
)
SIDES = (STORE, BASELINE)

# The store is every schema of the project (wherever its internals put a table: the sizes
# are growth over the run, so tables the benchmark does not write add nothing); the
# baseline is bench_baseline. Supabase's own schemas are neither.
SCHEMAS = (
    "n.nspname not in ('pg_catalog', 'information_schema', 'auth', 'extensions', 'storage',"
    " 'graphql', 'graphql_public', 'realtime', 'vault', 'pgbouncer', 'supabase_migrations')"
    " and n.nspname not like 'pg\\_%'"
)


class SignedIn:
    """SQL and HTTP calls as signed-in users of one stack."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.admin = psycopg.connect(settings.db_url, autocommit=True)
        self.admin.execute("set maintenance_work_mem = '256MB'")
        self.conn = psycopg.connect(settings.db_url)
        self.http = httpx.Client(
            base_url=settings.api_url.rstrip("/"),
            headers={"apikey": settings.anon_key},
            timeout=60,
        )
        self._tokens: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()
        self.conn.close()
        self.admin.close()

    # ------------------------------------------------------------------ users
    def new_user(self) -> str:
        uid = str(uuid.uuid4())
        self.admin.execute(
            "insert into auth.users (id, email) values (%s, %s)", (uid, f"bench-{uid[:8]}@bench")
        )
        return uid

    def drop_user(self, uid: str) -> None:
        # both sides' rows go with the user (on delete cascade)
        self.admin.execute("delete from auth.users where id = %s", (uid,))
        self._tokens.pop(uid, None)

    def token(self, uid: str) -> str:
        if uid not in self._tokens:
            self._tokens[uid] = user_token(self.settings.jwt_secret, uid, ttl_seconds=6 * 3600)
        return self._tokens[uid]

    # -------------------------------------------------------------------- SQL
    def sql(self, uid: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One call in a signed-in user's transaction, as PostgREST makes it."""
        claims = json.dumps({"sub": uid, "role": "authenticated", "aud": "authenticated"})
        with self.conn.transaction():
            self.conn.execute(
                "select set_config('role', 'authenticated', true),"
                " set_config('request.jwt.claims', %s, true)",
                (claims,),
            )
            return self.conn.execute(query, params).fetchall()

    def ingest(self, side: Side, uid: str, payload: str) -> dict[str, Any]:
        """A batch (the payload as JSON text, so both sides get the very same bytes)."""
        return self.sql(uid, side.ingest, (payload,))[0][0]

    def timed_ingest(self, side: Side, uid: str, payloads: list[str]) -> float:
        start = time.perf_counter()
        for p in payloads:
            self.ingest(side, uid, p)
        return time.perf_counter() - start

    def page(
        self, side: Side, uid: str, conversation: str, before: tuple[str, str] | None = None
    ) -> list[Any]:
        at, mid = before if before else (None, None)
        return self.sql(uid, side.messages, (conversation, at, mid))[0][0]

    def inbox(self, side: Side, uid: str) -> list[tuple[Any, ...]]:
        return self.sql(uid, side.inbox)

    def conversation_id(self, side: Side, uid: str, external_id: str) -> str:
        row = self.admin.execute(
            f"select id from {side.conversations} where user_id = %s and external_conversation_id = %s",
            (uid, external_id),
        ).fetchone()
        if row is None:
            raise LookupError(f"{side.name}: no conversation {external_id}")
        return str(row[0])

    # ------------------------------------------------------------------- HTTP
    def search(self, side: Side, uid: str, query: str) -> list[Any]:
        """A signed-in search through the API gateway, as the CRM screens make it."""
        r = self.http.post(
            f"/rest/v1/rpc/{side.search_rpc}",
            json={"query": query, "max_count": 50},
            headers={"Authorization": f"Bearer {self.token(uid)}"},
        )
        if r.status_code != 200:
            raise SearchError(side.name, query, r.status_code, r.text)
        return r.json()

    def _get_json(self, side: Side, r: httpx.Response) -> Any:
        if r.status_code != 200:
            raise RuntimeError(f"{side.name} read: HTTP {r.status_code} {r.text[:300]}")
        return r.json()

    def http_page(
        self, side: Side, uid: str, conversation: str, before: tuple[str, str] | None = None
    ) -> list[Any]:
        """A thread page through the API gateway, as the CRM screen asks for it."""
        at, mid = before if before else (None, None)
        r = self.http.post(
            f"/rest/v1/rpc/{side.messages_rpc}",
            json={
                "conversation_id": conversation,
                "before_sent_at": at,
                "before_id": mid,
                "max_count": 50,
            },
            headers={"Authorization": f"Bearer {self.token(uid)}"},
        )
        got: list[Any] = self._get_json(side, r)
        return got

    def http_inbox(self, side: Side, uid: str) -> list[Any]:
        """The inbox's first page through the API gateway, in the screen's order."""
        r = self.http.get(
            f"/rest/v1/{side.list_view}",
            params={
                "select": LIST_COLUMNS.replace(" ", ""),
                "last_message_at": "not.is.null",
                "order": "last_message_at.desc,id.desc",
                "limit": "50",
            },
            headers={"Authorization": f"Bearer {self.token(uid)}"},
        )
        got: list[Any] = self._get_json(side, r)
        return got

    def wait_for_rpc(self, name: str, uid: str, seconds: float = 20) -> None:
        """PostgREST sees a new function once its schema cache reloads."""
        self.admin.execute("notify pgrst, 'reload schema'")
        deadline = time.monotonic() + seconds
        while True:
            r = self.http.post(
                f"/rest/v1/rpc/{name}",
                json={"query": "x", "max_count": 1},
                headers={"Authorization": f"Bearer {self.token(uid)}"},
            )
            if r.status_code == 200:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgREST does not serve {name}: HTTP {r.status_code} {r.text[:200]}"
                )
            time.sleep(0.3)

    # --------------------------------------------------------------- storage
    def compact(self) -> None:
        """VACUUM FULL every table of both sides: sizes are taken compacted."""
        tables = self.admin.execute(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            f" where {SCHEMAS} and c.relkind in ('r', 'm')"
        ).fetchall()
        for (t,) in tables:
            self.admin.execute(f"vacuum full analyze {t}")

    def sizes(self) -> dict[str, int]:
        """Bytes of each side, tables with TOAST and every index (search indexes included)."""
        rows = self.admin.execute(
            f"""select case when n.nspname = 'bench_baseline' then 'baseline' else 'store' end,
                      sum(pg_total_relation_size(c.oid)),
                      sum((select coalesce(sum(pg_relation_size(i.indexrelid)), 0)
                             from pg_index i join pg_class ic on ic.oid = i.indexrelid
                             join pg_am am on am.oid = ic.relam
                            where i.indrelid = c.oid and am.amname = 'gin'))
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where {SCHEMAS} and c.relkind in ('r', 'm')
                group by 1"""
        ).fetchall()
        out: dict[str, int] = {}
        for side, total, gin in rows:
            out[side] = int(total)
            out[f"{side}_gin"] = int(gin)
        return out
