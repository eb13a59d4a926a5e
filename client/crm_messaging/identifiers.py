"""Phones to E.164, usernames lower-case without @, emails lower-case.

One rule, the same as the SQL function messaging_private.normalize_identifier (the cases
in tests/fixtures/phone_cases.json run through both):

- a WhatsApp JID (`34612345678@s.whatsapp.net`) is the phone `+34612345678`;
- a phone in international form, `+` or `00` then digits with spaces, dots, dashes,
  slashes or parentheses (a trunk `(0)` is dropped), is `+` and its digits, when those
  are 6 to 15 digits not starting with 0;
- anything else is not a phone: `612 34 56 78` has no country code and is refused, never
  guessed. Only the Python side can add one: `normalize_phone(value, region="ES")` reads a
  national number with `phonenumbers` (SQL has no region to go by).

Matching compares subscriber keys (`subscriber_key`, the same rule as the SQL function
messaging_private.subscriber_key; the cases in tests/fixtures/phone_variants.csv run
through both): the national spellings of one phone fold to one key. phonenumbers reads
national forms (Argentina's `011 15 2345-6789` is +54 9 11 2345 6789) and tells mobiles
from landlines, but it calls the older spellings invalid instead of mapping them, so the
folds are written here, as in SQL:

- Brazil: +55, a two-digit area, then 9 and eight digits starting 6-9 -> the eight digits
  (a mobile before the ninth digit; eight-digit landlines start 2-5 and never fold);
- Mexico: +52 1 and ten digits -> +52 and the ten digits (the mobile prefix dropped in 2019);
- Argentina: +54 9 and ten digits -> +54 and the ten digits (the mobile prefix).
"""

from __future__ import annotations

import re

import phonenumbers

from .errors import IdentifierError

#: what both sides trim (PostgreSQL's \s; Python's would also take Unicode spaces)
_WS = " \t\n\r\f\v"
_JID = re.compile(r"^[ \t\n\r\f\v]*\+?([0-9]{6,15})@(s\.whatsapp\.net|c\.us)[ \t\n\r\f\v]*$")
_INTERNATIONAL = re.compile(r"^[ \t\n\r\f\v]*(\+|00)[0-9 ().\-/]{6,24}[ \t\n\r\f\v]*$")
_E164_DIGITS = re.compile(r"^[1-9][0-9]{5,14}$")
_E164 = re.compile(r"^\+[1-9][0-9]{5,14}$")
_SERVICE_ID = re.compile(
    r"(?:[AaPp][CcNn][Ii]:)?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})"
)
#: the ids that are not phones (messaging_private.identifier_kinds), each with its form:
#: the value a fully matched form keeps (group 1, or the whole value); None when malformed
_ID_FORMS: dict[str, re.Pattern[str]] = {
    # a business-scoped user id: a country, a dot, alphanumerics (US.13491208655302741918)
    "whatsapp_user_id": re.compile(r"[A-Za-z]{2}\.[A-Za-z0-9]{1,128}"),
    # a parent business-scoped user id: ENT between them (US.ENT.11815799212886844830)
    "whatsapp_parent_user_id": re.compile(r"[A-Za-z]{2}\.[Ee][Nn][Tt]\.[A-Za-z0-9]{1,128}"),
    # a linked-device id of msgstore.db (jid 123456789012345@lid)
    "whatsapp_lid": re.compile(r"([0-9]{1,24})(@lid)?"),
    # a numeric user id (Telegram Desktop exports write user123456789)
    "telegram_user_id": re.compile(r"(?:user)?([1-9][0-9]{0,19})"),
    # a service id: a UUID, bare or with its ACI: / PNI: prefix (checked below)
    "signal_aci": _SERVICE_ID,
    "signal_pni": _SERVICE_ID,
    # an official account's openid of a follower: case matters
    "wechat_openid": re.compile(r"([A-Za-z0-9_-]{6,64})"),
}
#: how many leading characters of a WhatsApp id are upper-cased (the country, and ENT)
_ID_UPPER = {"whatsapp_user_id": 2, "whatsapp_parent_user_id": 6}

#: (pattern, replacement) of each fold, in messaging_private.subscriber_key's order
_FOLDS = (
    (re.compile(r"^\+55([1-9][1-9])9([6-9][0-9]{7})$"), r"+55\1\2"),  # Brazil's ninth digit
    (re.compile(r"^\+521([0-9]{10})$"), r"+52\1"),  # Mexico's 52 1
    (re.compile(r"^\+549([0-9]{10})$"), r"+54\1"),  # Argentina's 54 9
)


