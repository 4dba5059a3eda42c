"""Money to integer cents, integers and booleans."""

from __future__ import annotations

import pytest

from amigo.quality import Normalized, parse_amount, parse_bool, parse_int


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("129,90", 12990),  # Cegid decimal comma
        ("129.90", 12990),  # Shopify
        ("1 299,00", 129900),
        ("1.299,00", 129900),
        ("1,299.00", 129900),
        ("1\u00a0299,00", 129900),  # NBSP
        ("1\u202f299,00", 129900),  # narrow NBSP (French locale)
        ("1'299.00", 129900),  # Swiss
        ("12 345 678,90", 1234567890),
        ("1.299.000", 129900000),
        ("1,299,000", 129900000),
        ("-45,5", -4550),
        ("12", 1200),
        ("0", 0),
        ("-0,00", 0),
        ("+5", 500),
        ("−5", -500),  # Unicode minus
        ("45,50-", -4550),  # trailing minus of some ERP exports
        ("(45,50)", -4550),  # accounting negative
        (" 129,90 ", 12990),
        ("€12,90", 1290),
        ("12,90 €", 1290),
        ("EUR 12.90", 1290),
        ("¥1500", 150000),  # hundredths of the unit whatever the currency
        ("0,125", 12),  # half-even to the cent
        ("0,135", 14),
        ("0,1251", 13),
        ("1,299", 130),  # a lone separator is the decimal point
        ("1.299", 130),
        ("9999999999999999", 999999999999999900),
    ],
)
def test_amounts(raw: str, cents: int) -> None:
    assert parse_amount(raw) == Normalized(cents, None)


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "12,3,4",
        "1.2.3",
        "1,29,00",
        "1 2",
        "12 90",
        "--5",
        "1e3",
        "NaN",
        "Infinity",
        "12,90 EUR USD",
        "€",
        "-",
        "()",
        "1,299.00.00",
        "99999999999999999999",  # does not fit a 64-bit column in cents
        "1" * 10_000,
    ],
)
def test_invalid_amounts(raw: str) -> None:
    result = parse_amount(raw, field="total")
    assert result.value is None
    assert result.issue is not None
    assert (result.issue.field, result.issue.code) == ("total", "invalid_amount")


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_amounts(raw: str | None) -> None:
    assert parse_amount(raw) == Normalized(None, None)


@pytest.mark.parametrize(
    ("raw", "number"),
    [("3", 3), (" 3 ", 3), ("3,0", 3), ("3.00", 3), ("3.", 3), ("-1", -1), ("+7", 7), ("0", 0)],
)
def test_ints(raw: str, number: int) -> None:
    assert parse_int(raw, field="quantity") == Normalized(number, None)


@pytest.mark.parametrize("raw", ["3,5", "abc", "1e3", "3,05", "9" * 19, "-" + "9" * 20, "x" * 1000])
def test_invalid_ints(raw: str) -> None:
    result = parse_int(raw, field="quantity")
    assert result.value is None
    assert result.issue is not None
    assert (result.issue.field, result.issue.code) == ("quantity", "invalid_integer")


@pytest.mark.parametrize("raw", [None, "", " "])
def test_empty_ints(raw: str | None) -> None:
    assert parse_int(raw, field="quantity") == Normalized(None, None)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True), ("0", False), ("true", True), ("FALSE", False), ("True", True),
        ("yes", True), ("No", False), ("oui", True), ("NON", False), ("X", True), ("x", True),
        (" y ", True), ("n", False), ("vrai", True), ("faux", False),
    ],
)  # fmt: skip
def test_bools(raw: str, value: bool) -> None:
    assert parse_bool(raw, field="optin") == Normalized(value, None)


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_empty_bool(raw: str | None) -> None:
    assert parse_bool(raw, field="optin") == Normalized(None, None)


@pytest.mark.parametrize("raw", ["maybe", "2", "-1", "oui non"])
def test_invalid_bools(raw: str) -> None:
    result = parse_bool(raw, field="optin")
    assert result.issue is not None
    assert (result.issue.field, result.issue.code) == ("optin", "invalid_boolean")
