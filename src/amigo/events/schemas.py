"""API shapes of webhook subscriptions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SubscriptionCreate(BaseModel):
    """A new webhook subscription."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="Where to POST the events (http or https).")
    event_types: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Event types delivered (consent.changed, customer.*); empty: every type.",
    )
    description: str | None = Field(default=None, max_length=200)


class Subscription(BaseModel):
    """A webhook subscription, without its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime


class CreatedSubscription(Subscription):
    """A subscription just created: the only time its signing secret is shown."""

    secret: str = Field(description="Standard Webhooks signing secret (whsec_...): keep it.")
