"""Text helpers shared by the normalizers: cleaning and human-friendly casing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

# Control characters, lone surrogates and invisible joiners copied from web
# forms and spreadsheets: they carry nothing and break storage or matching.
# The C0/C1 characters that Python counts as whitespace (tab, newlines, \x1c-\x1f,
# NEL) are left to become spaces instead.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u200b\u2060\ufeff\ud800-\udfff]+")
# \s covers tabs, newlines, NBSP, narrow NBSP and the other Unicode spaces.
_SPACES = re.compile(r"\s+")

# A word is split into segments after hyphens and apostrophes, each capitalised.
_SEGMENT_SPLIT = re.compile("([-'’‐‑])")


def clean_text(raw: str) -> str:
    """Return raw in NFC with invisible characters dropped and whitespace collapsed."""
    # Fast path for the usual printable ASCII value: nothing to drop or compose.
    if raw.isascii() and raw.isprintable():
        text = raw.strip()
        return _SPACES.sub(" ", text) if "  " in text else text
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", raw))
    return _SPACES.sub(" ", text).strip()


def _is_flat(text: str) -> bool:
    """Return True when text's cased letters are all upper or all lower."""
    return text.isupper() or text.islower()


def _capitalise(segment: str) -> str:
    """Return segment with its first cased letter in title case and the rest lower."""
    for index, char in enumerate(segment):
        # Cased, not merely alphabetic: "ŉ".title() is "ʼN", whose "ʼ" is a letter
        # without case, and capitalising it would lower the "N" on the next pass.
        if char.isupper() or char.islower() or char.istitle():
            return segment[:index] + char.title() + segment[index + 1 :].lower()
    return segment.lower()


def _recase_word(
    word: str, particles: Collection[str], *, force_particles: bool, inner: bool
) -> str:
    """Return word capitalised per segment if it looks typed in one case, else as is."""
    parts = _SEGMENT_SPLIT.split(word)
    segments = parts[::2]
    # "d'ARTAGNAN" or "anne-Marie" are typed in one case in part: one segment of two
    # or more cased letters all in one case is enough, unless it is a lowercase
    # particle after a hyphen ("Aix-en-Provence"); "McDonald", "d'Estaing" are kept.
    shouted = _is_flat(word) or any(
        sum(char.isupper() or char.islower() for char in segment) > 1
        and _is_flat(segment)
        and not (index > 0 and segment in particles)
        for index, segment in enumerate(segments)
    )
    if not shouted:
        return word
    # An elided particle starting an inner word is lowered too when forced:
    # "VILLENEUVE D'ASCQ" is "Villeneuve d'Ascq".
    elided_first = inner and force_particles and len(parts) > 1 and parts[1] in "'’"
    parts[::2] = [
        segment.lower()
        if (index > 0 or elided_first)
        and (segment in particles or (force_particles and segment.lower() in particles))
        else _capitalise(segment)
        for index, segment in enumerate(segments)
    ]
    return "".join(parts)


def recase_words(
    text: str, *, particles: Collection[str], particle_first: bool, force_particles: bool
) -> str:
    """Return space-separated text with one-case words capitalised, keeping particles.

    A word in ``particles`` (lowercase spelling) stays as typed in a multi-word
    text, at the start too when ``particle_first``. After a hyphen or apostrophe a
    particle stays lowercase, and is lowercased when ``force_particles`` (city
    names: "BOULOGNE-SUR-MER" is "Boulogne-sur-Mer").
    """
    # Fast paths for the usual cases: nothing to case (CJK, digits), or every word
    # already capitalised ("Jean-Pierre Dupont"), which the rules below would keep.
    if text.istitle() or text.lower() == text.upper():
        return text
    words = text.split(" ")
    several = len(words) > 1
    out = [
        word
        if word.istitle() or (several and (position > 0 or particle_first) and word in particles)
        else _recase_word(word, particles, force_particles=force_particles, inner=position > 0)
        for position, word in enumerate(words)
    ]
    result = " ".join(out)
    # Case mapping can produce decomposed sequences ("İ".lower() is "i" + U+0307).
    return result if result.isascii() else unicodedata.normalize("NFC", result)
