"""Phone and username normalisation: one rule in SQL and Python, one table of cases."""

import csv
import json
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from postgrest.exceptions import APIError

from crm_messaging.identifiers import (
    IdentifierError,
    normalize_identifier,
    normalize_participant,
    normalize_phone,
    normalize_username,
    subscriber_key,
)

from .helpers import msg

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


ID_KINDS = [
    "whatsapp_user_id",
    "whatsapp_parent_user_id",
    "whatsapp_lid",
    "telegram_user_id",
    "signal_aci",
    "signal_pni",
    "wechat_openid",
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ID_KINDS),
    st.text(alphabet="0123456789abcdefABCDEF.-_:@ \nuserUSENTlidpnPNIé", max_size=40)
    | st.uuids()
    .map(str)
    .flatmap(lambda u: st.sampled_from(["", "ACI:", "PNI:", "aci:", "XYZ:"]).map(lambda p: p + u))
    | st.from_regex(r"[A-Za-z]{2}\.([Ee][Nn][Tt]\.)?[A-Za-z0-9]{1,20}", fullmatch=True),
)
def test_sql_and_python_agree_on_ids_that_are_not_phones(db, kind, value):
    (sql,) = db.execute(
        "select messaging_private.normalize_identifier(%s, %s)", (kind, value)
    ).fetchone()
    assert normalize_identifier(kind, value) == sql


# ---------------------------------------------------------------------------------------
# Subscriber keys: one table of cases (tests/fixtures/phone_variants.csv) for both sides
# ---------------------------------------------------------------------------------------

with (Path(__file__).parent / "fixtures" / "phone_variants.csv").open(encoding="utf-8") as _f:
    VARIANTS = list(csv.DictReader(_f))
BY_INPUT = {row["input"]: row for row in VARIANTS}
LINKS = [(r["input"], r["should_link_with"]) for r in VARIANTS if r["should_link_with"]]
NEVER = [(r["input"], r["never_link_with"]) for r in VARIANTS if r["never_link_with"]]


def _region(value: str) -> str | None:
    row = BY_INPUT.get(value)
    return (row["region"] or None) if row else None


def _stored(value: str) -> str:
    """What a client sends for a value of the table: E.164 for a national one (SQL has no
    region), else the value as spelled (the database normalises it)."""
    region = _region(value)
    return normalize_phone(value, region) if region else value


def test_the_table_names_only_its_own_inputs_and_covers_both_directions():
    for a, b in LINKS + NEVER:
        assert b in BY_INPUT, f"{a} -> {b}: {b} is no input of the table"
    for _a, b in LINKS:
        assert BY_INPUT[b]["should_link_with"], f"{b} has no link back (both directions)"
    assert len(NEVER) >= 8


@pytest.mark.parametrize("row", VARIANTS, ids=[r["input"] for r in VARIANTS])
def test_python_subscriber_key_follows_the_table(row):
    assert subscriber_key(row["input"], row["region"] or None) == row["key"], row["note"]


def test_sql_subscriber_key_follows_the_table(db):
    rows = [r for r in VARIANTS if not r["region"]]
    got = db.execute(
        "select c.e->>'input', messaging_private.subscriber_key("
        "messaging_private.normalize_identifier('any', c.e->>'input'))"
        " from jsonb_array_elements(%s::jsonb) c(e)",
        (json.dumps(rows),),
    ).fetchall()
    assert dict(got) == {r["input"]: r["key"] for r in rows}
    # the national rows, as a client sends them (E.164 read with their region)
    for r in VARIANTS:
        if r["region"]:
            (key,) = db.execute(
                "select messaging_private.subscriber_key(messaging_private.normalize_identifier('phone', %s))",
                (_stored(r["input"]),),
            ).fetchone()
            assert key == r["key"], r["note"]


@pytest.mark.parametrize("pair", LINKS + NEVER, ids=[f"{a}~{b}" for a, b in LINKS + NEVER])
def test_linked_pairs_share_a_key_and_the_others_never(pair):
    a, b = pair
    same = subscriber_key(a, _region(a)) == subscriber_key(b, _region(b))
    assert same == (pair in LINKS)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\+(55[1-9][1-9]9?|521?|549?|34|1)[0-9]{6,10}", fullmatch=True))
def test_sql_and_python_fold_any_phone_alike(db, phone):
    (sql,) = db.execute("select messaging_private.subscriber_key(%s)", (phone,)).fetchone()
    assert subscriber_key(phone) == sql


