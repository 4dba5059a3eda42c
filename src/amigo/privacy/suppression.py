"""The erasure suppression list: keyed hashes of erased people, checked before a record is stored.

An erased person must not come back with the next import of an old export or
a replayed webhook (GDPR article 17, invariant 7). The list keeps, per erased
identifier, only an HMAC-SHA256 under a key kept outside the database: the
list answers "is this one of the erased?" for a record in hand, and cannot be
read back into anyone's email or phone.

The loader screens every batch before storing it (``screen``): a customer
record that matches is not stored (counted as suppressed), unless it is a new
sign-up, a source id never erased and created after the erasure, which is
admitted and recorded as the person's return. An order of an erased customer
is kept for accounting with its personal fields removed and no customer; an
interaction about one is not stored.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update

from amigo.core.config import PrivacySettings
from amigo.core.crypto import blind_index
from amigo.core.db import table_of
from amigo.core.keyfile import secret_from
from amigo.core.sql import array, fetch_all, insert_ignore, is_one_of
from amigo.identity.keys import plain_name
from amigo.ingest.facts import CustomerFacts
from amigo.privacy.models import ErasureSuppression, SuppressionKind
from amigo.quality.emails import email_match_key, normalize_email

suppression = table_of(ErasureSuppression)

# Keys under which an order payload (Shopify order JSON, Y2 receipt row) holds
# the buyer: removed at any depth from an erased customer's orders, at erasure
# and again on every later import of them, so both give the same bytes.
ORDER_PERSONAL_KEYS = frozenset(
    {
        "customer",
        "customerid",
        "email",
        "contact_email",
        "phone",
        "billing_address",
        "shipping_address",
        "note",
        "note_attributes",
        "browser_ip",
        "client_details",
        "landing_site",
        "referring_site",
    }
)
# Where a guest checkout names its buyer without a customer id, and the sources
# whose orders do (a Y2 receipt names only the customer code).
ORDER_CONTACT_KEYS = ("email", "contact_email")
ORDER_CONTACT_SYSTEMS = ("shopify",)
ORDER_EMAIL_INDEX = "order_email"  # the blind index's logical field


def suppression_secret(settings: PrivacySettings) -> str:
    """Return the list's HMAC key: the setting, else the embedded mode's key file."""
    return secret_from(settings.suppression_key, Path(settings.suppression_key_file))


@lru_cache(maxsize=100_000)  # a load hashes the same customer ids again and again
def keyed_hash(secret: str, kind: SuppressionKind, value: str) -> str:
    """Return the HMAC-SHA256 (hex) of one identifier of a kind."""
    message = f"{kind.value}\x1f{value}".encode()
    return hmac.digest(secret.encode(), message, "sha256").hex()


def source_pseudonym(secret: str, system: str, source_id: str) -> str:
    """Return the id an erased source record keeps: unique, stable, not the original."""
    return "erased:" + keyed_hash(secret, SuppressionKind.SOURCE, f"{system}:{source_id}")[:40]


def person_identifiers(
    *,
    email_match_key: str | None,
    phone: str | None,
    first_name: str | None,
    last_name: str | None,
    birth_date: Any,
) -> Iterator[tuple[SuppressionKind, str]]:
    """Yield the contact and name identifiers a person is recognised by."""
    if email_match_key:
        yield SuppressionKind.EMAIL, email_match_key
    if phone:
        yield SuppressionKind.PHONE, phone
    first, last = plain_name(first_name), plain_name(last_name)
    if first and last and birth_date is not None:
        yield SuppressionKind.PERSON, f"{first} {last} {birth_date.isoformat()}"


def customer_identifiers(facts: CustomerFacts) -> Iterator[tuple[SuppressionKind, str]]:
    """Yield every identifier of a mapped customer record."""
    yield SuppressionKind.SOURCE, f"{facts.source_system}:{facts.source_id}"
    for system, source_id in facts.references:
        yield SuppressionKind.SOURCE, f"{system}:{source_id}"
    yield from person_identifiers(
        email_match_key=facts.email_match_key,
        phone=facts.phone,
        first_name=facts.first_name,
        last_name=facts.last_name,
        birth_date=facts.birth_date,
    )


def contact_email_key(raw: Any) -> str | None:
    """Return the email match key of an email found in an order payload, if it is one."""
    if not isinstance(raw, str):
        return None
    normalized = normalize_email(raw)
    return None if normalized.value is None else email_match_key(normalized.value)


def order_contact_index(payload: Any) -> str | None:
    """Return the blind index of the email an order payload names (erasure's guest checkouts).

    Over the address as given, case-folded (logical field ``order_email``):
    what erasure looks the person's addresses up by, without normalizing
    every order of a load.
    """
    if not isinstance(payload, Mapping):
        return None
    for key in ORDER_CONTACT_KEYS:
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return blind_index(value, field=ORDER_EMAIL_INDEX)
    return None


def scrub_order_payload(payload: Any) -> Any:
    """Return the order payload without its buyer's personal fields (any depth)."""
    if isinstance(payload, Mapping):
        return {
            key: scrub_order_payload(value)
            for key, value in payload.items()
            if str(key).lower() not in ORDER_PERSONAL_KEYS
        }
    if isinstance(payload, list):
        return [scrub_order_payload(item) for item in payload]
    return payload


def add_to_list(
    connection: Connection,
    *,
    secret: str,
    identifiers: Iterable[tuple[SuppressionKind, str]],
    request_id: int | None,
    now: datetime,
) -> int:
    """Put identifiers on the list (an identifier listed already stays as it was)."""
    rows = {
        keyed_hash(secret, kind, value): {
            "key_hash": keyed_hash(secret, kind, value),
            "kind": kind.value,
            "request_id": request_id,
            "erased_at": now,
        }
        for kind, value in identifiers
    }
    insert_ignore(connection, suppression, list(rows.values()), conflict_columns=["key_hash"])
    return len(rows)


def list_is_empty(connection: Connection) -> bool:
    """Return whether nobody was ever erased (the loader then skips its screening)."""
    return not connection.scalar(select(func.count()).select_from(suppression))


_FIND_LISTED = """
SELECT s.key_hash, s.kind, s.erased_at, s.returned_at FROM erasure_suppression s
 WHERE s.key_hash = ANY(%b::text[])
"""


@dataclass(frozen=True, slots=True)
class Listed:
    kind: str
    erased_at: datetime
    returned_at: datetime | None


@dataclass(frozen=True)
class SuppressionList:
    """The list as a loader batch sees it: hashes looked up once per batch."""

    secret: str

    def hash(self, kind: SuppressionKind, value: str) -> str:
        """Return an identifier's keyed hash."""
        return keyed_hash(self.secret, kind, value)

    def find(self, connection: Connection, hashes: Iterable[str]) -> dict[str, Listed]:
        """Return the listed entries among the hashes."""
        found: dict[str, Listed] = {}
        if connection.dialect.name == "postgresql":
            # Hand-written: every tracking batch asks, and SQLAlchemy's statement
            # machinery costs more than the server's answer.
            for key_hash, kind, erased_at, returned_at in fetch_all(
                connection,
                _FIND_LISTED,
                [array("text[]", sorted(set(hashes)))],
            ):
                found[key_hash] = Listed(
                    SuppressionKind(kind),
                    erased_at.astimezone(UTC),
                    None if returned_at is None else returned_at.astimezone(UTC),
                )
            return found
        for condition in is_one_of(connection, suppression.c.key_hash, sorted(set(hashes))):
            rows = connection.execute(
                select(
                    suppression.c.key_hash,
                    suppression.c.kind,
                    suppression.c.erased_at,
                    suppression.c.returned_at,
                ).where(condition)
            )
            found.update(
                {row.key_hash: Listed(row.kind, row.erased_at, row.returned_at) for row in rows}
            )
        return found

    def admits_customer(
        self,
        connection: Connection,
        facts: CustomerFacts,
        listed: Mapping[str, Listed],
        now: datetime,
    ) -> bool:
        """Return whether a customer record may be stored; record a returning sign-up."""
        matched = {
            digest: listed[digest]
            for kind, value in customer_identifiers(facts)
            if (digest := self.hash(kind, value)) in listed
        }
        if not matched:
            return True
        if any(entry.kind == SuppressionKind.SOURCE for entry in matched.values()):
            return False  # an erased record itself, or one naming an erased id
        latest_erasure = max(entry.erased_at for entry in matched.values())
        if facts.created_at is None or facts.created_at <= latest_erasure:
            return False  # an old record of theirs: an export from before the erasure
        returning = [d for d, entry in matched.items() if entry.returned_at is None]
        if returning:
            connection.execute(
                update(suppression)
                .where(suppression.c.key_hash.in_(returning))
                .values(
                    returned_at=now, returned_via=f"{facts.source_system}:{facts.source_id}"[:120]
                )
            )
        return True


__all__ = [
    "ORDER_CONTACT_KEYS",
    "ORDER_CONTACT_SYSTEMS",
    "ORDER_EMAIL_INDEX",
    "ORDER_PERSONAL_KEYS",
    "SuppressionList",
    "add_to_list",
    "contact_email_key",
    "customer_identifiers",
    "keyed_hash",
    "list_is_empty",
    "order_contact_index",
    "person_identifiers",
    "scrub_order_payload",
    "source_pseudonym",
    "suppression_secret",
]
