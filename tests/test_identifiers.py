"""Phone and username normalisation across countries."""

import pytest

from crm_messaging.identifiers import (
    IdentifierError,
    normalize_participant,
    normalize_phone,
    normalize_username,
)


@pytest.mark.parametrize(
    "raw, region, e164",
    [
        ("+34 612 34 56 78", None, "+34612345678"),
        ("34612345678@s.whatsapp.net", None, "+34612345678"),
        ("+55 11 91234-5678", None, "+5511912345678"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("07700 900123", "GB", "+447700900123"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("0049 151 23456789", None, "+4915123456789"),
        ("138 0013 8000", "CN", "+8613800138000"),
    ],
)
def test_phones_become_e164(raw, region, e164):
    assert normalize_phone(raw, region) == e164


def test_a_local_number_without_region_is_refused():
    with pytest.raises(IdentifierError, match="region"):
        normalize_phone("612 34 56 78")


def test_usernames_and_participants():
    assert normalize_username("@JoaoSilva") == "joaosilva"
    assert normalize_participant("+34 612 34 56 78") == "+34612345678"
    assert normalize_participant("wxid_LiWei88") == "wxid_liwei88"
    assert normalize_participant("  ") is None
