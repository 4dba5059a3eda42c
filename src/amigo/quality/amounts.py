"""Money amounts, integers and booleans as the sources write them."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from amigo.quality.issues import EMPTY, Normalized, make_issue

# Integer cents must fit a signed 64-bit column: 16 digits before the separator.
_MAX_INTEGER_DIGITS = 16

# Thousands separators that can never be a decimal point: spaces of every kind
# (NBSP and narrow NBSP from French locales) and the Swiss apostrophe.
_GROUP_SPACES = re.compile("[ \u00a0\u202f\u2009'’]")
_CURRENCY = r"(?:[A-Z]{3}|[$€£¥₩₹¢元円])"
_CURRENCY_EDGES = re.compile(rf"^{_CURRENCY}\s*|\s*{_CURRENCY}$")
# The common shapes, handled without Decimal: "129,90", "-45.5", "12".
_SIMPLE = re.compile(r"([+-]?)(\d{1,16})(?:[.,](\d{1,2}))?")
# A lone "," or "." is always the decimal point ("1,299" is 1.299, as Cegid and
# Shopify write them); thousands need a decimal part in the other separator or
# at least two groups ("1,299.00", "1.299,00", "1.299.000").
_GROUPED_COMMA = re.compile(r"(\d{1,3}(?:,\d{3})+)\.(\d+)|(\d{1,3}(?:,\d{3}){2,})()")
_GROUPED_DOT = re.compile(r"(\d{1,3}(?:\.\d{3})+),(\d+)|(\d{1,3}(?:\.\d{3}){2,})()")
_GROUPED_SPACE = re.compile(r"(\d{1,3}(?: \d{3})+)(?:[.,](\d+))?()()")  # 1 299,00
_PLAIN = re.compile(r"(\d+)(?:[.,](\d+))?()()")  # 129.905
_CENT = Decimal("0.01")

_TRUE = frozenset({"1", "true", "t", "yes", "y", "oui", "o", "vrai", "x", "ja", "si", "sì", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "non", "faux", "nein", "off"})
_INTEGER = re.compile(r"([+-]?\d{1,19})(?:[.,]0*)?")


def _split_sign(text: str) -> tuple[bool, str]:
    """Return (negative, unsigned text), reading "-45", "+45", "45-" and "(45)"."""
    if text.startswith("(") and text.endswith(")"):
        return True, text[1:-1].strip()
    if text[:1] in "-−":
        return True, text[1:].strip()
    if text[:1] == "+":
        return False, text[1:].strip()
    if text[-1:] in "-−":
        return True, text[:-1].strip()
    return False, text


def _unsigned_cents(text: str) -> int | None:
    """Return the cents of an unsigned amount, or None when its shape is not a number."""
    text = _GROUP_SPACES.sub(" ", text)
    for pattern in (_GROUPED_SPACE, _GROUPED_COMMA, _GROUPED_DOT, _PLAIN):
        match = pattern.fullmatch(text)
        if match is not None:
            # Groups 3 and 4 are the alternative without a decimal part.
            grouped = match[1] or match[3]
            integer = grouped.replace(" ", "").replace(",", "").replace(".", "")
            fraction = match[2] or "0"
            break
    else:
        return None
    if len(integer.lstrip("0")) > _MAX_INTEGER_DIGITS or len(fraction) > 18:
        return None
    try:
        value = Decimal(f"{integer}.{fraction}").quantize(_CENT, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        return None
    return int(value * 100)


def parse_amount(raw: str | None, *, field: str = "amount") -> Normalized[int]:
    """Return the amount in integer cents, reading decimal commas and thousands separators."""
    if raw is None:
        return EMPTY
    text = raw.strip()
    if not text:
        return EMPTY
    if (match := _SIMPLE.fullmatch(text)) is not None:
        sign, integer, fraction = match.groups()
        simple = int(integer) * 100 + int((fraction or "0").ljust(2, "0"))
        return Normalized(-simple if sign == "-" else simple, None)
    cents: int | None = None
    negative = False
    if len(text) <= 64:
        negative, unsigned = _split_sign(_CURRENCY_EDGES.sub("", text))
        cents = _unsigned_cents(unsigned) if unsigned else None
    if cents is None:
        return make_issue(field, "invalid_amount", "{value} is not an amount of money.", raw)
    return Normalized(-cents if negative else cents, None)


def parse_int(raw: str | None, *, field: str) -> Normalized[int]:
    """Return the integer in raw, accepting "3", " 3 ", "3,0" and "-1"."""
    if raw is None:
        return EMPTY
    text = raw.strip()
    if not text:
        return EMPTY
    match = _INTEGER.fullmatch(text) if len(text) <= 40 else None
    if match is None:
        return make_issue(field, "invalid_integer", "{value} is not a whole number.", raw)
    value = int(match[1])
    if not -(2**63) <= value < 2**63:
        return make_issue(field, "invalid_integer", "{value} is too large.", raw)
    return Normalized(value, None)


def parse_bool(raw: str | None, *, field: str) -> Normalized[bool]:
    """Return the boolean in raw: 1/0, true/false, yes/no, oui/non, X/empty."""
    if raw is None:
        return EMPTY
    text = raw.strip().casefold()
    if not text:
        return EMPTY
    if text in _TRUE:
        return Normalized(True, None)
    if text in _FALSE:
        return Normalized(False, None)
    return make_issue(field, "invalid_boolean", "{value} is not yes or no.", raw)
