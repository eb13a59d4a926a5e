"""The contract the database publishes as data (public.messaging_contract()), and what reads it.

The SQL checks, the Python models, the CLI and the client read the limits, field rules,
platform secrets, statuses and refusal kinds from one source: these tests check that the
published contract is what the code does, and that a fifth platform needs one migration.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgrest.exceptions import APIError

from crm_messaging import MessagingClient
from crm_messaging.commands import CONNECTION_SECRETS, connection_secrets, secret_options
from crm_messaging.contract import contract, parse_contract
from crm_messaging.errors import InputError, MessagingError
from crm_messaging.models import Message, validate_messages
from crm_messaging.reads import StoredMessage
from devstack import catalog, upgrade

from .helpers import msg

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = catalog.source_files(catalog.MIGRATIONS_DIR)


def test_the_api_roles_read_the_contract_the_package_was_generated_from(service, make_user, anon):
    published = service.rpc("messaging_contract", {}).execute().data
    assert parse_contract(published) == contract()
    assert make_user("reader").client.rpc("messaging_contract", {}).execute().data == published
    with pytest.raises(APIError) as err:
        anon.rpc("messaging_contract", {}).execute()
    assert err.value.code == "42501"


def test_every_platform_has_its_label_and_secrets_in_the_contract(db):
    enum = [r[0] for r in db.execute("select unnest(enum_range(null::messaging_platform))::text")]
    assert [p.platform for p in contract().platforms] == enum
    for p in contract().platforms:
        assert p.label and p.secrets, p
    # each secret name is a column of the secrets table (where add_messaging_connection puts it)
    columns = {
        r[0]
        for r in db.execute(
            "select attname from pg_attribute where attrelid = "
            "'messaging_private.connection_secrets'::regclass and attnum > 0 and not attisdropped"
        )
    }
    assert {s.name for p in contract().platforms for s in p.secrets} <= columns
    assert CONNECTION_SECRETS == {
        "whatsapp": {"app_secret": "--app-secret", "verify_token": "--verify-token"},
        "telegram": {"secret_token": "--secret-token"},
        "signal": {"token": "--token"},
        "wechat": {"token": "--token"},
    }


# ------------------------------------------------------------------ refusal kinds

#: a raise, or a call of messaging_private.refuse (code, kind, message, HTTP status)
RAISE = re.compile(
    r"\braise\s+(exception|sqlstate\s+'PGRST')|\bmessaging_private\.refuse\(", re.IGNORECASE
)


def raise_statements(src: str) -> list[str]:
    """The text of each `raise exception ...;` of a PL/pgSQL body, up to the semicolon that
    ends it (not one inside a string literal)."""
    found = []
    for m in RAISE.finditer(src):
        quoted = False
        for i in range(m.end(), len(src)):
            if src[i] == "'":
                quoted = not quoted  # '' inside a literal toggles twice
            elif src[i] == ";" and not quoted:
                found.append(src[m.end() : i])
                break
    return found


def test_every_refusal_raised_in_sql_carries_a_kind_of_the_contract_with_its_sqlstate(db):
    kinds = {r.kind: r for r in contract().refusals}
    rows = db.execute(
        "select p.oid::regprocedure::text, p.prosrc from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname in ('public', 'messaging_private', 'messaging_gate') and p.prolang in"
        " (select oid from pg_language where lanname = 'plpgsql')"
    ).fetchall()
    raised: set[str] = set()
    problems = []
    for name, src in rows:
        if name.startswith("messaging_private.refuse("):
            continue  # the mechanism: its callers name the code and the kind, checked here
        for body in raise_statements(src):
            # a PGRST raise (an HTTP status of its own) names code and hint in its JSON; a
            # call of refuse names them as its first two arguments
            hint = re.search(
                r"\bhint\s*=\s*'([a-z_]+)'|'hint',\s*'([a-z_]+)'|^\s*'[0-9A-Z]{5}',\s*'([a-z_]+)'",
                body,
            )
            code = re.search(
                r"\berrcode\s*=\s*'([0-9A-Z]{5})'|'code',\s*'([0-9A-Z]{5})'|^\s*'([0-9A-Z]{5})',",
                body,
            )
            kind = hint and (hint.group(1) or hint.group(2) or hint.group(3))
            if not kind or kind not in kinds:
                problems.append(f"{name}: raise without a known kind: {body.strip()[:90]}")
            elif (
                not code
                or (code.group(1) or code.group(2) or code.group(3)) != kinds[kind].sqlstate
            ):
                problems.append(f"{name}: {kind} raised with another SQLSTATE")
            else:
                raised.add(kind)
    assert not problems, "\n".join(problems)
    # and the contract lists no kind that nothing raises
    assert raised == set(kinds), set(kinds) - raised


def test_a_refusal_reaches_the_client_with_its_kind_and_advice(make_user):
    alice = MessagingClient(make_user("alice").client, retries=0)
    with pytest.raises(MessagingError) as err:
        alice.rpc("ingest_messages", {"payload": {"messages": [{**msg("k1"), "direction": "up"}]}})
    assert (err.value.code, err.value.kind) == ("22023", "payload_invalid")
    advice = contract().refusal("payload_invalid")
    assert advice is not None and advice.advice in str(err.value)


@pytest.mark.parametrize(
    "message, hint, stops",
    [
        # the words of a refusal that stops, with the kind of one that does not: the kind wins
        ("connection_id: worded like the old stopping prefix", "payload_invalid", False),
        ("person_id: worded like the old isolated refusal", "connection_not_own", True),
        ("anything", "person_not_own", False),
        ("anything", "user_id_not_own", True),
    ],
)
def test_the_client_decides_by_the_kind_not_the_words(message, hint, stops):
    code = contract().refusal(hint).sqlstate  # type: ignore[union-attr]
    err = MessagingError(message, code=code, hint=hint)
    assert err.stops_import({"transport"}) is stops


def test_errors_without_a_kind_are_decided_by_their_code():
    assert MessagingError("permission denied for function", code="42501").stops_import(set())
    assert MessagingError("could not reach", code="transport").stops_import({"transport"})
    # PostgreSQL's own refusal of a NUL is about one conversation's content
    nul = MessagingError("unsupported Unicode escape sequence", code="22P05")
    assert not nul.stops_import({"transport"})
    # a hint that is no kind of the contract is no kind (PostgreSQL writes hints of its own)
    assert MessagingError("x", code="42883", hint="No function matches").kind is None


# ------------------------------------------------------------------ the models' limits


def test_the_model_takes_every_length_from_the_contract():
    rules = {r.field: r for r in contract().payload_fields if r.scope == "message"}
    for name, field in Message.model_fields.items():
        assert name in rules, f"Message.{name} is not a field of the contract"
        lengths = [m.max_length for m in field.metadata if hasattr(m, "max_length")]
        if rules[name].kind == "text":
            assert lengths == [rules[name].max_length], name
    required = {n for n, r in rules.items() if r.required and n != "platform"}
    assert required <= {n for n, f in Message.model_fields.items() if f.is_required()}


def test_the_model_refuses_metadata_past_the_cap_before_sending():
    # (before the contract, the client sent it and the server refused the conversation)
    cap = contract().max_length("metadata")
    ok = {**msg("m1"), "metadata": {"k": "v" * (cap - len('{"k": ""}'))}}
    validate_messages([ok])
    with pytest.raises(InputError, match=f"longer than {cap} characters as JSON"):
        validate_messages([{**ok, "metadata": {"k": "v" * cap}}])


def test_the_model_refuses_times_past_the_future_bound_before_sending():
    future = timedelta(seconds=contract().limit("future_seconds"))
    soon = datetime.now(timezone.utc) + future - timedelta(minutes=5)
    validate_messages([{**msg("f1"), "sent_at": soon.isoformat()}])
    later = datetime.now(timezone.utc) + future + timedelta(minutes=5)
    with pytest.raises(InputError, match="sent_at"):
        validate_messages([{**msg("f1"), "sent_at": later.isoformat()}])
    with pytest.raises(InputError, match="edited_at"):
        validate_messages([{**msg("f1"), "edited_at": later.isoformat()}])


def test_the_python_cap_is_the_servers(make_user):
    # the longest metadata the model lets through is stored, one character more is refused
    # by both
    alice = make_user("alice")
    cap = contract().max_length("metadata")
    edge = {**msg("cap"), "metadata": {"k": "é" * (cap - len('{"k": ""}'))}}
    validate_messages([edge])
    result = alice.client.rpc("ingest_messages", {"payload": {"messages": [edge]}}).execute()
    assert result.data["inserted"] == 1
    over = {**edge, "id": "cap-over", "metadata": {"k": "é" * (cap - len('{"k": ""}') + 1)}}
    with pytest.raises(InputError):
        validate_messages([over])
    with pytest.raises(APIError) as err:
        alice.client.rpc("ingest_messages", {"payload": {"messages": [over]}}).execute()
    assert err.value.hint == "payload_invalid"


# ------------------------------------------------------------------ a stored message


def test_a_stored_message_has_the_keys_the_contract_publishes(make_user):
    alice = make_user("alice")
    keys = contract().stored_message
    full = msg(
        "keys",
        "full",
        minutes=1,
        sender_identifier="+34600000001",
        sender_name="Ana",
        reply_to_id="x",
        edited_at="2026-03-03T12:00:00Z",
        metadata={"a": 1},
        media_url="https://example.org/a.jpg",
    )
    bare = msg("keys", "bare", minutes=2)
    cid = (
        alice.client.rpc("ingest_messages", {"payload": {"messages": [full, bare]}})
        .execute()
        .data["conversations"][0]["id"]
    )
    page = alice.client.rpc("get_conversation_messages", {"conversation_id": cid}).execute().data
    by_id = {m["id"]: m for m in page}
    assert set(by_id["full"]) == {k.key for k in keys}
    assert set(by_id["bare"]) == {k.key for k in keys if k.always}
    assert set(StoredMessage.model_fields) == {k.key for k in keys}


# ------------------------------------------------------------------ a fifth platform

FIFTH_PLATFORM = """
-- what adding a platform takes on the database side: its name, its label and its secret
alter type public.messaging_platform add value 'line';
insert into messaging_private.platforms (platform, label, description)
values ('line', 'LINE', 'LINE Messaging API: X-Line-Signature, HMAC-SHA256 of the body with the channel secret.');
insert into messaging_private.platform_secrets
  (platform, name, position, pattern, max_length, description, issued_by, generated_length, where_issued)
