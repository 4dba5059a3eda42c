"""Find the active golden profiles of many references at once: the ingest paths' look-up.

``locate_customers`` serves the tracking API (a few times per /v1/batch
request) and the Shopify webhooks; on PostgreSQL its reads are hand-written
SQL run on the driver (see ``_FIND_AT_ONCE``), on SQLite SQLAlchemy Core.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from amigo.core.crypto import blind_index
from amigo.core.db import table_of
from amigo.core.sql import array, fetch_all, is_one_of, is_row_of
from amigo.identity.models import IdentityLink
from amigo.profiles.models import CustomerStatus, GoldenCustomer


@dataclass(frozen=True, slots=True)
class Located:
    """An active golden profile found for a reference, and the source record that led to it."""

    customer_id: int
    external_id: str
    # The identity link the reference names (or one of the profile's): rows attached
    # through it follow the profile through merges and unmerges.
    link_id: int | None


@dataclass
class CustomerLookup:
    """Active profiles found by each kind of reference; an ambiguous reference is left out."""

    by_source: dict[tuple[str, str], Located] = field(default_factory=dict)
    by_external_id: dict[str, Located] = field(default_factory=dict)
    by_email_key: dict[str, Located] = field(default_factory=dict)
    by_phone: dict[str, Located] = field(default_factory=dict)
    by_customer_id: dict[int, Located] = field(default_factory=dict)


_links = table_of(IdentityLink)
_golden = table_of(GoldenCustomer)


def locate_customers(
    connection: Connection,
    *,
    source_keys: Iterable[tuple[str, str]] = (),
    external_ids: Iterable[str] = (),
    email_keys: Iterable[str] = (),
    phones: Iterable[str] = (),
    customer_ids: Iterable[int] = (),
) -> CustomerLookup:
    """Find the active profiles of many references at once (a few queries, whatever their number).

    A ``(system, source id)`` goes through its identity link; an email match
    key or an E.164 phone through the links that carry it, then the golden
    profiles; a merged profile leads to its survivor and an erased one to
    nothing. An email or phone shared by several people finds no one.
    """
    found: dict[str, dict[Any, tuple[set[int], int | None]]] = {
        "source": {},
        "external": {},
        "email": {},
        "phone": {},
        "customer": {},
    }
    if connection.dialect.name == "postgresql":
        _find_at_once(
            connection,
            found,
            source_keys=set(source_keys),
            email_keys=set(email_keys),
            phones=set(phones),
            external_ids=set(external_ids),
        )
    else:
        _by_source(connection, found["source"], set(source_keys))
        for kind, link_column, golden_column, values in (
            ("email", _links.c.email_index, _golden.c.email_index, set(email_keys)),
            ("phone", _links.c.phone_index, _golden.c.phone_index, set(phones)),
        ):
            _by_contact(connection, found[kind], link_column, golden_column, values, field=kind)
        wanted_external = sorted(set(external_ids))
        for condition in is_one_of(connection, _golden.c.external_id, wanted_external):
            for row in connection.execute(
                select(_golden.c.id, _golden.c.external_id).where(condition)
            ):
                found["external"][row.external_id] = ({int(row.id)}, None)
    for customer_id in set(customer_ids):
        found["customer"][customer_id] = ({customer_id}, None)

    candidates = {c for kind in found.values() for ids, _ in kind.values() for c in ids}
    first_links: dict[int, int] = {}
    active = _active_profiles(connection, candidates, first_links)
    chosen: dict[str, dict[Any, tuple[tuple[int, str], int | None]]] = {k: {} for k in found}
    for kind, references in found.items():
        for reference, (ids, link_id) in references.items():
            profiles = {active[c] for c in ids if c in active}
            if len(profiles) == 1:
                chosen[kind][reference] = (profiles.pop(), link_id)
    missing_link = {p[0] for kind in chosen.values() for p, link in kind.values() if link is None}
    first_links.update(_first_links(connection, missing_link - set(first_links)))

    def located(value: tuple[tuple[int, str], int | None]) -> Located:
        (customer_id, external_id), link_id = value
        return Located(customer_id, external_id, link_id or first_links.get(customer_id))

    lookup = CustomerLookup()
    for kind, target in (
        ("source", lookup.by_source),
        ("external", lookup.by_external_id),
        ("email", lookup.by_email_key),
        ("phone", lookup.by_phone),
        ("customer", lookup.by_customer_id),
    ):
        for reference, value in chosen[kind].items():
            target[reference] = located(value)
    return lookup


# Every first look-up of locate_customers in one round trip (PostgreSQL). Written by hand:
# as SQLAlchemy Core, five statements cost more in compiling, caching and result
# wrapping than the server spends answering them (a tracking batch makes them all).
# Composite keys as (a, b) IN (SELECT * FROM unnest(...)): see core.sql.is_row_of.
_FIND_AT_ONCE = """
SELECT 'source', l.source_system, l.source_id, l.customer_id, l.id FROM identity_link l
 WHERE (l.source_system, l.source_id) IN (SELECT * FROM unnest(%b::text[], %b::text[]))
