"""Retention: who has been silent too long to be kept, and anonymizing them.

The CNIL's guidance for customer data: a prospect (no purchase) is kept
three years from collection or from their last contact; a customer three
years from the end of the relationship, their last purchase or last contact.
"Contact" here is what comes from the person: an interaction (a visit, a
click, a call), a consent they stated to AMIgo, or their record updated in
a source system. A profile under a restriction of processing (article 18:
kept for the person's legal claims) is never anonymized.

Anonymizing is an erasure (privacy.erasure) without the suppression list:
a customer who comes back later is welcome, and the sources, which hold
their own copy, must apply their own retention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amigo.consent.models import ConsentEvent
from amigo.core.db import table_of
from amigo.identity.models import IdentityLink
from amigo.privacy.erasure import erase_people
from amigo.privacy.models import OPEN_STATUSES, ProcessingRestriction, SubjectRequest
from amigo.profiles.models import CustomerStatus, GoldenCustomer, Interaction, Order

golden = table_of(GoldenCustomer)
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True, slots=True)
class Expired:
    """A profile past its retention period, and the last thing that kept it."""

    customer_id: int
    external_id: str
    kind: str  # "prospect" or "customer"
    last_activity: datetime | None
    because: str  # collected, purchase, interaction, consent, record update


def cutoff(now: datetime, years: float) -> datetime:
    """Return the instant before which a last activity is too old."""
    return now - timedelta(days=round(years * DAYS_PER_YEAR))


def _latest(column: Any, key: Any, *where: Any) -> Any:
    """Return the latest value of a column among a profile's rows (a correlated subquery)."""
    return (
        select(func.max(column))
        .where(key == golden.c.id, *where)
        .correlate(golden)
        .scalar_subquery()
    )


def find_expired(*, session: Session, now: datetime, years: float = 3) -> Iterator[Expired]:
    """Yield the active profiles whose last purchase or contact is older than ``years``."""
    connection = session.connection()
    links, orders = table_of(IdentityLink), table_of(Order)
    interactions, ledger = table_of(Interaction), table_of(ConsentEvent)
    restricted, requests = table_of(ProcessingRestriction), table_of(SubjectRequest)
    query = select(
        golden.c.id,
        golden.c.external_id,
        _latest(orders.c.ordered_at, orders.c.customer_id).label("purchase"),
        _latest(interactions.c.occurred_at, interactions.c.customer_id).label("interaction"),
        _latest(ledger.c.occurred_at, ledger.c.customer_id, ledger.c.actor == "person").label(
            "consent"
        ),
        _latest(links.c.observed_at, links.c.customer_id).label("record_update"),
        _latest(
            func.coalesce(links.c.source_created_at, links.c.observed_at),
            links.c.customer_id,
        ).label("collected"),
    ).where(
        golden.c.status == CustomerStatus.ACTIVE.value,
        ~golden.c.id.in_(select(restricted.c.customer_id)),
        # A person with an open request is being answered: not now.
        ~golden.c.id.in_(
            select(requests.c.customer_id).where(requests.c.status.in_(list(OPEN_STATUSES)))
        ),
    )
    limit = cutoff(now, years)
    for row in connection.execute(query):
        expired = _expired(row, limit)
        if expired is not None:
            yield expired


def _expired(row: Any, limit: datetime) -> Expired | None:
    kind = "customer" if row.purchase is not None else "prospect"
    # A customer's clock starts at the last purchase; a prospect's at collection.
    start = "purchase" if kind == "customer" else "collected"
    dated = {
        name: row._mapping[name]
        for name in (start, "interaction", "consent", "record_update")
        if row._mapping[name] is not None
    }
    if not dated:
        return Expired(int(row.id), str(row.external_id), kind, None, "no date known")
    because, last = max(dated.items(), key=lambda item: item[1])
    if last >= limit:
        return None
    return Expired(int(row.id), str(row.external_id), kind, last, because.replace("_", " "))


def anonymize_expired(
    *,
    session_factory: Callable[[], Any],
    expired: list[Expired],
    actor: str,
    now: datetime,
    secret: str,
    on_progress: Callable[[int], None] | None = None,
    per_transaction: int = 200,
) -> int:
    """Anonymize the given profiles, ``per_transaction`` to a commit; return how many."""
    reference = f"retention-{now:%Y-%m-%d}"
    done = 0
    for start in range(0, len(expired), per_transaction):
        part = expired[start : start + per_transaction]
        with session_factory() as session:
            erase_people(
                session,
                customer_ids=[profile.customer_id for profile in part],
                reference=reference,
                actor=actor,
                now=now,
                secret=secret,
            )
        done += len(part)
        if on_progress is not None:
            on_progress(len(part))
    return done


__all__ = ["Expired", "anonymize_expired", "cutoff", "find_expired"]
