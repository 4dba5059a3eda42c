"""Phone numbers to E.164, including every case of normalization-edge-cases.md."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amigo.quality import Normalized, normalize_phone

PROPERTY = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    "raw",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0612345678",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",  # the "(0)" trunk prefix
        "+33 06 12 34 56 78",
        "+33612345678",
        "0033 6 12 34 56 78",
        "0033612345678",
        "00 33 6 12 34 56 78",
        "(+33) 6-12-34-56-78",
        "612345678",
        " 06 12 34 56 78 ",
    ],
)
def test_french_mobile_variants(raw: str) -> None:
    assert normalize_phone(raw, region_hint="FR") == Normalized("+33612345678", None)


def test_french_fixed_line() -> None:
    assert normalize_phone("01 23 45 67 89", region_hint="FR").value == "+33123456789"


def test_nine_digits_is_invalid_not_an_exception() -> None:
    result = normalize_phone("06 12 34 56 7", region_hint="FR", field="mobile")
    assert result.value is None
    assert result.issue is not None
    assert result.issue.code == "invalid_phone"
    assert result.issue.field == "mobile"
    assert result.issue.value == "06 12 34 56 7"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0692123456", "+262692123456"),  # Réunion mobile
        ("0692 12 34 56", "+262692123456"),
        ("0690123456", "+590690123456"),  # Guadeloupe
        ("0696123456", "+596696123456"),  # Martinique
        ("0694123456", "+594694123456"),  # Guyane
        ("0639012345", "+262639012345"),  # Mayotte (shares +262 with Réunion)
        ("055 12 34", "+508551234"),  # Saint-Pierre-et-Miquelon
    ],
)
def test_overseas_departments_with_a_french_hint(raw: str, expected: str) -> None:
    assert normalize_phone(raw, region_hint="FR") == Normalized(expected, None)


@pytest.mark.parametrize(
    ("region", "raw", "expected"),
    [
        ("RE", "0692123456", "+262692123456"),
        ("GP", "0690123456", "+590690123456"),
        ("MQ", "0696123456", "+596696123456"),
        ("GF", "0694123456", "+594694123456"),
        ("RE", "06 12 34 56 78", "+33612345678"),  # metropolitan mobile of a Réunion client
    ],
)
def test_overseas_hints(region: str, raw: str, expected: str) -> None:
    assert normalize_phone(raw, region_hint=region).value == expected


def test_bare_six_digits_do_not_become_saint_pierre() -> None:
    assert normalize_phone("412345", region_hint="FR").value is None


def test_explicit_plus_33_overseas_number_stays_invalid() -> None:
    # +33 6 92 is not a number; guessing +262 would invent one.
    assert normalize_phone("+33 6 92 12 34 56", region_hint="FR").value is None


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 (0)20 7946 0958", "FR", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("06 1234 5678", "IT", "+390612345678"),  # Italian leading zero kept
        ("+39 333 123 4567", None, "+393331234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("03-1234-5678", "JP", "+81312345678"),
        ("010-1234-5678", "KR", "+821012345678"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("(650) 253-0000", "US", "+16502530000"),
        ("0033612345678", "US", "+33612345678"),  # 00 is not the US exit code: still read
        ("06 12 34 56 78", "fr", "+33612345678"),  # lowercase hint
        ("06 12 34 56 78", "France", "+33612345678"),  # a country name as hint
        ("06 12 34 56 78", "FRA", "+33612345678"),
    ],
)
def test_other_regions(raw: str, region: str | None, expected: str) -> None:
    assert normalize_phone(raw, region_hint=region).value == expected


@pytest.mark.parametrize(
    "raw", ["0033612345678", "+33 (0)6 12 34 56 78", "00 33 6 12 34 56 78", "(+33) 6-12-34-56-78"]
)
def test_international_numbers_without_hint(raw: str) -> None:
    assert normalize_phone(raw, region_hint=None).value == "+33612345678"


def test_national_number_without_hint_says_why() -> None:
    result = normalize_phone("06 12 34 56 78", region_hint=None)
    assert result.value is None
    assert result.issue is not None
    assert result.issue.code == "invalid_phone"
    assert "no known country" in result.issue.message


@pytest.mark.parametrize("hint", ["ZZ", "Narnia", "", "  "])
def test_unknown_hint_behaves_like_none(hint: str) -> None:
    assert normalize_phone("+33612345678", region_hint=hint).value == "+33612345678"
    assert normalize_phone("0612345678", region_hint=hint).value is None


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_phones(raw: str | None) -> None:
    assert normalize_phone(raw, region_hint="FR") == Normalized(None, None)


@pytest.mark.parametrize("raw", ["abc", "n/a", "+", "()", "0", "123", "+999 1234", "6" * 300])
def test_garbage_phones(raw: str) -> None:
    result = normalize_phone(raw, region_hint="FR")
    assert result.value is None
    assert result.issue is not None
    assert result.issue.code == "invalid_phone"


_REGIONS = ["FR", "GB", "US", "IT", "DE", "ES", "JP", "KR", "CN", "RE", "CH", "BE"]
_TYPES = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
_FORMATS = [
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


@PROPERTY
@given(
    region=st.sampled_from(_REGIONS),
    kind=st.sampled_from(_TYPES),
    layout=st.sampled_from(_FORMATS),
    last_digits=st.integers(min_value=0, max_value=99),
    junk=st.sampled_from(["", " ", ".", "-"]),
)
def test_generated_numbers_normalize_and_are_idempotent(
    region: str,
    kind: int,  # PhoneNumberType and PhoneNumberFormat values are plain ints
    layout: int,
    last_digits: int,
    junk: str,
) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    # Vary the example's last two digits to leave the single known-good number
    # (on a copy: the example may come from the library's metadata).
    number = phonenumbers.PhoneNumber()
    number.merge_from(example)
    national = str(number.national_number)
    number.national_number = int(f"{national[:-2]}{last_digits:02d}")
    raw = phonenumbers.format_number(number, layout).replace(" ", junk or " ")
    first = normalize_phone(raw, region_hint=region)
    if first.value is None:
        assert first.issue is not None
        assert first.issue.code == "invalid_phone"
        return
    assert first.value.startswith("+")
    assert first.value[1:].isdigit()
    assert normalize_phone(first.value, region_hint=region) == first
    # E.164 is international: it reads the same without a hint or with another one.
    assert normalize_phone(first.value, region_hint=None).value == first.value
    assert normalize_phone(first.value, region_hint="JP").value == first.value