UNION ALL
SELECT 'email', l.email_index, NULL, l.customer_id, l.id FROM identity_link l
 WHERE l.email_index = ANY(%b::text[])
UNION ALL
SELECT 'email golden', g.email_index, NULL, g.id, NULL FROM golden_customer g
 WHERE g.email_index = ANY(%b::text[])
UNION ALL
SELECT 'phone', l.phone_index, NULL, l.customer_id, l.id FROM identity_link l
 WHERE l.phone_index = ANY(%b::text[])
UNION ALL
SELECT 'phone golden', g.phone_index, NULL, g.id, NULL FROM golden_customer g
 WHERE g.phone_index = ANY(%b::text[])
UNION ALL
SELECT 'external', g.external_id, NULL, g.id, NULL FROM golden_customer g
 WHERE g.external_id = ANY(%b::text[])
"""


def _find_at_once(
    connection: Connection,
    found: dict[str, dict[Any, tuple[set[int], int | None]]],
    *,
    source_keys: set[tuple[str, str]],
    email_keys: set[str],
    phones: set[str],
    external_ids: set[str],
) -> None:
    """Fill ``found`` as _by_source, _by_contact and the AMI- id look-up do, in one statement."""
    value_of: dict[str, dict[str, str]] = {"email": {}, "phone": {}}
    for kind, values in (("email", email_keys), ("phone", phones)):
        for value in values:
            index = blind_index(value, field=kind)
            if index is not None:
                value_of[kind][index] = value
    keys = sorted(source_keys)
    emails, phone_indexes = sorted(value_of["email"]), sorted(value_of["phone"])
    rows = fetch_all(
        connection,
        _FIND_AT_ONCE,
        [
            array("text[]", [system for system, _ in keys]),
            array("text[]", [source_id for _, source_id in keys]),
            array("text[]", emails),
            array("text[]", emails),
            array("text[]", phone_indexes),
            array("text[]", phone_indexes),
            array("text[]", sorted(external_ids)),
        ],
    )
    links: dict[str, dict[str, list[tuple[int, int]]]] = {"email": {}, "phone": {}}
    golden: dict[str, dict[str, set[int]]] = {"email": {}, "phone": {}}
    for kind, key, source_id, customer_id, link_id in rows:
        if kind == "source":
            found["source"][(str(key), source_id)] = ({int(customer_id)}, int(link_id))
        elif kind == "external":
            found["external"][key] = ({int(customer_id)}, None)
        elif kind in links:
            links[kind].setdefault(value_of[kind][key], []).append((int(customer_id), int(link_id)))
        else:
            contact = kind.partition(" ")[0]
            golden[contact].setdefault(value_of[contact][key], set()).add(int(customer_id))
    # A contact's source records decide; the golden profiles only for one no record holds.
    for kind in ("email", "phone"):
        for value, held in links[kind].items():
            found[kind][value] = ({c for c, _ in held}, min(link for _, link in held))
        for value, ids in golden[kind].items():
            if value not in links[kind]:
                found[kind][value] = (ids, None)


def _by_source(
    connection: Connection,
    found: dict[Any, tuple[set[int], int | None]],
    wanted: set[tuple[str, str]],
) -> None:
    """Find the profile of each (system, source id) through its identity link."""
    key_columns = [_links.c.source_system, _links.c.source_id]
    for condition in is_row_of(connection, key_columns, sorted(wanted)):
        for row in connection.execute(
            select(
                _links.c.id, _links.c.source_system, _links.c.source_id, _links.c.customer_id
            ).where(condition)
        ):
            found[(str(row.source_system), row.source_id)] = ({int(row.customer_id)}, int(row.id))


def _by_contact(
    connection: Connection,
    found: dict[Any, tuple[set[int], int | None]],
    link_column: Any,
    golden_column: Any,
    values: set[str],
    *,
    field: str,
) -> None:
    """Find the profiles holding each email key or phone: their source records', else the golden's.

    Through the blind index columns: the values themselves are encrypted.
    """
    if not values:
        return
    value_of: dict[str, str] = {}
    for value in values:
        index = blind_index(value, field=field)
        if index is not None:
            value_of[index] = value
    links: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for condition in is_one_of(connection, link_column, sorted(value_of)):
        for row in connection.execute(
            select(_links.c.id, _links.c.customer_id, link_column.label("blind")).where(condition)
        ):
            links[value_of[row.blind]].append((int(row.customer_id), int(row.id)))
    for value, rows in links.items():
        found[value] = ({c for c, _ in rows}, min(link for _, link in rows))
    rest = sorted(index for index, value in value_of.items() if value not in links)
    for condition in is_one_of(connection, golden_column, rest):
        for row in connection.execute(
            select(_golden.c.id, golden_column.label("blind")).where(condition)
        ):
            ids, _ = found.setdefault(value_of[row.blind], (set(), None))
            ids.add(int(row.id))


# The profiles, and each one's oldest link with it (what _first_links would read next).
_PROFILES_AND_FIRST_LINKS = """
SELECT g.id, g.external_id, g.status, g.merged_into_id,
       (SELECT min(l.id) FROM identity_link l WHERE l.customer_id = g.id)
  FROM golden_customer g WHERE g.id = ANY(%b::bigint[])
