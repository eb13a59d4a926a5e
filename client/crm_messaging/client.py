"""MessagingClient: a thin, typed layer over supabase-py and the store's RPCs."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
from postgrest.exceptions import APIError

from supabase import Client, create_client

from .config import load_settings
from .contract import contract
from .errors import IdentifierError, InputError, MessagingError, SettingsError
from .identifiers import normalize_email, normalize_phone
from .models import (
    MAX_BATCH,
    IngestSummary,
    Message,
    RefusedConversation,
    count_valid_messages,
    validate_messages,
    validate_stream,
)
from .reads import ConversationSummary, SearchHit, StoredMessage

#: Codes worth another try: the call changed nothing, or ingest's idempotence makes a
#: repeat harmless. SQLSTATEs (serialization failure, deadlock, admin shutdown), PostgREST's
#: connection errors, and the gateway's 502/503/504 (postgrest-py reports a non-JSON error
#: page with its HTTP status as the code).
RETRYABLE_CODES = {
    "40001", "40P01", "57P01", "57P03",
    "57014",  # statement timeout, e.g. waiting behind other writers of the same conversations
    "PGRST000", "PGRST001", "PGRST002", "PGRST003",
    "502", "503", "504",
}  # fmt: skip
#: The store's refusal kind of a 429: more requests of this user at once than the database
#: lets run (requests_per_user, requests_signed_in). Retried after the answer's Retry-After
#: (at least), at most `retries` times; then raised with the server's message.
TOO_MANY_REQUESTS = "too_many_requests"
#: Failures without a refusal kind that stop an import: a bad token (PostgREST), the network.
#: A refusal of the store carries its kind in `hint`, and the published contract says
#: whether it concerns the whole call (stop) or one conversation's content (isolate it, so
#: the rest of the import is stored); see MessagingError.stops_import.
STOPPING_CODES = {"PGRST301", "PGRST302", "PGRST303", "transport"}
#: The function and the gateway refuse bodies past the contract's app_body_bytes; a batch
#: stays 1 MiB below it.
MAX_BATCH_BYTES = contract().limit("app_body_bytes") - 1024 * 1024

Progress = Callable[[int, int], None]


class MessagingClient:
    """Ingest and read chats. Bad input raises before sending; refusals raise MessagingError."""

    def __init__(
        self,
        supabase: Client,
        *,
        user_id: str | None = None,
        retries: int = 4,
        backoff: float = 0.5,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.supabase = supabase
        self.user_id = user_id
        self.retries = retries
        self.backoff = backoff
        self.max_batch_bytes = max_batch_bytes
        self._sleep = sleep
        self._answers = threading.local()  # the Retry-After of this thread's last 429

    @classmethod
    def from_env(
        cls, *, access_token: str | None = None, env_file: Path | None = None, **kw: Any
    ) -> MessagingClient:
        """A client from `.env`: the service-role key, or the anon key plus a user's token.

        Needs only the API URL and that key, as supabase-py does."""
        settings = load_settings(env_file)
        key = settings.anon_key if access_token else settings.service_role_key
        if not key:
            wanted = "ANON_KEY (with a user's access token)" if access_token else "SERVICE_ROLE_KEY"
            raise SettingsError(
                f"{wanted} is not set in the environment or in the .env file: the client"
                " signs in with it (or pass access_token= to sign in as a user)"
            )
        client = create_client(settings.api_url, key)
        if access_token:
            client.postgrest.auth(access_token)
        return cls(client, **kw)

    # ------------------------------------------------------------------ calls

    def _on_response(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self._answers.retry_after = _seconds(response.headers.get("retry-after"))

    def _watch_answers(self) -> None:
        """Hooks the PostgREST session (supabase-py may make a new one) to read Retry-After."""
        session = getattr(getattr(self.supabase, "postgrest", None), "session", None)
        if isinstance(session, httpx.Client):
            hooks = session.event_hooks["response"]
            if self._on_response not in hooks:
                hooks.append(self._on_response)

    def _call(self, request: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            self._watch_answers()
            self._answers.retry_after = None
            wait = self.backoff * (2**attempt)
            try:
                return request().data
            except APIError as err:
                error = MessagingError.from_api_error(err)
                if error.kind == TOO_MANY_REQUESTS:
                    error.retry_after = self._answers.retry_after or float(
                        contract().limit("retry_after_seconds")
                    )
                    # at least what the server asked, more as tries go, spread a little so
                    # a user's sessions do not all come back at the same instant
                    wait = max(wait, error.retry_after) * random.uniform(1.0, 1.25)
                    retry = True
                else:
                    retry = err.code in RETRYABLE_CODES or (
                        err.code is None and attempt < self.retries
                    )
                if not retry or attempt >= self.retries:
                    raise error from None
            except (httpx.TransportError, httpx.HTTPStatusError) as err:
                if attempt >= self.retries:
                    raise MessagingError(
                        f"could not reach the API after {attempt + 1} tries: {err}",
                        code="transport",
                    ) from None
            self._sleep(wait)
            attempt += 1

    def rpc(self, name: str, params: dict[str, Any]) -> Any:
        return self._call(lambda: self.supabase.rpc(name, params).execute())

    # ----------------------------------------------------------------- ingest

    def batches(
        self, messages: Iterable[Message], batch_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Payload-ready batches, capped by count and by JSON bytes."""
        batch: list[dict[str, Any]] = []
        size = 0
        for m in messages:
            item = m.to_payload()
            n = len(json.dumps(item, ensure_ascii=False).encode()) + 1
            if batch and (len(batch) >= batch_size or size + n > self.max_batch_bytes):
                yield batch
                batch, size = [], 0
            batch.append(item)
            size += n
        if batch:
            yield batch

    def ingest(
        self,
        messages: Iterable[dict[str, Any] | Message],
        *,
        user_id: str | None = None,
        connection_id: str | None = None,
        batch_size: int = 1000,
        progress: Progress | None = None,
        source: str | None = None,
        source_name: str | None = None,
    ) -> IngestSummary:
        """Validates everything first, then sends batches; retries are safe (idempotent).
        `source` and `source_name` (payload fields) say where the messages come from, for
        each conversation's coverage record (docs/contract.md "Coverage")."""
        if not 1 <= batch_size <= MAX_BATCH:
            raise InputError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size}")
        if isinstance(messages, (list, tuple)):
            # conversation by conversation, oldest first: each batch then locks few
            # conversations (parallel importers rarely wait on each other) and mostly appends
            valid: Iterable[Message] = sorted(
                validate_messages(messages),
                key=lambda m: (m.platform, m.external_conversation_id, m.sent_at),
            )
            total = len(valid)  # type: ignore[arg-type]
        else:
            # a stream (a WhatsAppExport reads its file on each pass): one pass to validate
            # everything, one to send, never holding the whole import in memory
            total = count_valid_messages(messages)
            valid = validate_stream(messages)
        top: dict[str, Any] = {}
        if user_id or self.user_id:
            top["user_id"] = user_id or self.user_id
        if connection_id:
            top["connection_id"] = connection_id
        if source:
            top["source"] = source
        if source_name:
            top["source_name"] = source_name[-256:]
        summary = IngestSummary()
        done = 0
        for batch in self.batches(valid, batch_size):
            summary = summary.merge(self._send(batch, top))
            done += len(batch)
            if progress:
                progress(done, total)
        return summary

    def _send(self, batch: list[dict[str, Any]], top: dict[str, Any]) -> IngestSummary:
        """One batch; when the server refuses it, each conversation alone, so one refused
        conversation never keeps the others of the batch (or of the import) out."""
        try:
            result = self.rpc("ingest_messages", {"payload": {**top, "messages": batch}})
            return IngestSummary.model_validate(result)
        except MessagingError as err:
            if err.stops_import(STOPPING_CODES):
                raise
            groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for m in batch:
                groups.setdefault((m["platform"], m["external_conversation_id"]), []).append(m)
            if len(groups) > 1:
                summary = IngestSummary()
                for group in groups.values():
                    summary = summary.merge(self._send(group, top))
                return summary
            ((platform, conversation),) = groups
            refused = RefusedConversation(
                platform=platform,
                external_conversation_id=conversation,
                messages=len(batch),
                code=err.code,
                reason=err.message,
            )
            return IngestSummary(refused=[refused])

    # ------------------------------------------------------------ connections

    def ensure_connection(
        self,
        platform: str,
        account_identifier: str,
        *,
        display_name: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """The id of the user's connection for this account, created when missing."""
        row: dict[str, Any] = {"platform": platform, "account_identifier": account_identifier}
        owner = user_id or self.user_id
        if owner:
            row["user_id"] = owner
        if display_name:
            row["display_name"] = display_name
        data = self._call(
            lambda: (
                self.supabase.table("messaging_connections")
                .upsert(row, on_conflict="user_id,platform,account_identifier")
                .execute()
            )
        )
        return str(data[0]["id"])

    def add_connection(
        self,
        platform: str,
        account_identifier: str,
        *,
        secrets: dict[str, str],
        display_name: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """Creates (or re-keys) a webhook connection with its secrets; returns its id.

        The secrets go to a table the API never reads back (add_messaging_connection).
        """
        params: dict[str, Any] = {
            "platform": platform,
            "account_identifier": account_identifier,
            "display_name": display_name,
            "secrets": secrets,
            "user_id": user_id or self.user_id,
        }
        return str(self.rpc("add_messaging_connection", params))

    def connections(self) -> list[dict[str, Any]]:
        query = self.supabase.table("messaging_connections").select("*").order("platform")
        if self.user_id:
            query = query.eq("user_id", self.user_id)
        return list(self._call(lambda: query.execute()))

    # ------------------------------------------------------------ identifiers

    def sync_person_identifiers(self, *, region: str | None = None) -> dict[str, int]:
        """Fills person_identifiers from the CRM's people (phone, email), so matching works.

        Phones are normalised with phonenumbers (`region` for numbers without a country
        code); values that are no phone or email are counted as skipped, never guessed.
        """
        query = self.supabase.table("people").select("id, user_id, phone, email")
        if self.user_id:
            query = query.eq("user_id", self.user_id)
        rows: list[dict[str, Any]] = []
        skipped = 0
        for person in self._call(lambda: query.execute()):
            for kind, raw, norm in (
                ("phone", person.get("phone"), lambda v: normalize_phone(v, region)),
                ("email", person.get("email"), normalize_email),
            ):
                if not raw:
                    continue
                try:
                    value = norm(raw)
                except IdentifierError:
                    skipped += 1
                    continue
                rows.append(
                    {
                        "user_id": person["user_id"],
                        "person_id": person["id"],
                        "kind": kind,
                        "value": value,
                    }
                )
        added = 0
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            upsert = self.supabase.table("person_identifiers").upsert(
                chunk, on_conflict="person_id,kind,platform,value", ignore_duplicates=True
            )
            data = self._call(upsert.execute)
            added += len(data or [])
        return {"people_values": len(rows), "added": added, "skipped": skipped}

    # ------------------------------------------------------------------ reads

    def conversations(
        self, *, person_id: str | None = None, limit: int = 50
    ) -> list[ConversationSummary]:
        """The inbox (newest first), or one person's Messages tab."""
        query = (
            self.supabase.table("chat_conversation_list")
            .select("*")
            # the inbox index's order (user_id, last_message_at desc, id desc)
            .order("last_message_at", desc=True)
            .order("id", desc=True)
            .limit(limit)
        )
        if person_id:
            query = query.eq("person_id", person_id)
        if self.user_id:
            query = query.eq("user_id", self.user_id)
        return [ConversationSummary.model_validate(r) for r in self._call(query.execute)]

    def search(
        self,
        query: str,
        *,
        person_id: str | None = None,
        platform: str | None = None,
        sent_after: str | None = None,
        sent_before: str | None = None,
        direction: str | None = None,
        linked: bool | None = None,
        max_count: int = 50,
    ) -> list[SearchHit]:
        """Matching messages, best first, each with its conversation and a snippet; `linked`
        True or False keeps conversations linked to a person, or not linked."""
        params: dict[str, Any] = {"query": query, "max_count": max_count}
        for key, value in (
            ("person_id", person_id),
            ("platform", platform),
            ("sent_after", sent_after),
            ("sent_before", sent_before),
            ("direction", direction),
            ("linked", linked),
            ("user_id", self.user_id),
        ):
            if value is not None:
                params[key] = value
        return [SearchHit.model_validate(h) for h in self.rpc("search_messages", params)]

    def coverage(self, conversation_id: str) -> dict[str, Any]:
        """Where a conversation's history comes from: its sources with their spans and
        counts, the matched copies and the gaps (conversation_coverage, docs/contract.md
        "Coverage"). Another user's conversation, or none, is a MessagingError with code
        P0002 (conversation_not_found)."""
        try:
            uuid.UUID(conversation_id)
        except ValueError:
            raise InputError(
                f"conversation id {conversation_id!r} is not a UUID (see `crm-messaging conversations`)"
            ) from None
        result = self.rpc("conversation_coverage", {"conversation_id": conversation_id})
        return cast(dict[str, Any], result)

    def messages(
        self,
        conversation_id: str,
        *,
        before_sent_at: str | None = None,
        before_id: str | None = None,
        max_count: int = 50,
    ) -> list[StoredMessage]:
        """A page of a thread, newest first."""
        return [
            StoredMessage.model_validate(m)
            for m in self.rpc(
                "get_conversation_messages",
                {
                    "conversation_id": conversation_id,
                    "before_sent_at": before_sent_at,
                    "before_id": before_id,
                    "max_count": max_count,
                },
            )
        ]


def _seconds(value: str | None) -> float | None:
    """A Retry-After in seconds (the store sends a number of seconds), None otherwise."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 3600 else None
