"""The comparisons of AMIgo's match model, each level written twice: in SQL and in Python.

Splink scores the batch with the SQL (on DuckDB, or Spark); a single new
record is scored against its candidates in Python, level by level, with
the same trained weights. Both spellings of every level are side by side
here, and a test checks that they agree pair by pair.

Feature columns (``matching.FEATURE_COLUMNS``): ``first``/``last`` (Latin
name keys as given), ``first_x``/``last_x`` (gaps read from the e-mail),
``full_name`` ("first last"), ``name_script`` ("latin", or "native" for
kanji that have no reading), ``email`` (the mailbox key),
``email_local_distinct`` (the local part, unless it is only the person's
name), ``phone`` (E.164), ``birth`` (ISO date), ``postal``, ``city`` and
``address`` (folded).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

Row = Mapping[str, Any]
Test = Callable[[Row, Row], bool]


@dataclass(frozen=True)
class Level:
    """One outcome of a comparison: its label, its SQL condition and its Python twin."""

    label: str
    sql: str
    test: Test
    is_null: bool = False
    tf_column: str | None = None  # term-frequency adjusted (rare values weigh more)


@dataclass(frozen=True)
class Comparison:
    """A field (or fields) compared between two records, from the strongest level down."""

    name: str
    description: str
    levels: tuple[Level, ...]

    def level_of(self, left: Row, right: Row) -> int:
        """Return the index of the first level the pair satisfies (the last one is ELSE)."""
        for index, level in enumerate(self.levels):
            if level.test(left, right):
                return index
        return len(self.levels) - 1

    def splink(self) -> dict[str, Any]:
        """Return the comparison as a Splink settings dictionary."""
        levels: list[dict[str, Any]] = []
        for level in self.levels:
            entry: dict[str, Any] = {"sql_condition": level.sql, "label_for_charts": level.label}
            if level.is_null:
                entry["is_null_level"] = True
            if level.tf_column:
                entry["tf_adjustment_column"] = level.tf_column
                entry["tf_adjustment_weight"] = 1.0
            levels.append(entry)
        return {
            "output_column_name": self.name,
            "comparison_description": self.description,
            "comparison_levels": levels,
        }


# ---------------------------------------------------------------- building blocks


def _present(row: Row, column: str) -> bool:
    return row[column] is not None


def _both(left: Row, right: Row, column: str) -> bool:
    return left[column] is not None and right[column] is not None


def _equal(left: Row, right: Row, column: str) -> bool:
    return left[column] is not None and left[column] == right[column]


def _jaro_winkler(left: Row, right: Row, column: str, threshold: float) -> bool:
    if not _both(left, right, column):
        return False
    return bool(JaroWinkler.normalized_similarity(left[column], right[column]) >= threshold)


def _one_edit(left: Row, right: Row, column: str) -> bool:
    if not _both(left, right, column):
        return False
    return bool(DamerauLevenshtein.distance(left[column], right[column]) <= 1)


_DIGITS = re.compile("[^0-9]")
_LETTERS = re.compile("[^a-z]")


def letter_typo(a: str, b: str) -> bool:
    """Tell whether two strings are one edit apart, on a letter ("jon.smith"/"jonh.smith").

    Look-alike addresses of namesakes differ by their digits or separators
    ("smith78"/"smith79", "jsmith"/"j.smith"); a typo changes a letter.
    """
    if DamerauLevenshtein.distance(a, b) > 1:
        return False
    return _DIGITS.sub("", a) == _DIGITS.sub("", b) and _LETTERS.sub("", a) != _LETTERS.sub("", b)


def _letter_typo(left: Row, right: Row, column: str) -> bool:
    return _both(left, right, column) and letter_typo(left[column], right[column])


def _kept_sql(column: str, kept: str, side: str = "l") -> str:
    return f"regexp_replace({column}_{side}, '[^{kept}]', '', 'g')"


def _null_sql(*columns: str) -> str:
    return " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in columns)


def _null_level(*columns: str) -> Level:
    return Level(
        "one side missing",
        _null_sql(*columns),
        lambda a, b: any(not (_both(a, b, c)) for c in columns),
        is_null=True,
    )


def _else() -> Level:
    return Level("all other", "ELSE", lambda a, b: True)


def _jw_sql(column: str, threshold: float) -> str:
    return f"jaro_winkler_similarity({column}_l, {column}_r) >= {threshold}"


# The levels are written in DuckDB's SQL (trained models keep it). Spark differs
# in exactly two of the constructs used: Splink's Jaro-Winkler UDF is named
# jaro_winkler, and regexp_replace replaces every match without a 'g' flag.
_SPARK_SPELLING = (
    (re.compile(r"\bjaro_winkler_similarity\("), "jaro_winkler("),
    (re.compile(r"(regexp_replace\([^()]*), 'g'\)"), r"\1)"),
)


def spark_sql(condition: str) -> str:
    """Return a level's SQL condition as Spark SQL (with Splink's UDFs registered)."""
    for pattern, spelling in _SPARK_SPELLING:
        condition = pattern.sub(spelling, condition)
    return condition


def for_spark(model: Mapping[str, Any]) -> dict[str, Any]:
    """Return Splink settings (or a trained model) with every level's SQL in Spark's dialect."""
    comparisons = [
        {
            **comparison,
            "comparison_levels": [
                {**level, "sql_condition": spark_sql(level["sql_condition"])}
                for level in comparison["comparison_levels"]
            ],
        }
        for comparison in model["comparisons"]
    ]
    return {**model, "comparisons": comparisons}


# ---------------------------------------------------------------- the comparisons


def _name_missing(a: Row, b: Row) -> bool:
    first_missing = not _both(a, b, "first_x")
    last_missing = not _both(a, b, "last_x")
    # Kanji without a reading cannot be compared with Latin letters.
    return (first_missing and last_missing) or a["name_script"] != b["name_script"]


NAME = Comparison(
    name="name",
    description="First and last name, Latin keys, a missing part read from the e-mail",
    levels=(
        Level(
            "one side has no name",
            "((first_x_l IS NULL OR first_x_r IS NULL) AND (last_x_l IS NULL OR last_x_r IS NULL))"
            " OR name_script_l <> name_script_r",
            _name_missing,
            is_null=True,
        ),
        Level(
            "same full name",
            "full_name_l = full_name_r",
            lambda a, b: _equal(a, b, "full_name"),
            tf_column="full_name",
        ),
        Level(
            "first and last swapped",
            "first_x_l = last_x_r AND last_x_l = first_x_r",
            lambda a, b: (
                a["first_x"] is not None
                and a["first_x"] == b["last_x"]
                and a["last_x"] is not None
                and a["last_x"] == b["first_x"]
            ),
        ),
        Level(
            "both names similar (Jaro-Winkler >= 0.92)",
            f"{_jw_sql('first_x', 0.92)} AND {_jw_sql('last_x', 0.92)}",
            lambda a, b: (
                _jaro_winkler(a, b, "first_x", 0.92) and _jaro_winkler(a, b, "last_x", 0.92)
            ),
        ),
        Level(
            "both names close (Jaro-Winkler >= 0.85)",
            f"{_jw_sql('first_x', 0.85)} AND {_jw_sql('last_x', 0.85)}",
            lambda a, b: (
                _jaro_winkler(a, b, "first_x", 0.85) and _jaro_winkler(a, b, "last_x", 0.85)
            ),
        ),
        Level(
            "same last name, a first name missing",
            "last_x_l = last_x_r AND (first_x_l IS NULL OR first_x_r IS NULL)",
            lambda a, b: _equal(a, b, "last_x") and not _both(a, b, "first_x"),
        ),
        Level(
            "same first name, a last name missing",
            "first_x_l = first_x_r AND (last_x_l IS NULL OR last_x_r IS NULL)",
            lambda a, b: _equal(a, b, "first_x") and not _both(a, b, "last_x"),
        ),
        Level(
            "similar first name, a last name missing",
            f"{_jw_sql('first_x', 0.88)} AND (last_x_l IS NULL OR last_x_r IS NULL)",
            lambda a, b: _jaro_winkler(a, b, "first_x", 0.88) and not _both(a, b, "last_x"),
        ),
        Level(
            "similar last name, a first name missing",
            f"{_jw_sql('last_x', 0.92)} AND (first_x_l IS NULL OR first_x_r IS NULL)",
            lambda a, b: _jaro_winkler(a, b, "last_x", 0.92) and not _both(a, b, "first_x"),
        ),
        Level(
            "a first name is the other's last name",
            "first_x_l = last_x_r OR last_x_l = first_x_r",
            lambda a, b: (
                (a["first_x"] is not None and a["first_x"] == b["last_x"])
                or (a["last_x"] is not None and a["last_x"] == b["first_x"])
            ),
        ),
        Level(
            "same last name only",
            "last_x_l = last_x_r",
            lambda a, b: _equal(a, b, "last_x"),
        ),
        Level(
            "same first name only",
            "first_x_l = first_x_r",
            lambda a, b: _equal(a, b, "first_x"),
        ),
        _else(),
    ),
)

BIRTH_DATE = Comparison(
    name="birth_date",
    description="Date of birth",
    levels=(
        _null_level("birth"),
        Level("same date", "birth_l = birth_r", lambda a, b: _equal(a, b, "birth")),
        Level(
            "one digit off or swapped",
            "damerau_levenshtein(birth_l, birth_r) <= 1",
            lambda a, b: _one_edit(a, b, "birth"),
        ),
        _else(),
    ),
)

EMAIL = Comparison(
    name="email",
    description="E-mail mailbox (Gmail dots and +tags folded)",
    levels=(
        _null_level("email"),
        Level("same mailbox", "email_l = email_r", lambda a, b: _equal(a, b, "email")),
        Level(
            "same distinctive local part",
            "email_local_distinct_l = email_local_distinct_r",
            lambda a, b: _equal(a, b, "email_local_distinct"),
        ),
        Level(
            "one letter typo apart",
            "damerau_levenshtein(email_l, email_r) <= 1"
            f" AND {_kept_sql('email', '0-9')} = {_kept_sql('email', '0-9', 'r')}"
            f" AND {_kept_sql('email', 'a-z')} <> {_kept_sql('email', 'a-z', 'r')}",
            lambda a, b: _letter_typo(a, b, "email"),
        ),
        _else(),
    ),
)

PHONE = Comparison(
    name="phone",
    description="Phone number (E.164)",
    levels=(
        _null_level("phone"),
        Level("same number", "phone_l = phone_r", lambda a, b: _equal(a, b, "phone")),
        _else(),
    ),
)


def _no_place(row: Row) -> bool:
    return row["postal"] is None and row["city"] is None


LOCATION = Comparison(
    name="location",
    description="Postal address: street line, postal code, city",
    levels=(
        Level(
            "one side has no place",
            "(postal_l IS NULL AND city_l IS NULL) OR (postal_r IS NULL AND city_r IS NULL)",
            lambda a, b: _no_place(a) or _no_place(b),
            is_null=True,
        ),
        Level(
            "same street line and postal code",
            "address_l = address_r AND postal_l = postal_r",
            lambda a, b: _equal(a, b, "address") and _equal(a, b, "postal"),
        ),
        Level(
            "similar street line, same postal code",
            f"postal_l = postal_r AND {_jw_sql('address', 0.9)}",
            lambda a, b: _equal(a, b, "postal") and _jaro_winkler(a, b, "address", 0.9),
        ),
        Level("same postal code", "postal_l = postal_r", lambda a, b: _equal(a, b, "postal")),
        Level("same city", "city_l = city_r", lambda a, b: _equal(a, b, "city")),
        _else(),
    ),
)

COMPARISONS: tuple[Comparison, ...] = (NAME, BIRTH_DATE, EMAIL, PHONE, LOCATION)

__all__ = ["COMPARISONS", "Comparison", "Level", "Row", "letter_typo"]
