"""What the reads return, as pydantic models: a conversation of the inbox, a stored message,
a search hit. The conversation is the row type `supabase gen types --lang python` wrote for
the chat_conversation_list view (db_types.py); a stored message has the keys docs/contract.md gives it
(the seed's, plus the optional ones that were sent), with the ingest model's vocabularies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from .db_types import PublicChatConversationList
from .models import Direction, MessageType, Platform


class ConversationSummary(PublicChatConversationList):
    """One conversation of the inbox or of a person's Messages tab (no messages)."""

    model_config = ConfigDict(frozen=True)


class StoredMessage(BaseModel):
    """A message as the store keeps it (hot row or archive); keys it does not name are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    direction: Direction
    type: MessageType
    content: str | None = None
    media_url: str | None = None
    sent_at: datetime
    edited_at: datetime | None = None
    sender_identifier: str | None = None
    sender_name: str | None = None
    reply_to_id: str | None = None
    metadata: dict[str, Any] | None = None


class SearchHit(BaseModel):
    """A message search_messages found, with its conversation; `snippet` wraps the match in [[ ]]."""

    model_config = ConfigDict(frozen=True)

    conversation_id: uuid.UUID
    platform: Platform
    participant_name: str | None = None
    person_id: uuid.UUID | None = None
    message: StoredMessage
    snippet: str | None = None
    rank: float
    #: "text", or "sender_name" when only the sender's name matched (ranked after the text hits)
    matched_in: str | None = None
