"""Merge golden profiles and unmerge them: set-based writes, each with its audit entry and event.

A merge re-points the merged profile's source records (identity links) to
the survivor, moves what hangs off the profile (orders, interactions,
consents, store and associate ties), re-derives the survivor's values from
all its records (survivorship), marks the merged profile "merged into" the
survivor, and writes a merge event holding both profiles as they were and
every field's before and after. Unmerge reads that event back.

Everything moved is found through the source records, not copied: an order
belongs to the profile of the link of the customer it names. So an order
that arrived after a merge still goes back with its customer on unmerge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    MetaData,
    Table,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.schema import CreateIndex, CreateTable

from amigo.consent.service import project_consents
from amigo.core.db import JSONType, UTCDateTime, table_of
from amigo.core.errors import ConflictError, InvalidInputError, NotFoundError
from amigo.core.sql import (
    bulk_insert,
    earliest_on_conflict,
    insert_ignore,
    insert_returning,
    insert_returning_ids,
    is_one_of,
)
from amigo.events.service import DomainEvent, emit_events
from amigo.identity.models import (
    DistinctDecision,
    DistinctDecisionMember,
    IdentityLink,
    MergeEvent,
)
from amigo.identity.snapshot import facts_from_snapshot
from amigo.profiles.models import CustomerStatus, GoldenCustomer
from amigo.profiles.rectification import apply_rectifications
from amigo.profiles.survivorship import ADDRESS_FIELDS, SCALAR_FIELDS, Candidate, golden_values

links = table_of(IdentityLink)
golden = table_of(GoldenCustomer)
merge_events = table_of(MergeEvent)
# The golden fields a merge can change: what its audit entry shows before and after.
PROFILE_FIELDS = (*SCALAR_FIELDS, "email_match_key", *ADDRESS_FIELDS, "origin")


@dataclass(frozen=True)
class MergeStep:
    """One profile to merge into a survivor, with what justified it."""

    merged_id: int
    rule: str
    probability: float | None = None
    match_weight: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MergePlan:
    """Profiles that are one person: the survivor and those merged into it."""

    survivor_id: int
    steps: tuple[MergeStep, ...]


@dataclass(frozen=True)
class MergeContext:
    """Who merges, when, within which resolution run, with which model."""

    actor: str
    now: datetime
    run_id: int | None = None
    model_version: int | None = None
    reason: str | None = None
    # False inside an initial load, which projects every profile's consents at its end.
    project_consents: bool = True


# ---------------------------------------------------------------- temporary tables


def _temporary(connection: Connection, name: str, *columns: Column[Any]) -> Table:
    """Return an empty temporary table for this transaction.

    On PostgreSQL it is created once per database session and emptied at each
    commit: creating and dropping three tables per merge wrote the system
    catalog every time (an incremental merge's p95 was 4 ms higher at 100K).
    On SQLite, where that is cheap and nothing empties them, it is created anew.
    """
    table = Table(
        name,
        MetaData(),
        *columns,
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DELETE ROWS",
    )
    if connection.dialect.name == "postgresql":
        connection.execute(CreateTable(table, if_not_exists=True))
        for index in table.indexes:
            connection.execute(CreateIndex(index, if_not_exists=True))
        connection.execute(table.delete())  # used earlier in this transaction, perhaps
    else:
        connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
        table.create(connection)
    return table


def _analyzed(connection: Connection, table: Table) -> Table:
    """Give PostgreSQL the row count of a temporary table just filled; return the table.

    Autovacuum never analyzes temporary tables, so the planner guesses about
    2,500 rows: for the one or two rows of an incremental merge it chose a
    hash join scanning every interaction (40-150 ms a statement) over an
    index lookup.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"ANALYZE {table.name}"))
    return table


def _id_table(connection: Connection, name: str, ids: Iterable[int]) -> Table:
    table = _temporary(connection, name, Column("id", BigInteger, primary_key=True))
    bulk_insert(connection, table, [{"id": i} for i in sorted(set(ids))])
    return _analyzed(connection, table)


# ---------------------------------------------------------------- reading