values
  ('line', 'channel_secret', 1, '^[0-9a-f]{32}$', 32, 'The channel secret: 32 hex digits.',
   'platform', null, 'the Basic settings of your LINE channel'),
  ('line', 'relay_token', 2, '^[0-9a-f]{40}$', 40, 'A token of our own for a relay in front of LINE.',
   'store', 40, null);
alter table messaging_private.connection_secrets
  add column channel_secret text check (pg_catalog.length(channel_secret) between 1 and 512),
  add column relay_token text check (pg_catalog.length(relay_token) between 1 and 512);
comment on column messaging_private.connection_secrets.channel_secret is 'LINE: the channel secret.';
comment on column messaging_private.connection_secrets.relay_token is 'LINE: the relay token.';
"""


@pytest.fixture
def scratch_db():
    """A database of its own, built like the stack's: Supabase's bootstrap, then every
    migration, each in one transaction (as `supabase db reset` applies them). Dropped
    afterwards."""
    with catalog.scratch_database(f"contract_probe_{uuid.uuid4().hex[:8]}") as url:
        catalog.run_sql_files(url, MIGRATIONS)
        yield url


def _one(conn: psycopg.Connection, user: str | None, query: str, params: Any = None) -> Any:
    """The one value a statement returns, as a signed-in user (None: the service role)."""
    return upgrade.as_user(conn, user, query, params)[0][0]


def test_a_fifth_platform_is_one_migration_plus_its_mapping_module(scratch_db, tmp_path):
    url = scratch_db
    migration = tmp_path / "29991231235959_line.sql"
    migration.write_text(FIFTH_PLATFORM)
    catalog.run_sql_files(url, [migration])  # one migration, in one transaction
    with psycopg.connect(url, autocommit=True) as conn:
        user = str(uuid.uuid4())
        conn.execute("insert into auth.users (id, email) values (%s, 'line@test.example')", (user,))
        published = parse_contract(_one(conn, None, "select public.messaging_contract()"))

        # the contract names it with its secret; the CLI's options and checks follow from it
        line = published.platform("line")
        assert (line.label, [s.name for s in line.secrets]) == (
            "LINE",
            ["channel_secret", "relay_token"],
        )
        assert connection_secrets(published)["line"] == {
            "channel_secret": "--channel-secret",
            "relay_token": "--relay-token",
        }
        assert "channel_secret" in secret_options(published)
        assert published.webhook(functions_url="https://p.example/functions/v1/", platform="line",
                                 connection_id="c1") == (
            "https://p.example/functions/v1/messaging-ingest/line/c1"
        )  # fmt: skip

        # the database takes its connections, secrets, messages and statuses unchanged
        secret = "0123456789abcdef0123456789abcdef"
        cid = _one(
            conn,
            None,
            "select public.add_messaging_connection('line', 'crm_shop', null, %s, %s)",
            (json.dumps({"channel_secret": secret, "relay_token": "ab" * 20}), user),
        )
        connection = _one(conn, None, "select public.webhook_connection(%s)", (cid,))
        assert (connection["platform"], connection["secrets"]) == (
            "line",
            {"channel_secret": secret, "relay_token": "ab" * 20},
        )
        with pytest.raises(psycopg.Error) as err:
            _one(
                conn,
                None,
                "select public.add_messaging_connection('line', 'crm_shop', null, %s, %s)",
                (json.dumps({"channel_secret": "not hex"}), user),
            )
        assert (err.value.diag.sqlstate, err.value.diag.message_hint) == (
            "22023",
            "connection_invalid",
        )
        delivery = {
            "connection_id": str(cid),
            "messages": [{**msg("U1", "m1", platform="line"), "sender_name": "Ana"}],
            "updates": [
                {"kind": "status", "platform": "line", "external_conversation_id": "U1",
                 "id": "m1", "status": "read", "at": "2026-03-02T10:00:00Z"}
            ],
        }  # fmt: skip
        result = _one(
            conn, None, "select public.ingest_webhook_delivery(%s)", (json.dumps(delivery),)
        )
        assert (result["inserted"], result["updates"]["applied"]) == (1, 1)
        stored = conn.execute(
            "select messages -> 0 -> 'metadata' ->> 'status' from chat_conversations"
            " where platform = 'line'"
        ).fetchone()
        assert stored == ("read",)

        # the screens' RPCs: create takes the secret the platform issues (as app_secret) and
        # generates the store's own from its row; rotate keeps or replaces the issued one
        made = _one(
            conn,
            user,
            "select public.create_messaging_connection('line', 'crm_shop_2', 'Shop', %s)",
            (secret,),
        )
        assert set(made["secrets"]) == {"relay_token"}
        assert re.fullmatch(r"[0-9a-f]{40}", made["secrets"]["relay_token"])
        stored_secrets = _one(conn, None, "select public.webhook_connection(%s)", (made["id"],))[
            "secrets"
        ]
        assert stored_secrets == {"channel_secret": secret, **made["secrets"]}
        rotated = _one(
            conn, user, "select public.rotate_messaging_connection_secrets(%s)", (made["id"],)
        )
        assert set(rotated["secrets"]) == {"relay_token"}
        assert rotated["secrets"]["relay_token"] != made["secrets"]["relay_token"]
        assert _one(conn, None, "select public.webhook_connection(%s)", (made["id"],))[
            "secrets"
        ] == {"channel_secret": secret, **rotated["secrets"]}
        with pytest.raises(psycopg.Error) as err:
            _one(conn, user, "select public.create_messaging_connection('line', 'crm_shop_3')")
        assert err.value.diag.message_hint == "connection_invalid"
        assert "the Basic settings of your LINE channel" in err.value.diag.message_primary
    # What is left is the platform's adapter: supabase/functions/messaging-ingest/
    # <platform>.ts registered in adapters.ts's Record<Platform, Adapter> (deno check fails
    # until it is there, whole), and its importer (mypy fails at assert_never in
    # crm_messaging.importers until it is registered).


def test_the_contract_document_names_everything_the_database_publishes():
    # docs/contract.md is written for people; it must not fall behind the published data
    text = (REPO / "docs" / "contract.md").read_text(encoding="utf-8")
    c = contract()
    names = {
        *c.limits,
        *(f.field for f in c.payload_fields),
        *(k.key for k in c.stored_message),
        *(s.name for p in c.platforms for s in p.secrets),
        *(d.status for d in c.delivery_statuses),
        *(r.kind for r in c.refusals),
    }
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert not missing, f"docs/contract.md does not name {missing}"
    for r in c.refusals:
        assert f"| `{r.kind}` | {r.sqlstate} | {r.scope} |" in text, r.kind
