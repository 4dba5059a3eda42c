"""Outbound webhook subscriptions: create (the secret shown once), list, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from amigo.api.deps import SessionDep
from amigo.api.errors import COMMON_ERRORS
from amigo.api.security import requires
from amigo.core.roles import Permission
from amigo.events.schemas import CreatedSubscription, Subscription, SubscriptionCreate
from amigo.events.webhooks import create_subscription, delete_subscription, list_subscriptions

router = APIRouter(
    prefix="/v1/webhooks",
    tags=["webhooks"],
    responses=COMMON_ERRORS,
    dependencies=[requires(Permission.MANAGE_WEBHOOKS)],
)
SubscriptionId = Annotated[int, Path(ge=1, le=2**62, description="Subscription id")]


@router.post(
    "/subscriptions", response_model=CreatedSubscription, status_code=status.HTTP_201_CREATED
)
def create(body: SubscriptionCreate, session: SessionDep) -> CreatedSubscription:
    """Subscribe a URL to event types; the answer holds its signing secret, shown this once."""
    subscription = create_subscription(
        session=session, url=body.url, event_types=body.event_types, description=body.description
    )
    return CreatedSubscription.model_validate(subscription)


@router.get("/subscriptions", response_model=list[Subscription])
def list_all(session: SessionDep) -> list[Subscription]:
    """List every subscription (without secrets)."""
    return [Subscription.model_validate(s) for s in list_subscriptions(session=session)]


@router.delete("/subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(subscription_id: SubscriptionId, session: SessionDep) -> None:
    """Delete a subscription, its delivery attempts and its dead letters."""
    delete_subscription(session=session, subscription_id=subscription_id)