def test_phonenumbers_agrees_which_brazilian_numbers_are_mobiles():
    # the fold is written by hand (phonenumbers calls the eight-digit mobile invalid rather
    # than mapping it), but which numbers are mobiles is its metadata's answer
    for row in VARIANTS:
        if not row["key"].startswith("+55") or row["region"]:
            continue
        number = phonenumbers.parse(
            _stored(row["input"]) if "@" not in row["input"] else row["key"]
        )
        kind = phonenumbers.number_type(number)
        if "landline" in row["note"]:
            assert kind == phonenumbers.PhoneNumberType.FIXED_LINE, row["note"]
        elif row["key"] != normalize_identifier("any", row["input"]):
            # folded: the spelling with the ninth digit is a mobile in phonenumbers' metadata
            nine = phonenumbers.parse("+55" + row["key"][3:5] + "9" + row["key"][5:])
            assert phonenumbers.number_type(nine) == phonenumbers.PhoneNumberType.MOBILE, row[
                "note"
            ]


def _kind(value: str) -> str:
    return "phone" if normalize_identifier("phone", _stored(value)) else "username"


@pytest.mark.parametrize("pair", LINKS + NEVER, ids=[f"{a}~{b}" for a, b in LINKS + NEVER])
def test_a_conversation_links_to_the_person_of_a_variant_and_never_to_a_suffix(make_user, pair):
    a, b = pair
    should = pair in LINKS
    # at ingest: the person has a, the conversation arrives from b
    user = make_user("fold")
    person = user.client.table("people").insert({"full_name": a}).execute().data[0]["id"]
    user.client.table("person_identifiers").insert(
        {"person_id": person, "kind": _kind(a), "value": _stored(a)}
    ).execute()
    out = (
        user.client.rpc(
            "ingest_messages",
            {"payload": {"messages": [msg("c1", participant_identifier=_stored(b))]}},
        )
        .execute()
        .data
    )
    assert out["conversations"][0]["person_id"] == (person if should else None)
    # afterwards: the conversation from b exists first, then the person gains a
    later = make_user("fold")
    conv = (
        later.client.rpc(
            "ingest_messages",
            {"payload": {"messages": [msg("c2", participant_identifier=_stored(b))]}},
        )
        .execute()
        .data["conversations"][0]
    )
    assert conv["person_id"] is None
    someone = later.client.table("people").insert({"full_name": a}).execute().data[0]["id"]
    later.client.table("person_identifiers").insert(
        {"person_id": someone, "kind": _kind(a), "value": _stored(a)}
    ).execute()
    row = (
        later.client.table("chat_conversations").select("person_id").eq("id", conv["id"]).execute()
    )
    assert row.data[0]["person_id"] == (someone if should else None)


def test_an_identifier_keeps_its_spelling_and_stores_its_key(make_user):
    user = make_user("fold")
    person = user.client.table("people").insert({"full_name": "Ana"}).execute().data[0]["id"]
    row = (
        user.client.table("person_identifiers")
        .insert({"person_id": person, "kind": "phone", "value": "+55 11 98765-4321"})
        .execute()
        .data[0]
    )
    assert (row["value"], row["match_key"]) == ("+5511987654321", "+551187654321")


# ---------------------------------------------------------------------------------------
# Linking from the screens records the participant's identifier
# ---------------------------------------------------------------------------------------


def _conversations(client, *specs):
    messages = [
        msg(conv, platform=platform, participant_identifier=who, participant_name="Cliente")
        for conv, platform, who in specs
    ]
    out = client.rpc("ingest_messages", {"payload": {"messages": messages}}).execute().data
    return {(c["platform"], c["external_conversation_id"]): c["id"] for c in out["conversations"]}


