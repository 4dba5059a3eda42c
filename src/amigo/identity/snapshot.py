"""A source customer record's snapshot on its identity link, and back.

The loader writes what the current version of each source customer says on
its link (values and match keys); survivorship and resolution read it from
there instead of re-mapping stored payloads. The snapshot is derived: a new
version of the record rewrites it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from amigo.core.crypto import blind_index
from amigo.identity.keys import distinct_local_part, name_keys
from amigo.ingest.facts import CustomerFacts

# The link columns that hold the record's values, named as on CustomerFacts.
VALUE_COLUMNS = (
    "email",
    "email_match_key",
    "first_name",
    "last_name",
    "phone",
    "birth_date",
    "preferred_language",
    "preferred_store_id",
    "tier",
    "associate_id",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "country",
    "origin",
    "observed_at",
    "closed",
)
KEY_COLUMNS = ("first_name_key", "last_name_key", "name_key", "distinct_local_part")
# Blind indexes of the encrypted email match key, phone and birth date: the blocking keys.
INDEX_COLUMNS = ("email_index", "phone_index", "birth_date_index")
SNAPSHOT_COLUMNS = (
    "record_id",
    *VALUE_COLUMNS,
    "source_created_at",
    *KEY_COLUMNS,
    *INDEX_COLUMNS,
    "updated_at",
)


def snapshot_values(facts: CustomerFacts, record_id: int, now: datetime) -> dict[str, Any]:
    """Return the link columns that describe this version of a source customer."""
    values: dict[str, Any] = {column: getattr(facts, column) for column in VALUE_COLUMNS}
    if facts.email is None:
        values["email_match_key"] = None
    keys = name_keys(
        facts.first_name, facts.last_name, values["email_match_key"], facts.country, facts.phone
    )
    values["record_id"] = record_id
    values["source_created_at"] = facts.created_at
    values["first_name_key"] = keys.first
    values["last_name_key"] = keys.last
    values["name_key"] = keys.full
    values["distinct_local_part"] = distinct_local_part(
        values["email_match_key"], keys, facts.first_name, facts.last_name
    )
    values["updated_at"] = now
    values.update(link_indexes(values["email_match_key"], facts.phone, facts.birth_date))
    return values


def link_indexes(
    email_match_key: str | None, phone: str | None, birth_date: date | None
) -> dict[str, str | None]:
    """Return a link's blind indexes: the blocking keys of its encrypted identifiers."""
    return {
        "email_index": blind_index(email_match_key, field="email"),
        "phone_index": blind_index(phone, field="phone"),
        "birth_date_index": None
        if birth_date is None
        else blind_index(birth_date.isoformat(), field="birth_date"),
    }


def facts_from_snapshot(row: Any, source_system: str, source_id: str) -> CustomerFacts:
    """Return the customer facts a link's snapshot holds (consents are not part of it)."""
    return CustomerFacts(
        source_system=source_system,
        source_id=source_id,
        origin=row.origin or "web form",
        email=row.email,
        email_match_key=row.email_match_key,
        first_name=row.first_name,
        last_name=row.last_name,
        phone=row.phone,
        birth_date=row.birth_date,
        preferred_language=row.preferred_language,
        preferred_store_id=row.preferred_store_id,
        tier=row.tier,
        address_line1=row.address_line1,
        address_line2=row.address_line2,
        postal_code=row.postal_code,
        city=row.city,
        region=row.region,
        country=row.country,
        associate_id=row.associate_id,
        created_at=row.source_created_at,
        observed_at=row.observed_at,
        closed=bool(row.closed),
    )


__all__ = [
    "INDEX_COLUMNS",
    "SNAPSHOT_COLUMNS",
    "VALUE_COLUMNS",
    "facts_from_snapshot",
    "link_indexes",
    "snapshot_values",
]
