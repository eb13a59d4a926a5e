"""Phone and username normalisation: one rule in SQL and Python, one table of cases."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_messaging.identifiers import (
    IdentifierError,
    normalize_identifier,
    normalize_participant,
    normalize_phone,
    normalize_username,
)

CASES = json.loads((Path(__file__).parent / "fixtures" / "phone_cases.json").read_text())["cases"]
CASE_IDS = [f"{c['kind']}:{c['value']}" for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_python_follows_the_shared_rule(case):
    assert normalize_identifier(case["kind"], case["value"]) == case["expected"]


def test_sql_follows_the_shared_rule(db):
    rows = db.execute(
        "select c.ord, messaging_private.normalize_identifier(c.e->>'kind', c.e->>'value')"
        " from jsonb_array_elements(%s::jsonb) with ordinality as c(e, ord) order by c.ord",
        (json.dumps(CASES),),
    ).fetchall()
    got = {CASE_IDS[n - 1]: value for n, value in rows}
    assert got == {i: c["expected"] for i, c in zip(CASE_IDS, CASES, strict=True)}


def test_a_local_number_is_refused_in_sql_as_in_python(make_user):
    alice = make_user("alice")
    person = alice.client.table("people").insert({"full_name": "Local"}).execute().data[0]
    with pytest.raises(Exception, match="international form"):
        alice.client.table("person_identifiers").insert(
            {"person_id": person["id"], "kind": "phone", "value": "612 34 56 78"}
        ).execute()
    with pytest.raises(IdentifierError, match="region"):
        normalize_phone("612 34 56 78")


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
        ("612 34 56 78", "ES", "+34612345678"),
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


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["phone", "any", "username", "email"]),
    st.text(alphabet="+0123456789 ().-/@0_aZ\t", max_size=28)
    | st.builds(lambda d: d + "@s.whatsapp.net", st.text(alphabet="+0123456789", max_size=17)),
)
def test_sql_and_python_agree_on_any_value(db, kind, value):
    (sql,) = db.execute(
        "select messaging_private.normalize_identifier(%s, %s)", (kind, value)
    ).fetchone()
    assert normalize_identifier(kind, value) == sql
