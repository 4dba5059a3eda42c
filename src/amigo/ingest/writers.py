"""Entity writers: turn mapped facts into rows of the customer repository.

Each writer receives a batch of pending records (already stored raw) and
returns the ones it must reject because of what the database holds (an
order for an unknown customer, a line for an unknown receipt). Writers are
idempotent: writing the same facts twice leaves the same rows.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, select, update

from amigo.consent.service import SourceStatement, record_source_statements
from amigo.core.db import table_of
from amigo.core.sql import bulk_insert, insert_ignore, is_one_of, upsert, upsert_earliest
from amigo.events.service import DomainEvent, emit_events
from amigo.identity.models import IdentityLink, IdentityReference
from amigo.identity.snapshot import facts_from_snapshot, snapshot_values
from amigo.ingest.events import customer_events, order_events, profiles_before
from amigo.ingest.facts import (
    AssociateFacts,
    CustomerFacts,
    InteractionFacts,
    MappingContext,
    OrderFacts,
    ProductFacts,
    RefundFacts,
    StoreFacts,
)
from amigo.ingest.models import RawConsent, RecordStatus, SourceRecord
from amigo.profiles.models import (
    CustomerAssociate,
    CustomerStore,
    GoldenCustomer,
    Interaction,
    Order,
    OrderLine,
    Payment,
    Product,
    SalesAssociate,
    Store,
    StoreRelation,
)
from amigo.profiles.rectification import any_rectifications, apply_rectifications
from amigo.profiles.service import order_states
from amigo.profiles.survivorship import Candidate, golden_values
from amigo.quality.issues import ValidationIssue

golden = table_of(GoldenCustomer)
link_table = table_of(IdentityLink)
order_table = table_of(Order)
CUSTOMER_ENTITIES = ("customer", "submission")


@dataclass(slots=True)  # not frozen: one per row, see RawRow
class Pending:
    """A stored source record waiting to be written to the repository."""

    record_id: int
    source_id: str
    facts: Any


@dataclass
class WriteContext:
    """What writers share within one batch transaction."""

    connection: Connection
    now: datetime
    mapping: MappingContext
    # Re-map a stored payload to customer facts, for survivorship over all of a person's records.
    remap_customer: Callable[[str, str, dict[str, Any]], CustomerFacts | None]
    # Issues found while writing (the record is still loaded), as (record id, issue).
    issues: list[tuple[int, ValidationIssue]] = field(default_factory=list)
    # False while an initial load defers the consent projection to its end.
    project_consents: bool = True
    # Who appends the records' consent statements to the ledger.
    consent_actor: str = "process:load"
    # Whether each profile and order written is announced (ingest.events); an initial
    # load announces one summary per entity instead.
    announce: bool = True
    # Where the batch's changes come from, in each event's data: "load" and {"load": id}...
    event_cause: str = "load"
    event_details: dict[str, Any] = field(default_factory=dict)
    # The events the batch wrote to the outbox.
    events: list[DomainEvent] = field(default_factory=list)
    raw_consents: int = 0
    consent_changes: int = 0
    _stores: set[str] | None = None
    _associates: set[str] | None = None

    def emit(self, events: list[DomainEvent]) -> None:
        """Write events to the outbox in the batch's transaction, in one insert."""
        if events:
            emit_events(self.connection, events, now=self.now)
            self.events.extend(events)

    def known_stores(self) -> set[str]:
        """Return the store codes in the repository (read once per batch)."""
        if self._stores is None:
            self._stores = set(self.connection.scalars(select(Store.id)))
        return self._stores

    def known_associates(self) -> set[str]:
        """Return the associate ids in the repository (read once per batch)."""
        if self._associates is None:
            self._associates = set(self.connection.scalars(select(SalesAssociate.id)))
        return self._associates


Rejects = dict[int, ValidationIssue]
Writer = Callable[[WriteContext, Sequence[Pending]], Rejects]


def _issue(field_name: str, code: str, message: str, value: str | None) -> ValidationIssue:
    return ValidationIssue(field=field_name, code=code, message=message, value=value)


def _unknown_store(field_name: str, store_id: str) -> ValidationIssue:
    return _issue(field_name, "unknown_store", f"store {store_id!r} is not known", store_id)


