"""Portable bulk statements: INSERT ... ON CONFLICT on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def _insert(connection: Connection, table: Table) -> Any:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict_columns: Sequence[str] | None = None,
) -> None:
    """Insert rows, skipping those that collide with an existing key."""
    if not rows:
        return
    statement = _insert(connection, table).on_conflict_do_nothing(index_elements=conflict_columns)
    connection.execute(statement, list(rows))


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict_columns: Sequence[str],
) -> None:
    """Insert rows, or update every other given column where the key exists."""
    if not rows:
        return
    statement = _insert(connection, table)
    updated = [c for c in rows[0] if c not in conflict_columns]
    if updated:
        statement = statement.on_conflict_do_update(
            index_elements=list(conflict_columns),
            set_={c: statement.excluded[c] for c in updated},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict_columns))
    connection.execute(statement, list(rows))


def insert_returning_ids(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert rows and return their new ids in the order of the rows."""
    if not rows:
        return []
    statement: Insert = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return [row[0] for row in connection.execute(statement, list(rows))]
