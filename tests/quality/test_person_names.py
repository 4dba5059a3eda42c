"""Person names: cleaning, casing, particles, and the matching key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amigo.quality import Normalized, name_match_key, normalize_name

PROPERTY = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jean-pierre DUPONT", "Jean-Pierre Dupont"),
        ("JEAN-PIERRE", "Jean-Pierre"),
        ("dupont", "Dupont"),
        ("o'neil", "O'Neil"),
        ("O'NEIL", "O'Neil"),
        ("o’neil", "O’Neil"),  # typographic apostrophe kept
        ("d'ARTAGNAN", "D'Artagnan"),
        ("marie de la tour", "Marie de la Tour"),
        ("ludwig van beethoven", "Ludwig van Beethoven"),
        ("de gaulle", "de Gaulle"),  # a lowercase particle stays lowercase
        ("MARIE DE LA TOUR", "Marie De La Tour"),  # "DE" was not typed as a particle
        ("de", "De"),  # a particle alone is a name
        ("McDonald", "McDonald"),  # mixed case is kept
        ("DiCaprio", "DiCaprio"),
        ("Giscard d'Estaing", "Giscard d'Estaing"),
        ("anne-Marie", "Anne-Marie"),  # one segment typed flat is enough
        ("ÉLODIE", "Élodie"),  # accents kept
        ("élodie", "Élodie"),
        ("JOSÉ", "José"),
        ("Nguyễn", "Nguyễn"),
        ("山田 太郎", "山田 太郎"),  # CJK unchanged
        ("김민준", "김민준"),
        ("सीता", "सीता"),  # a trailing vowel sign is not junk
        ("  Jean   Pierre  ", "Jean Pierre"),
        ("Jean\tPierre\n", "Jean Pierre"),
        ("Jean\u00a0Pierre", "Jean Pierre"),
        ("\u200bJean", "Jean"),
        ("Jea\x00n", "Jean"),
        (" -Jean. ", "Jean"),
        ("J.", "J"),
        ("'Jean'", "Jean"),
        ('"Jean"', "Jean"),
        ("Dupont (Martin)", "Dupont (Martin)"),
        ("Cafe\u0301", "Café"),  # NFC
        ("jean pierre", "Jean Pierre"),
    ],
)
def test_names(raw: str, expected: str) -> None:
    assert normalize_name(raw) == Normalized(expected, None)


@pytest.mark.parametrize("raw", [None, "", "   ", "\u200b\t"])
def test_empty_names(raw: str | None) -> None:
    assert normalize_name(raw) == Normalized(None, None)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("...", "empty_name"),
        ("-", "empty_name"),
        ("?!", "empty_name"),
        ("123", "invalid_name"),
        ("12 34", "invalid_name"),
        ("jean@example.com", "invalid_name"),
        ("x" * 101, "too_long"),
    ],
)
def test_invalid_names(raw: str, code: str) -> None:
    result = normalize_name(raw, field="last_name")
    assert result.value is None
    assert result.issue is not None
    assert (result.issue.field, result.issue.code) == ("last_name", code)
    assert result.issue.value == raw[:200]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Jean-Pierre DUPONT", "jeanpierre dupont"),
        ("Élodie", "elodie"),
        ("ÉLODIE", "elodie"),
        ("Straße", "strasse"),
        ("Søren Ørsted", "soren orsted"),
        ("Œuvray", "oeuvray"),
        ("O'Neil", "oneil"),
        ("  Marie   de la Tour ", "marie de la tour"),
        ("Nguyễn", "nguyen"),
        ("山田 太郎", "山田 太郎"),
        ("𝙰nne", "anne"),  # compatibility letters fold too
        ("123", ""),
    ],
)
def test_name_match_key(name: str, key: str) -> None:
    assert name_match_key(name) == key


_PARTS = [
    "jean", "pierre", "marie", "dupont", "o'neil", "d'artagnan", "mcdonald", "de", "la",
    "van", "der", "élodie", "çelik", "øyvind", "ß", "straße", "józef", "łukasz", "山田",
    "김", "nguyễn", "i̇stanbul", "ǆemal", "ﬁona", "le", "di", "dos", "anne-marie", "jean-de-dieu",
]  # fmt: skip


@st.composite
def _names(draw: st.DrawFn) -> str:
    """Return a generated name: known parts in random casing, joined by spaces or hyphens."""
    words = draw(st.lists(st.sampled_from(_PARTS), min_size=1, max_size=4))
    cased = [
        draw(st.sampled_from([word, word.upper(), word.lower(), word.title(), word.swapcase()]))
        for word in words
    ]
    separators = draw(st.lists(st.sampled_from([" ", "-", "  ", " - "]), min_size=len(cased)))
    name = cased[0] + "".join(sep + word for sep, word in zip(separators, cased[1:], strict=False))
    return draw(st.sampled_from(["", " ", ".", "-"])) + name + draw(st.sampled_from(["", " ", "."]))


@PROPERTY
@given(raw=_names())
def test_generated_names_are_idempotent(raw: str) -> None:
    first = normalize_name(raw)
    assert first.value is not None, first.issue
    assert normalize_name(first.value) == first
    assert first.value == first.value.strip()
    assert "  " not in first.value
    assert name_match_key(first.value) == name_match_key(raw)


@pytest.mark.parametrize("raw", ["ŉ", "ǆemal", "ǅEMAL", "İSTANBUL", "ß", "STRAẞE", "ΌΣΟΣ", "ﬁona"])
def test_special_casing_is_stable(raw: str) -> None:
    # Letters whose case mapping changes length or adds a caseless letter.
    first = normalize_name(raw)
    assert first.value is not None
    assert normalize_name(first.value) == first
