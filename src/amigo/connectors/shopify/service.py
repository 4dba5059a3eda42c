"""The Shopify webhook inbox as operators see it: list deliveries, replay the failed ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from amigo.connectors.shopify.models import DeliveryStatus, ShopifyWebhook
from amigo.core.db import table_of
from amigo.core.errors import ConflictError, InvalidInputError, NotFoundError

inbox = table_of(ShopifyWebhook)
_FAILED = (DeliveryStatus.FAILED.value, DeliveryStatus.DEAD.value)


@dataclass(frozen=True)
class DeliverySummary:
    """A delivery without its body (which stays sealed in the inbox)."""

    id: int
    webhook_id: str
    topic: str
    shop_domain: str
    resource: str | None
    status: DeliveryStatus
    attempts: int
    received_at: datetime
    triggered_at: datetime | None
    next_attempt_at: datetime
    processed_at: datetime | None
    outcome: str | None
    last_error: str | None
    has_body: bool


def list_deliveries(
    *, session: Session, failed_only: bool = False, topic: str | None = None, limit: int = 50
) -> list[DeliverySummary]:
    """Return the latest deliveries, newest first; ``failed_only``: the failed and the dead."""
    query = select(
        inbox.c.id,
        inbox.c.webhook_id,
        inbox.c.topic,
        inbox.c.shop_domain,
        inbox.c.resource,
        inbox.c.status,
        inbox.c.attempts,
        inbox.c.received_at,
        inbox.c.triggered_at,
        inbox.c.next_attempt_at,
        inbox.c.processed_at,
        inbox.c.outcome,
        inbox.c.last_error,
        inbox.c.body.is_not(None).label("has_body"),
    )
    if failed_only:
        query = query.where(inbox.c.status.in_(_FAILED))
    if topic:
        query = query.where(inbox.c.topic == topic.strip().lower())
    rows = session.execute(query.order_by(inbox.c.id.desc()).limit(limit)).mappings()
    return [DeliverySummary(**{**row, "status": DeliveryStatus(row["status"])}) for row in rows]


def inbox_counts(*, session: Session) -> dict[DeliveryStatus, int]:
    """Return how many deliveries the inbox holds in each status."""
    counts = dict.fromkeys(DeliveryStatus, 0)
    for status, count in session.execute(
        select(inbox.c.status, func.count()).group_by(inbox.c.status)
    ):
        counts[DeliveryStatus(status)] = int(count)
    return counts


def replay_deliveries(*, session: Session, ids: Sequence[int] | None, now: datetime) -> list[int]:
    """Make failed or dead deliveries due now with fresh attempts; ``None``: every dead one."""
    if ids is None:
        chosen = list(
            session.scalars(select(inbox.c.id).where(inbox.c.status == DeliveryStatus.DEAD.value))
        )
    else:
        if not ids:
            raise InvalidInputError("give delivery ids (see amigo connectors shopify webhooks)")
        found = {
            int(row.id): row
            for row in session.execute(
                select(
                    inbox.c.id, inbox.c.status, inbox.c.body.is_not(None).label("has_body")
                ).where(inbox.c.id.in_(list(ids)))
            )
        }
        for delivery_id in ids:
            row = found.get(delivery_id)
            if row is None:
                raise NotFoundError(f"no Shopify webhook delivery {delivery_id}")
            if row.status == DeliveryStatus.PROCESSED.value:
                raise ConflictError(
                    f"delivery {delivery_id} was processed: only failed or dead ones are replayed",
                    code="already_processed",
                )
            if not row.has_body:
                raise ConflictError(
                    f"delivery {delivery_id} has no body any more (erased): nothing to replay",
                    code="no_body",
                )
        chosen = list(ids)
    if chosen:
        session.execute(
            update(inbox)
            .where(inbox.c.id.in_(chosen))
            .values(
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                last_error=None,
            )
        )
    return chosen


__all__ = [
    "DeliverySummary",
    "inbox_counts",
    "list_deliveries",
    "replay_deliveries",
]
