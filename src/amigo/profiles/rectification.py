"""Manual rectification (GDPR article 16): a corrected value that outranks every source.

A rectification is stored per profile and field (``manual_rectification``)
and applied wherever golden values are derived: a load re-deriving a profile,
a merge (the survivor takes the rectifications of the profiles it absorbs),
an unmerge (each side keeps its own). Survivorship ranks "manual" above
Cegid Y2 (``SOURCE_PRIORITY``), so applying it over the derived values is
the same as deriving with it: the latest rectification of a field wins, and
its lineage says "manual rectification", by whom and for which request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from amigo.core.db import table_of
from amigo.core.errors import InvalidInputError, NotFoundError
from amigo.events.service import DomainEvent, emit_events
from amigo.profiles.models import CustomerStatus, GoldenCustomer, ManualRectification
from amigo.profiles.survivorship import ADDRESS_FIELDS, SCALAR_FIELDS, contact_indexes
from amigo.quality.addresses import (
    normalize_address_line,
    normalize_city,
    normalize_country,
    normalize_postal_code,
)
from amigo.quality.dates import parse_date
from amigo.quality.emails import email_match_key, normalize_email
from amigo.quality.issues import Normalized
from amigo.quality.names import normalize_name
from amigo.quality.phones import normalize_phone

rectifications = table_of(ManualRectification)
golden = table_of(GoldenCustomer)

# What a person may have corrected: who they are and where they live. Tier and
# preferred store are the brand's, and origin is history.
RECTIFIABLE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "birth_date",
    "preferred_language",
    *ADDRESS_FIELDS,
)
MANUAL_SOURCE = "manual"


@dataclass(frozen=True, slots=True)
class Rectified:
    """What a rectification changed on the golden profile."""

    customer: str  # external id of the profile now holding the values
    before: dict[str, Any]
    after: dict[str, Any]


def _normalized(field: str, raw: str, country: str | None) -> Any:
    """Return the value normalized like a source's, or raise with the reason."""
    result: Normalized[Any]
    if field == "email":
        result = normalize_email(raw)
    elif field in ("first_name", "last_name"):
        result = normalize_name(raw, field=field)
    elif field == "phone":
        result = normalize_phone(raw, region_hint=country)
    elif field == "birth_date":
        result = parse_date(raw, day_first=False)
    elif field == "country":
        result = normalize_country(raw)
    elif field == "postal_code":
        result = normalize_postal_code(raw, country=country)
    elif field == "city":
        result = normalize_city(raw)
    elif field in ("address_line1", "address_line2"):
        result = normalize_address_line(raw, field=field)
    else:  # preferred_language: an ISO 639-1 code
        code = raw.strip().lower()
        if len(code) != 2 or not code.isalpha():
            raise InvalidInputError(f"preferred_language must be a two-letter code, got {raw!r}")
        return code
    if result.issue is not None:
        raise InvalidInputError(f"{field}: {result.issue.message}")
    return result.value


def parse_changes(changes: Mapping[str, str | None], country: str | None) -> dict[str, Any]:
    """Check and normalize the corrected values (an empty value removes the field)."""
    if not changes:
        raise InvalidInputError("say which fields to correct: field=value")
    unknown = sorted(set(changes) - set(RECTIFIABLE_FIELDS))
    if unknown:
        raise InvalidInputError(
            f"{', '.join(unknown)}: not a field a person can have corrected; "
            f"use {', '.join(RECTIFIABLE_FIELDS)}"
        )
    country_hint = changes.get("country") or country
    parsed: dict[str, Any] = {}
    for field, raw in changes.items():
        if raw is None or not raw.strip():
            parsed[field] = None
            continue
        value = _normalized(field, raw, country_hint)
        if isinstance(value, date):
            value = value.isoformat()
        parsed[field] = value
    return parsed


def _chains(connection: Connection, customer_ids: Iterable[int]) -> dict[int, list[int]]:
    """Return, for each profile, itself and the profiles it is merged into, up to the holder."""
    chains: dict[int, list[int]] = {}
    for customer_id in customer_ids:
        chain, current = [customer_id], customer_id
        while True:
            row = connection.execute(
                select(golden.c.status, golden.c.merged_into_id).where(golden.c.id == current)
            ).first()
            if (
                row is None
                or row.status != CustomerStatus.MERGED.value
                or row.merged_into_id is None
            ):
                break
            current = int(row.merged_into_id)
            if current in chain:
                break
            chain.append(current)
        chains[customer_id] = chain
    return chains