def golden_external_id(source_system: str, source_id: str) -> str:
    """Return the stable public id of the profile first created from this source record.

    Derived, not random: rebuilding the repository from the same sources gives
    every person the same id again.
    """
    digest = hashlib.sha256(f"{source_system}:{source_id}".encode()).digest()
    return "AMI-" + base64.b32encode(digest).decode()[:12]


# ---------------------------------------------------------------- reference data


def write_stores(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Insert or update stores."""
    rows = [_store_row(p.facts) for p in pending]
    upsert(ctx.connection, table_of(Store), rows, conflict_columns=["id"])
    return {}


def _store_row(facts: StoreFacts) -> dict[str, Any]:
    return {
        "id": facts.id,
        "name": facts.name,
        "address_line1": facts.address_line1,
        "address_line2": facts.address_line2,
        "postal_code": facts.postal_code,
        "city": facts.city,
        "country": facts.country,
        "phone": facts.phone,
        "email": facts.email,
        "opening_hours": facts.opening_hours,
        "manager_associate_id": facts.manager_associate_id,
        "region": facts.region,
        "timezone": facts.timezone,
    }


def write_associates(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Insert or update sales associates; one in an unknown store is rejected."""
    stores = ctx.known_stores()
    rejects: Rejects = {}
    rows = []
    for p in pending:
        facts: AssociateFacts = p.facts
        if facts.store_id is not None and facts.store_id not in stores:
            rejects[p.record_id] = _unknown_store("store_id", facts.store_id)
            continue
        rows.append(
            {
                "id": facts.id,
                "first_name": facts.first_name,
                "last_name": facts.last_name,
                "store_id": facts.store_id,
                "active": facts.active,
            }
        )
    upsert(ctx.connection, table_of(SalesAssociate), rows, conflict_columns=["id"])
    return rejects


def write_products(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Insert or update catalogue products."""
    rows = []
    for p in pending:
        facts: ProductFacts = p.facts
        rows.append(
            {
                "sku": facts.sku,
                "name": facts.name,
                "category": facts.category,
                "collection": facts.collection,
                "season": facts.season,
                "price_cents": facts.price_cents,
                "currency": facts.currency,
            }
        )
    upsert(ctx.connection, table_of(Product), rows, conflict_columns=["sku"])
    return {}


# ---------------------------------------------------------------- customers


@dataclass(frozen=True, slots=True)
class LinkedCustomer:
    """A source customer's identity link and the golden profile it belongs to."""

    link_id: int
    customer_id: int


def _links_for(
    connection: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], LinkedCustomer]:
    """Return the link and golden id of each (source system, source id) that has one."""
    keys = list(set(keys))
    found: dict[tuple[str, str], LinkedCustomer] = {}
    by_system: dict[str, list[str]] = {}
    for system, source_id in keys:
        by_system.setdefault(system, []).append(source_id)
    for system, source_ids in by_system.items():
        for condition in is_one_of(connection, link_table.c.source_id, source_ids):
            rows = connection.execute(
                select(link_table.c.source_id, link_table.c.id, link_table.c.customer_id).where(
                    link_table.c.source_system == system, condition
                )
            )
            found.update({(system, sid): LinkedCustomer(lid, cid) for sid, lid, cid in rows})
    return found


def _golden_ids(connection: Connection, external_ids: list[str]) -> list[int]:
    """Return the ids of the profiles with these external ids, in the same order."""
    found: dict[str, int] = {}
    for condition in is_one_of(connection, golden.c.external_id, external_ids):
        rows = connection.execute(select(golden.c.external_id, golden.c.id).where(condition))
        found.update((external_id, customer_id) for external_id, customer_id in rows)
    return [found[external_id] for external_id in external_ids]


def _checked_references(ctx: WriteContext, p: Pending) -> tuple[str | None, str | None]:
    """Return the preferred store and associate if known, recording an issue otherwise."""
    facts: CustomerFacts = p.facts
    store, associate = facts.preferred_store_id, facts.associate_id
    if store is not None and store not in ctx.known_stores():
        ctx.issues.append(
            (
                p.record_id,
                _unknown_store("preferred_store_id", store),
            )
        )
        store = None
    if associate is not None and associate not in ctx.known_associates():
        ctx.issues.append(
            (
                p.record_id,
                _issue(
                    "associate_id",
                    "unknown_associate",
                    f"associate {associate!r} is not known",
                    associate,
                ),
            )
        )
        associate = None
    return store, associate


def write_customers(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Create a golden profile per new source customer, or re-derive the linked one."""
    connection = ctx.connection
    system = pending[0].facts.source_system
    # The last version of a source id in the batch wins; earlier ones stay stored raw.
    latest: dict[str, Pending] = {}
    for p in pending:
        latest[p.source_id] = p
    links = _links_for(connection, ((system, sid) for sid in latest))

    creations: list[tuple[Pending, str | None, str | None]] = []
    updates: list[tuple[int, Pending, str | None, str | None]] = []
    for sid, given in latest.items():
        store, associate = _checked_references(ctx, given)
        facts = given.facts
        if facts.preferred_store_id != store or facts.associate_id != associate:
            facts = replace(facts, preferred_store_id=store, associate_id=associate)
        checked = Pending(given.record_id, given.source_id, facts)
        if (system, sid) in links:
            updates.append((links[(system, sid)].customer_id, checked, store, associate))
        else:
            creations.append((checked, store, associate))

    rows = []
    for p, _store, _associate in creations:
        values = golden_values([Candidate(p.facts, p.record_id)], ctx.now)
        values["external_id"] = golden_external_id(system, p.source_id)
        values["status"] = "active"
        values["created_at"] = ctx.now
        rows.append(values)
    if rows:
        bulk_insert(connection, golden, rows)
    new_ids = _golden_ids(connection, [row["external_id"] for row in rows])
    insert_ignore(
        connection,
        link_table,
        [
            {
                "source_system": system,
                "source_id": p.source_id,
                "customer_id": customer_id,
                "rule": "source_record",
                "linked_at": ctx.now,
                **snapshot_values(p.facts, p.record_id, ctx.now),
            }
            for (p, _s, _a), customer_id in zip(creations, new_ids, strict=True)
        ],
        conflict_columns=["source_system", "source_id"],
    )

    # What an update is announced by: the announced values before the batch, and after.
    before = profiles_before(connection, (u[0] for u in updates)) if ctx.announce else {}
    after = _rederive(ctx, system, updates)
    touched = [(cid, p, s, a) for (p, s, a), cid in zip(creations, new_ids, strict=True)]
    _link_stores_and_associates(connection, touched + updates)
    _record_references(ctx, system, creations, updates, links)
    if ctx.announce:  # before the consents: a profile is announced before its consent changes
        ctx.emit(
            customer_events(
                system=system,
                created=[
                    (p.source_id, row["external_id"])
                    for (p, _s, _a), row in zip(creations, rows, strict=True)
                ],
                updated=[(customer_id, p.source_id) for customer_id, p, _s, _a in updates],
                before=before,
                after=after,
                cause=ctx.event_cause,
                details=ctx.event_details,
            )
        )
    known = {key: linked.customer_id for key, linked in links.items()}
    _record_raw_consents(ctx, pending, {**known, **_creation_links(system, creations, new_ids)})
    return {}


def _rederive(
    ctx: WriteContext, system: str, updates: list[tuple[int, Pending, str | None, str | None]]
) -> dict[int, dict[str, Any]]:
    """Re-derive the profile of each record's new version; return each profile's new values."""
    connection = ctx.connection
    after: dict[int, dict[str, Any]] = {}
    rectified = bool(updates) and any_rectifications(connection)
    for customer_id, p, _store, _associate in updates:
        connection.execute(
            update(link_table)
            .where(link_table.c.source_system == system, link_table.c.source_id == p.source_id)
            .values(**snapshot_values(p.facts, p.record_id, ctx.now))
        )
        candidates = _other_candidates(ctx, customer_id, exclude=(system, p.source_id))
        candidates.append(Candidate(p.facts, p.record_id))
        values = golden_values(candidates, ctx.now)
        if rectified:  # a corrected value outranks the record just loaded
            apply_rectifications(connection, {customer_id: values})
        connection.execute(update(golden).where(golden.c.id == customer_id).values(**values))
        after[customer_id] = values
        # The preferred store follows the golden profile: drop a stale one.
        connection.execute(
            delete(table_of(CustomerStore)).where(
                table_of(CustomerStore).c.customer_id == customer_id,
                table_of(CustomerStore).c.relation == StoreRelation.PREFERRED.value,
                table_of(CustomerStore).c.store_id != (values["preferred_store_id"] or ""),
            )
        )
    return after


def _link_stores_and_associates(
    connection: Connection, touched: list[tuple[int, Pending, str | None, str | None]]
) -> None:
    """Link each written profile to its record's preferred store and associate."""
    store_links = []
    associate_links = []
    for customer_id, p, store, associate in touched:
        since = p.facts.created_at or p.facts.observed_at
        if store is not None:
            store_links.append(
                {
                    "customer_id": customer_id,
                    "store_id": store,
                    "relation": StoreRelation.PREFERRED.value,
                    "since": since,
                }
            )
        if associate is not None:
            associate_links.append(
                {"customer_id": customer_id, "associate_id": associate, "assigned_since": since}
            )
    insert_ignore(connection, table_of(CustomerStore), store_links)
    insert_ignore(connection, table_of(CustomerAssociate), associate_links)


def _record_references(
    ctx: WriteContext,
    system: str,
    creations: list[tuple[Pending, str | None, str | None]],
    updates: list[tuple[int, Pending, str | None, str | None]],
    links: dict[tuple[str, str], LinkedCustomer],
) -> None:
    """Keep the other systems' ids each record names; a new version replaces its old ones."""
    connection = ctx.connection
    references = table_of(IdentityReference)
    updated = [links[(system, p.source_id)].link_id for _c, p, _s, _a in updates]
    for condition in is_one_of(connection, references.c.link_id, updated):
        connection.execute(delete(references).where(condition))
    naming = [p for p, _s, _a in creations if p.facts.references]
    naming += [p for _c, p, _s, _a in updates if p.facts.references]
    if not naming:
        return
    ids = _links_for(connection, ((system, p.source_id) for p in naming))
    insert_ignore(
        connection,
        references,
        [
            {"link_id": ids[(system, p.source_id)].link_id, "system": ref[0], "source_id": ref[1]}
            for p in naming
            for ref in p.facts.references
            if ref != (system, p.source_id)
        ],
    )


def _creation_links(
    system: str, creations: list[tuple[Pending, str | None, str | None]], new_ids: list[int]
) -> dict[tuple[str, str], int]:
    return {
        (system, p.source_id): customer_id
        for (p, _s, _a), customer_id in zip(creations, new_ids, strict=True)
    }


def _record_raw_consents(
    ctx: WriteContext, pending: Sequence[Pending], links: dict[tuple[str, str], int]
) -> None:
    """Keep every consent statement of every record version, as the source made it.

    Written with the record, in the same transaction: a statement never exists
    without the record that proves it. The consent ledger builds on these.
    """
    rows = [
        {
            "source_record_id": p.record_id,
            "source_system": p.facts.source_system,
            "source_id": p.source_id,
            "customer_id": links.get((p.facts.source_system, p.source_id)),
            "purpose": consent.purpose,
            "raw_value": consent.raw_value,
            "opt_in_level": consent.opt_in_level,
            "stated_at": consent.stated_at,
            "proof": consent.proof,
        }
        for p in pending
        for consent in p.facts.consents
    ]
    insert_ignore(
        ctx.connection,
        table_of(RawConsent),
        rows,
        conflict_columns=["source_record_id", "purpose"],
    )
    ctx.raw_consents += len(rows)
    # The ledger's reading of the same statements, and the states they change, in this transaction.
    changes = record_source_statements(
        ctx.connection,
        [
            SourceStatement(p.record_id, p.facts.source_system, p.source_id, consent)
            for p in pending
            for consent in p.facts.consents
        ],
        customer_ids={row["customer_id"] for row in rows if row["customer_id"] is not None},
        now=ctx.now,
        project=ctx.project_consents,
        actor=ctx.consent_actor,
    )
    ctx.consent_changes += len(changes)


def _other_candidates(
    ctx: WriteContext, customer_id: int, *, exclude: tuple[str, str]
) -> list[Candidate]:
    """Return facts of the current version of every other record linked to the profile.

    They come from the links' snapshots; a link made before snapshots existed
    has its stored record re-mapped.
    """
    connection = ctx.connection
    linked = connection.execute(
        select(link_table).where(link_table.c.customer_id == customer_id)
    ).all()
    candidates = []
    records = table_of(SourceRecord)
    for link in linked:
        system, source_id = str(link.source_system), link.source_id
        if (system, source_id) == exclude:
            continue
        if link.record_id is not None:
            candidates.append(
                Candidate(facts_from_snapshot(link, system, source_id), link.record_id)
            )
            continue
        row = connection.execute(
            select(records.c.id, records.c.entity, records.c.payload)
            .where(
                records.c.source_system == system,
                records.c.source_id == source_id,
                records.c.entity.in_(CUSTOMER_ENTITIES),
                records.c.status == RecordStatus.PROCESSED.value,
            )
            .order_by(records.c.received_at.desc(), records.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            continue
        facts = ctx.remap_customer(system, row.entity, row.payload)
        if facts is not None:
            candidates.append(Candidate(facts, row.id))
    return candidates


# ---------------------------------------------------------------- orders


def write_orders(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Insert or update orders attached to their golden customer."""
    connection = ctx.connection
    rejects: Rejects = {}
    links = _links_for(
        connection,
        (
            (p.facts.source_system, p.facts.customer_source_id)
            for p in pending
            if p.facts.customer_source_id
        ),
    )
    stores = ctx.known_stores()
    accepted: dict[str, tuple[Pending, LinkedCustomer | None]] = {}
    for p in pending:
        facts: OrderFacts = p.facts
        linked = None
        if facts.customer_source_id:
            linked = links.get((facts.source_system, facts.customer_source_id))
            if linked is None:
                rejects[p.record_id] = _issue(
                    "customer_id",
                    "unknown_customer",
                    f"order {facts.source_order_id} names customer "
                    f"{facts.customer_source_id!r}, who is not in the repository",
                    facts.customer_source_id,
                )
                continue
        if facts.store_id is not None and facts.store_id not in stores:
            rejects[p.record_id] = _unknown_store("store_id", facts.store_id)
            continue
        accepted[facts.source_order_id] = (p, linked)
    if not accepted:
        return rejects

    system = pending[0].facts.source_system
    source_ids = list(accepted)
    before = order_states(connection, system, source_ids) if ctx.announce else {}
    rows = []
    for p, linked in accepted.values():
        facts = p.facts
        rows.append(
            {
                "source_system": facts.source_system,
                "source_order_id": facts.source_order_id,
                "customer_id": linked.customer_id if linked else None,
                "customer_link_id": linked.link_id if linked else None,
                "channel": facts.channel,
                "store_id": facts.store_id,
                "associate_id": facts.associate_id,
                "ordered_at": facts.ordered_at,
                "currency": facts.currency,
                "total_cents": facts.total_cents,
                "status": facts.status,
            }
        )
    upsert(connection, order_table, rows, conflict_columns=["source_system", "source_order_id"])
    # Announcing reads the orders back as stored (with their buyers' public ids): their ids too.
    after = order_states(connection, system, source_ids) if ctx.announce else None
    order_ids = (
        _order_ids(connection, system, source_ids)
        if after is None
        else {source_id: state.id for source_id, state in after.items()}
    )
    _replace_lines_and_payments(connection, accepted, order_ids)
    visits = [
        {
            "customer_id": linked.customer_id,
            "store_id": p.facts.store_id,
            "relation": StoreRelation.VISITED.value,
            "since": p.facts.ordered_at,
        }
        for p, linked in accepted.values()
        if linked is not None and p.facts.store_id is not None
    ]
    # Since the first purchase there, whatever order the orders arrive in.
    upsert_earliest(
        connection,
        table_of(CustomerStore),
        visits,
        conflict_columns=["customer_id", "store_id", "relation"],
    )
    if after is not None:
        ctx.emit(
            order_events(
                system=system,
                source_ids=source_ids,
                before=before,
                after=after,
                cause=ctx.event_cause,
                details=ctx.event_details,
            )
        )
    return rejects


def _replace_lines_and_payments(
    connection: Connection,
    accepted: dict[str, tuple[Pending, LinkedCustomer | None]],
    order_ids: dict[str, int],
) -> None:
    """Replace the lines and payments of the orders whose record carries them."""
    carries_lines = [sid for sid, (p, _c) in accepted.items() if p.facts.lines or p.facts.payments]
    if not carries_lines:
        return
    ids = [order_ids[sid] for sid in carries_lines]
    lines, payments = table_of(OrderLine), table_of(Payment)
    for condition in is_one_of(connection, lines.c.order_id, ids):
        connection.execute(delete(lines).where(condition))
    for condition in is_one_of(connection, payments.c.order_id, ids):
        # A payment written on its own (a refund transaction) is no part of the order's
        # version: it stays.
        connection.execute(
            delete(payments).where(condition, payments.c.source_payment_id.is_(None))
        )
    line_rows = []
    payment_rows = []
    for sid in carries_lines:
        facts = accepted[sid][0].facts
        line_rows += [_line_row(order_ids[sid], line) for line in facts.lines]
        payment_rows += [_payment_row(order_ids[sid], pay) for pay in facts.payments]
    if line_rows:
        bulk_insert(connection, table_of(OrderLine), line_rows)
    if payment_rows:
        bulk_insert(connection, table_of(Payment), payment_rows)


def _order_ids(connection: Connection, system: str, source_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for condition in is_one_of(connection, order_table.c.source_order_id, source_ids):
        rows = connection.execute(
            select(order_table.c.source_order_id, order_table.c.id).where(
                and_(order_table.c.source_system == system, condition)
            )
        )
        found.update((source_id, order_id) for source_id, order_id in rows)
    return found


def _line_row(order_id: int, line: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "line_number": line.line_number,
        "sku": line.sku,
        "label": line.label,
        "quantity": line.quantity,
        "unit_price_cents": line.unit_price_cents,
        "discount_cents": line.discount_cents,
    }


def _payment_row(order_id: int, payment: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "payment_number": payment.payment_number,
        "method": payment.method,
        "amount_cents": payment.amount_cents,
        "status": payment.status,
        "paid_at": payment.paid_at,
    }


def _attach_to_receipts(
    ctx: WriteContext, pending: Sequence[Pending], what: str
) -> tuple[Rejects, list[tuple[int, Any]]]:
    order_ids = _order_ids(
        ctx.connection, "cegid", list({p.facts.order_source_id for p in pending})
    )
    rejects: Rejects = {}
    attached = []
    for p in pending:
        order_id = order_ids.get(p.facts.order_source_id)
        if order_id is None:
            rejects[p.record_id] = _issue(
                "order",
                "unknown_order",
                f"{what} {p.source_id} belongs to receipt {p.facts.order_source_id}, "
                "which is not in the repository",
                p.facts.order_source_id,
            )
        else:
            attached.append((order_id, p.facts))
    return rejects, attached


def write_receipt_lines(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Attach Y2 receipt lines to their receipts."""
    rejects, attached = _attach_to_receipts(ctx, pending, "line")
    rows = [_line_row(order_id, facts.line) for order_id, facts in attached]
    upsert(ctx.connection, table_of(OrderLine), rows, conflict_columns=["order_id", "line_number"])
    return rejects


def write_receipt_payments(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Attach Y2 receipt payments to their receipts."""
    rejects, attached = _attach_to_receipts(ctx, pending, "payment")
    rows = [_payment_row(order_id, facts.payment) for order_id, facts in attached]
    upsert(ctx.connection, table_of(Payment), rows, conflict_columns=["order_id", "payment_number"])
    return rejects


# ---------------------------------------------------------------- interactions


def write_interactions(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Insert or update interactions on the profile of the customer they name."""
    links = _links_for(
        ctx.connection,
        ((p.facts.customer_source_system, p.facts.customer_source_id) for p in pending),
    )
    rejects: Rejects = {}
    rows = []
    for p in pending:
        facts: InteractionFacts = p.facts
        linked = links.get((facts.customer_source_system, facts.customer_source_id))
        if linked is None:
            rejects[p.record_id] = _issue(
                "customer",
                "unknown_customer",
                f"interaction {facts.source_interaction_id} names customer "
                f"{facts.customer_source_system}:{facts.customer_source_id}, "
                "who is not in the repository",
                f"{facts.customer_source_system}:{facts.customer_source_id}",
            )
            continue
        rows.append(
            {
                "source_system": facts.source_system,
                "source_interaction_id": facts.source_interaction_id,
                "customer_id": linked.customer_id,
                "customer_link_id": linked.link_id,
                "type": facts.type,
                "channel": facts.channel,
                "occurred_at": facts.occurred_at,
                "campaign": facts.campaign,
                "text": facts.text,
                "payload": facts.payload,
            }
        )
    upsert(
        ctx.connection,
        table_of(Interaction),
        rows,
        conflict_columns=["source_system", "source_interaction_id"],
    )
    return rejects


# ---------------------------------------------------------------- webhook-only records


def write_consent_statements(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Record consent statements a source sent on their own (Shopify's consent webhooks).

    As a customer record's statements are: raw, then in the ledger by source
    record, re-projecting the profile the customer is linked to. A customer
    not in the repository yet gets its statements when its record arrives.
    """
    links = _links_for(ctx.connection, ((p.facts.source_system, p.source_id) for p in pending))
    _record_raw_consents(ctx, pending, {key: linked.customer_id for key, linked in links.items()})
    return {}


def write_nothing(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Write no entity: the record is kept raw and its caller acts on it (a deletion notice)."""
    return {}


def write_refunds(ctx: WriteContext, pending: Sequence[Pending]) -> Rejects:
    """Write each successful refund transaction as a negative payment of its order, once.

    Keyed by the transaction's id: a refund delivered again writes nothing new,
    and an order's later version, which replaces its own payments, leaves
    them. A refund of an order not in the repository is rejected (its
    delivery waits for the order); a transaction in another currency than
    its order's is not written, with an issue. The caller holds the order's
    lock (Shopify webhooks), so payment numbers are taken after the highest.
    """
    payments = table_of(Payment)
    by_system: dict[str, set[str]] = {}
    for p in pending:
        by_system.setdefault(p.facts.source_system, set()).add(p.facts.order_source_id)
    orders: dict[tuple[str, str], tuple[int, str]] = {}
    for system, source_ids in by_system.items():
        for condition in is_one_of(
            ctx.connection, order_table.c.source_order_id, sorted(source_ids)
        ):
            found = ctx.connection.execute(
                select(
                    order_table.c.source_order_id, order_table.c.id, order_table.c.currency
                ).where(order_table.c.source_system == system, condition)
            )
            orders.update(((system, sid), (oid, currency)) for sid, oid, currency in found)
    rejects: Rejects = {}
    rows: list[dict[str, Any]] = []
    taken: dict[int, tuple[int, set[str]]] = {}  # order id -> (highest number, transaction ids)
    for p in pending:
        facts: RefundFacts = p.facts
        order = orders.get((facts.source_system, facts.order_source_id))
        if order is None:
            rejects[p.record_id] = _issue(
                "order",
                "unknown_order",
                f"refund {facts.refund_id} is of order {facts.order_source_id}, "
                "which is not in the repository",
                facts.order_source_id,
            )
            continue
        order_id, currency = order
        if order_id not in taken:
            stored = ctx.connection.execute(
                select(payments.c.payment_number, payments.c.source_payment_id).where(
                    payments.c.order_id == order_id
                )
            ).all()
            taken[order_id] = (
                max((number for number, _sid in stored), default=0),
                {sid for _number, sid in stored if sid is not None},
            )
        highest, written = taken[order_id]
        for money in facts.transactions:
            if money.transaction_id in written:
                continue  # this refund, or this transaction, was written already
            if money.currency is not None and money.currency != currency:
                ctx.issues.append(
                    (
                        p.record_id,
                        _issue(
                            "currency",
                            "currency_mismatch",
                            f"refund transaction {money.transaction_id} is in {money.currency}, "
                            f"its order in {currency}: not written",
                            money.currency,
                        ),
                    )
                )
                continue
            highest += 1
            written.add(money.transaction_id)
            rows.append(
                {
                    "order_id": order_id,
                    "payment_number": highest,
                    "method": money.method,
                    "amount_cents": -money.amount_cents,
                    "status": "refunded",
                    "paid_at": money.processed_at,
                    "source_payment_id": money.transaction_id,
                }
            )
        taken[order_id] = (highest, written)
    if rows:
        bulk_insert(ctx.connection, payments, rows)
    return rejects


__all__ = [
    "Pending",
    "WriteContext",
    "Writer",
    "golden_external_id",
    "write_associates",
    "write_consent_statements",
    "write_customers",
    "write_interactions",
    "write_nothing",
    "write_orders",
    "write_products",
    "write_receipt_lines",
    "write_receipt_payments",
    "write_refunds",
    "write_stores",
]
