"""What every connector's mapping module shares: the per-file mapper and value helpers.

A mapping module exposes one :class:`RowMapper` per file it reads; the loader
uses them generically (check the header, key the row, map it). The helpers
below read one value of a raw row defensively: CSV rows hold strings, JSON
rows hold anything, and a wrong type must become an issue, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache, wraps
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry

from amigo.ingest.facts import MappingContext, MappingResult
from amigo.quality.issues import Normalized, ValidationIssue, make_issue

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RowMapper(Generic[T]):
    """How the loader reads one source file: required columns, the row's key, its facts."""

    # "store", "associate", "product", "customer", "order", "order_line", "payment",
    # "submission", "interaction": the source_record entity of the file's rows.
    entity: str
    # CSV columns / JSON keys that must exist in the file header (or first record).
    required: tuple[str, ...]
    # The row's source id; None or "" makes the loader reject the row as missing_id.
    key: Callable[[dict[str, Any]], str | None]
    map: Callable[[dict[str, Any], MappingContext], MappingResult[T]]


class Issues:
    """The issues found on one row's optional fields, at most one per (field, code)."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[ValidationIssue] = []

    def add(self, issue: ValidationIssue | None) -> None:
        """Record issue unless the row already has one with the same field and code."""
        # The validation_issue table is unique on (record, field, code): a second
        # invalid phone of the same record adds nothing the raw payload lacks.
        if issue is None:
            return
        for known in self._items:
            if known.field == issue.field and known.code == issue.code:
                return
        self._items.append(issue)

    def take(self, result: Normalized[T]) -> T | None:
        """Return result's value, recording its issue if any."""
        if result.issue is not None:
            self.add(result.issue)
        return result.value

    def done(self, facts: T) -> MappingResult[T]:
        """Return the mapped facts with the issues recorded so far."""
        return MappingResult(facts, tuple(self._items))

    def reject(self, reason: ValidationIssue) -> MappingResult[Any]:
        """Return a rejected result that still carries the issues explaining it."""
        return MappingResult(None, tuple(self._items), reject=reason)