def any_rectifications(connection: Connection) -> bool:
    """Return whether anyone ever had a value corrected (else there is nothing to apply)."""
    return bool(
        connection.scalar(
            select(func.count()).select_from(select(rectifications.c.id).limit(1).subquery())
        )
    )


def apply_rectifications(
    connection: Connection,
    values_by_id: dict[int, dict[str, Any]],
    joining: Mapping[int, Iterable[int]] | None = None,
) -> None:
    """Overlay the rectifications of each profile (and those it holds or absorbs) on its values.

    ``values_by_id``: derived golden values with their ``lineage``, changed in
    place. ``joining``: the profiles about to be merged into each one.
    """
    if not values_by_id or not any_rectifications(connection):
        return  # nobody ever had anything corrected: the usual case, one cheap query
    members = {target: {target, *(joining or {}).get(target, ())} for target in values_by_id}
    rows = connection.execute(select(rectifications).order_by(rectifications.c.id)).all()
    chains = _chains(connection, {int(r.customer_id) for r in rows})
    for target, values in values_by_id.items():
        for row in rows:
            if not members[target].intersection(chains[int(row.customer_id)]):
                continue
            _overlay(values, row)


def _overlay(values: dict[str, Any], row: Any) -> None:
    field, value = str(row.field), row.value
    if field == "birth_date" and value is not None:
        value = date.fromisoformat(value)
    values[field] = value
    if field == "email":
        values["email_match_key"] = None if value is None else email_match_key(value)
    if field in ("email", "phone"):
        values.update(contact_indexes(values))
    lineage = dict(values.get("lineage") or {})
    request = f"DSR-{row.request_id}" if row.request_id is not None else None
    lineage[field] = {  # the shape of a source's lineage, and who corrected it for what
        "source": MANUAL_SOURCE,
        "source_id": request or f"rectification-{row.id}",
        "record": None,
        "at": row.at.isoformat(),
        "rectification": int(row.id),
        "request": request,
        "by": row.actor,
    }
    values["lineage"] = lineage


def rectify_profile(
    *,
    session: Session,
    customer_id: int,
    changes: Mapping[str, str | None],
    actor: str,
    now: datetime,
    request_id: int | None = None,
    reason: str | None = None,
) -> Rectified:
    """Record corrected values on a profile, apply them, and emit ``customer.updated``."""
    connection = session.connection()
    profile = session.get(GoldenCustomer, customer_id)
    if profile is None:
        raise NotFoundError(f"no golden customer with id {customer_id}")
    while profile.status == CustomerStatus.MERGED and profile.merged_into_id is not None:
        profile = session.get_one(GoldenCustomer, profile.merged_into_id)
    if profile.status == CustomerStatus.ERASED:
        raise InvalidInputError(f"customer {profile.external_id} was erased: nothing to correct")
    if not actor.strip():
        raise InvalidInputError("say who makes the correction (--actor)")
    parsed = parse_changes(changes, profile.country)
    session.flush()
    before = {field: _plain(getattr(profile, field)) for field in parsed}
    for field, value in parsed.items():
        session.add(
            ManualRectification(
                customer_id=profile.id,
                field=field,
                value=value,
                request_id=request_id,
                actor=actor.strip(),
                reason=reason,
                at=now,
            )
        )
    session.flush()
    current = {
        name: getattr(profile, name)
        for name in (*SCALAR_FIELDS, "email_match_key", *ADDRESS_FIELDS)
    }
    values = {profile.id: {**current, "lineage": dict(profile.lineage or {})}}
    apply_rectifications(connection, values)
    for name, value in values[profile.id].items():
        setattr(profile, name, value)
    profile.updated_at = now
    session.flush()
    after = {field: _plain(getattr(profile, field)) for field in parsed}
    emit_events(
        connection,
        [
            DomainEvent(
                type="customer.updated",
                subject=profile.external_id,
                data={
                    "customer": profile.external_id,
                    "cause": "rectification",
                    "fields": sorted(parsed),
                    "request": f"DSR-{request_id}" if request_id is not None else None,
                },
            )
        ],
        now=now,
    )
    return Rectified(profile.external_id, before, after)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


__all__ = [
    "RECTIFIABLE_FIELDS",
    "Rectified",
    "any_rectifications",
    "apply_rectifications",
    "parse_changes",
    "rectify_profile",
]
