"""Feature rows of made-up records, for the pure matching tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from amigo.identity.keys import name_keys
from amigo.identity.matching import features_of

_COUNTER = iter(range(1_000_000))


def record(
    first: str | None = None,
    last: str | None = None,
    *,
    email: str | None = None,
    phone: str | None = None,
    birth: str | None = None,
    postal: str | None = None,
    city: str | None = None,
    street: str | None = None,
    country: str | None = "FR",
) -> dict[str, Any]:
    """Return the feature row resolution would build for a record with these values."""
    keys = name_keys(first, last, email, country, phone)
    return features_of(
        unique_id=next(_COUNTER),
        first_name=first,
        last_name=last,
        first_name_key=keys.first,
        last_name_key=keys.last,
        name_key=keys.full,
        email_match_key=email,
        phone=phone,
        birth_date=date.fromisoformat(birth) if birth else None,
        postal_code=postal,
        city=city,
        address_line1=street,
    )