class Rejected(Exception):  # noqa: N818 - a control-flow signal, not an error to report
    """Raised inside a mapper to reject the row; :func:`rejecting` turns it into a result."""

    def __init__(self, issue: ValidationIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def rejecting(
    function: Callable[[dict[str, Any], MappingContext], MappingResult[T]],
) -> Callable[[dict[str, Any], MappingContext], MappingResult[T]]:
    """Wrap a mapper so that a :class:`Rejected` raised inside becomes a rejected result."""

    @wraps(function)
    def mapper(row: dict[str, Any], ctx: MappingContext) -> MappingResult[T]:
        try:
            return function(row, ctx)
        except Rejected as rejected:
            return MappingResult(None, reject=rejected.issue)

    return mapper


def require(result: Normalized[T], field: str, missing: str) -> T:
    """Return result's value, or reject the row with its issue (missing: the empty case)."""
    if result.value is not None:
        return result.value
    raise Rejected(result.issue or new_issue(field, "missing_value", missing))


def require_text(value: str | None, field: str, missing: str, limit: int = 0) -> str:
    """Return value, or reject the row when it is empty or longer than limit (0: no limit)."""
    if value is None:
        raise Rejected(new_issue(field, "missing_value", missing))
    if limit and len(value) > limit:
        raise Rejected(
            new_issue(field, "too_long", f"{{value}} is longer than {limit} characters.", value)
        )
    return value


def require_id(value: str | None, limit: int) -> str:
    """Return the row's key, or reject the row when it has none or it is too long."""
    if value is None:
        raise Rejected(new_issue("id", "missing_id", "The record has no id."))
    if len(value) > limit:
        raise Rejected(
            new_issue(
                "id", "too_long", f"The id {{value}} is longer than {limit} characters.", value
            )
        )
    return value


# Line numbers, ranks and quantities land in 32-bit INTEGER columns; amounts in BIGINT.
INT32_LIMIT = 2**31
INT64_LIMIT = 2**63


def require_int32(result: Normalized[int], field: str, missing: str) -> int:
    """Return result's value when it fits a 32-bit column, or reject the row."""
    value = require(result, field, missing)
    if not -INT32_LIMIT < value < INT32_LIMIT:
        raise Rejected(new_issue(field, "out_of_range", "{value} is too large.", str(value)))
    return value


def new_issue(field: str, code: str, message: str, raw: str | None = None) -> ValidationIssue:
    """Return an issue; "{value}" in message shows the raw value."""
    issue = make_issue(field, code, message, raw).issue
    # make_issue always returns an issue; the fallback only keeps mypy honest.
    return issue if issue is not None else ValidationIssue(field, code, message, raw)


def describe(value: Any) -> str:
    """Return a short text showing a value of an unexpected type, for an issue."""
    return f"{type(value).__name__}: {value!r}"[:200]


def type_issue(field: str, expected: str, value: Any) -> ValidationIssue:
    """Return an invalid_type issue for a JSON value of the wrong type."""
    shown = describe(value)
    return new_issue(field, "invalid_type", f"Expected {expected}, got {shown}.", shown)


def text(value: Any, field: str, issues: Issues) -> str | None:
    """Return value stripped as text, None when empty or of a type that holds no text."""
    if value.__class__ is str:  # the CSV case: by far the most common
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    # A JSON number where text was expected ("postal_code": 75011) is still the value.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    issues.add(type_issue(field, "text", value))
    return None


def bounded(value: str | None, limit: int, field: str, issues: Issues) -> str | None:
    """Return value, or None with an issue when it is longer than its column holds."""
    if value is None or len(value) <= limit:
        return value
    issues.add(new_issue(field, "too_long", f"{{value}} is longer than {limit} characters.", value))
    return None


def mapping(value: Any, field: str, issues: Issues) -> dict[str, Any] | None:
    """Return value when it is a JSON object, None (with an issue unless null) otherwise."""
    if isinstance(value, dict):
        return value
    if value is not None:
        issues.add(type_issue(field, "an object", value))
    return None


def key_text(value: Any) -> str | None:
    """Return a key value stripped, accepting JSON integers; None when it is no key."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def join_key(*parts: Any) -> str | None:
    """Return the parts joined by "-", or None when any is empty."""
    texts: list[str] = []
    for part in parts:
        value = key_text(part)
        if value is None:
            return None
        texts.append(value)
    return "-".join(texts)


@lru_cache(maxsize=1024)
def is_timezone(name: str) -> bool:
    """Return True when name is an IANA time zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: not a key at all ("../x", absolute paths, NUL bytes).
        return False
    return True


@cache
def _language_table() -> dict[str, str]:
    """Return every ISO 639 alpha-2 and alpha-3 code mapped to its alpha-2 code."""
    table: dict[str, str] = {}
    for language in pycountry.languages:
        alpha_2 = getattr(language, "alpha_2", None)
        if alpha_2 is None:
            continue
        table[alpha_2] = alpha_2
        for attribute in ("alpha_3", "bibliographic"):
            code = getattr(language, attribute, None)
            if code is not None:
                table[code] = alpha_2
    return table


def language_code(raw: str | None, *, field: str = "preferred_language") -> Normalized[str]:
    """Return a language code or locale ("FR", "fr-FR", "fra") as ISO 639-1 lower case."""
    if raw is None:
        return Normalized(None, None)
    # "fr-FR", "fr_CA", "zh-Hant-TW": the language is the first subtag.
    code = raw.strip().replace("_", "-").partition("-")[0].lower()
    if not code:
        return Normalized(None, None)
    alpha_2 = _language_table().get(code)
    if alpha_2 is None:
        return make_issue(field, "unknown_language", "{value} is not an ISO 639 language.", raw)
    return Normalized(alpha_2, None)


def locale_region(raw: str | None) -> str | None:
    """Return the region subtag of a locale ("fr-FR" -> "FR"), None when it has none."""
    if raw is None:
        return None
    for subtag in raw.strip().replace("_", "-").split("-")[1:]:
        # "zh-Hant-TW": the script subtag has four letters, the region two.
        if len(subtag) == 2 and subtag.isascii() and subtag.isalpha():
            return subtag.upper()
    return None


def currency_code(raw: str | None) -> str | None:
    """Return raw as an upper-case ISO 4217 code, None when it is not three letters."""
    if raw is None:
        return None
    code = raw.strip().upper()
    return code if len(code) == 3 and code.isascii() and code.isalpha() else None
