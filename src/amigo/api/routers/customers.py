"""Customers: search, and the Client 360 of one golden profile. Every read is audit-logged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from amigo.api.deps import ReaderDep, SessionDep, for_purpose
from amigo.api.errors import COMMON_ERRORS
from amigo.api.fields import PLAIN_TEXT
from amigo.api.pagination import CursorQuery, LimitQuery, Page, decode_cursor, next_cursor
from amigo.api.security import requires
from amigo.core.audit import record_reads
from amigo.core.clock import utcnow
from amigo.core.roles import Permission
from amigo.profiles.schemas import (
    CLIENT_360_FIELDS,
    SUMMARY_FIELDS,
    Client360,
    CustomerSummary,
)
from amigo.profiles.service import client_360, search_customers

router = APIRouter(prefix="/v1/customers", tags=["customers"], responses=COMMON_ERRORS)
CustomerId = Annotated[int, Path(ge=1, le=2**62, description="Golden profile id")]
_Text = Annotated[str | None, Query(min_length=1, max_length=320, pattern=PLAIN_TEXT)]


@router.get(
    "",
    response_model=Page[CustomerSummary],
    dependencies=[requires(Permission.READ_PROFILES)],
)
def search(
    session: SessionDep,
    reader: ReaderDep,
    email: _Text = None,
    phone: _Text = None,
    last_name: _Text = None,
    first_name: _Text = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> Page[CustomerSummary]:
    """Find active golden profiles by email, phone or name (cursor-paginated by id)."""
    found = search_customers(
        session=session,
        email=email,
        phone=phone,
        last_name=last_name,
        first_name=first_name,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    ids = [customer.id for customer in found]
    record_reads(
        session=session,
        reader=for_purpose(reader, "customer_search"),
        subject_ids=ids,
        fields=SUMMARY_FIELDS,
        action="GET /v1/customers",
        now=utcnow(),
    )
    return Page[CustomerSummary](
        items=[CustomerSummary.model_validate(c) for c in found],
        next_cursor=next_cursor(ids, limit),
    )


@router.get(
    "/{customer_id}",
    response_model=Client360,
    dependencies=[requires(Permission.READ_PROFILES)],
)
def get_client_360(
    customer_id: CustomerId,
    session: SessionDep,
    reader: ReaderDep,
    orders: Annotated[int, Query(ge=0, le=100, description="Latest orders shown")] = 10,
    interactions: Annotated[int, Query(ge=0, le=100, description="Latest interactions")] = 10,
) -> Client360:
    """Return the Client 360: profile, sources, orders, interactions, consents, stores, associates."""
    view = client_360(
        session=session,
        customer_id=customer_id,
        recent_orders=orders,
        recent_interactions=interactions,
    )
    record_reads(
        session=session,
        reader=for_purpose(reader, "client_360"),
        subject_ids=[customer_id],
        fields=CLIENT_360_FIELDS,
        action="GET /v1/customers/{id}",
        now=utcnow(),
    )
    return view
