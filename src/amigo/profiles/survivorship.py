"""Survivorship: which source value each golden profile field keeps, and why.

Deterministic (invariant 2): per field, the highest-priority source wins
(manual rectification > Cegid Y2, verified in store > Shopify > web forms),
then the most recent record, then the most complete value, then the newest
record id so that ties never depend on input order. The postal address is
chosen as one block, so that a street never ends up beside another
address's city.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from amigo.core.crypto import blind_index
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


_Ranked = tuple[int, float, int, Candidate]  # source priority, -recency, -record id, the record


def _ranked(candidates: Sequence[Candidate]) -> list[_Ranked]:
    """Return each candidate with the field-independent part of its rank: source, recency, id.

    Read once per profile rather than once per field: a batch derives
    hundreds of thousands of profiles. Best first, so that a field's search
    can stop at the first source and time that hold it.
    """
    return sorted(
        (
            (
                SOURCE_PRIORITY.get(c.facts.source_system, 99),
                -(c.facts.observed_at or _OLDEST).timestamp(),
                -c.record_id,
                c,
            )
            for c in candidates
        ),
        key=lambda ranked: ranked[:3],
    )


def _lineage(candidate: Candidate) -> dict[str, Any]:
    observed = candidate.facts.observed_at
    return {
        "source": candidate.facts.source_system,
        "source_id": candidate.facts.source_id,
        "record": candidate.record_id,
        "at": observed.isoformat() if observed else None,
    }


def _best(
    ranked: list[_Ranked], completeness: Callable[[CustomerFacts], int | None]
) -> Candidate | None:
    """Return the winning record among those holding the value, None if no record holds it.

    Lowest priority number first; within it the latest, the most complete
    (``completeness`` is None where the record does not hold the value), the
    newest record.
    """
    best: tuple[int, float, int, int] | None = None
    winner: Candidate | None = None
    for priority, recency, newest, candidate in ranked:
        if best is not None and (priority, recency) != best[:2]:
            break  # ranked best first: no later record can win
        measure = completeness(candidate.facts)
        if measure is None:
            continue
        key = (priority, recency, -measure, newest)
        if best is None or key < best:
            best, winner = key, candidate
    return winner


def _value_length(field: str) -> Callable[[CustomerFacts], int | None]:
    def length(facts: CustomerFacts) -> int | None:
        value = getattr(facts, field)
        return None if value is None else len(str(value))

    return length


def _address_filled(facts: CustomerFacts) -> int | None:
    # The postal address is one block: the record holding any of it, the most filled in.
    return sum(getattr(facts, f) is not None for f in ADDRESS_FIELDS) or None


def derive_profile(candidates: Sequence[Candidate]) -> DerivedProfile:
    """Derive the golden values and their lineage from every record of one person."""
    if not candidates:
        raise ValueError("a golden profile needs at least one source record")
    if len(candidates) == 1:
        return _from_one(candidates[0])
    values: dict[str, Any] = {}
    lineage: dict[str, dict[str, Any]] = {}
    ranked = _ranked(candidates)
    sources: dict[int, dict[str, Any]] = {}  # one lineage entry per winning record

    def source_of(winner: Candidate) -> dict[str, Any]:
        found = sources.get(winner.record_id)
        if found is None:
            found = sources[winner.record_id] = _lineage(winner)
        return found

    winners = {field: _best(ranked, _value_length(field)) for field in SCALAR_FIELDS}
    for field, winner in winners.items():
        values[field] = None if winner is None else getattr(winner.facts, field)
        if winner is not None:
            lineage[field] = source_of(winner)
    email_winner = winners["email"]
    values["email_match_key"] = None if email_winner is None else email_winner.facts.email_match_key

    address_winner = _best(ranked, _address_filled)
    for field in ADDRESS_FIELDS:
        values[field] = None if address_winner is None else getattr(address_winner.facts, field)
    if address_winner is not None:
        lineage["address"] = source_of(address_winner)

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
    lineage["origin"] = source_of(first)
    return DerivedProfile(values=values, lineage=lineage)


def golden_values(candidates: Sequence[Candidate], now: datetime) -> dict[str, Any]:
    """Return the golden_customer columns derived from a person's records, lineage included."""
    derived = derive_profile(candidates)
    values = dict(derived.values)
    values["tier"] = values["tier"] or "standard"
    values["lineage"] = derived.lineage
    values["updated_at"] = now
    values.update(contact_indexes(values))
    return values


def contact_indexes(values: Mapping[str, Any]) -> dict[str, str | None]:
    """Return a golden profile's blind indexes: what finds it by email or phone."""
    return {
        "email_index": blind_index(values.get("email_match_key"), field="email"),
        "phone_index": blind_index(values.get("phone"), field="phone"),
    }


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