def _profiles(connection: Connection, affected: Table) -> dict[int, Any]:
    rows = connection.execute(select(golden).where(golden.c.id.in_(select(affected.c.id))))
    return {row.id: row for row in rows}


def _links_of(connection: Connection, affected: Table) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    for row in connection.execute(
        select(links).where(links.c.customer_id.in_(select(affected.c.id))).order_by(links.c.id)
    ):
        found.setdefault(row.customer_id, []).append(row)
    return found


def profile_state(row: Any) -> dict[str, Any]:
    """Return a golden profile's values and status as JSON, for the audit.

    Not its lineage: a merged profile's row keeps it, and a survivor's
    changed fields are in the merge event's field changes.
    """
    values = row._asdict()  # one call, not an attribute lookup per field (400 K survivors)
    state = {name: _jsonable(values[name]) for name in PROFILE_FIELDS}
    state["external_id"] = row.external_id
    state["status"] = str(row.status)
    state["merged_into_id"] = row.merged_into_id
    return state


# A link read as the customer facts survivorship asks for (same attribute names),
# and no more: at the seed volume every column is a million values decoded.
_FACT_COLUMNS = [
    *(
        links.c[name]
        for name in (
            "id",
            "customer_id",
            "record_id",
            "source_system",
            "source_id",
            "observed_at",
            "email_match_key",
            *SCALAR_FIELDS,
            *ADDRESS_FIELDS,
        )
    ),
    links.c.source_created_at.label("created_at"),
    func.coalesce(links.c.origin, "web form").label("origin"),
]
_IDENTITY_COLUMNS = [golden.c[name] for name in ("id", "external_id", "status", "merged_into_id")]
_STATE_COLUMNS = _IDENTITY_COLUMNS + [golden.c[name] for name in PROFILE_FIELDS]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | time) else value


def derive_from_links(
    linked: Sequence[Any], now: datetime, *, as_facts: bool = False
) -> dict[str, Any]:
    """Return a profile's golden values from the snapshots of its links (survivorship).

    With ``as_facts``, the rows already read like customer facts (the batch
    selects ``_FACT_COLUMNS``) and are used as they are.
    """
    candidates = [
        Candidate(
            link
            if as_facts
            else facts_from_snapshot(link, str(link.source_system), link.source_id),
            link.record_id,
        )
        for link in linked
        if link.record_id is not None
    ]
    if not candidates:
        raise InvalidInputError("a profile without any source record cannot be derived")
    return golden_values(candidates, now)


# ---------------------------------------------------------------- writing


# The blind indexes follow the values they index; the audit shows the values only.
_VALUE_COLUMNS = (*PROFILE_FIELDS, "email_index", "phone_index", "lineage", "updated_at")


def _write_profiles(connection: Connection, values_by_id: dict[int, dict[str, Any]]) -> None:
    """Write re-derived golden values, staged in a temporary table (one UPDATE)."""
    if not values_by_id:
        return
    apply_rectifications(connection, values_by_id)
    staged = _staging_table(connection)
    bulk_insert(connection, staged, [{"id": i, **v} for i, v in values_by_id.items()])
    _analyzed(connection, staged)
    _update_from_staged(connection)


def _update_from_staged(connection: Connection) -> None:
    """Write the staged golden values: each row found by its primary key.

    A correlated row-value assignment, not UPDATE ... FROM: SQLite would scan
    every golden profile for the join, even to update one.
    """
    names = ", ".join(_VALUE_COLUMNS)
    picked = ", ".join(f"v.{name}" for name in _VALUE_COLUMNS)
    connection.execute(
        text(
            f"UPDATE golden_customer SET ({names}) = (SELECT {picked} "  # noqa: S608 - schema names
            "FROM amigo_profile_values v WHERE v.id = golden_customer.id) "
            "WHERE id IN (SELECT id FROM amigo_profile_values)"
        )
    )


