"""The connectors' health: last sync, lag, errors, dead letters and breaker, per connector."""

from __future__ import annotations

from fastapi import APIRouter

from amigo.api.deps import SessionDep
from amigo.api.errors import COMMON_ERRORS
from amigo.api.security import requires
from amigo.connectors.schemas import ConnectorsStatusView, ConnectorStatusView
from amigo.connectors.status import connectors_status
from amigo.core.clock import utcnow
from amigo.core.roles import Permission

router = APIRouter(prefix="/v1/connectors", tags=["connectors"], responses=COMMON_ERRORS)


@router.get(
    "/status",
    response_model=ConnectorsStatusView,
    dependencies=[requires(Permission.READ_CONNECTORS)],
)
def status(session: SessionDep) -> ConnectorsStatusView:
    """Return each connector's streams with their last sync, lag, errors and breaker."""
    now = utcnow()
    return ConnectorsStatusView(
        checked_at=now,
        connectors=[
            ConnectorStatusView.model_validate(item)
            for item in connectors_status(session=session, now=now)
        ],
    )
