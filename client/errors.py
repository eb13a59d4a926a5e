"""One error type for everything the store refuses, keeping PostgREST's fields."""

from __future__ import annotations

from typing import Any

from postgrest.exceptions import APIError


class MessagingError(Exception):
    """A refusal or failure, with PostgREST's code, message, details and hint.

    `code` is the SQLSTATE (22023 bad input, 42501 not allowed, ...) or PostgREST's own
    code (PGRST301 bad token); `code` "transport" marks a network failure.
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

    @classmethod
    def from_api_error(cls, err: APIError) -> MessagingError:
        return cls(err.message or str(err), code=err.code, details=err.details, hint=err.hint)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}" if self.code else self.message
        return f"{text} ({self.hint})" if self.hint else text