def rebuild_store_links(connection: Connection, affected: Table) -> None:
    """Re-derive the store and associate ties of the given profiles from their records and orders.

    Preferred store: the golden profile's. Visited: every store the profile
    bought in, since the first purchase. Associates: those the records name.
    """
    name = affected.name  # a temporary table of ours, not input
    for table in ("customer_store", "customer_associate"):
        connection.execute(
            text(f"DELETE FROM {table} WHERE customer_id IN (SELECT id FROM {name})")  # noqa: S608
        )
    connection.execute(
        text(
            "INSERT INTO customer_store (customer_id, store_id, relation, since) "  # noqa: S608
            "SELECT g.id, g.preferred_store_id, 'preferred', "
            " (SELECT min(coalesce(l.source_created_at, l.observed_at)) FROM identity_link l "
            "  WHERE l.customer_id = g.id AND l.preferred_store_id = g.preferred_store_id) "
            f"FROM golden_customer g WHERE g.id IN (SELECT id FROM {name}) "
            "AND g.preferred_store_id IS NOT NULL AND g.status = 'active'"
        )
    )
    connection.execute(
        text(
            "INSERT INTO customer_store (customer_id, store_id, relation, since) "  # noqa: S608
            "SELECT o.customer_id, o.store_id, 'visited', min(o.ordered_at) "
            f"FROM customer_order o WHERE o.customer_id IN (SELECT id FROM {name}) "
            "AND o.store_id IS NOT NULL GROUP BY o.customer_id, o.store_id"
        )
    )
    connection.execute(
        text(
            "INSERT INTO customer_associate (customer_id, associate_id, assigned_since) "  # noqa: S608
            "SELECT l.customer_id, l.associate_id, min(coalesce(l.source_created_at, l.observed_at)) "
            f"FROM identity_link l WHERE l.customer_id IN (SELECT id FROM {name}) "
            "AND l.associate_id IS NOT NULL GROUP BY l.customer_id, l.associate_id"
        )
    )


def _repoint_by_links(connection: Connection, moved: Table, affected: Table) -> None:
    """Point orders, interactions and consents at the profile their source customer's link is in.

    Only rows of the moved links, which are all in the affected profiles:
    each found through an index, never by scanning the table.
    """
    for table in ("customer_order", "interaction"):
        connection.execute(
            text(
                f"UPDATE {table} SET customer_id = (SELECT l.customer_id FROM identity_link l "  # noqa: S608
                f"WHERE l.id = {table}.customer_link_id) "
                f"WHERE customer_link_id IN (SELECT id FROM {moved.name})"
            )
        )
    connection.execute(
        text(
            "UPDATE raw_consent SET customer_id = (SELECT l.customer_id FROM identity_link l "  # noqa: S608
            "WHERE l.source_system = raw_consent.source_system "
            "AND l.source_id = raw_consent.source_id) "
            f"WHERE customer_id IN (SELECT id FROM {affected.name}) "
            "AND (source_system, source_id) IN (SELECT l.source_system, l.source_id "
            f"FROM identity_link l WHERE l.id IN (SELECT id FROM {moved.name}))"
        )
    )


_AUDIT_CHUNK = 10_000  # plans whose audit rows are built and written at a time (bounded memory)


class MergeProgress(Protocol):
    """Receives the stages of a long write (the CLI draws a progress bar from it)."""

    def stage(self, description: str, total: int | None = None) -> None:
        """Args: description: what starts now; total: units of work it has, if known."""

    def advance(self, count: int) -> None:
        """Args: count: units of the current stage just done."""


class SilentProgress:
    """Progress nobody watches."""

    def stage(self, description: str, total: int | None = None) -> None:
        pass

    def advance(self, count: int) -> None:
        pass


# The moves after the audit entries, one statement (or group) each: a stage of that many steps.
_MOVES = 8


