"""Properties every normalizer keeps: it never raises, and its output is a fixed point."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amigo.quality import (
    Normalized,
    birth_date_from_parts,
    email_match_key,
    name_match_key,
    normalize_address_line,
    normalize_city,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    parse_amount,
    parse_bool,
    parse_date,
    parse_int,
    parse_timestamp,
)
from amigo.quality.issues import MAX_ISSUE_VALUE_CHARS

PROPERTY = settings(max_examples=200, deadline=None)

# Every code point, lone surrogates and control characters included.
ANY_CHAR = st.characters(exclude_categories=[])
ANY_TEXT = st.text(ANY_CHAR, max_size=40)
# Text made of the characters the parsers branch on, to reach deep paths.
SHAPED_TEXT = st.text(st.sampled_from("0123456789+-()/.,:@ TZxé\u00a0'’-"), max_size=30)
RAW = st.one_of(st.none(), ANY_TEXT, SHAPED_TEXT)
REGIONS = st.sampled_from([None, "FR", "GB", "US", "IT", "DE", "JP", "KR", "CN", "RE", "fr", "zz"])
COUNTRIES = st.sampled_from(
    [None, "FR", "GB", "IT", "DE", "ES", "US", "JP", "KR", "CN", "CA", "CH", "NL", "XX"]
)

NORMALIZERS: dict[str, Callable[[str | None], Normalized[Any]]] = {
    "email": normalize_email,
    "name": normalize_name,
    "country": normalize_country,
    "address_line": normalize_address_line,
    "city": normalize_city,
    "date": parse_date,
    "timestamp": parse_timestamp,
    "amount": parse_amount,
    "int": lambda raw: parse_int(raw, field="quantity"),
    "bool": lambda raw: parse_bool(raw, field="optin"),
    "phone_fr": lambda raw: normalize_phone(raw, region_hint="FR"),
    "phone_none": lambda raw: normalize_phone(raw, region_hint=None),
    "postal_gb": lambda raw: normalize_postal_code(raw, country="GB"),
    "postal_none": lambda raw: normalize_postal_code(raw, country=None),
    "timestamp_paris": lambda raw: parse_timestamp(raw, default_tz="Europe/Paris"),
}

# Text normalizers whose output is the same kind of text as their input.
TEXT_NORMALIZERS = ["email", "name", "address_line", "city", "phone_fr", "postal_gb", "postal_none"]


def _check_result(result: Normalized[Any]) -> None:
    """Assert the shape every result has: a value or an issue, never both."""
    assert isinstance(result, Normalized)
    if result.issue is not None:
        assert result.value is None
        assert result.issue.code
        assert result.issue.message
        if result.issue.value is not None:
            assert len(result.issue.value) <= MAX_ISSUE_VALUE_CHARS
            result.issue.value.encode("utf-8")  # storable: no lone surrogates
            assert "\x00" not in result.issue.value
    if isinstance(result.value, str):
        result.value.encode("utf-8")
        assert "\x00" not in result.value


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
@PROPERTY
@given(raw=RAW)
def test_never_raises(name: str, raw: str | None) -> None:
    _check_result(NORMALIZERS[name](raw))


@pytest.mark.parametrize("name", TEXT_NORMALIZERS)
@PROPERTY
@given(raw=RAW)
def test_text_normalizers_are_idempotent(name: str, raw: str | None) -> None:
    normalize = NORMALIZERS[name]
    first = normalize(raw)
    if first.value is not None:
        again = normalize(first.value)
        assert again == Normalized(first.value, None)


@pytest.mark.parametrize(
    "huge",
    ["x" * 10_000, "1" * 10_000, "@" * 10_000, "a@" + "b" * 10_000 + ".com", "+33" + "6" * 10_000],
)
@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_huge_input_is_an_issue_or_a_bounded_value(name: str, huge: str) -> None:
    result = NORMALIZERS[name](huge)
    _check_result(result)
    if isinstance(result.value, str):
        assert len(result.value) <= 320


@PROPERTY
@given(raw=RAW, region=REGIONS)
def test_phone_never_raises_whatever_the_hint(raw: str | None, region: str | None) -> None:
    _check_result(normalize_phone(raw, region_hint=region))


@PROPERTY
@given(raw=RAW, country=COUNTRIES)
def test_postal_code_is_idempotent_for_every_country(raw: str | None, country: str | None) -> None:
    first = normalize_postal_code(raw, country=country)
    _check_result(first)
    if first.value is not None:
        assert normalize_postal_code(first.value, country=country).value == first.value


@PROPERTY
@given(day=RAW, month=RAW, year=RAW)
def test_birth_date_from_parts_never_raises(
    day: str | None, month: str | None, year: str | None
) -> None:
    _check_result(birth_date_from_parts(day, month, year))


@PROPERTY
@given(text=ANY_TEXT)
def test_match_keys_never_raise(text: str) -> None:
    assert isinstance(email_match_key(text), str)
    key = name_match_key(text)
    assert key == name_match_key(key)


@PROPERTY
@given(raw=RAW, tz=st.sampled_from(["", "Nowhere/Land", "../etc", "UTC", "Asia/Tokyo"]))
def test_timestamp_never_raises_whatever_the_zone(raw: str | None, tz: str) -> None:
    _check_result(parse_timestamp(raw, default_tz=tz))


# Round trips on the typed outputs: what we write out, we read back the same.


@PROPERTY
@given(value=st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)))
def test_date_round_trips(value: date) -> None:
    assert parse_date(value.isoformat()).value == value
    assert parse_date(value.strftime("%d/%m/%Y")).value == value
    assert parse_date(value.strftime("%m/%d/%Y"), day_first=False).value == value


@PROPERTY
@given(
    value=st.datetimes(
        min_value=datetime(1900, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    tz=st.sampled_from(["UTC", "Europe/Paris", "Asia/Tokyo", "America/New_York"]),
)
def test_timestamp_round_trips(value: datetime, tz: str) -> None:
    parsed = parse_timestamp(value.isoformat(), default_tz=tz).value
    assert parsed == value
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)
    assert parse_timestamp(parsed.isoformat(), default_tz=tz).value == parsed


@PROPERTY
@given(cents=st.integers(min_value=-(10**15), max_value=10**15))
def test_amount_round_trips(cents: int) -> None:
    plain = f"{Decimal(cents) / 100:.2f}"
    assert parse_amount(plain).value == cents
    assert parse_amount(plain.replace(".", ",")).value == cents
    grouped = f"{Decimal(cents) / 100:,.2f}"  # 1,299.00
    assert parse_amount(grouped).value == cents
    french = grouped.replace(",", "\u202f").replace(".", ",")  # 1 299,00
    assert parse_amount(french).value == cents


@PROPERTY
@given(number=st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_int_round_trips(number: int) -> None:
    assert parse_int(str(number), field="quantity").value == number
