"""A customer's orders and interactions. Every read is audit-logged with the customer as subject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from amigo.api.deps import ReaderDep, SessionDep, for_purpose
from amigo.api.errors import COMMON_ERRORS
from amigo.api.pagination import (
    CursorQuery,
    LimitQuery,
    Page,
    decode_position_cursor,
    next_position_cursor,
)
from amigo.api.security import requires
from amigo.core.audit import record_reads
from amigo.core.clock import utcnow
from amigo.core.roles import Permission
from amigo.profiles.schemas import INTERACTION_FIELDS, ORDER_FIELDS, InteractionView, OrderView
from amigo.profiles.service import customer_interactions, customer_orders, get_order

router = APIRouter(prefix="/v1", tags=["activity"], responses=COMMON_ERRORS)
_READ = [requires(Permission.READ_ACTIVITY)]
CustomerId = Annotated[int, Path(ge=1, le=2**62, description="Golden profile id")]
OrderId = Annotated[int, Path(ge=1, le=2**62, description="Order id")]


@router.get("/customers/{customer_id}/orders", response_model=Page[OrderView], dependencies=_READ)
def orders(
    customer_id: CustomerId,
    session: SessionDep,
    reader: ReaderDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> Page[OrderView]:
    """List a customer's orders with their lines, newest first (cursor-paginated)."""
    found = customer_orders(
        session=session,
        customer_id=customer_id,
        before=decode_position_cursor(cursor),
        limit=limit,
    )
    record_reads(
        session=session,
        reader=for_purpose(reader, "customer_orders"),
        subject_ids=[customer_id],
        fields=ORDER_FIELDS,
        action="GET /v1/customers/{id}/orders",
        now=utcnow(),
    )
    return Page[OrderView](
        items=found,
        next_cursor=next_position_cursor([(o.ordered_at, o.id) for o in found], limit),
    )


@router.get("/orders/{order_id}", response_model=OrderView, dependencies=_READ)
def order(order_id: OrderId, session: SessionDep, reader: ReaderDep) -> OrderView:
    """Return one order with its lines."""
    found = get_order(session=session, order_id=order_id)
    record_reads(
        session=session,
        reader=for_purpose(reader, "order"),
        subject_ids=[found.customer_id] if found.customer_id is not None else [],
        fields=ORDER_FIELDS,
        action="GET /v1/orders/{id}",
        now=utcnow(),
    )
    return found


@router.get(
    "/customers/{customer_id}/interactions",
    response_model=Page[InteractionView],
    dependencies=_READ,
)
def interactions(
    customer_id: CustomerId,
    session: SessionDep,
    reader: ReaderDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 20,
) -> Page[InteractionView]:
    """List a customer's interactions (visits, email opens, calls), newest first."""
    found = customer_interactions(
        session=session,
        customer_id=customer_id,
        before=decode_position_cursor(cursor),
        limit=limit,
    )
    record_reads(
        session=session,
        reader=for_purpose(reader, "customer_interactions"),
        subject_ids=[customer_id],
        fields=INTERACTION_FIELDS,
        action="GET /v1/customers/{id}/interactions",
        now=utcnow(),
    )
    return Page[InteractionView](
        items=found,
        next_cursor=next_position_cursor([(i.occurred_at, i.id) for i in found], limit),
    )