def apply_merges(
    connection: Connection,
    plans: Sequence[MergePlan],
    context: MergeContext,
    progress: MergeProgress | None = None,
) -> list[int]:
    """Merge each plan's profiles into its survivor; return the merge events' ids.

    Every profile must be active and appear in one plan only. The moves are
    one statement per table whatever the number of plans; the audit entries
    are built and written plan by plan, a chunk at a time. ``progress``
    counts the audit entries' plans in the stage the caller started, then
    starts one stage for the moves and one for the survivors' consents: at
    the seed volume those take minutes, which a full bar would not show.
    """
    progress = progress or SilentProgress()
    plans = [plan for plan in plans if plan.steps]
    if not plans:
        return []
    survivor_of = {step.merged_id: plan.survivor_id for plan in plans for step in plan.steps}
    merge_map = _temporary(
        connection,
        "amigo_merge_map",
        Column("merged_id", BigInteger, primary_key=True),
        Column("survivor_id", BigInteger),
    )
    bulk_insert(
        connection,
        merge_map,
        [{"merged_id": m, "survivor_id": s} for m, s in sorted(survivor_of.items())],
    )
    _analyzed(connection, merge_map)

    # 1. The audit's "before", the survivors' new values: chunk by chunk, before any move.
    staged = _staging_table(connection)
    event_ids: list[int] = []
    for start in range(0, len(plans), _AUDIT_CHUNK):
        part = plans[start : start + _AUDIT_CHUNK]
        event_ids += _audit_and_stage(connection, part, context, staged)
        progress.advance(len(part))
    _analyzed(connection, staged)

    # 2. Everything of a merged profile moves to its survivor, one statement per table.
    progress.stage("Moving records, orders, interactions, consents", _MOVES)
    connection.execute(
        text(
            "UPDATE identity_link SET customer_id = (SELECT m.survivor_id FROM amigo_merge_map m "
            "WHERE m.merged_id = identity_link.customer_id) "
            "WHERE customer_id IN (SELECT merged_id FROM amigo_merge_map)"
        )
    )
    progress.advance(1)
    for table in ("customer_order", "interaction", "raw_consent"):
        # A correlated subquery over the indexed customer_id: SQLite would scan
        # the whole table for an UPDATE ... FROM join.
        connection.execute(
            text(
                f"UPDATE {table} SET customer_id = (SELECT m.survivor_id FROM amigo_merge_map m "  # noqa: S608
                f"WHERE m.merged_id = {table}.customer_id) "
                "WHERE customer_id IN (SELECT merged_id FROM amigo_merge_map)"
            )
        )
        progress.advance(1)
    _update_from_staged(connection)
    progress.advance(1)
    connection.execute(
        text(
            "UPDATE golden_customer SET status = 'merged', merged_into_id = (SELECT m.survivor_id "
            "FROM amigo_merge_map m WHERE m.merged_id = golden_customer.id), updated_at = :now "
            "WHERE id IN (SELECT merged_id FROM amigo_merge_map)"
        ).bindparams(bindparam("now", context.now, type_=UTCDateTime())),
    )
    progress.advance(1)
    _move_store_links(connection)
    progress.advance(1)
    # A merged profile holds no state of its own: deleted in one statement,
    # not read back profile by profile. The survivors' consents now count
    # every statement of their records.
    connection.execute(
        text(
            "DELETE FROM consent_state WHERE customer_id IN (SELECT merged_id FROM amigo_merge_map)"
        )
    )
    progress.advance(1)
    if not context.project_consents:
        return event_ids
    survivors = sorted({plan.survivor_id for plan in plans})
    progress.stage(f"Re-deriving the consents of {len(survivors):,} survivors", len(survivors))
    project_consents(
        connection, survivors, now=context.now, cause="merge", on_progress=progress.advance
    )
    return event_ids


