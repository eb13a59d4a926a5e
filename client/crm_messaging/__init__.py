"""crm-messaging: chats from WhatsApp, Signal, Telegram and WeChat in a Supabase CRM."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    CrmMessagingError,
    ExportFormatError,
    IdentifierError,
    InputError,
    MessagingError,
    SettingsError,
)

__version__ = "0.1.0"
__all__ = [
    "ConversationSummary",
    "CrmMessagingError",
    "ExportFormatError",
    "IdentifierError",
    "InputError",
    "MessagingClient",
    "MessagingError",
    "SearchHit",
    "SettingsError",
    "StoredMessage",
    "__version__",
]

if TYPE_CHECKING:
    from .client import MessagingClient
    from .reads import ConversationSummary, SearchHit, StoredMessage


def __getattr__(name: str) -> Any:
    # loaded on first use, so the importers and `--help` do not pay for supabase-py
    if name == "MessagingClient":
        from .client import MessagingClient

        return MessagingClient
    if name in ("ConversationSummary", "SearchHit", "StoredMessage"):
        from . import reads

        return getattr(reads, name)
    raise AttributeError(f"module 'crm_messaging' has no attribute {name!r}")
