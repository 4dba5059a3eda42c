"""The catalog: stores, sales associates and products. No personal data of customers here.

Associates are staff, so reading them writes no audit rows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from amigo.api.deps import SessionDep
from amigo.api.errors import COMMON_ERRORS
from amigo.api.fields import PLAIN_TEXT
from amigo.api.pagination import (
    CursorQuery,
    LimitQuery,
    Page,
    decode_key_cursor,
    next_key_cursor,
)
from amigo.api.security import requires
from amigo.core.roles import Permission
from amigo.profiles.schemas import AssociateView, ProductView, StoreView
from amigo.profiles.service import (
    get_associate,
    get_product,
    get_store,
    list_associates,
    list_products,
    list_stores,
)

router = APIRouter(
    prefix="/v1",
    tags=["catalog"],
    responses=COMMON_ERRORS,
)
_READ = [requires(Permission.READ_CATALOG)]
StoreId = Annotated[
    str, Path(min_length=1, max_length=20, pattern=PLAIN_TEXT, description="Cegid Y2 store code")
]
AssociateId = Annotated[
    str, Path(min_length=1, max_length=20, pattern=PLAIN_TEXT, description="Associate id")
]
Sku = Annotated[
    str, Path(min_length=1, max_length=40, pattern=PLAIN_TEXT, description="SKU (Y2 ItemCode)")
]


@router.get("/stores", response_model=list[StoreView], dependencies=_READ)
def stores(session: SessionDep) -> list[StoreView]:
    """List every store."""
    return list_stores(session=session)


@router.get("/stores/{store_id}", response_model=StoreView, dependencies=_READ)
def store(store_id: StoreId, session: SessionDep) -> StoreView:
    """Return one store."""
    return get_store(session=session, store_id=store_id)


@router.get("/associates", response_model=Page[AssociateView], dependencies=_READ)
def associates(
    session: SessionDep,
    store_id: Annotated[
        str | None,
        Query(min_length=1, max_length=20, pattern=PLAIN_TEXT, description="Only this store's"),
    ] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[AssociateView]:
    """List sales associates by id, of one store if asked (cursor-paginated)."""
    found = list_associates(
        session=session, store_id=store_id, after_id=decode_key_cursor(cursor), limit=limit
    )
    return Page[AssociateView](
        items=found, next_cursor=next_key_cursor([a.id for a in found], limit)
    )


@router.get("/associates/{associate_id}", response_model=AssociateView, dependencies=_READ)
def associate(associate_id: AssociateId, session: SessionDep) -> AssociateView:
    """Return one sales associate."""
    return get_associate(session=session, associate_id=associate_id)


@router.get("/products", response_model=Page[ProductView], dependencies=_READ)
def products(
    session: SessionDep,
    sku: Annotated[
        str | None,
        Query(
            min_length=1, max_length=40, pattern=PLAIN_TEXT, description="SKUs starting with this"
        ),
    ] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[ProductView]:
    """List products by SKU, those starting with ``sku`` if given (cursor-paginated)."""
    found = list_products(
        session=session, sku=sku, after_sku=decode_key_cursor(cursor), limit=limit
    )
    return Page[ProductView](
        items=found, next_cursor=next_key_cursor([p.sku for p in found], limit)
    )


@router.get("/products/{sku}", response_model=ProductView, dependencies=_READ)
def product(sku: Sku, session: SessionDep) -> ProductView:
    """Return one product by SKU."""
    return get_product(session=session, sku=sku)