def _move_store_links(connection: Connection) -> None:
    """Give survivors the store and associate ties of the profiles merged into them.

    Visited stores and associates move (a tie both had keeps the earlier
    date); the preferred store is the survivor's re-derived one.
    """
    connection.execute(
        text(
            "INSERT INTO customer_store (customer_id, store_id, relation, since) "  # noqa: S608
            "SELECT m.survivor_id, s.store_id, s.relation, min(s.since) FROM amigo_merge_map m "
            # CROSS JOIN: SQLite then loops over the (small) map, not every tie.
            "CROSS JOIN customer_store s WHERE s.customer_id = m.merged_id "
            "AND s.relation = 'visited' "
            "GROUP BY m.survivor_id, s.store_id, s.relation "
            "ON CONFLICT (customer_id, store_id, relation) DO UPDATE SET since = "
            + earliest_on_conflict("customer_store", "since")
        )
    )
    connection.execute(
        text(
            "INSERT INTO customer_associate (customer_id, associate_id, assigned_since) "
            "SELECT m.survivor_id, a.associate_id, min(a.assigned_since) "
            "FROM amigo_merge_map m CROSS JOIN customer_associate a "
            "WHERE a.customer_id = m.merged_id GROUP BY m.survivor_id, a.associate_id "
            "ON CONFLICT (customer_id, associate_id) DO UPDATE SET assigned_since = "
            + earliest_on_conflict("customer_associate", "assigned_since")
        )
    )
    for table in ("customer_store", "customer_associate"):
        connection.execute(
            text(
                f"DELETE FROM {table} WHERE customer_id IN "  # noqa: S608 - fixed names
                "(SELECT merged_id FROM amigo_merge_map)"
            )
        )
    connection.execute(
        text(
            "DELETE FROM customer_store WHERE relation = 'preferred' AND customer_id IN "
            "(SELECT id FROM amigo_profile_values)"
        )
    )
    connection.execute(
        text(
            "INSERT INTO customer_store (customer_id, store_id, relation, since) "
            "SELECT v.id, v.preferred_store_id, 'preferred', "
            " (SELECT min(coalesce(l.source_created_at, l.observed_at)) FROM identity_link l "
            "  WHERE l.customer_id = v.id AND l.preferred_store_id = v.preferred_store_id) "
            "FROM amigo_profile_values v WHERE v.preferred_store_id IS NOT NULL"
        )
    )


def _check_active(found: dict[int, Any], ids: Sequence[int]) -> None:
    """Refuse the merge if a profile is missing or not active (the transaction then rolls back)."""
    for profile_id in ids:
        row = found.get(profile_id)
        if row is None:
            raise NotFoundError(f"no golden customer with id {profile_id}")
        if row.status != CustomerStatus.ACTIVE:
            raise InvalidInputError(
                f"golden customer {row.external_id} is {row.status}, not active: it cannot be merged"
            )


def _staging_table(connection: Connection) -> Table:
    columns = [Column("id", BigInteger, primary_key=True)]
    for name in _VALUE_COLUMNS:
        columns.append(Column(name, JSONType if name == "lineage" else golden.c[name].type))
    return _temporary(connection, "amigo_profile_values", *columns)


def _by_ids(connection: Connection, columns: Any, column: Any, ids: list[int]) -> list[Any]:
    rows: list[Any] = []
    for condition in is_one_of(connection, column, ids):
        rows += connection.execute(select(*columns).where(condition)).all()
    return rows


def _audit_and_stage(
    connection: Connection, plans: Sequence[MergePlan], context: MergeContext, staged: Table
) -> list[int]:
    """Derive the plans' survivors, stage their values, write their audit entries and events."""
    survivors = sorted({p.survivor_id for p in plans})
    merged = sorted({s.merged_id for p in plans for s in p.steps})
    ids = sorted({*survivors, *merged})
    # A survivor's whole state is the audit's "before"; of a merged profile,
    # whose row keeps its values, only what says who it is and that it is active.
    before = {row.id: row for row in _by_ids(connection, _STATE_COLUMNS, golden.c.id, survivors)}
    before.update(
        (row.id, row) for row in _by_ids(connection, _IDENTITY_COLUMNS, golden.c.id, merged)
    )
    _check_active(before, ids)
    linked: dict[int, list[Any]] = {}
    for row in _by_ids(connection, _FACT_COLUMNS, links.c.customer_id, ids):
        linked.setdefault(row.customer_id, []).append(row)

    values: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    afters: dict[int, dict[str, Any]] = {}
    for plan in plans:
        records = list(linked.get(plan.survivor_id, []))
        for step in plan.steps:
            records += linked.get(step.merged_id, [])
        afters[plan.survivor_id] = derive_from_links(
            sorted(records, key=lambda r: r.id), context.now, as_facts=True
        )
    # A correction any of them had made outranks every source (article 16).
    apply_rectifications(
        connection, afters, {p.survivor_id: [s.merged_id for s in p.steps] for p in plans}
    )
    for plan in plans:
        after = afters[plan.survivor_id]
        values.append({"id": plan.survivor_id, **after})
        survivor_state = profile_state(before[plan.survivor_id])
        after_state = {name: _jsonable(after[name]) for name in PROFILE_FIELDS}
        changes = {
            name: [survivor_state[name], after_state[name]]
            for name in PROFILE_FIELDS
            if survivor_state[name] != after_state[name]
        }
        for step in plan.steps:
            event_rows.append(
                {
                    "run_id": context.run_id,
                    "survivor_id": plan.survivor_id,
                    "merged_id": step.merged_id,
                    "actor": context.actor,
                    "rule": step.rule,
                    "model_version": context.model_version,
                    "probability": step.probability,
                    "match_weight": step.match_weight,
                    "evidence": step.evidence,
                    "field_changes": changes,
                    # Its links, read before anything moved: those the move takes.
                    "moved_link_ids": sorted(link.id for link in linked.get(step.merged_id, [])),
                    "reason": context.reason,
                    "merged_at": context.now,
                }
            )
    bulk_insert(connection, staged, values)
    event_ids = _insert_merge_events(connection, event_rows)
    emit_events(
        connection,
        [
            _merged_event(row, event_id, before)
            for row, event_id in zip(event_rows, event_ids, strict=True)
        ],
        now=context.now,
    )
    return event_ids


