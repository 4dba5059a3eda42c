"""The first projection of a repository, at the end of an initial load: set-based where it can.

Right after an initial load every profile holds exactly one source record,
and most purposes of most profiles have one statement, whose state is that
statement's (what ``rules.decide`` returns for one). Those are written by one
``INSERT ... SELECT``; only the purposes with several statements (several
versions of a record in the export) go through the rule in Python. Anywhere
else (profiles already merged), everything goes through the rule.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select, text
from sqlalchemy.orm import Session

from amigo.consent.service import (
    RebuildSummary,
    golden,
    ledger,
    links,
    project_consents,
    rebuild_projection,
    states,
)
from amigo.core.db import UTCDateTime
from amigo.core.sql import in_chunks
from amigo.events.service import DomainEvent, emit_events
from amigo.profiles.models import CustomerStatus

# A purpose stated once for its source record: that statement decides, held
# at its exact time, its "as of" time, or (no time) when it was received.
_SINGLE_STATEMENT_STATES = """
INSERT INTO consent_state (customer_id, purpose, status, since, decided_by, updated_at)
SELECT l.customer_id, e.purpose, e.status,
       CASE WHEN e.time_basis = 'unknown' OR e.occurred_at IS NULL
            THEN e.recorded_at ELSE e.occurred_at END,
       {array}, :now
FROM consent_event e
JOIN identity_link l ON l.source_system = e.source_system AND l.source_id = e.source_id
WHERE e.source_id IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM consent_event o
      WHERE o.source_system = e.source_system AND o.source_id = e.source_id
        AND o.purpose = e.purpose AND o.id <> e.id)
ON CONFLICT (customer_id, purpose) DO NOTHING
"""
_MANY_STATEMENTS = """
SELECT DISTINCT l.customer_id
FROM consent_event e
JOIN identity_link l ON l.source_system = e.source_system AND l.source_id = e.source_id
WHERE e.source_id IS NOT NULL
GROUP BY l.customer_id, e.purpose
HAVING count(*) > 1
"""
_CHUNK = 5_000


def needs_initial_projection(connection: Connection) -> bool:
    """Return whether the ledger has statements but no state was ever projected."""
    has_statements = connection.scalar(select(ledger.c.id).limit(1)) is not None
    return has_statements and connection.scalar(select(states.c.customer_id).limit(1)) is None


def _one_record_each(connection: Connection) -> bool:
    active = connection.scalar(
        select(func.count())
        .select_from(golden)
        .where(golden.c.status != CustomerStatus.MERGED.value)
    )
    linked = connection.scalar(select(func.count()).select_from(links))
    direct = connection.scalar(select(ledger.c.id).where(ledger.c.source_id.is_(None)).limit(1))
    return active == linked and direct is None


def project_initial_load(*, session: Session, now: datetime) -> RebuildSummary:
    """Project every profile once after an initial load, announced by one ``consent.initialized``.

    The first states of a repository are not changes for connectors to act
    on (the sources they came from already hold them): one event with the
    counts, not one per profile and purpose. Later changes emit their own.
    """
    connection = session.connection()
    if _one_record_each(connection):
        array = (
            "jsonb_build_array(e.id)"
            if connection.dialect.name == "postgresql"
            else "json_array(e.id)"
        )
        # SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT: it has one.
        connection.execute(
            text(_SINGLE_STATEMENT_STATES.format(array=array)).bindparams(
                bindparam("now", now, type_=UTCDateTime())
            )
        )
        several = [int(i) for i in connection.scalars(text(_MANY_STATEMENTS))]
        for chunk in in_chunks(sorted(several), _CHUNK):
            project_consents(connection, chunk, now=now, cause="initial_load", emit=False)
        profiles = int(
            connection.scalar(
                select(func.count())
                .select_from(golden)
                .where(golden.c.status != CustomerStatus.MERGED.value)
            )
            or 0
        )
        summary = RebuildSummary(
            profiles=profiles,
            states=int(connection.scalar(select(func.count()).select_from(states)) or 0),
            differences=0,
        )
    else:
        summary = rebuild_projection(session=session, now=now, cause="initial_load", emit=False)
    by_status = {
        str(status): int(count)
        for status, count in connection.execute(
            text("SELECT status, count(*) FROM consent_state GROUP BY status")
        )
    }
    summary = RebuildSummary(
        profiles=summary.profiles,
        states=summary.states,
        differences=sum(n for status, n in by_status.items() if status != "never_asked"),
    )
    emit_events(
        connection,
        [
            DomainEvent(
                type="consent.initialized",
                subject=None,
                data={
                    "profiles": summary.profiles,
                    "states": summary.states,
                    "by_status": by_status,
                },
            )
        ],
        now=now,
    )
    return summary