def _international(value: str) -> str | None:
    """`+digits` for a JID or a phone written in international form, else None."""
    jid = _JID.match(value)
    if jid:
        return "+" + jid.group(1)
    if not _INTERNATIONAL.match(value):
        return None
    digits = re.sub(r"[^0-9]", "", re.sub(r"^00", "", value.strip(_WS).replace("(0)", "")))
    return "+" + digits if _E164_DIGITS.match(digits) else None


def normalize_phone(value: str, region: str | None = None) -> str:
    """E.164 for a phone in international form; `region` (e.g. "ES") reads a national one."""
    found = _international(value)
    if found:
        return found
    text = value.strip()
    if region and not text.startswith(("+", "00")) and re.search(r"\d", text):
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException as exc:
            raise IdentifierError(f"{value!r} is not a phone number") from exc
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        raise IdentifierError(f"{value!r} is not a possible phone number in {region}")
    if text.startswith(("+", "00")):
        raise IdentifierError(f"{value!r} is not a phone number (6 to 15 digits after the +)")
    raise IdentifierError(
        f"{value!r} is not a phone number in international form (no country code: pass a region)"
    )


def normalize_username(value: str) -> str:
    name = re.sub(r"^@+", "", value.strip()).lower()
    if not name:
        raise IdentifierError(f"{value!r} is not a username")
    return name


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if "@" not in email:
        raise IdentifierError(f"{value!r} is not an email address")
    return email


def looks_like_phone(value: str) -> bool:
    return bool(_JID.match(value)) or bool(_INTERNATIONAL.match(value))


def normalize_identifier(kind: str, value: str | None) -> str | None:
    """What messaging_private.normalize_identifier(kind, value) returns, computed here.

    `kind` is phone, username, email, or any (a chat participant: a phone when it is one,
    else a username), or one of the ids that are not phones (whatsapp_user_id,
    whatsapp_parent_user_id, whatsapp_lid, telegram_user_id, signal_aci, signal_pni,
    wechat_openid: None when malformed). None for an empty value and for a phone that is
    not one.
    """
    if value is None or not value.strip(_WS):
        return None
    if kind == "email":
        return value.strip(_WS).lower()
    if kind in _ID_FORMS:
        return _normalize_id(kind, value.strip(_WS))
    if kind in ("phone", "any"):
        phone = _international(value)
        if phone or kind == "phone":
            return phone
    return re.sub(r"^@+", "", value.strip(_WS)).lower()


def _normalize_id(kind: str, value: str) -> str | None:
    """An id that is not a phone in its stored form, or None when it is malformed."""
    m = _ID_FORMS[kind].fullmatch(value)
    if m is None:
        return None
    if kind in _ID_UPPER:
        n = _ID_UPPER[kind]
        return value[:n].upper() + value[n:]
    if kind.startswith("signal_"):
        # a prefix, when written, must name this kind (ACI: for signal_aci, PNI: for signal_pni)
        if ":" in value and value[:4].upper() != kind[7:].upper() + ":":
            return None
        return m.group(1).lower()
    return m.group(1)


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


def fold_phone(e164: str) -> str:
    """The subscriber key of a phone in E.164: its national variants folded (see above)."""
    if not _E164.match(e164):
        return e164
    for pattern, replacement in _FOLDS:
        if pattern.match(e164):
            return pattern.sub(replacement, e164)
    return e164


def subscriber_key(value: str | None, region: str | None = None) -> str | None:
    """The key an identifier is matched by: messaging_private.subscriber_key, computed here.

    A phone (a JID, an international form, or with `region` a national one read by
    phonenumbers, such as Argentina's `15` form) is normalised and folded; anything else is
    its normalised self (a username). None for an empty value. A national number that is no
    phone of `region` raises IdentifierError.
    """
    if value is None or not value.strip(_WS):
        return None
    phone = _international(value)
    if phone is None and region and re.fullmatch(r"[0-9 ().\-/]+", value.strip(_WS)):
        phone = normalize_phone(value, region)
    if phone is None:
        return normalize_identifier("any", value)
    return fold_phone(phone)
