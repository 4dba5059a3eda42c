"""Arrays packed by hand reach PostgreSQL as psycopg would have sent them; constants as scalars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Connection, select

from amigo.core.db import table_of
from amigo.core.pgarrays import pack
from amigo.core.sql import array, bulk_insert, fetch_all, insert_new
from amigo.ingest.models import LoadBatch

batches = table_of(LoadBatch)
TOKYO = timezone(timedelta(hours=9))


@pytest.mark.parametrize(
    ("array_type", "values"),
    [
        ("text[]", ["a", "", 'quote " and \\ back', "été ✓", None, "NULL"]),
        ("TEXT[]", []),
        ("BYTEA[]", [b"\x00\x01\xff", b"", None]),
        ("BIGINT[]", [0, -1, 2**62, None]),
        ("INTEGER[]", [1, -(2**31)]),
        ("SMALLINT[]", [3, None]),
        ("BOOLEAN[]", [True, False, None]),
        (
            "TIMESTAMP WITH TIME ZONE[]",
            [
                datetime(2026, 12, 6, 15, 30, 1, 123456, tzinfo=UTC),
                datetime(1999, 1, 1, 9, 0, tzinfo=TOKYO),
                None,
            ],
        ),
    ],
)
def test_packed_arrays_come_back_as_sent(
    connection: Connection, array_type: str, values: list[Any]
) -> None:
    if connection.dialect.name != "postgresql":
        pytest.skip("binary arrays are PostgreSQL's")
    assert pack(array_type, values) is not None
    [(returned,)] = fetch_all(connection, f"SELECT %b::{array_type}", [array(array_type, values)])
    assert returned == values


def test_jsonb_elements_are_parsed_by_the_server(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        pytest.skip("binary arrays are PostgreSQL's")
    rows = fetch_all(
        connection,
        "SELECT e ->> 'a' FROM unnest(%b::JSONB[]) AS e",
        [array("JSONB[]", ['{"a": "x"}', '{"a": "é"}'])],
    )
    assert [r[0] for r in rows] == ["x", "é"]


def test_values_of_another_type_are_left_to_psycopg() -> None:
    assert pack("text[]", [1, 2]) is None  # ints for a text column: psycopg's own array
    assert pack("BOOLEAN[]", ["false"]) is None  # not taken for its truth
    assert pack("BIGINT[]", [2**70]) is None
    assert pack("FLOAT[]", [1.5]) is None


def test_naive_timestamps_are_refused(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        pytest.skip("binary arrays are PostgreSQL's")
    with pytest.raises(ValueError, match="naive datetime"):
        array("TIMESTAMP WITH TIME ZONE[]", [datetime(2026, 1, 1)])  # noqa: DTZ001


def test_a_naive_timestamp_is_refused_bound_once_as_in_an_array(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        pytest.skip("SQLite's bulk path reads a naive time as local, as before")
    naive = datetime(2026, 12, 6, 12, 0)  # noqa: DTZ001 - what must be refused
    for rows in ([_batch(9_100_000, naive)], [_batch(9_100_001 + n, naive) for n in range(2)]):
        with pytest.raises(ValueError, match="naive datetime"):
            bulk_insert(connection, batches, rows)


def _batch(batch_id: int, started: datetime, **changes: Any) -> dict[str, Any]:
    row = {
        "id": batch_id,
        "source_dir": "/exports/same",
        "status": "done",
        "started_at": started,
        "finished_at": None,
        "stats": {"note": "same"},
    }
    return row | changes


def test_columns_the_same_in_every_row_are_stored_in_every_row(connection: Connection) -> None:
    # On PostgreSQL such columns travel as one scalar each; the rows must not notice.
    started = datetime(2026, 12, 6, 12, 0, tzinfo=TOKYO)
    base = 9_000_000
    rows = [_batch(base + n, started, source_dir=f"/exports/{n}") for n in range(3)]
    bulk_insert(connection, batches, rows)
    fresh = insert_new(connection, batches, [rows[0], _batch(base + 9, started)], key="id")
    assert fresh == {base + 9}
    stored = connection.execute(
        select(batches.c.id, batches.c.source_dir, batches.c.started_at, batches.c.stats)
        .where(batches.c.id >= base)
        .order_by(batches.c.id)
    ).all()
    assert [tuple(r) for r in stored] == [
        (base, "/exports/0", started, {"note": "same"}),
        (base + 1, "/exports/1", started, {"note": "same"}),
        (base + 2, "/exports/2", started, {"note": "same"}),
        (base + 9, "/exports/same", started, {"note": "same"}),
    ]
