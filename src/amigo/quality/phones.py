"""Phone numbers to E.164, with the region of the record as a hint for national numbers."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from amigo.quality.addresses import normalize_country
from amigo.quality.issues import EMPTY, Normalized, make_issue, through_cache

# French overseas departments and collectivities dial like metropolitan France
# nationally ("0692 12 34 56" is a Réunion mobile) but have their own country
# codes; a store or address in France serves customers from all of them.
_FRENCH_FAMILY = ("FR", "RE", "GP", "MQ", "GF", "YT", "PM")
_FRENCH_FAMILY_SET = frozenset(_FRENCH_FAMILY)

# phonenumbers refuses longer input anyway; cutting first keeps the cache small.
_MAX_RAW_LENGTH = 250


@lru_cache(maxsize=1024)
def _region(hint: str | None) -> str | None:
    """Return the hint as a phonenumbers region code, or None when it is not one."""
    if not hint or len(hint) > 64:
        return None
    region = hint.strip().upper()
    if region in phonenumbers.SUPPORTED_REGIONS:
        return region
    # Not an alpha-2 code: perhaps a country name or alpha-3 given as the hint.
    country = normalize_country(hint).value
    return country if country in phonenumbers.SUPPORTED_REGIONS else None


def _parse_valid(text: str, region: str | None) -> str | None:
    """Return text as E.164 if it parses to a valid number for region, else None."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def normalize_phone(
    raw: str | None, *, region_hint: str | None, field: str = "phone"
) -> Normalized[str]:
    """Return the phone number in E.164, trying the region hint for national numbers."""
    return through_cache(_normalize_phone, _cached_normalize_phone, raw, region_hint, field)


def _normalize_phone(raw: str, region_hint: str | None, field: str) -> Normalized[str]:
    """Normalize a non-None phone."""
    text = raw.strip()
    if not text:
        return EMPTY
    if len(text) > _MAX_RAW_LENGTH or not any(char.isdigit() for char in text):
        return make_issue(field, "invalid_phone", "{value} is not a phone number.", raw)
    region = _region(region_hint)
    # "0033 6..." is international everywhere that dials 00 out, including when we
    # have no hint at all (phonenumbers then refuses anything not starting with +).
    international = "+" + text[2:] if text.startswith("00") else None
    candidates: list[tuple[str, str | None]] = [(text, region)]
    if region in _FRENCH_FAMILY_SET and text.lstrip("( ").startswith("0"):
        # Only numbers written with the national "0" are retried: a bare 6-digit
        # string must not become a Saint-Pierre number.
        candidates += [(text, other) for other in _FRENCH_FAMILY if other != region]
    if international is not None:
        candidates.append((international, None))
    for candidate, candidate_region in candidates:
        e164 = _parse_valid(candidate, candidate_region)
        if e164 is not None:
            return Normalized(e164, None)
    if region is None and international is None and not text.lstrip("( ").startswith("+"):
        return make_issue(
            field,
            "invalid_phone",
            "{value} is a national phone number and the record has no known country.",
            raw,
        )
    return make_issue(field, "invalid_phone", "{value} is not a valid phone number.", raw)


# Cached because parsing costs tens of microseconds.
_cached_normalize_phone = lru_cache(maxsize=65536)(_normalize_phone)
