"""Record consent statements, project them into the current state, and read both.

``record_consent`` is the one action for a statement made to AMIgo itself;
``record_source_statements`` appends what the sources said as they load;
``project_consents`` re-derives the state of profiles whose statements or
identity changed (identity calls it after merges and unmerges). Each change
of an effective state emits ``consent.changed`` in the same transaction.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, String, and_, delete, func, select, type_coerce
from sqlalchemy.orm import Session

from amigo.consent.models import (
    ConsentEvent,
    ConsentPurpose,
    ConsentState,
    ConsentStatus,
    TimeBasis,
)
from amigo.consent.rules import (
    NEVER_ASKED,
    SOURCE_CHANNELS,
    Decision,
    Statement,
    decide,
    source_status,
    time_basis,
)
from amigo.consent.schemas import CurrentConsent, LedgerEntry
from amigo.core.db import table_of
from amigo.core.errors import InvalidInputError, NotFoundError
from amigo.core.sql import in_chunks, insert_ignore, insert_returning_ids, is_one_of, upsert
from amigo.events.service import DomainEvent, emit_events
from amigo.identity.models import IdentityLink
from amigo.ingest.facts import ConsentFacts
from amigo.privacy.models import ProcessingRestriction
from amigo.profiles.models import CustomerStatus, GoldenCustomer

ledger = table_of(ConsentEvent)
states = table_of(ConsentState)
links = table_of(IdentityLink)
golden = table_of(GoldenCustomer)

PURPOSES = tuple(p.value for p in ConsentPurpose)
AMIGO_SOURCE = "amigo"
# Profiles projected per round trip: bounded memory on a full rebuild.
_PROJECTION_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class SourceStatement:
    """A consent statement of one stored source record version."""

    source_record_id: int
    source_system: str
    source_id: str
    consent: ConsentFacts


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """An effective state that a projection changed."""

    customer_id: int
    external_id: str
    purpose: str
    previous: ConsentStatus
    current: Decision


def _purpose(value: str) -> ConsentPurpose:
    try:
        return ConsentPurpose(value)
    except ValueError:
        raise InvalidInputError(
            f"{value!r} is not a consent purpose: use one of {', '.join(PURPOSES)}",
            code="unknown_purpose",
        ) from None


def _status(value: str) -> ConsentStatus:
    try:
        status = ConsentStatus(value)
    except ValueError:
        status = None
    if status is None or status is ConsentStatus.NEVER_ASKED:
        allowed = ", ".join(s.value for s in ConsentStatus if s is not ConsentStatus.NEVER_ASKED)
        raise InvalidInputError(
            f"{value!r} is not a consent state a person can give: use one of {allowed}",
            code="unknown_consent_state",
        )
    return status


# ---------------------------------------------------------------- appending


def record_source_statements(
    connection: Connection,
    statements: Sequence[SourceStatement],
    *,
    customer_ids: Iterable[int],
    now: datetime,
    project: bool = True,
    actor: str = "process:load",
) -> list[ConsentChange]:
    """Append the sources' statements to the ledger and re-project the given profiles.

    A value that states nothing known (kept raw, with its validation issue)
    adds no ledger row; a record version already in the ledger adds nothing.
    """
    rows = []
    for statement in statements:
        facts = statement.consent
        status = source_status(statement.source_system, facts.raw_value, facts.opt_in_level)
        if status is None or facts.purpose not in PURPOSES:
            continue
        rows.append(
            {
                "customer_id": None,
                "source_system": statement.source_system,
                "source_id": statement.source_id,
                "source_record_id": statement.source_record_id,
                "purpose": facts.purpose,
                "status": status.value,
                "occurred_at": facts.stated_at,
                "time_basis": time_basis(statement.source_system, facts.stated_at).value,
                "recorded_at": now,
                "channel": SOURCE_CHANNELS.get(statement.source_system, statement.source_system),
                "actor": actor,
                "raw_value": facts.raw_value,
                "proof": {
                    k: v
                    for k, v in {**facts.proof, "opt_in_level": facts.opt_in_level}.items()
                    if v is not None
                },
            }
        )
    if not rows:
        return []
    insert_ignore(connection, ledger, rows, conflict_columns=["source_record_id", "purpose"])
    if not project:
        return []
    return project_consents(connection, customer_ids, now=now, cause="source_statement")


def record_consent(
    *,
    session: Session,
    customer_id: int,
    purpose: str,
    status: str,
    channel: str,
    actor: str,
    now: datetime,
    occurred_at: datetime | None = None,
    proof: dict[str, Any] | None = None,
) -> CurrentConsent:
    """Append a statement the person made to AMIgo, project it, and return the new state."""
    return record_statement(
        session=session,
        customer_id=customer_id,
        purpose=purpose,
        status=status,
        channel=channel,
        actor=actor,
        now=now,
        occurred_at=occurred_at,
        proof=proof,
    )[1]


def record_statement(
    *,
    session: Session,
    customer_id: int,
    purpose: str,
    status: str,
    channel: str,
    actor: str,
    now: datetime,
    occurred_at: datetime | None = None,
    proof: dict[str, Any] | None = None,
) -> tuple[int, CurrentConsent]:
    """Do what ``record_consent`` does; return the new ledger row's id with the state."""
    chosen_purpose = _purpose(purpose)
    chosen_status = _status(status)
    if occurred_at is not None and occurred_at > now:
        raise InvalidInputError(
            f"a consent cannot be given in the future ({occurred_at.isoformat()})",
            code="future_consent",
        )
    if not channel.strip() or not actor.strip():
        raise InvalidInputError("a consent statement needs a channel and an actor")
    connection = session.connection()
    holder = _holder_of(connection, customer_id)
    [ledger_id] = insert_returning_ids(
        connection,
        ledger,
        [
            {
                "customer_id": customer_id,
                "source_system": AMIGO_SOURCE,
                "source_id": None,
                "source_record_id": None,
                "purpose": chosen_purpose.value,
                "status": chosen_status.value,
                "occurred_at": occurred_at or now,
                "time_basis": TimeBasis.EXACT.value,
                "recorded_at": now,
                "channel": channel.strip()[:30],
                "actor": actor.strip()[:100],
                "raw_value": None,
                "proof": {k: v for k, v in (proof or {}).items() if v is not None},
            }
        ],
    )
    project_consents(connection, [holder], now=now, cause="recorded")
    return ledger_id, contact_states(session=session, customer_id=holder)[chosen_purpose.value]


