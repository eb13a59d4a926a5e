"""MessagingClient: validation before sending, batching by count and bytes, retries, typed reads."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from crm_messaging.cli import main
from crm_messaging.client import MessagingClient
from crm_messaging.commands import EXIT_REFUSED
from crm_messaging.errors import CrmMessagingError, InputError, MessagingError
from crm_messaging.reads import ConversationSummary, SearchHit, StoredMessage
from devstack.layout import REPO_ROOT

from .conftest import client_for
from .helpers import msg


def test_all_problems_are_reported_before_anything_is_sent(service, make_user, db):
    alice = make_user("alice")
    client = MessagingClient(service, user_id=alice.id)
    bad = [
        msg("c"),
        {**msg("c"), "sent_at": "2026-01-01T10:00:00"},
        {**msg("c"), "direction": "up"},
    ]
    with pytest.raises(InputError) as err:
        client.ingest(bad)
    assert "messages[1].sent_at" in str(err.value) and "messages[2].direction" in str(err.value)
    assert db.execute(
        "select count(*) from chat_conversations where user_id = %s", (alice.id,)
    ).fetchone() == (0,)


def test_batches_split_by_count_and_by_bytes(service, make_user):
    alice = make_user("alice")
    client = MessagingClient(service, user_id=alice.id, max_batch_bytes=4000)
    calls = []
    batch = [msg("big", f"b{i}", content="x" * 900) for i in range(20)]
    summary = client.ingest(
        batch, batch_size=7, progress=lambda done, total: calls.append((done, total))
    )
    assert summary.inserted == 20 and len(summary.conversations) == 1
    assert summary.conversations[0].message_count == 20
    assert calls[-1] == (20, 20) and len(calls) >= 5  # 4 KB holds at most 4 of these


def test_refusals_keep_postgrest_fields(make_user, settings):
    alice, bob = make_user("alice"), make_user("bob")
    client = MessagingClient(client_for(settings, settings.anon_key, alice.token))
    with pytest.raises(MessagingError) as err:
        client.ingest([msg("c")], user_id=bob.id)
    assert err.value.code == "42501" and "own messages" in err.value.message and err.value.hint


class DropsFirstCalls(httpx.HTTPTransport):
    """Simulates a dropped connection (no server fault can be injected per request here):
    the first `failures` requests fail in transport before reaching the stack."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def handle_request(self, request):
        if self.failures > 0:
            self.failures -= 1
            raise httpx.ConnectError("connection dropped", request=request)
        return super().handle_request(request)


def test_a_dropped_connection_is_retried_to_the_exact_count(service, make_user):
    alice = make_user("alice")
    service.postgrest.session._transport = DropsFirstCalls(failures=2)
    client = MessagingClient(service, user_id=alice.id, sleep=lambda s: None)
    summary = client.ingest([msg("r", f"r{i}") for i in range(30)], batch_size=10)
    assert (summary.inserted, summary.duplicates) == (30, 0)


def test_transport_failure_after_retries_is_a_clear_error(service, make_user):
    alice = make_user("alice")
    service.postgrest.session._transport = DropsFirstCalls(failures=99)
    client = MessagingClient(service, user_id=alice.id, retries=2, sleep=lambda s: None)
    with pytest.raises(MessagingError) as err:
        client.ingest([msg("r")])
    assert err.value.code == "transport" and "3 tries" in err.value.message


def test_typed_inbox_rows(make_user, settings):
    alice = make_user("alice")
    client = MessagingClient(client_for(settings, settings.anon_key, alice.token))
    client.ingest([msg("typed", "t1", content="first"), msg("typed", "t2", content="second")])
    (row,) = client.conversations()
    assert isinstance(row, ConversationSummary)
    assert row.external_conversation_id == "typed" and row.message_count == 2
    assert row.last_message_preview == "second" and str(row.user_id) == alice.id


