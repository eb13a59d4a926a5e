"""Phones to E.164, usernames lower-case without @, emails lower-case (as the SQL does)."""

from __future__ import annotations

import re

import phonenumbers

_JID = re.compile(r"^\s*\+?(\d{6,15})@(s\.whatsapp\.net|c\.us)\s*$")


class IdentifierError(ValueError):
    """A value that is not the identifier it claims to be."""


def normalize_phone(value: str, region: str | None = None) -> str:
    """E.164 for a phone written any common way; `region` (e.g. "ES") for local numbers."""
    jid = _JID.match(value)
    if jid:
        value = "+" + jid.group(1)
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else (region or None))
    except phonenumbers.NumberParseException as exc:
        hint = "" if text.startswith("+") or region else " (no country code: pass a region)"
        raise IdentifierError(f"{value!r} is not a phone number{hint}") from exc
    if not phonenumbers.is_possible_number(number):
        raise IdentifierError(f"{value!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_username(value: str) -> str:
    name = value.strip().lstrip("@").lower()
    if not name:
        raise IdentifierError(f"{value!r} is not a username")
    return name


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if "@" not in email:
        raise IdentifierError(f"{value!r} is not an email address")
    return email


def looks_like_phone(value: str) -> bool:
    return bool(_JID.match(value)) or bool(re.fullmatch(r"\s*(\+|00)[\d\s().\-]{6,24}\s*", value))


def normalize_participant(value: str | None, region: str | None = None) -> str | None:
    """A chat participant: a phone when it looks like one, else a username."""
    if value is None or not value.strip():
        return None
    if looks_like_phone(value):
        try:
            return normalize_phone(value, region)
        except IdentifierError:
            pass
    return normalize_username(value)
