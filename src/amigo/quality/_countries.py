"""Country lookup: ISO codes and names in the languages of the brand's sources."""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import cache

import pycountry

# The sources are French, German, Italian, Japanese, Korean and Chinese stores and
# an international web shop; Spanish, Dutch, Portuguese come with the customers.
_LOCALES = ("fr", "de", "it", "es", "ja", "ko", "zh_CN", "zh_TW", "nl", "pt")

# Spellings that no ISO name or translation covers, checked before the translations
# so that they win any clash ("Korea" means the South for a retailer).
_ALIASES: dict[str, tuple[str, ...]] = {
    "GB": (
        "UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales",
        "Northern Ireland", "Angleterre", "Grande-Bretagne", "Écosse", "Pays de Galles",
        "Großbritannien", "England", "Inghilterra", "Gran Bretagna", "Gran Bretaña",
        "Inglaterra", "イギリス", "英國", "잉글랜드",
    ),
    "US": (
        "USA", "U.S.A.", "U.S.", "America", "United States of America", "Amérique",
        "Etats-Unis d'Amérique", "USA", "Amerika", "アメリカ", "美國", "美国",
    ),
    "KR": (
        "South Korea", "Korea", "Korea South", "Republic of Korea", "Corée", "Corée du Sud",
        "Südkorea", "Korea Süd", "Corea", "Corea del Sud", "한국", "남한", "韓国", "韓國",
        "南韓", "韩国", "南韩",
    ),
    "KP": ("North Korea", "Korea North", "Corée du Nord", "Nordkorea", "북한", "北朝鮮"),
    "NL": ("Holland", "Hollande", "Olanda", "The Netherlands"),
    "CZ": ("Czech Republic", "République tchèque", "Tschechien"),
    "RU": ("Russia", "Russie", "Russland", "Russia"),
    "TR": ("Turkey", "Turquie", "Türkei", "Turchia"),
    "VN": ("Vietnam", "Viêt Nam"),
    "CI": ("Ivory Coast",),
    "CV": ("Cape Verde",),
    "SZ": ("Swaziland",),
    "MM": ("Burma",),
    "MK": ("Macedonia",),
    "VA": ("Vatican", "Vatican City"),
    "HK": ("Hongkong", "香港"),
    "MO": ("Macau",),
    "TW": ("台灣", "台湾"),
    "CN": ("中國", "PRC", "Mainland China"),
    "AE": ("UAE", "Emirates"),
}  # fmt: skip

# Only the Latin diacritics are folded ("États" = "Etats"); dropping every
# combining mark would also strip the dakuten of Japanese kana.
_LATIN_MARKS = re.compile("[\u0300-\u036f]")
_NOT_WORD = re.compile(r"[\W_]+")
_PARENTHETICAL = re.compile(r"\s*\([^)]*\)")


def lookup_key(text: str) -> str:
    """Return text casefolded, without Latin accents, spaces or punctuation."""
    if text.isascii():
        return _NOT_WORD.sub("", text.casefold())
    decomposed = _LATIN_MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))
    return _NOT_WORD.sub("", unicodedata.normalize("NFC", decomposed))


def _spellings(name: str) -> tuple[list[str], list[str]]:
    """Return (exact, partial) spellings of name: "Korea, Republic of" is also "Korea"."""
    exact = [name]
    partial: list[str] = []
    base = _PARENTHETICAL.sub("", name).strip()
    if base and base != name:
        partial.append(base)  # "Saint Martin (French part)" -> "Saint Martin"
    head, comma, tail = base.partition(", ")
    if comma:
        exact.append(f"{tail} {head}")
        partial.append(head)
    return exact, partial


@cache
def _indexes() -> tuple[dict[str, str], dict[str, str]]:
    """Return the (ISO code, name key) to alpha-2 lookups, built once on first use."""
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    # A partial spelling is kept only if it names one country: "Congo" is the
    # name of CG and the head of "Congo, The Democratic Republic of the".
    partials: dict[str, str | None] = {}

    def add(name: str, alpha_2: str) -> None:
        exact, partial = _spellings(name)
        for spelling in exact:
            key = lookup_key(spelling)
            if key:
                # First writer wins: aliases, then English, then the locales in order.
                names.setdefault(key, alpha_2)
        for spelling in partial:
            key = lookup_key(spelling)
            if key:
                partials[key] = alpha_2 if partials.get(key, alpha_2) == alpha_2 else None

    countries = list(pycountry.countries)
    for country in countries:
        codes[country.alpha_2] = country.alpha_2
        codes[country.alpha_3] = country.alpha_2
        codes[country.numeric] = country.alpha_2
    for alpha_2, aliases in _ALIASES.items():
        for alias in aliases:
            add(alias, alpha_2)
    english = ("name", "common_name", "official_name")
    for country in countries:
        for attribute in english:
            value = getattr(country, attribute, None)
            if value:
                add(value, country.alpha_2)
    for locale in _LOCALES:
        translation = gettext.translation(
            "iso3166-1", pycountry.LOCALES_DIR, languages=[locale], fallback=True
        )
        for country in countries:
            for attribute in english:
                value = getattr(country, attribute, None)
                if value:
                    add(translation.gettext(value), country.alpha_2)
    for key, only in partials.items():
        if only is not None:
            names.setdefault(key, only)
    return codes, names


def country_code(text: str) -> str | None:
    """Return the alpha-2 code for a cleaned, non-empty country text, or None."""
    codes, names = _indexes()
    if text.isascii():
        compact = text.strip().upper()
        if compact.isdigit() and len(compact) <= 3:
            return codes.get(compact.zfill(3))
        if compact in codes:
            return codes[compact]
    return names.get(lookup_key(text))
