"""Bulk statements write the same rows on SQLite and PostgreSQL, and never cut a value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from psycopg.errors import StringDataRightTruncation
from sqlalchemy import Connection, select

from amigo.core.db import table_of
from amigo.core.sql import (
    JsonText,
    bulk_insert,
    insert_ignore,
    insert_new,
    is_row_of,
    upsert,
    upsert_earliest,
)
from amigo.ingest.models import LoadBatch
from amigo.profiles.models import Product

batches = table_of(LoadBatch)
products = table_of(Product)


def _product(sku: str, name: str, price: int | None = 1000) -> dict[str, object]:
    return {
        "sku": sku,
        "name": name,
        "category": None,
        "collection": "Été 2026",
        "season": "SS26",
        "price_cents": price,
        "currency": "EUR",
    }


def test_bulk_insert_stores_json_timestamps_and_nulls_as_given(connection: Connection) -> None:
    tokyo = timezone(timedelta(hours=9))
    rows = [
        {
            "source_dir": f"/exports/{i}",
            "status": "running",
            "started_at": datetime(2026, 3, 1, 9, 0, tzinfo=tokyo) + timedelta(minutes=i),
            "finished_at": None,
            "stats": {"file": {"read": i, "name": "clé"}}
            if i % 2
            else JsonText('{"pre":"encoded"}'),
        }
        for i in range(250)
    ]

    bulk_insert(connection, batches, rows)

    stored = connection.execute(
        select(batches.c.source_dir, batches.c.started_at, batches.c.finished_at, batches.c.stats)
        .where(batches.c.source_dir.like("/exports/%"))
        .order_by(batches.c.id)
    ).all()
    assert [r.source_dir for r in stored] == [f"/exports/{i}" for i in range(250)]
    assert stored[7].started_at == datetime(2026, 3, 1, 0, 7, tzinfo=UTC)
    assert stored[7].finished_at is None
    assert stored[7].stats == {"file": {"read": 7, "name": "clé"}}
    assert stored[8].stats == {"pre": "encoded"}


def test_upsert_updates_existing_keys_and_insert_ignore_keeps_them(
    connection: Connection,
) -> None:
    bulk_insert(connection, products, [_product("SKU-1", "Trench"), _product("SKU-2", "Scarf")])

    upsert(
        connection,
        products,
        [_product("SKU-2", "Silk scarf", 2500), _product("SKU-3", "Belt", None)],
        conflict_columns=["sku"],
    )
    insert_ignore(
        connection, products, [_product("SKU-1", "Not a trench")], conflict_columns=["sku"]
    )

    stored = dict(
        connection.execute(
            select(products.c.sku, products.c.name).where(products.c.sku.like("SKU-%"))
        )
        .tuples()
        .all()
    )
    assert stored == {"SKU-1": "Trench", "SKU-2": "Silk scarf", "SKU-3": "Belt"}
    price = connection.scalar(select(products.c.price_cents).where(products.c.sku == "SKU-3"))
    assert price is None


def test_an_upsert_naming_a_key_twice_keeps_the_last_row(connection: Connection) -> None:
    upsert(
        connection,
        products,
        [_product("SKU-9", "first"), _product("SKU-9", "second")],
        conflict_columns=["sku"],
    )

    name = connection.scalar(select(products.c.name).where(products.c.sku == "SKU-9"))
    assert name == "second"


def test_upsert_earliest_keeps_the_earliest_value_whatever_the_order_and_never_a_null(
    connection: Connection,
) -> None:
    # As a visited store's "since": orders arrive in any order, the first purchase stays.
    bulk_insert(connection, products, [_product("SKU-E1", "Belt"), _product("SKU-E2", "Belt", 900)])

    upsert_earliest(
        connection,
        products,
        [
            _product("SKU-E1", "Belt", 1500),
            _product("SKU-E1", "Belt", 800),
            _product("SKU-E2", "Belt", None),
            _product("SKU-E3", "Belt", None),
            _product("SKU-E3", "Belt", 700),
        ],
        conflict_columns=["sku"],
    )

    stored = dict(
        connection.execute(
            select(products.c.sku, products.c.price_cents).where(products.c.sku.like("SKU-E%"))
        )
        .tuples()
        .all()
    )
    assert stored == {"SKU-E1": 800, "SKU-E2": 900, "SKU-E3": 700}


def test_a_value_longer_than_its_column_is_never_cut_short(connection: Connection) -> None:
    # PostgreSQL refuses it; SQLite does not check lengths and keeps it whole.
    # What must never happen is a silently truncated value.
    long_sku = "X" * 41
    if connection.dialect.name == "postgresql":
        with pytest.raises(StringDataRightTruncation, match="too long"):
            bulk_insert(connection, products, [_product(long_sku, "Too long")])
        return
    bulk_insert(connection, products, [_product(long_sku, "Too long")])
    stored = connection.scalar(select(products.c.sku).where(products.c.name == "Too long"))
    assert stored == long_sku


def test_insert_new_stores_and_returns_only_the_keys_not_stored_yet(
    connection: Connection,
) -> None:
    bulk_insert(connection, products, [_product("NEW-1", "Trench")])

    inserted = insert_new(
        connection,
        products,
        [_product("NEW-1", "Not a trench"), _product("NEW-2", "Scarf")],
        key="sku",
    )

    assert inserted == {"NEW-2"}
    stored = dict(
        connection.execute(
            select(products.c.sku, products.c.name).where(products.c.sku.like("NEW-%"))
        )
        .tuples()
        .all()
    )
    assert stored == {"NEW-1": "Trench", "NEW-2": "Scarf"}
    assert insert_new(connection, products, [], key="sku") == set()


def test_is_row_of_selects_by_composite_key_past_one_in_list(connection: Connection) -> None:
    rows = [_product(f"ROW-{i:04}", f"name {i % 3}") for i in range(2000)]
    bulk_insert(connection, products, rows)
    wanted = [(f"name {i % 3}", f"ROW-{i:04}") for i in range(0, 2000, 2)]
    wanted += [("name 0", "ROW-0001"), ("nobody", "ROW-0002")]  # a wrong name, a wrong pair

    found: set[str] = set()
    for condition in is_row_of(connection, [products.c.name, products.c.sku], wanted):
        found.update(connection.scalars(select(products.c.sku).where(condition)))

    assert found == {f"ROW-{i:04}" for i in range(0, 2000, 2)}
    assert list(is_row_of(connection, [products.c.name, products.c.sku], [])) == []
