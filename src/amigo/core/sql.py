"""Portable bulk statements: INSERT ... ON CONFLICT on SQLite and PostgreSQL alike.

The loader writes millions of rows. SQLAlchemy's per-row parameter handling
costs more than the database itself at that rate, so these statements are
built once per table and column set, values go through each column type's
own bind processor (the same conversion SQLAlchemy applies), and the rows
reach the driver's ``executemany`` directly. SQLite and PostgreSQL share the
``ON CONFLICT (...) DO NOTHING / DO UPDATE SET c = excluded.c`` syntax.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any] | None


@cache
def _statement(
    table: Table,
    columns: tuple[str, ...],
    dialect: Dialect,
    conflict_columns: tuple[str, ...] | None,
    update: bool,
) -> tuple[str, tuple[Processor, ...]]:
    preparer = dialect.identifier_preparer
    quoted = ", ".join(preparer.quote(c) for c in columns)
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    # Identifiers come from the table's own metadata, quoted by the dialect; values are bound.
    values = ", ".join(marker for _ in columns)
    sql = f"INSERT INTO {preparer.format_table(table)} ({quoted}) VALUES ({values})"  # noqa: S608
    if conflict_columns is not None:
        target = f" ({', '.join(preparer.quote(c) for c in conflict_columns)})"
        if not conflict_columns:
            target = ""  # any unique constraint
        changed = [c for c in columns if c not in conflict_columns]
        if update and changed:
            assignments = ", ".join(
                f"{preparer.quote(c)} = excluded.{preparer.quote(c)}" for c in changed
            )
            sql += f" ON CONFLICT{target} DO UPDATE SET {assignments}"
        else:
            sql += f" ON CONFLICT{target} DO NOTHING"
    # The same conversion SQLAlchemy applies to each bound value (UTC datetimes,
    # JSON, enums), looked up once per statement instead of once per row.
    processors = tuple(
        table.c[c].type._cached_bind_processor(dialect)  # private, but no public equivalent
        for c in columns
    )
    return sql, processors


def _execute(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str] | None,
    *,
    update: bool,
) -> None:
    if not rows:
        return
    columns = tuple(rows[0])
    sql, processors = _statement(
        table,
        columns,
        connection.dialect,
        None if conflict_columns is None else tuple(conflict_columns),
        update,
    )
    if any(processors):
        pairs = tuple(zip(columns, processors, strict=True))
        params = [
            tuple(row[c] if p is None or row[c] is None else p(row[c]) for c, p in pairs)
            for row in rows
        ]
    else:
        params = [tuple(row[c] for c in columns) for row in rows]
    connection.exec_driver_sql(sql, params)


def bulk_insert(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (every row with the same keys)."""
    _execute(connection, table, rows, None, update=False)


def insert_ignore(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict_columns: Sequence[str] | None = None,
) -> None:
    """Insert rows, skipping those that collide with an existing key."""
    _execute(connection, table, rows, conflict_columns or (), update=False)


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict_columns: Sequence[str],
) -> None:
    """Insert rows, or update every other given column where the key exists."""
    _execute(connection, table, rows, conflict_columns, update=True)


def insert_returning_ids(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert a few rows and return their new ids in order (one statement per row)."""
    return [
        int(connection.execute(table.insert().returning(table.c.id), row).scalar_one())
        for row in rows
    ]