def holder_of(*, session: Session, customer_id: int) -> int:
    """Return the active profile a (possibly merged) profile now lives in."""
    return _holder_of(session.connection(), customer_id)


def _holder_of(connection: Connection, customer_id: int) -> int:
    """Return the active profile a (possibly merged) profile now lives in."""
    seen: set[int] = set()
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


# ---------------------------------------------------------------- projecting


def _held_by(connection: Connection, active_ids: Sequence[int]) -> dict[int, int]:
    """Map each profile merged (directly or through others) into one of the ids to it."""
    holder = {i: i for i in active_ids}
    frontier = list(active_ids)
    while frontier:
        found: list[int] = []
        for condition in is_one_of(connection, golden.c.merged_into_id, frontier):
            for row in connection.execute(
                select(golden.c.id, golden.c.merged_into_id).where(
                    condition, golden.c.status == CustomerStatus.MERGED.value
                )
            ):
                if int(row.id) not in holder:
                    holder[int(row.id)] = holder[int(row.merged_into_id)]
                    found.append(int(row.id))
        frontier = found
    return holder


def _raw(column: Any) -> Any:
    """Select a column as the driver returns it: no per-value conversion on the hot path."""
    return type_coerce(column, String()).label(column.name)


# Statements are read by the hundred thousand on a rebuild: as driver values
# (SQLite gives its fixed-width UTC text, which orders chronologically, and
# PostgreSQL aware datetimes), converted only where a decision needs them.
_STATEMENT_COLUMNS = (
    ledger.c.id,
    _raw(ledger.c.purpose),
    _raw(ledger.c.status),
    _raw(ledger.c.occurred_at),
    _raw(ledger.c.time_basis),
    _raw(ledger.c.recorded_at),
    ledger.c.source_system,
    ledger.c.source_id,
)