def _merged_event(row: dict[str, Any], event_id: int, before: dict[int, Any]) -> DomainEvent:
    survivor, merged = before[int(row["survivor_id"])], before[int(row["merged_id"])]
    return DomainEvent(
        type="customer.merged",
        subject=survivor.external_id,
        data={
            "merge_event_id": event_id,
            "survivor": survivor.external_id,
            "merged": merged.external_id,
            "rule": row["rule"],
            "probability": row["probability"],
            "fields_changed": sorted(row["field_changes"]),
        },
    )


def _insert_merge_events(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert merge events and return their ids, in the order of the rows."""
    if connection.dialect.name == "sqlite":
        # The write lock is ours until commit: the new rows take the next rowids.
        bulk_insert(connection, merge_events, rows)
        last = int(connection.execute(text("SELECT max(id) FROM merge_event")).scalar_one())
        return list(range(last - len(rows) + 1, last + 1))
    # A profile is merged once per statement: its id keys the returned rows.
    returned = dict(insert_returning(connection, merge_events, rows, ("merged_id", "id")))
    return [int(returned[row["merged_id"]]) for row in rows]


# ---------------------------------------------------------------- unmerge


def holder_of(connection: Connection, customer_id: int) -> int:
    """Return the active profile a (possibly merged) profile now lives in."""
    seen = set()
    current = customer_id
    while current not in seen:
        seen.add(current)
        row = connection.execute(
            select(golden.c.status, golden.c.merged_into_id).where(golden.c.id == current)
        ).first()
        if row is None:
            raise NotFoundError(f"no golden customer with id {current}")
        if row.status != CustomerStatus.MERGED.value or row.merged_into_id is None:
            return current
        current = int(row.merged_into_id)
    return current


def unmerge(connection: Connection, merge_event_id: int, context: MergeContext) -> tuple[int, int]:
    """Undo a merge: the merged profile gets its records back; return (restored, holder).

    Records a "not the same person" decision between the two sides, which
    every later resolution respects.
    """
    event = connection.execute(
        select(merge_events).where(merge_events.c.id == merge_event_id)
    ).first()
    if event is None:
        raise NotFoundError(f"no merge event {merge_event_id}")
    if event.unmerged_at is not None:
        raise ConflictError(
            f"merge {merge_event_id} was already undone on {event.unmerged_at:%Y-%m-%d %H:%M} "
            f"by {event.unmerged_by}",
            code="already_unmerged",
        )
    holder = holder_of(connection, event.survivor_id)
    erased = connection.scalar(
        select(golden.c.external_id).where(
            golden.c.id.in_([holder, int(event.merged_id)]),
            golden.c.status == CustomerStatus.ERASED.value,
        )
    )
    if erased is not None:
        raise InvalidInputError(
            f"merge {merge_event_id}: profile {erased} was erased, there is nothing to give back"
        )
    restored = int(event.merged_id)
    moved_ids: list[int] = []
    for condition in is_one_of(connection, links.c.id, list(event.moved_link_ids)):
        moved_ids += [
            int(i)
            for i in connection.scalars(
                select(links.c.id).where(condition, links.c.customer_id == holder)
            )
        ]
    if not moved_ids:
        raise InvalidInputError(
            f"merge {merge_event_id}: none of its source records is still in profile {holder}"
        )
    affected = _id_table(connection, "amigo_affected", [holder, restored])
    moved = _id_table(connection, "amigo_returned_links", moved_ids)
    connection.execute(
        update(links).where(links.c.id.in_(select(moved.c.id))).values(customer_id=restored)
    )
    _repoint_by_links(connection, moved, affected)
    linked = _links_of(connection, affected)
    if not linked.get(holder):
        raise InvalidInputError(
            f"merge {merge_event_id}: unmerging would leave profile {holder} empty"
        )
    # Active again before its values are written: its own rectifications come back with it.
    connection.execute(
        update(golden)
        .where(golden.c.id == restored)
        .values(status=CustomerStatus.ACTIVE.value, merged_into_id=None)
    )
    _write_profiles(
        connection,
        {
            holder: derive_from_links(linked[holder], context.now),
            restored: derive_from_links(linked[restored], context.now),
        },
    )
    rebuild_store_links(connection, affected)
    # Each side's consents from its own statements again (invariant 4).
    project_consents(connection, [holder, restored], now=context.now, cause="unmerge")
    connection.execute(
        update(merge_events)
        .where(merge_events.c.id == merge_event_id)
        .values(unmerged_at=context.now, unmerged_by=context.actor, unmerge_reason=context.reason)
    )
    record_distinct(
        connection,
        [link.id for link in linked[holder]],
        moved_ids,
        context,
        origin="unmerge",
        merge_event_id=merge_event_id,
    )
    external: dict[int, str] = {
        int(row.id): str(row.external_id)
        for row in connection.execute(
            select(golden.c.id, golden.c.external_id).where(golden.c.id.in_([holder, restored]))
        )
    }
    emit_events(
        connection,
        [
            DomainEvent(
                type="customer.unmerged",
                subject=external[holder],
                data={
                    "merge_event_id": merge_event_id,
                    "survivor": external[holder],
                    "restored": external[restored],
                    "moved_source_records": len(moved_ids),
                },
            )
        ],
        now=context.now,
    )
    return restored, holder


def record_distinct(
    connection: Connection,
    side_0: Sequence[int],
    side_1: Sequence[int],
    context: MergeContext,
    *,
    origin: str,
    merge_event_id: int | None = None,
    review_id: int | None = None,
) -> int:
    """Record that the records of one side are not the same person as those of the other."""
    decision_id = insert_returning_ids(
        connection,
        table_of(DistinctDecision),
        [
            {
                "actor": context.actor,
                "reason": context.reason,
                "origin": origin,
                "merge_event_id": merge_event_id,
                "review_id": review_id,
                "decided_at": context.now,
            }
        ],
    )[0]
    insert_ignore(
        connection,
        table_of(DistinctDecisionMember),
        [{"decision_id": decision_id, "link_id": i, "side": 0} for i in side_0]
        + [
            {"decision_id": decision_id, "link_id": i, "side": 1}
            for i in side_1
            if i not in set(side_0)
        ],
    )
    return decision_id


def separations(connection: Connection) -> list[tuple[list[int], list[int]]]:
    """Return every "not the same person" decision as its two sets of link ids."""
    sides: dict[int, tuple[list[int], list[int]]] = {}
    members = table_of(DistinctDecisionMember)
    for decision_id, link_id, side in connection.execute(
        select(members.c.decision_id, members.c.link_id, members.c.side).order_by(
            members.c.decision_id, members.c.link_id
        )
    ):
        sides.setdefault(decision_id, ([], []))[int(side)].append(int(link_id))
    return list(sides.values())


__all__ = [
    "MergeContext",
    "MergePlan",
    "MergeStep",
    "apply_merges",
    "derive_from_links",
    "holder_of",
    "profile_state",
    "rebuild_store_links",
    "record_distinct",
    "separations",
    "unmerge",
]
