"""Web form submissions and tracked interactions map to customer and interaction facts."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amigo.connectors.base import RowMapper
from amigo.connectors.webforms import mapping
from amigo.ingest.facts import MappingContext, MappingResult

CTX = MappingContext(store_timezone=lambda _store: None, store_country=lambda _store: None)

SUBMISSION: dict[str, Any] = {
    "submission_id": "wf-0001",
    "form": "newsletter",
    "submitted_at": "2025-03-02T18:04:11+01:00",
    "locale": "fr-FR",
    "fields": {
        "email": "Lea.Bernard@Example.fr",
        "first_name": "LÉA",
        "last_name": "bernard",
        "phone": "06 12 34 56 78",
        "birth_date": "1992-11-05",
        "postal_code": "69003",
        "city": "LYON",
        "country": "France",
    },
    "consents": {"email_marketing": True, "sms_marketing": False},
    "consent_text_version": "nl-2025-01",
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)",
}

INTERACTION: dict[str, Any] = {
    "interaction_id": "ix-0001",
    "type": "email_click",
    "channel": "email",
    "occurred_at": "2025-07-15T14:00:00+02:00",
    "campaign": "FW25 launch",
    "text": None,
    "customer": {"source": "cegid", "id": "PAR01000123"},
    "properties": {"url": "https://example.com/fw25", "link": 3},
}


def submission(*, fields: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    row = copy.deepcopy(SUBMISSION)
    if fields is not None:
        row["fields"].update(fields)
    row.update(changes)
    return row


def interaction(**changes: Any) -> dict[str, Any]:
    row = copy.deepcopy(INTERACTION)
    row.update(changes)
    return row


def _facts(result: MappingResult[Any]) -> Any:
    assert result.reject is None, result.reject
    assert result.facts is not None
    return result.facts


def _codes(result: MappingResult[Any]) -> set[tuple[str, str]]:
    return {(issue.field, issue.code) for issue in result.issues}


def _rejected(result: MappingResult[Any]) -> tuple[str, str]:
    assert result.facts is None
    assert result.reject is not None
    return result.reject.field, result.reject.code


def test_mapper_shape() -> None:
    assert (mapping.SUBMISSIONS.entity, mapping.INTERACTIONS.entity) == (
        "submission",
        "interaction",
    )
    assert set(mapping.SUBMISSIONS.required) <= set(SUBMISSION)
    assert set(mapping.INTERACTIONS.required) <= set(INTERACTION)
    assert mapping.SUBMISSIONS.key({"submission_id": " wf-0001 "}) == "wf-0001"
    assert mapping.SUBMISSIONS.key({"submission_id": ""}) is None
    assert mapping.INTERACTIONS.key({"interaction_id": "ix-1"}) == "ix-1"
    assert mapping.INTERACTIONS.key({}) is None


# --- submissions --------------------------------------------------------------------


def test_submission_maps_every_field() -> None:
    result = mapping.SUBMISSIONS.map(submission(), CTX)
    facts = _facts(result)
    assert result.issues == ()
    assert (facts.source_system, facts.source_id, facts.origin) == (
        "webforms",
        "wf-0001",
        "web form",
    )
    assert (facts.email, facts.email_match_key) == (
        "Lea.Bernard@example.fr",
        "lea.bernard@example.fr",
    )
    assert (facts.first_name, facts.last_name) == ("Léa", "Bernard")
    assert facts.phone == "+33612345678"
    assert facts.birth_date == date(1992, 11, 5)
    assert (facts.postal_code, facts.city, facts.country) == ("69003", "Lyon", "FR")
    assert facts.preferred_language == "fr"
    submitted = datetime(2025, 3, 2, 17, 4, 11, tzinfo=UTC)
    assert facts.created_at == facts.observed_at == submitted
    assert (facts.tier, facts.preferred_store_id, facts.associate_id) == (None, None, None)


def test_submission_consents_carry_the_form_proof() -> None:
    facts = _facts(mapping.SUBMISSIONS.map(submission(), CTX))
    email, sms = facts.consents
    assert (email.purpose, email.raw_value, email.opt_in_level) == (
        "email_marketing",
        "true",
        "single_opt_in",
    )
    assert (sms.purpose, sms.raw_value, sms.opt_in_level) == ("sms_marketing", "false", None)
    assert email.stated_at == facts.created_at
    assert email.proof == {
        "source": "webforms",
        "form": "newsletter",
        "consent_text_version": "nl-2025-01",
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)",
        "submission_id": "wf-0001",
    }
    assert email.proof is not sms.proof


@pytest.mark.parametrize(
    ("country", "phone", "expected_phone", "expected_country"),
    [
        # No country field: the locale's region is the hint.
        (None, "06 12 34 56 78", "+33612345678", None),
        ("France", "06 12 34 56 78", "+33612345678", "FR"),
        ("FR", "06.12.34.56.78", "+33612345678", "FR"),
        ("Japon", "03-1234-5678", "+81312345678", "JP"),
        ("Deutschland", "030 123456", "+4930123456", "DE"),
        ("+33 6 12 34 56 78", "+33 6 12 34 56 78", "+33612345678", None),
    ],
)
def test_submission_phone_hint(
    country: str | None, phone: str, expected_phone: str, expected_country: str | None
) -> None:
    fields = {"country": country, "phone": phone, "postal_code": None}
    facts = _facts(mapping.SUBMISSIONS.map(submission(fields=fields), CTX))
    assert (facts.phone, facts.country) == (expected_phone, expected_country)


def test_submission_without_country_or_locale_region() -> None:
    row = submission(fields={"country": None, "postal_code": None}, locale="fr")
    result = mapping.SUBMISSIONS.map(row, CTX)
    facts = _facts(result)
    assert (facts.phone, facts.preferred_language) == (None, "fr")
    assert _codes(result) == {("phone", "invalid_phone")}


def test_locale_region_is_the_postal_code_hint() -> None:
    row = submission(fields={"country": None, "postal_code": "1000"}, locale="fr-BE")
    assert _facts(mapping.SUBMISSIONS.map(row, CTX)).postal_code == "1000"


@pytest.mark.parametrize("raw", ["1992-11-05", "05/11/1992"])
def test_birth_date_formats(raw: str) -> None:
    row = submission(fields={"birth_date": raw})
    assert _facts(mapping.SUBMISSIONS.map(row, CTX)).birth_date == date(1992, 11, 5)


@pytest.mark.parametrize(
    ("fields", "issue"),
    [
        ({"birth_date": "1992-02-30"}, ("birth_date", "invalid_date")),
        ({"email": "lea@"}, ("email", "invalid_email")),
        ({"country": "Atlantide"}, ("country", "unknown_country")),
        ({"postal_code": "690033"}, ("postal_code", "invalid_postal_code")),
        ({"first_name": 42}, ("first_name", "invalid_name")),
        ({"last_name": ["Bernard"]}, ("last_name", "invalid_type")),
    ],
)
def test_submission_optional_problems_are_issues(
    fields: dict[str, Any], issue: tuple[str, str]
) -> None:
    result = mapping.SUBMISSIONS.map(submission(fields=fields), CTX)
    assert result.facts is not None
    assert issue in _codes(result)


def test_submission_with_only_an_email() -> None:
    row = {"submission_id": "wf-2", "fields": {"email": "solo@example.com"}}
    result = mapping.SUBMISSIONS.map(row, CTX)
    facts = _facts(result)
    assert result.issues == ()
    assert (facts.created_at, facts.preferred_language, facts.consents) == (None, None, ())


@pytest.mark.parametrize(
    ("fields", "loaded"),
    [
        ({"email": None, "phone": None}, True),  # last name + birth date + postal code
        ({"email": None, "phone": None, "birth_date": None}, True),
        ({"email": None, "phone": None, "postal_code": None}, True),
        ({"email": None, "phone": None, "birth_date": None, "postal_code": None}, False),
        ({"email": None, "phone": None, "last_name": None}, False),
        ({"email": "nope", "phone": "0", "last_name": ""}, False),
    ],
)
def test_submission_identifiability(fields: dict[str, Any], loaded: bool) -> None:
    result = mapping.SUBMISSIONS.map(submission(fields=fields), CTX)
    if loaded:
        _facts(result)
    else:
        assert _rejected(result) == ("record", "unidentifiable")


def test_submission_without_fields_object_is_rejected() -> None:
    result = mapping.SUBMISSIONS.map(submission(fields=None) | {"fields": "email=a@b.c"}, CTX)
    assert _rejected(result) == ("record", "unidentifiable")
    assert ("fields", "invalid_type") in _codes(result)


def test_non_boolean_and_unknown_consents_are_issues() -> None:
    row = submission(consents={"email_marketing": "yes", "sms_marketing": None, "spam": True})
    result = mapping.SUBMISSIONS.map(row, CTX)
    assert _facts(result).consents == ()
    assert _codes(result) == {
        ("consent.email_marketing", "invalid_type"),
        ("consents", "unknown_purpose"),
    }


def test_invalid_submitted_at_is_an_issue() -> None:
    result = mapping.SUBMISSIONS.map(submission(submitted_at="yesterday"), CTX)
    facts = _facts(result)
    assert (facts.created_at, facts.observed_at, facts.consents[0].stated_at) == (None, None, None)
    assert _codes(result) == {("created_at", "invalid_timestamp")}


# --- interactions ---------------------------------------------------------------------


def test_interaction_maps_every_field() -> None:
    result = mapping.INTERACTIONS.map(interaction(), CTX)
    facts = _facts(result)
    assert result.issues == ()
    assert (facts.source_system, facts.source_interaction_id) == ("webforms", "ix-0001")
    assert (facts.customer_source_system, facts.customer_source_id) == ("cegid", "PAR01000123")
    assert (facts.type, facts.channel) == ("email_click", "email")
    assert facts.occurred_at == datetime(2025, 7, 15, 12, tzinfo=UTC)
    assert (facts.campaign, facts.text) == ("FW25 launch", None)
    assert facts.payload == {"url": "https://example.com/fw25", "link": 3}


def test_interaction_optional_fields() -> None:
    row = interaction(campaign=None, properties=None, text="Asked about the FW25 coat")
    facts = _facts(mapping.INTERACTIONS.map(row, CTX))
    assert (facts.campaign, facts.payload, facts.text) == (None, None, "Asked about the FW25 coat")


def test_interaction_shopify_customer_ids() -> None:
    for customer_id in (7080001234, "gid://shopify/Customer/7080001234"):
        row = interaction(customer={"source": "shopify", "id": customer_id})
        facts = _facts(mapping.INTERACTIONS.map(row, CTX))
        assert (facts.customer_source_system, facts.customer_source_id) == ("shopify", "7080001234")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"customer": None}, ("customer", "missing_customer")),
        ({"customer": "PAR01000123"}, ("customer", "missing_customer")),
        ({"customer": {"source": "cegid"}}, ("customer", "missing_customer")),
        ({"customer": {"id": "PAR01000123"}}, ("customer", "missing_customer")),
        ({"customer": {"source": "salesforce", "id": "1"}}, ("customer", "missing_customer")),
        ({"occurred_at": None}, ("occurred_at", "missing_value")),
        ({"occurred_at": "last tuesday"}, ("occurred_at", "invalid_timestamp")),
        ({"type": ""}, ("type", "missing_value")),
        ({"channel": None}, ("channel", "missing_value")),
        ({"type": "x" * 31}, ("type", "too_long")),
        ({"interaction_id": None}, ("id", "missing_id")),
    ],
)
def test_interaction_rejects(changes: dict[str, Any], reason: tuple[str, str]) -> None:
    assert _rejected(mapping.INTERACTIONS.map(interaction(**changes), CTX)) == reason


def test_interaction_wrong_optional_types_are_issues() -> None:
    row = interaction(properties=["a"], campaign={"name": "x"})
    result = mapping.INTERACTIONS.map(row, CTX)
    facts = _facts(result)
    assert (facts.payload, facts.campaign) == (None, None)
    assert _codes(result) == {("payload", "invalid_type"), ("campaign", "invalid_type")}


# --- robustness -----------------------------------------------------------------------

_SCALAR = st.one_of(st.none(), st.integers(), st.text(), st.booleans(), st.floats())
_ANY_VALUE = st.one_of(
    st.none(),
    st.integers(),
    st.text(),
    st.lists(st.text()),
    st.dictionaries(st.text(), st.text()),
)


def _nested(keys: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(_ANY_VALUE, st.dictionaries(st.sampled_from(keys), _SCALAR))


@pytest.mark.parametrize(
    ("mapper", "keys", "nested"),
    [
        (
            mapping.SUBMISSIONS,
            sorted(SUBMISSION),
            [*SUBMISSION["fields"], *SUBMISSION["consents"], "data_analysis"],
        ),
        (mapping.INTERACTIONS, sorted(INTERACTION), ["source", "id"]),
    ],
)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_object_maps_or_rejects_without_raising(
    mapper: RowMapper[Any], keys: list[str], nested: list[str], data: st.DataObject
) -> None:
    row = data.draw(st.dictionaries(st.sampled_from(keys), st.one_of(_ANY_VALUE, _nested(nested))))
    result = mapper.map(row, CTX)
    assert (result.facts is None) != (result.reject is None)
    mapper.key(row)
