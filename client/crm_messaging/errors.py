"""The package's errors: one family under CrmMessagingError, so a caller can catch them all.

- InputError (also a ValueError): bad input refused before anything is sent, named, nothing
  written. ExportFormatError (an export file) and IdentifierError (a phone, username or
  email) are its kinds. The CLI exits 2.
- SettingsError: the environment names no usable Supabase project. The CLI exits 1.
- MessagingError: what the API refused or a transport failure, with PostgREST's code,
  message, details and hint. A refusal of the store names its kind in `hint` (`kind`; the
  kinds are in the published contract, contract.json). The CLI exits 1.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postgrest.exceptions import APIError

    from .contract import RefusalKind


class CrmMessagingError(Exception):
    """Base of every error crm_messaging raises."""


class InputError(CrmMessagingError, ValueError):
    """Bad input, refused before anything is sent: the message names what is wrong."""


class ExportFormatError(InputError):
    """The file is missing, unreadable, or not the export it should be."""


class IdentifierError(InputError):
    """A value that is not the identifier it claims to be."""


class SettingsError(CrmMessagingError):
    """The environment does not name a usable Supabase project."""


class MessagingError(CrmMessagingError):
    """A refusal or failure, with PostgREST's code, message, details and hint.

    `code` is the SQLSTATE (22023 bad input, 42501 not allowed, 53400 with kind
    too_many_requests: more requests of this user at once than the database lets run, HTTP
    429) or PostgREST's own code (PGRST301 bad token); `code` "transport" marks a network
    failure. `retry_after`: the seconds a 429 asked to wait (None for other errors).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details
        self.hint = hint
        self.retry_after: float | None = None

    @classmethod
    def from_api_error(cls, err: APIError) -> MessagingError:
        return cls(err.message or str(err), code=err.code, details=err.details, hint=err.hint)

    @property
    def refusal(self) -> RefusalKind | None:
        """The store's refusal kind this error carries in `hint` (None: not a refusal of it)."""
        from .contract import contract

        return contract().refusal(self.hint)

    @property
    def kind(self) -> str | None:
        refusal = self.refusal
        return refusal.kind if refusal else None

    def stops_import(self, stopping_codes: Collection[str]) -> bool:
        """Whether every call would be refused alike (stop) rather than one conversation.

        By the refusal kind's scope; without a kind (PostgreSQL's or PostgREST's own errors),
        by code: a bad token or the network stops, and so does a missing privilege (42501)."""
        refusal = self.refusal
        if refusal is not None:
            return refusal.scope == "call"
        return self.code in stopping_codes or self.code == "42501"

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}" if self.code else self.message
        refusal = self.refusal
        if refusal is not None:
            return f"{text} ({refusal.advice} [{refusal.kind}])"
        return f"{text} ({self.hint})" if self.hint else text
