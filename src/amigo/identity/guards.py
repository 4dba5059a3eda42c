"""Guards: what stops two records from being merged automatically, whatever their score.

A probabilistic score adds evidence up as if fields were independent. Two
kinds of look-alikes break that: namesakes (the same name, a different
person: different birth dates, other e-mails and phones) and households
(a shared e-mail or phone, the same last name and address, another first
name and birth date). These rules check what the score cannot:

- hard conflicts keep records apart for good: two birth dates that are not
  a typo of each other, two first names that are not spellings of one;
- soft conflicts send the pair to a person: birth dates one typo apart, an
  e-mail and a phone that both differ, a shared contact with the other
  contact differing and no first name to tell the two apart.

Resolution applies them to every pair across two clusters before joining
them, not only to the pair that links them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from amigo.identity.comparisons import letter_typo
from amigo.quality.romanize import latin_name_key

Row = Mapping[str, Any]

BIRTH_DATE_CONFLICT = "birth_date_conflict"
FIRST_NAME_CONFLICT = "first_name_conflict"
BIRTH_DATE_CLOSE = "birth_date_close"
EMAIL_AND_PHONE_CONFLICT = "email_and_phone_conflict"
SHARED_CONTACT_UNVERIFIED = "shared_contact_unverified"
HARD = frozenset({BIRTH_DATE_CONFLICT, FIRST_NAME_CONFLICT})
SOFT = frozenset({BIRTH_DATE_CLOSE, EMAIL_AND_PHONE_CONFLICT, SHARED_CONTACT_UNVERIFIED})

DESCRIPTIONS = {
    BIRTH_DATE_CONFLICT: "different birth dates",
    FIRST_NAME_CONFLICT: "different first names",
    BIRTH_DATE_CLOSE: "birth dates one typo apart",
    EMAIL_AND_PHONE_CONFLICT: "both the e-mail and the phone differ",
    SHARED_CONTACT_UNVERIFIED: "a shared contact, the other one differs, and no first name to compare",
}
_SIMILAR_FIRST_NAMES = 0.88  # Jaro-Winkler: "Jonathan"/"Johnathan", not "Marie"/"Martin"
_SIMILAR_ACROSS_SCRIPTS = 0.75  # "jiu" read from 지우 against "jiwoo" typed
_COUNTRY_OF_SCRIPT = {"hangul": "KR", "kana": "JP", "han": "CN", "kanji": "JP"}
_SHORTEST_TYPO_TOLERANT = 5  # below, one letter more or less is another name (Jean/Joan)


def first_names_compatible(a: Row, b: Row) -> bool:  # noqa: PLR0911 - one rule per return
    """Tell whether two records' given first names can be one person's.

    Equal, a typo apart, one the initial or the beginning of the other, or
    one record's first name typed as the other's last name (swapped fields).
    Keys read from another script (hangul, hanzi, kana) are compared more
    loosely with typed ones; kanji, read with a dictionary or not read at all,
    never conflict with a name from elsewhere (another reading may be theirs).
    """
    first_a, first_b = a["first"], b["first"]
    if first_a is None or first_b is None or first_a == first_b:
        return True
    kind_a, kind_b = a["first_kind"], b["first_kind"]
    if "native" in (kind_a, kind_b):
        readings = _read_beside_kanji(a, b)
        if readings is not None:  # two kanji names, read the same way: as exact as any two
            return _similar(*readings)
        return kind_a != kind_b or DamerauLevenshtein.distance(first_a, first_b) <= 1
    if _swapped(a, b) or _swapped(b, a):
        return True
    if _similar(first_a, first_b):
        return True
    if kind_a == kind_b == "latin":
        # Keys respell some names ("Ji-woo" gives "jiu" in Korea): the names as typed count too.
        plain_a, plain_b = a["first_plain"], b["first_plain"]
        return bool(plain_a and plain_b and _similar(plain_a, plain_b))
    if kind_a == kind_b:  # both read from the same script: the readings are exact
        return False
    if "latin" in (kind_a, kind_b):
        # Typed abroad, read at home: spell the typed name as its script's country would.
        typed, read = (a, b) if kind_a == "latin" else (b, a)
        country = _COUNTRY_OF_SCRIPT[read["first_kind"]]
        respelled = latin_name_key(typed["first_plain"], country=country)
        if respelled and _similar(respelled, read["first"]):
            return True
    if "kanji" in (kind_a, kind_b):
        # The dictionary's reading of kanji may not be the person's (裕樹: Hiroki or
        # Yuki): a reading from elsewhere that differs is no proof of two people.
        return True
    return bool(JaroWinkler.normalized_similarity(first_a, first_b) >= _SIMILAR_ACROSS_SCRIPTS)


def _read_beside_kanji(a: Row, b: Row) -> tuple[str, str] | None:
    """Read an unread Han first name as Japanese when the other record's was read so.

    A record with no country keeps its Han name unread (kanji or hanzi?); beside
    a Japanese record's kanji, in a household sharing an e-mail, it is kanji too.
    """
    kinds = (a["first_kind"], b["first_kind"])
    if set(kinds) != {"native", "kanji"}:
        return None
    native, read = (a, b) if kinds[0] == "native" else (b, a)
    reading = latin_name_key(native["first"], country="JP")
    return None if reading is None else (reading, str(read["first"]))


def _swapped(a: Row, b: Row) -> bool:
    """Tell whether b's first name is a's last name, and b's last name (if any) a's first name."""
    if a["last_x"] is None or not _similar(b["first"], a["last_x"]):
        return False
    return b["last_x"] is None or a["first_x"] is None or _similar(b["last_x"], a["first_x"])


def _similar(a: str, b: str) -> bool:
    if a.startswith(b) or b.startswith(a):
        return True
    if min(len(a), len(b)) >= _SHORTEST_TYPO_TOLERANT:
        if DamerauLevenshtein.distance(a, b) <= 1:
            return True
    elif sorted(a) == sorted(b) and DamerauLevenshtein.distance(a, b) <= 1:
        return True  # "Jnu" for "Jun"; but "Jing" and "Ying" are two names
    return bool(JaroWinkler.normalized_similarity(a, b) >= _SIMILAR_FIRST_NAMES)


def emails_differ(a: Row, b: Row) -> bool:
    """Tell whether two records hold different mailboxes (a one-letter typo is the same one)."""
    email_a, email_b = a["email"], b["email"]
    if email_a is None or email_b is None or email_a == email_b:
        return False
    return not letter_typo(email_a, email_b)


def _first_name_known(row: Row, other: Row) -> bool:
    """Tell whether a record names its person: given, or read from an e-mail it does not share."""
    if row["first"] is not None:
        return True
    return bool(row["first_x"] is not None and row["email"] != other["email"])


def _comparable_first_names(a: Row, b: Row) -> bool:
    if not (_first_name_known(a, b) and _first_name_known(b, a)):
        return False
    kind_a, kind_b = a["first_kind"], b["first_kind"]
    readings = _read_beside_kanji(a, b)
    if readings is not None:
        return readings[0] == readings[1]
    if "kanji" in (kind_a, kind_b) and kind_a != kind_b and a["first"] != b["first"]:
        return False  # a dictionary's reading verifies a name only where it agrees
    return bool((kind_a == "native") == (kind_b == "native"))


def pair_conflicts(a: Row, b: Row) -> tuple[str, ...]:
    """Return the guards a pair of records trips (hard ones first), empty when none."""
    found: list[str] = []
    birth_a, birth_b = a["birth"], b["birth"]
    if birth_a is not None and birth_b is not None and birth_a != birth_b:
        close = DamerauLevenshtein.distance(birth_a, birth_b) <= 1
        found.append(BIRTH_DATE_CLOSE if close else BIRTH_DATE_CONFLICT)
    if not first_names_compatible(a, b):
        found.append(FIRST_NAME_CONFLICT)
    email_differs = emails_differ(a, b)
    phone_differs = a["phone"] is not None and b["phone"] is not None and a["phone"] != b["phone"]
    if email_differs and phone_differs:
        found.append(EMAIL_AND_PHONE_CONFLICT)
    elif email_differs or phone_differs:
        shared = (a["email"] is not None and a["email"] == b["email"]) or (
            a["phone"] is not None and a["phone"] == b["phone"]
        )
        if shared and not _comparable_first_names(a, b):
            found.append(SHARED_CONTACT_UNVERIFIED)
    return tuple(sorted(found, key=lambda code: code not in HARD))


def is_hard(codes: tuple[str, ...]) -> bool:
    """Tell whether any of the guards keeps the records apart for good."""
    return any(code in HARD for code in codes)


def describe(codes: tuple[str, ...] | list[str]) -> str:
    """Return the guards in words, for the review queue and the audit."""
    return "; ".join(DESCRIPTIONS.get(code, code) for code in codes)


__all__ = [
    "HARD",
    "SOFT",
    "describe",
    "first_names_compatible",
    "is_hard",
    "pair_conflicts",
]
