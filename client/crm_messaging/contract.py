"""The contract the database publishes as data, read from contract.json.

`public.messaging_contract()` (supabase/schemas/25_published_contract.sql) returns the limits, the payload
field rules, the keys of a stored message, the platforms with their webhook secrets, the
delivery statuses, the refusal kinds and the webhook URL form; `make types` writes it next
to this module and `make test` fails when it is stale. The models, the CLI and the client
read these values instead of restating them (docs/contract.md).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Limit(_Row):
    value: int
    unit: str
    description: str


class FieldRule(_Row):
    scope: Literal["payload", "message"]
    field: str
    kind: Literal["uuid", "enum", "text", "timestamp", "object", "array"]
    required: bool
    max_length: int | None = None
    vocabulary: str | None = None
    values: list[str] | None = None
    description: str


class StoredKey(_Row):
    key: str
    always: bool
    type: str
    description: str


class Secret(_Row):
    name: str
    pattern: str | None = None
    max_length: int
    description: str
    #: platform: the user pastes it in (an app secret); store: create and rotate generate it
    issued_by: Literal["platform", "store"]

    @property
    def option(self) -> str:
        """The `connections add` option that gives it: app_secret -> --app-secret."""
        return "--" + self.name.replace("_", "-")


class PlatformInfo(_Row):
    platform: str
    label: str | None = None
    description: str | None = None
    secrets: list[Secret]


class ConnectionStatus(_Row):
    status: str
    #: a user may set it (pause, resume)
    settable: bool
    #: deliveries to a connection in this status are stored (else answered and dropped)
    stores: bool
    description: str


class DeliveryStatus(_Row):
    status: str
    rank: int
    description: str


class RefusalKind(_Row):
    kind: str
    sqlstate: str
    #: call: every call of this caller would be refused alike; conversation: the content of one
    scope: Literal["call", "conversation"]
    advice: str
    description: str


class Contract(_Row):
    limits: dict[str, Limit]
    payload_fields: list[FieldRule]
    stored_message: list[StoredKey]
    platforms: list[PlatformInfo]
    connection_statuses: list[ConnectionStatus]
    delivery_statuses: list[DeliveryStatus]
    refusals: list[RefusalKind]
    webhook_url: str

    def limit(self, name: str) -> int:
        return self.limits[name].value

    def field(self, scope: Literal["payload", "message"], name: str) -> FieldRule:
        for rule in self.payload_fields:
            if rule.scope == scope and rule.field == name:
                return rule
        raise KeyError(f"{scope}.{name}")

    def max_length(self, name: str) -> int:
        """The most characters a message field may hold (its JSON text, for metadata)."""
        length = self.field("message", name).max_length
        if length is None:
            raise KeyError(f"message.{name} has no length limit")
        return length

    def platform(self, name: str) -> PlatformInfo:
        for p in self.platforms:
            if p.platform == name:
                return p
        raise KeyError(name)

    def connection_status(self, status: str) -> ConnectionStatus:
        for s in self.connection_statuses:
            if s.status == status:
                return s
        raise KeyError(status)

    def refusal(self, kind: str | None) -> RefusalKind | None:
        """The refusal kind an error's hint names, or None (not a refusal of the store)."""
        return next((r for r in self.refusals if r.kind == kind), None) if kind else None

    def webhook(self, *, functions_url: str, platform: str, connection_id: str) -> str:
        return self.webhook_url.format(
            functions_url=functions_url.rstrip("/"), platform=platform, connection_id=connection_id
        )


def parse_contract(data: dict[str, Any]) -> Contract:
    """A contract from the JSON public.messaging_contract() returns."""
    return Contract.model_validate(data)


@cache
def contract() -> Contract:
    """The contract this package was generated against (contract.json)."""
    text = files("crm_messaging").joinpath("contract.json").read_text(encoding="utf-8")
    return parse_contract(json.loads(text))