@lru_cache(maxsize=65_536)  # a load stamps thousands of statements with one instant
def _instant(value: Any) -> datetime:
    """Return a driver timestamp (SQLite text or PostgreSQL datetime) as an aware UTC datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)  # type: ignore[no-any-return]


_STATUSES = {status.value: status for status in ConsentStatus}
_UNKNOWN = TimeBasis.UNKNOWN.value


_BASES = {basis.value: basis for basis in TimeBasis}


def _statement(row: Any) -> Statement:
    _owner, ledger_id, _purpose, status, occurred_at, basis, recorded_at, system, source_id = row
    return Statement(
        ledger_id=ledger_id,
        status=_STATUSES[status],
        occurred_at=None if occurred_at is None else _instant(occurred_at),
        basis=_BASES[basis],
        recorded_at=_instant(recorded_at),
        subject=None if source_id is None else (system, source_id),
    )


def _single(row: Any) -> Decision:
    """Decide a purpose that has one statement: what ``decide`` returns for it, cheaply."""
    # Columns: the owner (or the profile acted on), then _STATEMENT_COLUMNS.
    _owner, ledger_id, _purpose, status, occurred_at, basis, recorded_at = row[:7]
    held = recorded_at if basis == _UNKNOWN or occurred_at is None else occurred_at
    return Decision(_STATUSES[status], (ledger_id,), _instant(held))


def _owned_rows(connection: Connection, active_ids: Sequence[int]) -> Iterable[tuple[int, Any]]:
    """Yield (owner, ledger row) for every statement belonging to the active profiles."""
    by_source = ledger.join(
        links,
        and_(
            links.c.source_system == ledger.c.source_system, links.c.source_id == ledger.c.source_id
        ),
    )
    for condition in is_one_of(connection, links.c.customer_id, active_ids):
        for row in connection.execute(
            select(links.c.customer_id.label("owner"), *_STATEMENT_COLUMNS)
            .select_from(by_source)
            .where(condition)
        ).fetchall():
            yield row[0], row
    direct = connection.scalar(
        select(ledger.c.id).where(ledger.c.customer_id.is_not(None)).limit(1)
    )
    if direct is None:
        return  # no statement was ever made to AMIgo itself: none to look for up the merges
    holder = _held_by(connection, active_ids)
    for condition in is_one_of(connection, ledger.c.customer_id, list(holder)):
        for row in connection.execute(
            select(ledger.c.customer_id, *_STATEMENT_COLUMNS).where(
                condition, ledger.c.source_id.is_(None)
            )
        ).fetchall():
            yield holder[row[0]], row


def _decisions(
    connection: Connection, active_ids: Sequence[int]
) -> dict[tuple[int, str], Decision]:
    grouped: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for owner, row in _owned_rows(connection, active_ids):
        grouped[(owner, row[2])].append(row)  # the purpose
    return {
        key: _single(rows[0]) if len(rows) == 1 else decide([_statement(r) for r in rows])
        for key, rows in grouped.items()
    }


def project_consents(
    connection: Connection,
    customer_ids: Iterable[int],
    *,
    now: datetime,
    cause: str,
    emit: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> list[ConsentChange]:
    """Re-derive the effective states of the profiles from the ledger; return what changed.

    A merged profile's states are dropped (its statements now count for its
    survivor); each changed state of an active profile emits ``consent.changed``.
    ``on_progress`` hears how many profiles each chunk projected.
    """
    changes: list[ConsentChange] = []
    ids = sorted(set(customer_ids))
    for chunk in in_chunks(ids, _PROJECTION_CHUNK):
        found = _project_chunk(connection, chunk, now=now)
        # Announced chunk by chunk: a batch merge re-projects hundreds of
        # thousands of survivors, whose events need not all be held at once.
        if emit and found:
            emit_events(connection, [_changed_event(change, cause) for change in found], now=now)
        changes += found
        if on_progress is not None:
            on_progress(len(chunk))
    return changes


def _stored_states(connection: Connection, ids: Sequence[int]) -> dict[tuple[int, str], Any]:
    """Return the stored states of the profiles by (profile, purpose), as driver values."""
    columns = (
        states.c.customer_id,
        _raw(states.c.purpose),
        _raw(states.c.status),
        _raw(states.c.since),
        states.c.decided_by,
    )
    return {
        (int(row.customer_id), str(row.purpose)): row
        for condition in is_one_of(connection, states.c.customer_id, ids)
        for row in connection.execute(select(*columns).where(condition))
    }


def _project_chunk(
    connection: Connection, ids: Sequence[int], *, now: datetime
) -> list[ConsentChange]:
    profiles: dict[int, Any] = {}
    for condition in is_one_of(connection, golden.c.id, ids):
        for row in connection.execute(
            select(golden.c.id, _raw(golden.c.status), golden.c.external_id).where(condition)
        ).fetchall():
            profiles[int(row.id)] = row
    active = [i for i, row in profiles.items() if row.status != CustomerStatus.MERGED.value]
    existing = _stored_states(connection, ids)
    decisions = _decisions(connection, active)

    changes: list[ConsentChange] = []
    writes: list[dict[str, Any]] = []
    for key, decision in decisions.items():
        before = existing.get(key)
        if (
            before is not None
            and before.status == decision.status.value
            and list(before.decided_by) == list(decision.decided_by)
            and (_instant(before.since) if before.since is not None else None) == decision.since
        ):
            continue
        customer_id, purpose = key
        writes.append(
            {
                "customer_id": customer_id,
                "purpose": purpose,
                "status": decision.status.value,
                "since": decision.since,
                "decided_by": list(decision.decided_by),
                "updated_at": now,
            }
        )
        previous = ConsentStatus(before.status) if before else ConsentStatus.NEVER_ASKED
        if previous is not decision.status:
            changes.append(
                ConsentChange(
                    customer_id, str(profiles[customer_id].external_id), purpose, previous, decision
                )
            )
    stale = defaultdict(list)
    for key, before in existing.items():
        if key not in decisions:
            stale[key[1]].append(key[0])
            customer_id = key[0]
            if customer_id in active and before.status != ConsentStatus.NEVER_ASKED.value:
                changes.append(
                    ConsentChange(
                        customer_id,
                        str(profiles[customer_id].external_id),
                        key[1],
                        ConsentStatus(before.status),
                        NEVER_ASKED,
                    )
                )
    for purpose, customer_ids in stale.items():
        for condition in is_one_of(connection, states.c.customer_id, customer_ids):
            connection.execute(delete(states).where(condition, states.c.purpose == purpose))
    upsert(connection, states, writes, conflict_columns=["customer_id", "purpose"])
    return changes


def _changed_event(change: ConsentChange, cause: str) -> DomainEvent:
    return DomainEvent(
        type="consent.changed",
        subject=change.external_id,
        data={
            "customer": change.external_id,
            "customer_id": change.customer_id,
            "purpose": change.purpose,
            "status": change.current.status.value,
            "previous_status": change.previous.value,
            "allows_contact": change.current.allows_contact,
            "since": change.current.since.isoformat() if change.current.since else None,
            "decided_by": list(change.current.decided_by),
            "cause": cause,
        },
    )


@dataclass(frozen=True)
class RebuildSummary:
    """What a rebuild of the projection found."""

    profiles: int
    states: int
    differences: int


def rebuild_projection(
    *,
    session: Session,
    now: datetime,
    check_only: bool = False,
    cause: str = "rebuild",
    emit: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> RebuildSummary:
    """Re-derive every active profile's states from the ledger; count what differed.

    With ``check_only`` nothing is written: the differences are the proof that
    the stored projection still matches the ledger (zero, unless something
    bypassed the service).
    """
    connection = session.connection()
    ids = [
        int(i)
        for i in connection.scalars(
            select(golden.c.id)
            .where(golden.c.status != CustomerStatus.MERGED.value)
            .order_by(golden.c.id)
        )
    ]
    differences = 0
    for chunk in in_chunks(ids, _PROJECTION_CHUNK):
        if check_only:
            differences += _differences(connection, chunk)
        else:
            differences += len(project_consents(connection, chunk, now=now, cause=cause, emit=emit))
        if on_progress is not None:
            on_progress(len(chunk))
    count = session.execute(select(func.count()).select_from(states)).scalar_one()
    return RebuildSummary(profiles=len(ids), states=int(count), differences=differences)


def _differences(connection: Connection, ids: Sequence[int]) -> int:
    stored = {
        key: (str(row.status), list(row.decided_by))
        for key, row in _stored_states(connection, ids).items()
    }
    derived = {
        key: (d.status.value, list(d.decided_by)) for key, d in _decisions(connection, ids).items()
    }
    return sum(1 for key in stored.keys() | derived.keys() if stored.get(key) != derived.get(key))


# ---------------------------------------------------------------- reading


def consent_history(*, session: Session, customer_id: int) -> list[LedgerEntry]:
    """Return every statement counting for the profile, oldest first, with its proof."""
    connection = session.connection()
    holder = _holder_of(connection, customer_id)
    ids = {int(row.id) for _owner, row in _owned_rows(connection, [holder])}
    entries = [
        LedgerEntry.model_validate(row, from_attributes=True)
        for condition in is_one_of(connection, ledger.c.id, sorted(ids))
        for row in connection.execute(select(ledger).where(condition))
    ]
    return sorted(entries, key=lambda e: (e.occurred_at or e.recorded_at, e.id))


def current_consents(*, session: Session, customer_id: int) -> dict[str, CurrentConsent]:
    """Return the effective state of every purpose (never asked where nothing was said)."""
    connection = session.connection()
    holder = _holder_of(connection, customer_id)
    found = {
        str(row.purpose): row
        for row in connection.execute(select(states).where(states.c.customer_id == holder))
    }
    result = {}
    for purpose in PURPOSES:
        row = found.get(purpose)
        status = ConsentStatus(row.status) if row else ConsentStatus.NEVER_ASKED
        result[purpose] = CurrentConsent(
            purpose=purpose,
            status=status.value,
            allows_contact=Decision(status, (), None).allows_contact,
            since=row.since if row else None,
            decided_by=list(row.decided_by) if row else [],
        )
    return result


def held_profiles(*, session: Session, customer_id: int) -> list[int]:
    """Return the active profile a profile lives in and every profile merged into it."""
    holder = _holder_of(session.connection(), customer_id)
    return sorted(_held_by(session.connection(), [holder]))


def _restricted(session: Session, customer_id: int) -> bool:
    """Return whether a restriction of processing (GDPR article 18) holds on the person."""
    restricted = session.scalar(
        select(func.count())
        .select_from(ProcessingRestriction)
        .where(
            ProcessingRestriction.customer_id.in_(
                held_profiles(session=session, customer_id=customer_id)
            )
        )
    )
    return bool(restricted)


def contact_states(*, session: Session, customer_id: int) -> dict[str, CurrentConsent]:
    """Return each purpose's state as it decides contact now: consent, and no restriction.

    What the API and the Client 360 show. ``current_consents`` stays the
    ledger's own answer (the preference center works on it): under a
    restriction the person still consents, but may not be contacted.
    """
    states = current_consents(session=session, customer_id=customer_id)
    if not _restricted(session, customer_id):
        return states
    return {
        purpose: state.model_copy(update={"allows_contact": False, "restricted": True})
        for purpose, state in states.items()
    }


def may_contact(*, session: Session, customer_id: int, purpose: str) -> bool:
    """Return whether the person may be contacted for the purpose now (checked at send time).

    Consent is needed, and no restriction of processing (GDPR article 18) on the profile.
    """
    chosen = _purpose(purpose)
    if not current_consents(session=session, customer_id=customer_id)[chosen.value].allows_contact:
        return False
    return not _restricted(session, customer_id)


__all__ = [
    "ConsentChange",
    "RebuildSummary",
    "SourceStatement",
    "consent_history",
    "contact_states",
    "current_consents",
    "held_profiles",
    "holder_of",
    "may_contact",
    "project_consents",
    "rebuild_projection",
    "record_consent",
    "record_source_statements",
    "record_statement",
]
