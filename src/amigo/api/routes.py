"""Mount every router on the app: the one list of what the API serves."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from amigo.api.routers import (
    activity,
    catalog,
    connectors,
    consents,
    customers,
    identity,
    oauth,
    quality,
    shopify,
    subject_requests,
    tracking,
    webhooks,
)
from amigo.api.strict import reject_unknown_query_parameters
from amigo.web.views import router as public_pages

# The versioned API, router by router (the test of roles walks every route of these).
API_ROUTERS: tuple[APIRouter, ...] = (
    oauth.router,
    customers.router,
    activity.router,
    consents.router,
    identity.router,
    catalog.router,
    subject_requests.router,
    quality.router,
    webhooks.router,
    tracking.router,
    shopify.router,
    connectors.router,
)


def mount_routers(app: FastAPI) -> None:
    """Mount the versioned API (/v1) and the public pages."""
    for router in API_ROUTERS:
        app.include_router(router, dependencies=[Depends(reject_unknown_query_parameters)])
    app.include_router(public_pages)