def test_linking_records_the_phone_and_links_every_variant_at_once(make_user, db):
    alice = make_user("alice")
    ids = _conversations(
        alice.client,
        ("wa1", "whatsapp", "551187654321@s.whatsapp.net"),
        ("sig1", "signal", "+55 11 98765-4321"),
        ("wa2", "whatsapp", "+55 11 3265-4321"),
    )
    person = alice.client.table("people").insert({"full_name": "Ana Souza"}).execute().data[0]["id"]
    out = (
        alice.client.rpc(
            "link_conversation_to_person",
            {"conversation_id": ids[("whatsapp", "wa1")], "person_id": person},
        )
        .execute()
        .data
    )
    assert out["identifier"] == {"kind": "phone", "platform": None, "value": "+551187654321"}
    assert out["person_conversations"] == 2
    linked = {
        r["external_conversation_id"]: r["person_id"]
        for r in alice.client.table("chat_conversations")
        .select("external_conversation_id, person_id")
        .execute()
        .data
    }
    assert linked == {"wa1": person, "sig1": person, "wa2": None}
    # a retry records nothing twice
    alice.client.rpc(
        "link_conversation_to_person",
        {"conversation_id": ids[("whatsapp", "wa1")], "person_id": person},
    ).execute()
    (count,) = db.execute(
        "select count(*) from person_identifiers where person_id = %s", (person,)
    ).fetchone()
    assert count == 1


def test_a_name_and_username_ending_in_v_keep_their_v(make_user):
    """PostgreSQL reads E'\\v' as a plain v: the trimmed whitespace held the letter v, so
    "Vlad" became "lad" and "@olav" "ola" (fixed: the vertical tab is written \\x0b)."""
    alice = make_user("alice")
    ids = _conversations(alice.client, ("tgv", "telegram", "@olav"))
    out = (
        alice.client.rpc(
            "create_person_from_conversation",
            {"conversation_id": ids[("telegram", "tgv")], "full_name": " Vlad Ivanov\v"},
        )
        .execute()
        .data
    )
    assert out["full_name"] == "Vlad Ivanov"
    assert out["identifier"] == {"kind": "username", "platform": "telegram", "value": "olav"}


def test_creating_a_person_from_a_telegram_chat_records_the_username(make_user, db):
    alice = make_user("alice")
    ids = _conversations(
        alice.client,
        ("tg1", "telegram", "@Ana_T"),
        ("tg2", "telegram", "ana_t"),
        ("wa9", "whatsapp", "ana_t"),
    )
    out = (
        alice.client.rpc(
            "create_person_from_conversation",
            {"conversation_id": ids[("telegram", "tg1")], "full_name": "  Ana T  "},
        )
        .execute()
        .data
    )
    assert out["created"] is True and out["full_name"] == "Ana T"
    assert out["identifier"] == {"kind": "username", "platform": "telegram", "value": "ana_t"}
    rows = (
        alice.client.table("chat_conversations")
        .select("external_conversation_id, person_id")
        .execute()
    )
    linked = {r["external_conversation_id"]: r["person_id"] for r in rows.data}
    # the same username on another platform is another account: not linked
    assert linked == {"tg1": out["person_id"], "tg2": out["person_id"], "wa9": None}
    # a retry (the answer lost) creates nobody
    again = (
        alice.client.rpc(
            "create_person_from_conversation",
            {"conversation_id": ids[("telegram", "tg1")], "full_name": "Ana T"},
        )
        .execute()
        .data
    )
    assert (again["created"], again["person_id"]) == (False, out["person_id"])
    (people,) = db.execute("select count(*) from people where user_id = %s", (alice.id,)).fetchone()
    assert people == 1


def test_creating_a_person_from_a_phone_chat_stores_the_phone(make_user):
    alice = make_user("alice")
    ids = _conversations(alice.client, ("wa1", "whatsapp", "+52 1 55 1234 5678"))
    out = (
        alice.client.rpc(
            "create_person_from_conversation",
            {"conversation_id": ids[("whatsapp", "wa1")], "full_name": "Luis"},
        )
        .execute()
        .data
    )
    person = alice.client.table("people").select("phone").eq("id", out["person_id"]).execute()
    assert person.data[0]["phone"] == "+5215512345678"
    # a later chat from the number's newer spelling links at once
    later = _conversations(alice.client, ("wa2", "whatsapp", "+52 55 1234 5678"))
    row = (
        alice.client.table("chat_conversations")
        .select("person_id")
        .eq("id", later[("whatsapp", "wa2")])
    )
    assert row.execute().data[0]["person_id"] == out["person_id"]


