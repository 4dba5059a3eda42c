"""Match keys: what resolution compares, computed from a record's normalized values.

Pure functions, no database. Names become Latin keys (``amigo.quality.romanize``)
so that ``김 지우`` in a Seoul store meets ``Ji-woo Kim`` on the web shop. A
name a form did not ask for is read from the e-mail address when the address
spells it: ``michelle_richards@outlook.com`` with first name Michelle gives
the last name Richards. Nothing here decides a match; it only makes values
comparable.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from amigo.quality.names import name_match_key
from amigo.quality.romanize import NamePart, has_han, latin_name_key, name_script

# What is left of a local part once digits and separators are gone.
_NOT_LETTER = re.compile(r"[^a-z]")
_SHORTEST_INFERRED = 2  # letters an e-mail must leave over to name the missing part


@dataclass(frozen=True, slots=True)
class NameKeys:
    """A record's name keys: as given, and with the gaps the e-mail fills."""

    first: str | None
    last: str | None
    first_inferred: str | None  # the given key, or the one read from the e-mail
    last_inferred: str | None

    @property
    def full(self) -> str | None:
        """Return "first last" when both parts are known (given or inferred)."""
        if self.first_inferred and self.last_inferred:
            return f"{self.first_inferred} {self.last_inferred}"
        return None


def email_letters(email_match_key: str | None) -> str:
    """Return the letters of an e-mail's local part: ``jean.dupont75`` gives ``jeandupont``."""
    if not email_match_key:
        return ""
    return _NOT_LETTER.sub("", email_match_key.partition("@")[0].lower())


def name_keys(
    first_name: str | None,
    last_name: str | None,
    email_match_key: str | None,
    country: str | None,
    phone: str | None = None,
) -> NameKeys:
    """Return the name keys of a record, a missing part read from its e-mail if it can be.

    Without a country, the phone's or the e-mail's tells how to read the
    name (kanji are Japanese with a +81 phone, Chinese otherwise).
    """
    hint = country or country_hint(phone, email_match_key)
    return _name_keys(first_name, last_name, email_match_key, hint)


@lru_cache(maxsize=262_144)
def _name_keys(
    first_name: str | None,
    last_name: str | None,
    email_match_key: str | None,
    country: str | None,
) -> NameKeys:
    first = name_key(first_name, country=country, part="first")
    last = name_key(last_name, country=country, part="last")
    first_inferred, last_inferred = first, last
    if (first is None) != (last is None):
        known_name = first_name if first is not None else last_name
        rest = _rest_of_email(known_name, first or last or "", email_match_key)
        if rest is not None:
            # "{first}{last}" and "{last}{first}" are both common: the leftover
            # letters are the missing part whichever side they sit on.
            if first is None:
                first_inferred = name_key(rest, country=country, part="first")
            else:
                last_inferred = name_key(rest, country=country, part="last")
    return NameKeys(first, last, first_inferred, last_inferred)


def _rest_of_email(
    known_name: str | None, known_key: str, email_match_key: str | None
) -> str | None:
    """Return what an e-mail's letters hold besides a known name part, if they hold it."""
    letters = email_letters(email_match_key)
    if not letters:
        return None
    # The key may be folded ("jeong" for "Jung"): the letters hold the name as typed.
    for known in dict.fromkeys((plain_name(known_name), known_key)):
        if not known or len(letters) - len(known) < _SHORTEST_INFERRED:
            continue
        if letters.startswith(known):
            return letters[len(known) :]
        if letters.endswith(known):
            return letters[: -len(known)]
    return None


def name_key(name: str | None, *, country: str | None, part: NamePart) -> str | None:
    """Return a name's match key: Latin letters, or the folded native text when it has no reading."""
    key = latin_name_key(name, country=country, part=part)
    if key is not None or not name:
        return key
    return _native_key(name)


@lru_cache(maxsize=65_536)
def _native_key(name: str) -> str | None:
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalpha()) or None


def plain_name(name: str | None) -> str:
    """Return a Latin-typed name folded to its letters, without any respelling ("" otherwise)."""
    if not name:
        return ""
    return _plain_name(name)


@lru_cache(maxsize=262_144)
def _plain_name(name: str) -> str:
    if name_script(name) != "latin":
        return ""
    return _NOT_LETTER.sub("", name_match_key(name))


@lru_cache(maxsize=262_144)
def key_kind(name: str | None, key: str | None) -> str | None:
    """Tell how a name's key was made: "latin" (typed so), "native" (no reading), the
    script it was read from ("hangul", "han" for Chinese pinyin, "kana"), or "kanji"
    (Japanese kanji read with a dictionary: one of maybe several readings)."""
    if key is None:
        return None
    if not key.isascii():
        return "native"
    script = name_script(name)
    if script in (None, "latin", "other"):
        return "latin"
    # Han characters read otherwise than as a Chinese record's pinyin (kana beside
    # them, or a Japanese record's reading) are kanji read with a dictionary.
    if name is not None and has_han(name) and not (script == "han" and _is_pinyin(name, key)):
        return "kanji"
    return script


