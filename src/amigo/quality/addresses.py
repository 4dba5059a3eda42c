"""Postal addresses: country codes, postal codes, street lines and cities."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache

from amigo.quality._countries import country_code
from amigo.quality._text import clean_text, recase_words
from amigo.quality.issues import EMPTY, Normalized, make_issue, through_cache
from amigo.quality.names import strip_junk

# Matches the profile columns (String(200), String(100), String(20)).
MAX_ADDRESS_LINE_LENGTH = 200
MAX_CITY_LENGTH = 100
MAX_POSTAL_CODE_LENGTH = 20

# Lowercase inside city names: "Boulogne-sur-Mer", "Aix-en-Provence", "Villeneuve-d'Ascq".
CITY_PARTICLES = frozenset(
    {
        "de", "du", "des", "la", "le", "les", "lès", "lez", "sur", "sous", "en", "et",
        "aux", "au", "d", "l", "am", "an", "der", "im", "bei", "di", "del", "della",
        "sul", "upon", "on",
    }
)  # fmt: skip


def normalize_country(raw: str | None, *, field: str = "country") -> Normalized[str]:
    """Return the country as an ISO 3166-1 alpha-2 code, from a code or a name in many languages."""
    return through_cache(_normalize_country, _cached_normalize_country, raw, field)


def _normalize_country(raw: str, field: str) -> Normalized[str]:
    """Normalize a non-None country."""
    text = clean_text(raw)
    if not text:
        return EMPTY
    code = country_code(text)
    if code is None:
        return make_issue(field, "unknown_country", "{value} is not a country we know.", raw)
    return Normalized(code, None)


# Cached because a load sees a few hundred spellings.
_cached_normalize_country = lru_cache(maxsize=4096)(_normalize_country)


# Postal codes -----------------------------------------------------------------

# How each country writes its codes: a regex on the compact form (no spaces or
# hyphens) and how to print it back. Countries a fashion brand ships to.
_DIGITS = {
    "FR": 5, "IT": 5, "DE": 5, "ES": 5, "KR": 5, "MC": 5, "CN": 6,
    "CH": 4, "BE": 4, "AT": 4, "DK": 4, "LU": 4, "NO": 4,
}  # fmt: skip
# Spreadsheets drop the leading zero of "01000" (Bourg-en-Bresse) or "02134"
# (Boston): a 4-digit code in these countries can only be that.
_LEADING_ZERO_COUNTRIES = frozenset({"FR", "IT", "DE", "ES", "US"})
# The European habit of prefixing the country: "F-75003", "D-10115", "CH-1200".
_COUNTRY_PREFIX = re.compile(r"(?:[A-Z]{1,3})-(?=\d)")
_COUNTRY_PREFIXES: dict[str, tuple[str, ...]] = {
    "FR": ("F", "FR"), "DE": ("D", "DE"), "IT": ("I", "IT"), "ES": ("E", "ES"),
    "CH": ("CH",), "BE": ("B", "BE"), "AT": ("A", "AT"), "DK": ("DK",),
    "LU": ("L", "LU"), "NL": ("NL",), "NO": ("N", "NO"), "MC": ("MC",),
    "PT": ("P", "PT"), "SE": ("S", "SE"),
}  # fmt: skip
_SEPARATORS = re.compile(r"[\s\-.]+")
_GB = re.compile(r"([A-Z]{1,2}\d[A-Z\d]?|GIR)(\d[A-Z]{2})")
_CA = re.compile(r"([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z])(\d[ABCEGHJ-NPRSTV-Z]\d)")
_NL = re.compile(r"([1-9]\d{3})([A-Z]{2})")
_US = re.compile(r"(\d{5})(\d{4})?")
_SE = re.compile(r"(\d{3})(\d{2})")
_PT = re.compile(r"(\d{4})(\d{3})")
_JP = re.compile(r"(\d{3})(\d{4})")


def _fixed_digits(count: int) -> Callable[[str], str | None]:
    """Return a formatter accepting exactly count digits."""
    pattern = re.compile(rf"\d{{{count}}}")

    def check(compact: str) -> str | None:
        return compact if pattern.fullmatch(compact) else None

    return check


def _two_groups(pattern: re.Pattern[str], joiner: str) -> Callable[[str], str | None]:
    """Return a formatter printing the two groups of pattern with joiner between them."""

    def check(compact: str) -> str | None:
        match = pattern.fullmatch(compact)
        if match is None:
            return None
        head, tail = match.groups()
        return head if tail is None else f"{head}{joiner}{tail}"

    return check


@cache
def _formatters() -> dict[str, Callable[[str], str | None]]:
    """Return the postal code formatter of each country with a known format."""
    formatters = {country: _fixed_digits(count) for country, count in _DIGITS.items()}
    formatters.update(
        GB=_two_groups(_GB, " "),
        CA=_two_groups(_CA, " "),
        NL=_two_groups(_NL, " "),
        US=_two_groups(_US, "-"),
        JP=_two_groups(_JP, "-"),
        SE=_two_groups(_SE, " "),
        PT=_two_groups(_PT, "-"),
    )
    return formatters


def normalize_postal_code(
    raw: str | None, *, country: str | None, field: str = "postal_code"
) -> Normalized[str]:
    """Return the postal code in its country's canonical form, checked when the format is known."""
    return through_cache(_normalize_postal_code, _cached_normalize_postal_code, raw, country, field)