def test_linking_refuses_what_is_not_the_callers_and_changes_nothing(make_user, db):
    alice, bob = make_user("alice"), make_user("bob")
    ids = _conversations(alice.client, ("wa1", "whatsapp", "+34 612 34 56 78"))
    conv = ids[("whatsapp", "wa1")]
    alices = alice.client.table("people").insert({"full_name": "María"}).execute().data[0]["id"]
    bobs = bob.client.table("people").insert({"full_name": "Bob's"}).execute().data[0]["id"]
    unknown = "00000000-0000-4000-8000-000000000000"
    cases = [
        (
            bob,
            "link_conversation_to_person",
            {"conversation_id": conv, "person_id": bobs},
            "conversation_not_found",
        ),
        (
            alice,
            "link_conversation_to_person",
            {"conversation_id": conv, "person_id": bobs},
            "person_not_found",
        ),
        (
            alice,
            "link_conversation_to_person",
            {"conversation_id": unknown, "person_id": alices},
            "conversation_not_found",
        ),
        (
            alice,
            "link_conversation_to_person",
            {"conversation_id": conv, "person_id": unknown},
            "person_not_found",
        ),
        (
            bob,
            "create_person_from_conversation",
            {"conversation_id": conv, "full_name": "X"},
            "conversation_not_found",
        ),
        (
            alice,
            "create_person_from_conversation",
            {"conversation_id": conv, "full_name": " \t"},
            "person_name_invalid",
        ),
        (
            alice,
            "create_person_from_conversation",
            {"conversation_id": conv, "full_name": "x" * 501},
            "person_name_invalid",
        ),
        (bob, "suggest_people", {"conversation_id": conv}, "conversation_not_found"),
        (
            alice,
            "suggest_people",
            {"conversation_id": conv, "max_count": 0},
            "max_count_out_of_range",
        ),
    ]
    for user, fn, args, kind in cases:
        with pytest.raises(APIError) as caught:
            user.client.rpc(fn, args).execute()
        err = caught.value
        assert err.hint == kind, (fn, args, err)
        if kind == "conversation_not_found":
            assert str(args["conversation_id"]) in str(err.message), err.message
    state = db.execute(
        "select (select person_id from chat_conversations where id = %s),"
        " (select count(*) from person_identifiers where user_id in (%s, %s)),"
        " (select count(*) from people where user_id in (%s, %s))",
        (conv, alice.id, bob.id, alice.id, bob.id),
    ).fetchone()
    assert state == (None, 0, 2)


def test_two_people_of_one_key_link_none_and_both_are_suggested_first(make_user):
    alice = make_user("alice")
    # one at a time: bia is the person created last
    aaron, nine, eight, bia = (
        alice.client.table("people").insert({"full_name": name}).execute().data[0]["id"]
        for name in ("Aaron", "Zé Nine", "Zé Eight", "Bia")
    )
    alice.client.table("person_identifiers").insert(
        [
            {"person_id": nine, "kind": "phone", "value": "+55 11 98765-4321"},
            {"person_id": eight, "kind": "phone", "value": "+55 11 8765-4321"},
        ]
    ).execute()
    ids = _conversations(
        alice.client,
        ("wa1", "whatsapp", "551187654321@s.whatsapp.net"),
        ("wa0", "whatsapp", "+34 600 00 00 00"),
    )
    conv = ids[("whatsapp", "wa1")]
    row = alice.client.table("chat_conversations").select("person_id").eq("id", conv).execute()
    assert row.data[0]["person_id"] is None
    # bia, created last, is linked to a recent conversation too
    alice.client.rpc(
        "link_conversation_to_person",
        {"conversation_id": ids[("whatsapp", "wa0")], "person_id": bia},
    ).execute()
    got = alice.client.rpc("suggest_people", {"conversation_id": conv}).execute().data
    assert [(p["id"], p["reason"]) for p in got[:2]] == sorted(
        [(eight, "identifier"), (nine, "identifier")], key=lambda x: x[0] == nine
    )
    assert got[2] == {**got[2], "id": bia, "reason": "recent"}
    assert [p["reason"] for p in got].count("identifier") == 2
    assert aaron in [p["id"] for p in got if p["reason"] in ("recent", "name")]
    # a query keeps the names containing it
    named = (
        alice.client.rpc("suggest_people", {"conversation_id": conv, "query": "eight"})
        .execute()
        .data
    )
    assert [(p["id"], p["reason"], p["total"]) for p in named] == [(eight, "identifier", 1)]
    assert {p["total"] for p in got} == {4}
    # at most max_count
    one = (
        alice.client.rpc("suggest_people", {"conversation_id": conv, "max_count": 1}).execute().data
    )
    assert len(one) == 1 and one[0]["reason"] == "identifier"
