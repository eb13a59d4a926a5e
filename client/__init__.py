"""crm-messaging: chats from WhatsApp, Signal, Telegram and WeChat in a Supabase CRM."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["ExportFormatError", "MessagingClient", "MessagingError", "__version__"]

if TYPE_CHECKING:
    from .client import MessagingClient
    from .errors import MessagingError
    from .importers import ExportFormatError


def __getattr__(name: str) -> Any:
    # loaded on first use, so the importers and `--help` do not pay for supabase-py
    if name == "MessagingClient":
        from .client import MessagingClient

        return MessagingClient
    if name == "MessagingError":
        from .errors import MessagingError

        return MessagingError
    if name == "ExportFormatError":
        from .importers import ExportFormatError

        return ExportFormatError
    raise AttributeError(f"module 'crm_messaging' has no attribute {name!r}")