def _normalize_postal_code(raw: str, country: str | None, field: str) -> Normalized[str]:
    """Normalize a non-None postal code for the country given (code, name or None)."""
    # NFKC turns full-width digits and hyphens ("１００－０００１", common in Japan) into ASCII.
    text = clean_text(unicodedata.normalize("NFKC", raw)).upper()
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)  # upper() can decompose ("ΐ")
    if not text:
        return EMPTY
    code = _country_hint(country)
    if code is None or (formatter := _formatters().get(code)) is None:
        if len(text) > MAX_POSTAL_CODE_LENGTH:
            return make_issue(
                field, "invalid_postal_code", "{value} is too long to be a postal code.", raw
            )
        return Normalized(text, None)
    compact = text.removeprefix("〒").strip()
    prefix = _COUNTRY_PREFIX.match(compact)
    if prefix is not None and prefix.group()[:-1] in _COUNTRY_PREFIXES.get(code, ()):
        compact = compact[prefix.end() :]
    compact = _SEPARATORS.sub("", compact)
    if (
        code in _LEADING_ZERO_COUNTRIES
        and len(compact) == 4
        and compact.isdigit()
        and compact[0] != "0"  # "0010" lost something else than a leading zero
    ):
        compact = "0" + compact
    canonical = formatter(compact) if compact.isascii() else None
    if canonical is None:
        return make_issue(
            field, "invalid_postal_code", f"{{value}} is not a valid postal code for {code}.", raw
        )
    return Normalized(canonical, None)


# Cached because postal codes repeat.
_cached_normalize_postal_code = lru_cache(maxsize=65536)(_normalize_postal_code)


def _country_hint(country: str | None) -> str | None:
    """Return the country argument as an alpha-2 code, tolerating names and lowercase."""
    if not country:
        return None
    if len(country) == 2 and country.isupper():
        return country
    return normalize_country(country).value


# Street lines and cities ----------------------------------------------------------


def normalize_address_line(raw: str | None, *, field: str = "address_line1") -> Normalized[str]:
    """Return the address line cleaned of invisible characters and extra spaces."""
    if raw is None:
        return EMPTY
    text = clean_text(raw)
    if not text:
        return EMPTY
    if not any(char.isalnum() for char in text):
        return make_issue(field, "invalid_address", "{value} is not an address line.", raw)
    if len(text) > MAX_ADDRESS_LINE_LENGTH:
        return make_issue(
            field,
            "too_long",
            f"{{value}} is longer than {MAX_ADDRESS_LINE_LENGTH} characters.",
            raw,
        )
    return Normalized(text, None)


def normalize_city(raw: str | None, *, field: str = "city") -> Normalized[str]:
    """Return the city cleaned, title-cased when it was typed in one case."""
    return through_cache(_normalize_city, _cached_normalize_city, raw, field)


def _normalize_city(raw: str, field: str) -> Normalized[str]:
    """Normalize a non-None city."""
    text = clean_text(raw)
    if not text:
        return EMPTY
    text = strip_junk(text)
    if not any(char.isalpha() for char in text):
        return make_issue(field, "invalid_city", "{value} is not a city name.", raw)
    if len(text) > MAX_CITY_LENGTH:
        return make_issue(
            field, "too_long", f"{{value}} is longer than {MAX_CITY_LENGTH} characters.", raw
        )
    return Normalized(
        recase_words(text, particles=CITY_PARTICLES, particle_first=False, force_particles=True),
        None,
    )


# Cached because a few thousand cities cover most rows.
_cached_normalize_city = lru_cache(maxsize=16384)(_normalize_city)