@pytest.fixture
def refusing_conversation(db):
    """Makes the server refuse every write to conversations named 'poison-*' or the WhatsApp
    chat +34612345678 (a refusal the client cannot foresee, as a CRM's own trigger or a
    server rule newer than the client would be); injected with a real trigger, removed after."""
    db.execute(
        """
        create function public.test_refuse_poison() returns trigger language plpgsql
        set search_path = '' as $$
        begin
          if new.external_conversation_id like 'poison-%'
             or new.external_conversation_id = '+34612345678' then
            raise exception using errcode = '22023',
              message = 'refused by a test trigger: ' || new.external_conversation_id;
          end if;
          return new;
        end $$;
        create trigger test_refuse_poison before insert or update on public.chat_conversations
          for each row execute function public.test_refuse_poison();
        """
    )
    yield
    db.execute(
        "drop trigger test_refuse_poison on public.chat_conversations;"
        " drop function public.test_refuse_poison();"
    )


def test_a_refused_conversation_is_isolated_and_the_rest_stored(
    service, make_user, db, refusing_conversation
):
    alice = make_user("alice")
    client = MessagingClient(service, user_id=alice.id)
    batch = (
        [msg("ok-a", f"a{i}") for i in range(5)]
        + [msg("poison-1", f"p{i}") for i in range(4)]
        + [msg("ok-b", f"b{i}") for i in range(6)]
    )
    summary = client.ingest(batch, batch_size=8)  # batches mix conversations
    assert summary.inserted == 11
    assert sorted(c.external_conversation_id for c in summary.conversations) == ["ok-a", "ok-b"]
    (refused,) = summary.refused
    assert (refused.platform, refused.external_conversation_id, refused.messages) == (
        "whatsapp",
        "poison-1",
        4,
    )
    assert refused.code == "22023" and "refused by a test trigger" in refused.reason
    assert "poison-1" in str(refused) and "4 message(s) not stored" in str(refused)
    rows = db.execute(
        "select external_conversation_id, message_count from chat_conversations"
        " where user_id = %s order by 1",
        (alice.id,),
    ).fetchall()
    assert rows == [("ok-a", 5), ("ok-b", 6)]
    # the summary stays compatible: refused is one more key
    assert set(summary.model_dump()) == {
        "inserted",
        "duplicates",
        "updated",
        "matched",
        "conversations",
        "refused",
    }


def test_a_refusal_for_everyone_still_stops_the_import(make_user, settings):
    alice = make_user("alice")
    client = MessagingClient(client_for(settings, settings.anon_key, "not-a-jwt"))
    with pytest.raises(MessagingError) as err:
        client.ingest([msg("a"), msg("b")])
    assert err.value.code is not None and err.value.code.startswith("PGRST")
    del alice


