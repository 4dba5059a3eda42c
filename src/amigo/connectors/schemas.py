"""Read models of the connectors' state for the API (ids, times and counts: no personal data)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from amigo.connectors.models import BreakerState
from amigo.connectors.status import Health


class _ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class StreamStatusView(_ReadModel):
    """One stream: a pulled sync (customers, receipts, drop folder) or Shopify's webhook inbox."""

    stream: str
    health: Health
    last_success_at: datetime | None
    lag_seconds: float | None
    records_total: int
    errors_total: int
    consecutive_failures: int
    last_error_at: datetime | None
    breaker_state: BreakerState
    backlog: int
    dead: int


class ConnectorStatusView(_ReadModel):
    connector: str
    health: Health
    dead_letters: int
    streams: list[StreamStatusView]


class ConnectorsStatusView(_ReadModel):
    """What `amigo connectors status` prints."""

    checked_at: datetime
    connectors: list[ConnectorStatusView]
