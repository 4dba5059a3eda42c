"""Person names: clean for display, and a folded key for matching."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from amigo.quality._text import clean_text, recase_words
from amigo.quality.issues import EMPTY, Normalized, make_issue, through_cache

# Matches the profile columns (String(100)): a longer value is a pasted blob, not a name.
MAX_NAME_LENGTH = 100

# Nobiliary and patronymic particles kept lowercase when typed lowercase as a
# word of their own in a multi-word name ("Marie de la Tour", "Ludwig van Beethoven").
NAME_PARTICLES = frozenset(
    {
        "de", "du", "des", "la", "le", "van", "von", "der", "den", "ter", "ten",
        "di", "da", "del", "della", "dos", "das", "do", "zu", "y",
    }
)  # fmt: skip

# Brackets are not junk at the ends: "Dupont (Martin)" must keep its ")".
_JUNK_CATEGORIES = frozenset(
    {"Pc", "Pd", "Po", "Pi", "Pf", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cn"}
)

# Letters that NFKD does not decompose but that people type both ways.
_FOLD_EXTRA = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


def _is_junk(char: str) -> bool:
    """Return True for a character that cannot start or end a name."""
    if char.isalnum():
        return False
    return unicodedata.category(char) in _JUNK_CATEGORIES


def strip_junk(text: str) -> str:
    """Return text without leading and trailing punctuation, symbols and spaces."""
    start, end = 0, len(text)
    while start < end and _is_junk(text[start]):
        start += 1
    while end > start and _is_junk(text[end - 1]):
        end -= 1
    return text[start:end]


def normalize_name(raw: str | None, *, field: str = "first_name") -> Normalized[str]:
    """Return the name cleaned, with sensible casing when it was typed in one case."""
    return through_cache(_normalize_name, _cached_normalize_name, raw, field)


def _normalize_name(raw: str, field: str) -> Normalized[str]:
    """Normalize a non-None name."""
    text = clean_text(raw)
    if not text:
        return EMPTY
    text = strip_junk(text)
    if not text:
        return make_issue(field, "empty_name", "{value} has no letters, so it is not a name.", raw)
    if not any(char.isalpha() for char in text) or "@" in text:
        return make_issue(field, "invalid_name", "{value} does not look like a name.", raw)
    if len(text) > MAX_NAME_LENGTH:
        return make_issue(
            field, "too_long", f"{{value}} is longer than {MAX_NAME_LENGTH} characters.", raw
        )
    return Normalized(
        recase_words(text, particles=NAME_PARTICLES, particle_first=True, force_particles=False),
        None,
    )


# Cached because first and last names repeat a lot.
_cached_normalize_name = lru_cache(maxsize=65536)(_normalize_name)


def name_match_key(name: str) -> str:
    """Return the name casefolded, without accents or non-letters, for matching."""
    # NFKD both sides of casefold: compatibility forms ("𝙰", "ﬁ") hide their case.
    folded = unicodedata.normalize("NFKD", name).casefold().translate(_FOLD_EXTRA)
    folded = unicodedata.normalize("NFKD", folded)
    letters = "".join(char for char in folded if char.isalpha() or char.isspace())
    return " ".join(letters.split())