"""


def _profiles(
    connection: Connection, ids: list[int], first_links: dict[int, int]
) -> dict[int, Any]:
    """Return the profiles' id, external id, status and merged_into_id by id.

    On PostgreSQL in one hand-written statement that also notes each one's
    oldest link in ``first_links``: a round trip fewer per tracking batch.
    """
    rows: dict[int, Any] = {}
    if connection.dialect.name == "postgresql":
        for found in fetch_all(connection, _PROFILES_AND_FIRST_LINKS, [array("BIGINT[]", ids)]):
            rows[int(found[0])] = found[:4]
            if found[4] is not None:
                first_links[int(found[0])] = int(found[4])
        return rows
    for condition in is_one_of(connection, _golden.c.id, ids):
        for row in connection.execute(
            select(
                _golden.c.id, _golden.c.external_id, _golden.c.status, _golden.c.merged_into_id
            ).where(condition)
        ):
            rows[int(row.id)] = tuple(row)
    return rows


def _active_profiles(
    connection: Connection, ids: set[int], first_links: dict[int, int]
) -> dict[int, tuple[int, str]]:
    """Map each profile id to the active profile it is or was merged into (erased: left out)."""
    current = {c: c for c in ids}
    resolved: dict[int, tuple[int, str]] = {}
    for _ in range(10):  # merge chains are short; a cycle must not loop forever
        targets = sorted(set(current.values()))
        if not targets:
            break
        rows = _profiles(connection, targets, first_links)
        following = {}
        for origin, target in current.items():
            current_row = rows.get(target)
            if current_row is None:
                continue
            _, external_id, status, merged_into_id = current_row
            if status == CustomerStatus.ERASED.value:
                continue
            if status == CustomerStatus.MERGED.value and merged_into_id is not None:
                following[origin] = int(merged_into_id)
            else:
                resolved[origin] = (target, str(external_id))
        current = following
    return resolved


def _first_links(connection: Connection, customer_ids: set[int]) -> dict[int, int]:
    """Return the oldest identity link of each profile."""
    first: dict[int, int] = {}
    for condition in is_one_of(connection, _links.c.customer_id, sorted(customer_ids)):
        for customer_id, link_id in connection.execute(
            select(_links.c.customer_id, func.min(_links.c.id))
            .where(condition)
            .group_by(_links.c.customer_id)
        ):
            first[int(customer_id)] = int(link_id)
    return first


__all__ = ["CustomerLookup", "Located", "locate_customers"]
