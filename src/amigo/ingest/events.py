"""The domain events of what a batch wrote: one emitter for loads and Shopify webhooks.

A batch announces each golden profile it created (``customer.created``),
each existing one whose announced fields it changed (``customer.updated``:
the fields named, never their values), each order it stored for the first
time (``order.created``) and each known order whose status, total, currency,
buyer or date it changed (``order.updated``). The writers call these
functions in the batch's transaction (invariant 5), once per batch, from the
values they hold: the only reads are the states the batch is about to change.

Every event's data says where the change came from: ``cause`` (``load``,
``shopify_webhook``) and the cause's details (``load``: the load's id;
``webhook`` and ``topic``: the delivery).

An initial load (into an empty repository) announces nothing per record: its
profiles are not changes for connectors to act on, the sources hold them
already. It ends with one summary per entity, ``customers.loaded`` and
``orders.loaded``, with the counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from amigo.core.db import table_of
from amigo.core.sql import is_one_of
from amigo.events.service import DomainEvent, emit_events
from amigo.profiles.models import CustomerStatus, GoldenCustomer, Order
from amigo.profiles.service import ANNOUNCED_FIELDS, OrderState

golden = table_of(GoldenCustomer)
# What an order.updated is announced for; its other columns (store, channel) do not change.
ORDER_FIELDS = ("status", "total_cents", "currency", "customer_id", "ordered_at")
# The summary an initial load ends with, per kind of record it loaded.
LOAD_SUMMARIES = {"customers": "customers.loaded", "orders": "orders.loaded"}


@dataclass(frozen=True, slots=True)
class ProfileBefore:
    """An active profile's public id and announced values before a batch re-derives it."""

    external_id: str
    values: dict[str, Any]


def _tail(cause: str, details: Mapping[str, Any]) -> dict[str, Any]:
    return {"cause": cause, **details}


def profiles_before(
    connection: Connection, customer_ids: Iterable[int]
) -> dict[int, ProfileBefore]:
    """Return the active profiles among these ids with their announced values (one query a chunk)."""
    found: dict[int, ProfileBefore] = {}
    columns = [golden.c[name] for name in ANNOUNCED_FIELDS]
    for condition in is_one_of(connection, golden.c.id, sorted(set(customer_ids))):
        rows = connection.execute(
            select(golden.c.id, golden.c.external_id, *columns).where(
                condition, golden.c.status == CustomerStatus.ACTIVE.value
            )
        )
        for row in rows:
            mapped = row._mapping
            found[int(row.id)] = ProfileBefore(
                str(row.external_id), {name: mapped[name] for name in ANNOUNCED_FIELDS}
            )
    return found


def customer_events(
    *,
    system: str,
    created: Sequence[tuple[str, str]],
    updated: Sequence[tuple[int, str]],
    before: Mapping[int, ProfileBefore],
    after: Mapping[int, Mapping[str, Any]],
    cause: str,
    details: Mapping[str, Any],
) -> list[DomainEvent]:
    """Return the events of a batch of customer records of one source system.

    ``created``: (source id, external id) of each profile the batch created;
    ``updated``: (profile id, source id) of each record that re-derived a
    profile, ``before`` and ``after`` its values. A profile re-derived from
    several records of the batch is announced once, naming them all.
    """
    tail = _tail(cause, details)
    events = [
        DomainEvent(
            type="customer.created",
            subject=external_id,
            data={
                "customer": external_id,
                "sources": [{"system": system, "id": source_id}],
                **tail,
            },
        )
        for source_id, external_id in created
    ]
    sources: dict[int, list[dict[str, str]]] = {}
    for customer_id, source_id in updated:
        sources.setdefault(customer_id, []).append({"system": system, "id": source_id})
    for customer_id, named in sources.items():
        previous = before.get(customer_id)
        if previous is None:  # erased or merged away meanwhile: no profile to announce
            continue
        values = after[customer_id]
        fields = sorted(f for f in ANNOUNCED_FIELDS if previous.values[f] != values.get(f))
        if fields:
            events.append(
                DomainEvent(
                    type="customer.updated",
                    subject=previous.external_id,
                    data={
                        "customer": previous.external_id,
                        "fields": fields,
                        "sources": named,
                        **tail,
                    },
                )
            )
    return events


def order_events(
    *,
    system: str,
    source_ids: Sequence[str],
    before: Mapping[str, OrderState],
    after: Mapping[str, OrderState],
    cause: str,
    details: Mapping[str, Any],
) -> list[DomainEvent]:
    """Return the events of a batch of orders of one source system, in the batch's order.

    ``before``: the orders as stored before the batch (a new one is absent);
    ``after``: as the batch left them.
    """
    tail = _tail(cause, details)
    events = []
    for source_id in source_ids:
        state = after[source_id]
        previous = before.get(source_id)
        order = f"{system}:{source_id}"
        if previous is None:
            events.append(
                DomainEvent(
                    type="order.created",
                    subject=state.external_id,
                    data={
                        "order": order,
                        "customer": state.external_id,
                        "channel": state.channel,
                        "store": state.store_id,
                        "ordered_at": state.ordered_at.isoformat(),
                        "currency": state.currency,
                        "total_cents": state.total_cents,
                        "status": state.status,
                        **tail,
                    },
                )
            )
            continue
        fields = [f for f in ORDER_FIELDS if getattr(previous, f) != getattr(state, f)]
        if fields:
            events.append(
                DomainEvent(
                    type="order.updated",
                    subject=state.external_id,
                    data={
                        "order": order,
                        "customer": state.external_id,
                        "fields": fields,
                        "status": state.status,
                        "previous_status": previous.status,
                        "total_cents": state.total_cents,
                        **tail,
                    },
                )
            )
    return events


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """What an initial load did with one file of customers or orders."""

    kind: str  # "customers" or "orders"
    source: str
    stored: int  # records inserted or updated
    rejected: int


def emit_load_summaries(
    connection: Connection, *, load_id: int, files: Sequence[LoadedFile], now: datetime
) -> list[DomainEvent]:
    """Announce an initial load by one event per kind of record it loaded, with the counts.

    ``customers.loaded`` counts the golden profiles, ``orders.loaded`` the
    orders: the repository was empty, so all of them come from this load.
    """
    totals = {
        "customers": select(func.count()).select_from(golden),
        "orders": select(func.count()).select_from(table_of(Order)),
    }
    events = []
    for kind, event_type in LOAD_SUMMARIES.items():
        loaded = [f for f in files if f.kind == kind]
        if not loaded:
            continue
        by_source: dict[str, int] = {}
        for file in loaded:
            by_source[file.source] = by_source.get(file.source, 0) + file.stored
        entity = "profiles" if kind == "customers" else "orders"
        events.append(
            DomainEvent(
                type=event_type,
                subject=None,
                data={
                    entity: int(connection.scalar(totals[kind]) or 0),
                    "records": sum(by_source.values()),
                    "by_source": by_source,
                    "rejected": sum(f.rejected for f in loaded),
                    **_tail("load", {"load": load_id}),
                },
            )
        )
    emit_events(connection, events, now=now)
    return events


__all__ = [
    "LOAD_SUMMARIES",
    "ORDER_FIELDS",
    "LoadedFile",
    "ProfileBefore",
    "customer_events",
    "emit_load_summaries",
    "order_events",
    "profiles_before",
]
