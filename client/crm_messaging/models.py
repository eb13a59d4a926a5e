"""Pydantic models at the boundary: what ingest_messages accepts and returns.

They check the rules messaging_private.payload_errors checks, with the limits and lengths
the database publishes (contract.json, from public.messaging_contract()), so a bad import is
refused before anything is sent, with every problem named by path at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .contract import contract
from .db_types import (
    PublicConversationType,
    PublicMessageDirection,
    PublicMessageType,
    PublicMessagingPlatform,
)
from .errors import InputError

# The vocabulary is defined once, as enum types in the database (migration
# messaging_vocabulary); these are the generated row types' Literals of them.
Platform = PublicMessagingPlatform
MessageType = PublicMessageType
Direction = PublicMessageDirection
ConversationType = PublicConversationType

_CONTRACT = contract()
#: most messages in one ingest_messages call
MAX_BATCH = _CONTRACT.limit("messages_per_call")
#: the earliest sent_at / edited_at, and how far past now they may be
EARLIEST = datetime.fromtimestamp(_CONTRACT.limit("earliest_epoch_seconds"), tz=timezone.utc)
FUTURE = timedelta(seconds=_CONTRACT.limit("future_seconds"))
#: the deepest metadata may nest (the metadata object itself is level 1)
MAX_METADATA_DEPTH = _CONTRACT.limit("metadata_max_depth")
#: the most characters of metadata's JSON text (as the database prints it)
MAX_METADATA_LENGTH = _CONTRACT.max_length("metadata")


def _length(field: str) -> int:
    return _CONTRACT.max_length(field)


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} needs a UTC offset (convert local times with --tz)")
    if value < EARLIEST:
        raise ValueError(f"{field} is before {EARLIEST:%Y-%m-%d}")
    if value > datetime.now(timezone.utc) + FUTURE:
        raise ValueError(f"{field} is more than {FUTURE} in the future")
    return value


def json_text_length(value: Any) -> int:
    """Characters of a JSON value's text as PostgreSQL's jsonb prints it (", " and ": ")."""
    return len(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")))


def json_depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value (a scalar is 0, {} is 1), counted without recursion and
    stopping once past `limit`, so a hostile 10,000-level value costs nothing."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth) for child in children)
    return deepest


class Message(BaseModel):
    """One chat message as ingest_messages takes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: Platform
    external_conversation_id: str = Field(
        min_length=1, max_length=_length("external_conversation_id")
    )
    id: str = Field(min_length=1, max_length=_length("id"))
    direction: Direction
    type: MessageType = "text"
    content: str | None = Field(default=None, max_length=_length("content"))
    media_url: str | None = Field(default=None, max_length=_length("media_url"))
    sent_at: datetime
    edited_at: datetime | None = None
    participant_identifier: str | None = Field(
        default=None, max_length=_length("participant_identifier")
    )
    participant_name: str | None = Field(default=None, max_length=_length("participant_name"))
    conversation_type: ConversationType | None = None
    sender_identifier: str | None = Field(default=None, max_length=_length("sender_identifier"))
    sender_name: str | None = Field(default=None, max_length=_length("sender_name"))
    reply_to_id: str | None = Field(default=None, max_length=_length("reply_to_id"))
    metadata: dict[str, Any] | None = None
    #: the other party's ids by kind (docs/contract.md, identity aliases): a direct
    #: conversation's aliases, e.g. {"telegram_user_id": "123", "username": "ana"}
    participant_ids: dict[str, str | list[str]] | None = None

    @field_validator("sent_at")
    @classmethod
    def _sent_at(cls, v: datetime) -> datetime:
        return _aware(v, "sent_at")

    @field_validator("edited_at")
    @classmethod
    def _edited_at(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        if v is None:
            return None
        _aware(v, "edited_at")
        sent = info.data.get("sent_at")
        if sent is not None and v < sent:
            raise ValueError(
                f"edited_at {v.isoformat()} is earlier than sent_at {sent.isoformat()}"
            )
        return v

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_depth(cls, v: Any) -> Any:
        if v is not None and json_depth(v, MAX_METADATA_DEPTH) > MAX_METADATA_DEPTH:
            raise ValueError(f"nested deeper than {MAX_METADATA_DEPTH} levels")
        return v

    @field_validator("metadata")
    @classmethod
    def _metadata_length(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and json_text_length(v) > MAX_METADATA_LENGTH:
            raise ValueError(f"longer than {MAX_METADATA_LENGTH} characters as JSON")
        return v

    @field_validator("id", "external_conversation_id")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator(
        "content", "participant_name", "sender_name", "sender_identifier", "participant_identifier"
    )
    @classmethod
    def _no_nul(cls, v: str | None) -> str | None:
        # PostgreSQL refuses \u0000 in JSON; drop it rather than lose the message
        return v.replace("\x00", "") if v is not None else v

    def to_payload(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_none=True)
        data.setdefault("content", None)
        return data


class ConversationResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    platform: str
    external_conversation_id: str
    created: bool
    inserted: int
    duplicates: int
    updated: int = 0
    #: messages met by their other copy (an export's and the live one), counted in duplicates
    matched: int = 0
    person_id: str | None = None
    message_count: int


class RefusedConversation(BaseModel):
    """A conversation the server refused: its messages were not stored, the rest were."""

    model_config = ConfigDict(extra="ignore")

    platform: str
    external_conversation_id: str
    messages: int
    code: str | None = None
    reason: str

    def __str__(self) -> str:
        code = f"{self.code}: " if self.code else ""
        return (
            f"{self.platform}:{self.external_conversation_id} ({self.messages} message(s)"
            f" not stored): {code}{self.reason}"
        )


class IngestSummary(BaseModel):
    """The summary ingest returns; `merge` adds up the batches of one import.

    `refused` names the conversations the server refused (the client isolates them, so
    the rest of an import is stored); it is empty when everything was stored.
    """

    inserted: int = 0
    duplicates: int = 0
    updated: int = 0
    #: of the duplicates, those that were the other copy (export or live) of a stored message
    matched: int = 0
    conversations: list[ConversationResult] = Field(default_factory=list)
    refused: list[RefusedConversation] = Field(default_factory=list)

    def merge(self, other: IngestSummary) -> IngestSummary:
        by_id = {c.id: c for c in self.conversations}
        for c in other.conversations:
            if c.id in by_id:
                prev = by_id[c.id]
                by_id[c.id] = prev.model_copy(update={
                    "created": prev.created or c.created,
                    "inserted": prev.inserted + c.inserted,
                    "duplicates": prev.duplicates + c.duplicates,
                    "updated": prev.updated + c.updated,
                    "matched": prev.matched + c.matched,
                    "person_id": c.person_id,
                    "message_count": c.message_count,
                })  # fmt: skip
            else:
                by_id[c.id] = c
        refused = {(r.platform, r.external_conversation_id): r for r in self.refused}
        for r in other.refused:
            key = (r.platform, r.external_conversation_id)
            if key in refused:
                refused[key] = refused[key].model_copy(
                    update={"messages": refused[key].messages + r.messages}
                )
            else:
                refused[key] = r
        return IngestSummary(
            inserted=self.inserted + other.inserted,
            duplicates=self.duplicates + other.duplicates,
            updated=self.updated + other.updated,
            matched=self.matched + other.matched,
            conversations=list(by_id.values()),
            refused=list(refused.values()),
        )


def _checked(items: Iterable[dict[str, Any] | Message], problems: list[str]) -> Iterator[Message]:
    """The valid messages of `items`; the problems of the others are appended to `problems`."""
    for i, item in enumerate(items):
        if isinstance(item, Message):
            yield item
            continue
        try:
            yield Message.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                path = ".".join(str(p) for p in err["loc"])
                problems.append(f"messages[{i}].{path}: {err['msg']}")


def _raise_problems(problems: list[str]) -> None:
    if problems:
        more = f"; and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise InputError(
            f"invalid messages, {len(problems)} problem(s): " + "; ".join(problems[:50]) + more
        )


def validate_messages(items: Iterable[dict[str, Any] | Message]) -> list[Message]:
    """Every message validated; raises InputError naming every problem by path at once."""
    problems: list[str] = []
    out = list(_checked(items, problems))
    _raise_problems(problems)
    return out


def count_valid_messages(items: Iterable[dict[str, Any] | Message]) -> int:
    """Validates a stream without keeping it: the count, or InputError naming every problem."""
    problems: list[str] = []
    count = sum(1 for _ in _checked(items, problems))
    _raise_problems(problems)
    return count


def validate_stream(items: Iterable[dict[str, Any] | Message]) -> Iterator[Message]:
    """Messages of a stream already checked by count_valid_messages, validated as they come."""
    for item in items:
        yield item if isinstance(item, Message) else Message.model_validate(item)