def test_cli_names_what_was_refused_and_exits_non_zero(
    make_user, db, capsys, refusing_conversation
):
    alice = make_user("alice")
    files = [
        str(REPO_ROOT / "examples" / "WhatsApp Chat with +34 612 34 56 78.txt"),
        str(Path(__file__).parent / "fixtures" / "WhatsApp Chat with Bob.txt"),
    ]
    code = main(
        [
            "import",
            "whatsapp",
            *files,
            "--user-id",
            alice.id,
            "--me",
            "Alice",
            "--tz",
            "UTC",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == EXIT_REFUSED == 3
    summary = json.loads(out)
    assert summary["inserted"] > 0 and len(summary["conversations"]) == 1
    assert [r["external_conversation_id"] for r in summary["refused"]] == ["+34612345678"]
    assert "refused whatsapp:+34612345678" in err and "refused by a test trigger" in err


def test_the_client_refuses_what_the_server_would_before_sending(service, make_user):
    client = MessagingClient(service, user_id=make_user("alice").id)
    deep: list = []
    for _ in range(10_000):  # built without recursion; the check must not recurse either
        deep = [deep]
    cases = {
        "metadata": {**msg("c"), "metadata": {"a": deep}},
        "edited_at": {**msg("c", minutes=10), "edited_at": "2026-03-02T09:00:00+00:00"},
    }
    for field, bad in cases.items():
        with pytest.raises(ValueError) as err:
            client.ingest([bad])
        assert f"messages[0].{field}" in str(err.value), str(err.value)[:300]
    with pytest.raises(ValueError) as err:
        client.ingest([cases["metadata"]])
    assert "nested deeper than 32 levels" in str(err.value)


def test_reads_are_typed_models_of_what_was_stored(make_user, settings):
    alice = make_user("alice")
    client = MessagingClient(client_for(settings, settings.anon_key, alice.token))
    client.ingest([
        msg("typed-read", "r1", minutes=0, content="order INV-7731 shipped", sender_name="Ana",
            reply_to_id="r0", metadata={"source": "test"}),
        msg("typed-read", "r2", minutes=5, direction="outbound", content="thanks",
            edited_at="2026-03-02T09:06:00+00:00"),
        msg("other-read", "o1", minutes=9, content="nothing to see"),
    ])  # fmt: skip
    inbox = client.conversations()
    assert [c.external_conversation_id for c in inbox] == ["other-read", "typed-read"]
    conv = inbox[1]
    assert conv.message_count == 2 and conv.last_message_preview == "thanks"
    assert conv.last_message_at == datetime(2026, 3, 2, 9, 5, tzinfo=timezone.utc)

    newest, oldest = client.messages(str(conv.id))
    assert all(isinstance(m, StoredMessage) for m in (newest, oldest))
    assert (newest.id, newest.direction, newest.content) == ("r2", "outbound", "thanks")
    assert newest.edited_at == datetime(2026, 3, 2, 9, 6, tzinfo=timezone.utc)
    assert (oldest.id, oldest.sender_name, oldest.reply_to_id) == ("r1", "Ana", "r0")
    assert oldest.metadata == {"source": "test"} and oldest.sent_at == conv.first_message_at

    (hit,) = client.search("INV-7731")
    assert isinstance(hit, SearchHit) and hit.conversation_id == conv.id
    assert hit.platform == "whatsapp" and hit.message == oldest
    assert hit.snippet is not None and "[[" in hit.snippet and hit.rank > 0
    assert client.search("INV-9999") == []


def test_a_read_of_an_unknown_conversation_is_empty_and_errors_share_one_base(make_user, settings):
    alice = make_user("alice")
    client = MessagingClient(client_for(settings, settings.anon_key, alice.token))
    assert client.messages(str(uuid.uuid4())) == []
    with pytest.raises(CrmMessagingError) as err:
        client.messages("not-a-uuid")
    assert isinstance(err.value, MessagingError) and err.value.code == "22P02"
    with pytest.raises(CrmMessagingError) as err:
        client.ingest([msg("c")], batch_size=0)
    assert isinstance(err.value, InputError) and "batch_size" in str(err.value)


def test_the_inbox_breaks_ties_of_last_message_at_by_id(make_user, settings):
    """The inbox's order is its index's (last_message_at desc, id desc), the screen's keyset
    order: conversations whose last messages share a time come in one fixed order."""
    alice = make_user("alice")
    client = MessagingClient(client_for(settings, settings.anon_key, alice.token))
    client.ingest([msg(f"tie-{i}", f"t{i}", minutes=3) for i in range(4)] + [
        msg("newest", "n1", minutes=4)])  # fmt: skip
    inbox = client.conversations()
    assert inbox[0].external_conversation_id == "newest"
    tied = [str(c.id) for c in inbox[1:]]
    assert len(tied) == 4 and tied == sorted(tied, reverse=True)


def test_the_preview_of_an_other_names_the_platforms_kind(make_user, settings):
    """A call line (an other without text) reads [call] in the inbox, not [other]; an other
    with text shows the text; an other naming no kind stays [other]."""
    alice = make_user("alice")
    client = MessagingClient(client_for(settings, settings.anon_key, alice.token))
    call = {"platform_kind": "call", "call": {"media": "voice", "missed": True}}
    client.ingest([msg("calls", "c1", type="other", content=None, metadata=call)])
    client.ingest(
        [
            msg(
                "welcome",
                "w1",
                type="other",
                content=None,
                metadata={"platform_kind": "request_welcome"},
            )
        ]
    )
    client.ingest(
        [
            msg(
                "order",
                "o1",
                type="other",
                content="2 items, please",
                metadata={"platform_kind": "order"},
            )
        ]
    )
    client.ingest([msg("bare", "b1", type="other", content=None)])
    previews = {r.external_conversation_id: r.last_message_preview for r in client.conversations()}
    assert previews == {
        "calls": "[call]",
        "welcome": "[request welcome]",
        "order": "2 items, please",
        "bare": "[other]",
    }