def _is_pinyin(name: str, key: str) -> bool:
    """Tell whether a Han name's key is its Mandarin reading (a Chinese record's)."""
    return key in {latin_name_key(name, country="CN", part=p) for p in ("first", "last")}


_TLD_COUNTRY = {"jp": "JP", "cn": "CN", "kr": "KR", "tw": "TW", "hk": "HK"}
# Mail providers that nearly only people of one country use.
_DOMAIN_COUNTRY = {
    **dict.fromkeys(("qq.com", "163.com", "126.com", "sina.com", "sohu.com", "yeah.net"), "CN"),
    **dict.fromkeys(("naver.com", "daum.net", "hanmail.net", "kakao.com", "nate.com"), "KR"),
}


@lru_cache(maxsize=4096)
def _region_of_calling_code(prefix: str) -> str | None:
    for length in (1, 2, 3):
        code = prefix[1 : 1 + length]
        if code.isdigit():
            region = phonenumbers.region_code_for_country_code(int(code))
            if region and region != "ZZ":
                return str(region)
    return None


def country_hint(phone: str | None, email_match_key: str | None) -> str | None:
    """Return the country a phone's calling code or an e-mail's domain suggests, if any."""
    if phone and phone.startswith("+"):
        region = _region_of_calling_code(phone[:4])
        if region:
            return region
    if email_match_key:
        domain = email_match_key.rpartition("@")[2]
        return _DOMAIN_COUNTRY.get(domain) or _TLD_COUNTRY.get(domain.rpartition(".")[2])
    return None


def distinct_local_part(
    email_match_key: str | None,
    keys: NameKeys,
    first_name: str | None = None,
    last_name: str | None = None,
) -> str | None:
    """Return an e-mail's local part, or None when it only spells the person's name."""
    if not email_match_key or local_part_names_the_person(
        email_match_key, keys, first_name, last_name
    ):
        return None
    return email_match_key.partition("@")[0]


def local_part_names_the_person(
    email_match_key: str | None,
    keys: NameKeys,
    first_name: str | None = None,
    last_name: str | None = None,
) -> bool:
    """Tell whether an e-mail's local part is only the person's name (``jean.dupont``, ``jchoi``).

    Two namesakes' addresses look alike for that reason alone: such a local
    part says nothing the name does not already say. The name parts may be
    spelled otherwise in the address than in the key ("choi" for the key
    "choe" of 최): each leftover is keyed before it is compared. A name with
    no Latin reading cannot be checked, and counts as named.
    """
    letters = email_letters(email_match_key)
    first, last = keys.first_inferred, keys.last_inferred
    if not letters or not (first or last):
        return False
    if not f"{first or ''}{last or ''}".isascii():
        return True
    spellings = {
        "first": {k for k in (first, plain_name(first_name)) if k},
        "last": {k for k in (last, plain_name(last_name)) if k},
    }
    for part, other in (("first", "last"), ("last", "first")):
        for known in spellings[part]:
            for rest in _around(letters, known):
                if rest == "" or _names(rest, other, spellings[other]):
                    return True
        # An initial: "jdupont", "dupontj".
        for initial in {k[0] for k in spellings[part]}:
            if letters[0] == initial and _names(letters[1:], other, spellings[other]):
                return True
            if letters[-1] == initial and _names(letters[:-1], other, spellings[other]):
                return True
    return False


def _around(letters: str, known: str) -> list[str]:
    found = []
    if letters.startswith(known):
        found.append(letters[len(known) :])
    if letters.endswith(known):
        found.append(letters[: -len(known)])
    return found


def _names(text: str, part: str, spellings: set[str]) -> bool:
    if not text or not spellings:
        return False
    if text in spellings:
        return True
    key = latin_name_key(text, part="last" if part == "last" else "first")
    return key in spellings


@lru_cache(maxsize=262_144)
def place_key(text: str | None) -> str | None:
    """Return a street line or a city folded for comparison: lower case, no accents or signs."""
    if not text:
        return None
    folded = unicodedata.normalize("NFKD", text).casefold()
    kept = "".join(ch if ch.isalnum() else " " for ch in folded if not unicodedata.combining(ch))
    return " ".join(kept.split()) or None


@lru_cache(maxsize=262_144)
def postal_key(postal_code: str | None) -> str | None:
    """Return a postal code without spaces or dashes, upper case: ``SW1A 1AA`` gives ``SW1A1AA``."""
    if not postal_code:
        return None
    key = "".join(ch for ch in postal_code.upper() if ch.isalnum())
    return key or None


__all__ = [
    "NameKeys",
    "country_hint",
    "distinct_local_part",
    "email_letters",
    "key_kind",
    "local_part_names_the_person",
    "name_key",
    "name_keys",
    "place_key",
    "plain_name",
    "postal_key",
]
