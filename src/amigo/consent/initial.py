"""The first projection of a repository, at the end of an initial load: set-based where it can.

A state depends only on its own purpose's statements, and most purposes of
most profiles have one statement, whose state is that statement's (what
``rules.decide`` returns for one). Those are written by one ``INSERT ...
SELECT``; only the purposes with several statements (several versions of a
record in the export, or several records of a profile resolved during the
load) go through the rule in Python. With statements made on a profile
itself (not on a source record), everything goes through the rule.
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

# A purpose stated once for its profile: that statement decides, held at its
# exact time, its "as of" time, or (no time) when it was received.
_SINGLE_STATEMENT_STATES = """
INSERT INTO consent_state (customer_id, purpose, status, since, decided_by, updated_at)
SELECT l.customer_id, e.purpose, e.status,
       CASE WHEN e.time_basis = 'unknown' OR e.occurred_at IS NULL
            THEN e.recorded_at ELSE e.occurred_at END,
       {array}, :now
FROM consent_event e
JOIN identity_link l ON l.source_system = e.source_system AND l.source_id = e.source_id
WHERE e.source_id IS NOT NULL AND NOT EXISTS ({others})
ON CONFLICT (customer_id, purpose) DO NOTHING
"""
# The other statements of that purpose: of the same record, when each profile
# holds one record (cheaper); else of every record of the profile (resolved
# during the load).
_OTHERS_OF_RECORD = """
    SELECT 1 FROM consent_event o
    WHERE o.source_system = e.source_system AND o.source_id = e.source_id
      AND o.purpose = e.purpose AND o.id <> e.id"""
_OTHERS_OF_PROFILE = """
    SELECT 1 FROM identity_link ol
    JOIN consent_event o ON o.source_system = ol.source_system AND o.source_id = ol.source_id
    WHERE ol.customer_id = l.customer_id AND o.purpose = e.purpose AND o.id <> e.id"""
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


def _other_statements(connection: Connection) -> str | None:
    """Return how to find a statement's rivals for its state, or None if the rule must decide all.

    None with statements made on a profile itself: they count beside its
    records' without a record to join through.
    """
    if connection.scalar(select(ledger.c.id).where(ledger.c.source_id.is_(None)).limit(1)):
        return None
    active = connection.scalar(
        select(func.count())
        .select_from(golden)
        .where(golden.c.status != CustomerStatus.MERGED.value)
    )
    linked = connection.scalar(select(func.count()).select_from(links))
    # One record each: alone among its record's statements is enough, and cheaper.
    return _OTHERS_OF_RECORD if active == linked else _OTHERS_OF_PROFILE


def project_initial_load(*, session: Session, now: datetime) -> RebuildSummary:
    """Project every profile once after an initial load, announced by one ``consent.initialized``.

    The first states of a repository are not changes for connectors to act
    on (the sources they came from already hold them): one event with the
    counts, not one per profile and purpose. Later changes emit their own.
    """
    connection = session.connection()
    others = _other_statements(connection)
    if others is not None:
        array = (
            "jsonb_build_array(e.id)"
            if connection.dialect.name == "postgresql"
            else "json_array(e.id)"
        )
        # SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT: it has one.
        connection.execute(
            text(_SINGLE_STATEMENT_STATES.format(array=array, others=others)).bindparams(
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
