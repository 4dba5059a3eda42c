"""Survivorship: which source value each golden profile field keeps, and why.

Deterministic (invariant 2): per field, the highest-priority source wins
(manual rectification > Cegid Y2, verified in store > Shopify > web forms),
then the most recent record, then the most complete value, then the newest
record id so that ties never depend on input order. The postal address is
chosen as one block, so that a street never ends up beside another
address's city.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from amigo.ingest.facts import CustomerFacts

SOURCE_PRIORITY = {"manual": 0, "cegid": 1, "shopify": 2, "webforms": 3}
ORIGIN_BY_SOURCE = {"cegid": "retail", "shopify": "e-commerce", "webforms": "web form"}

SCALAR_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "birth_date",
    "preferred_language",
    "preferred_store_id",
    "tier",
)
ADDRESS_FIELDS = ("address_line1", "address_line2", "postal_code", "city", "region", "country")
_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One source record's facts, with the id of the stored record they came from."""

    facts: CustomerFacts
    record_id: int


@dataclass(frozen=True, slots=True)
class DerivedProfile:
    """The golden field values and, for each, the record it came from."""

    values: dict[str, Any]
    lineage: dict[str, dict[str, Any]]


def _rank(candidate: Candidate) -> tuple[int, float]:
    """Return the part of a candidate's rank that does not depend on the field: source, recency."""
    facts = candidate.facts
    return (
        SOURCE_PRIORITY.get(facts.source_system, 99),
        -(facts.observed_at or _OLDEST).timestamp(),
    )


def _best(
    candidates: Sequence[Candidate],
    completeness: dict[int, int],
    ranks: dict[int, tuple[int, float]],
) -> Candidate:
    # Lowest priority number first; within it the latest, most complete, newest record.
    return min(
        candidates,
        key=lambda c: (*ranks[c.record_id], -completeness[c.record_id], -c.record_id),
    )


def _lineage(candidate: Candidate) -> dict[str, Any]:
    observed = candidate.facts.observed_at
    return {
        "source": candidate.facts.source_system,
        "source_id": candidate.facts.source_id,
        "record": candidate.record_id,
        "at": observed.isoformat() if observed else None,
    }


def derive_profile(candidates: Sequence[Candidate]) -> DerivedProfile:
    """Derive the golden values and their lineage from every record of one person."""
    if not candidates:
        raise ValueError("a golden profile needs at least one source record")
    if len(candidates) == 1:
        return _from_one(candidates[0])
    values: dict[str, Any] = {}
    lineage: dict[str, dict[str, Any]] = {}
    ranks = {c.record_id: _rank(c) for c in candidates}

    for field in SCALAR_FIELDS:
        holders = [c for c in candidates if getattr(c.facts, field) is not None]
        if not holders:
            values[field] = None
            continue
        if len(holders) == 1:
            winner = holders[0]
        else:
            completeness = {c.record_id: len(str(getattr(c.facts, field))) for c in holders}
            winner = _best(holders, completeness, ranks)
        values[field] = getattr(winner.facts, field)
        lineage[field] = _lineage(winner)
    values["email_match_key"] = None
    if "email" in lineage:
        email_source = next(c for c in candidates if c.record_id == lineage["email"]["record"])
        values["email_match_key"] = email_source.facts.email_match_key

    with_address = [
        c for c in candidates if any(getattr(c.facts, f) is not None for f in ADDRESS_FIELDS)
    ]
    if with_address:
        filled = {
            c.record_id: sum(getattr(c.facts, f) is not None for f in ADDRESS_FIELDS)
            for c in with_address
        }
        winner = _best(with_address, filled, ranks)
        for field in ADDRESS_FIELDS:
            values[field] = getattr(winner.facts, field)
        lineage["address"] = _lineage(winner)
    else:
        values.update(dict.fromkeys(ADDRESS_FIELDS))

    # Origin is how the person first came to the brand: the earliest-created record.
    first = min(
        candidates,
        key=lambda c: (
            c.facts.created_at or c.facts.observed_at or datetime.max.replace(tzinfo=UTC),
            SOURCE_PRIORITY.get(c.facts.source_system, 99),
            c.record_id,
        ),
    )
    values["origin"] = first.facts.origin
    lineage["origin"] = _lineage(first)
    return DerivedProfile(values=values, lineage=lineage)


def golden_values(candidates: Sequence[Candidate], now: datetime) -> dict[str, Any]:
    """Return the golden_customer columns derived from a person's records, lineage included."""
    derived = derive_profile(candidates)
    values = dict(derived.values)
    values["tier"] = values["tier"] or "standard"
    values["lineage"] = derived.lineage
    values["updated_at"] = now
    return values


def _from_one(candidate: Candidate) -> DerivedProfile:
    """Derive a profile from its only record: the common case of a first load, made cheap."""
    facts = candidate.facts
    source = _lineage(candidate)
    values: dict[str, Any] = {field: getattr(facts, field) for field in SCALAR_FIELDS}
    lineage = {field: source for field, value in values.items() if value is not None}
    values["email_match_key"] = facts.email_match_key if facts.email is not None else None
    address = {field: getattr(facts, field) for field in ADDRESS_FIELDS}
    values.update(address)
    if any(value is not None for value in address.values()):
        lineage["address"] = source
    values["origin"] = facts.origin
    lineage["origin"] = source
    return DerivedProfile(values=values, lineage=lineage)
