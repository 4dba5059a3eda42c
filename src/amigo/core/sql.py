"""Portable bulk statements: INSERT ... ON CONFLICT on SQLite and PostgreSQL alike.

The loader writes millions of rows. SQLAlchemy's per-row parameter handling
costs more than the database itself at that rate, so these statements are
built once per table and column set, values go through each column type's
own bind processor (the same conversion SQLAlchemy applies), and the rows
reach the driver's ``executemany`` directly. SQLite and PostgreSQL share the
``ON CONFLICT (...) DO NOTHING / DO UPDATE SET c = excluded.c`` syntax.

On PostgreSQL a batch goes as one statement instead, ``INSERT ... SELECT *
FROM unnest(%b::text[], %b::jsonb[], ...)``, one array per column: the
server then inserts a set, not thousands of single-row statements (an
executemany, even pipelined, costs a parse-bind-execute per row). The arrays
travel in PostgreSQL's binary format (``%b``): each element is sent with its
length, where the text format has psycopg quote and backslash-escape every
element in Python (half the time of a tracking batch went there, escaping
the quotes of its JSON payloads). They are packed by ``core.pgarrays``, not by
psycopg's generic list dumper, and a column that holds the same value in every
row of a batch (its source, its reception time, its status) travels as one
scalar parameter instead of an array: ``INSERT ... SELECT u.c0, %s::bigint,
u.c2 FROM unnest(...) AS u(c0, c2)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Enum,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    column,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect

from amigo.core.db import UTCDateTime
from amigo.core.pgarrays import pack

Processor = Callable[[Any], Any] | None
T = TypeVar("T")
# Bound parameters per IN list: under SQLite's historical limit of 999 per statement.
IN_LIST_SIZE = 900


def in_chunks(values: Sequence[T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[T]]:
    """Yield the values in slices small enough for one IN (...) list."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def is_one_of(
    connection: Connection, column: ColumnElement[Any], values: Sequence[Any]
) -> Iterator[ColumnElement[bool]]:
    """Yield conditions that together select the rows whose column is one of the values.

    PostgreSQL takes the whole list as one array parameter (= ANY), several
    times faster than long IN lists; SQLite gets IN lists under its limit.
    """
    if connection.dialect.name == "postgresql":
        if values:
            yield column == any_(bindparam(None, list(values), type_=ARRAY(_element_type(column))))
        return
    for chunk in in_chunks(values):
        yield column.in_(chunk)


def is_row_of(
    connection: Connection, columns: Sequence[ColumnElement[Any]], rows: Sequence[tuple[Any, ...]]
) -> Iterator[ColumnElement[bool]]:
    """Yield conditions that together select the rows whose columns hold one of the tuples.

    For a lookup by a composite key, ``(a, b) IN (...)``. On PostgreSQL the
    tuples come as one array per column, ``(a, b) IN (SELECT * FROM
    unnest(...))``: the planner probes the (a, b) index once per tuple. With
    ``a = 'x' AND b = ANY(...)`` instead, PostgreSQL (before 17) scans every
    row of 'x' whenever its statistics take 'x' for rare, as they do for
    rows that arrived since the last ANALYZE: 30 ms per statement for an
    attach of a few interactions after 40,000 tracking events, and growing.
    SQLite, whose planner turns a row-value IN list into a scan, gets
    ``a = 'x' AND b IN (...)`` per value of the leading columns, which it
    answers from the index.
    """
    if connection.dialect.name == "postgresql":
        if rows:
            arrays = [
                bindparam(None, [row[i] for row in rows], type_=ARRAY(_element_type(c)))
                for i, c in enumerate(columns)
            ]
            names = [column(f"c{i}", _element_type(c)) for i, c in enumerate(columns)]
            wanted = func.unnest(*arrays).table_valued(*names).render_derived(with_types=False)
            yield tuple_(*columns).in_(select(wanted))
        return
    *leading, last = columns
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        groups.setdefault(tuple(row[:-1]), []).append(row[-1])
    for prefix, values in groups.items():
        fixed = [c == v for c, v in zip(leading, prefix, strict=True)]
        for chunk in in_chunks(values):
            yield and_(*fixed, last.in_(chunk))


def _element_type(column: ColumnElement[Any]) -> Any:
    return String() if isinstance(column.type, String) else column.type


class JsonText(str):
    """JSON already serialized (canonically, keys sorted): stored as is, not re-encoded."""

    __slots__ = ()


def _sqlite_utc_processor() -> Callable[[datetime], str]:
    # SQLAlchemy's SQLite DATETIME storage format, microseconds always present,
    # so that text comparison and ordering in SQL stay chronological. A batch
    # stamps thousands of rows with the same instant: remember the last one.
    last: list[Any] = [None, ""]

    def process(value: datetime) -> str:
        if value is last[0]:
            return str(last[1])
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        last[0], last[1] = value, text
        return text

    return process


def _processor(table: Table, column: str, dialect: Dialect) -> Processor:
    """Return the conversion of one column's values, cheaper than the generic one where safe."""
    column_type = table.c[column].type
    if isinstance(column_type, Enum):
        # Callers pass the value strings; the CHECK constraint still refuses any other.
        return None
    if isinstance(column_type, JSON) and dialect.name == "postgresql":
        # JSON text in a text[] array, cast to jsonb[] by the statement.
        serialize: Callable[[Any], str] = getattr(dialect, "_json_serializer", None) or json.dumps

        def json_text(value: Any) -> str:
            return value if type(value) is JsonText else serialize(value)

        return json_text
    if isinstance(column_type, UTCDateTime):
        if dialect.name == "postgresql":
            # core.pgarrays packs aware datetimes as they are and refuses naive ones.
            return None
        return _sqlite_utc_processor()
    generic: Processor = column_type._cached_bind_processor(dialect)  # private, no public twin
    if generic is not None and isinstance(column_type, JSON):
        encode = generic

        def json_processor(value: Any) -> Any:
            return value if type(value) is JsonText else encode(value)

        return json_processor
    return generic


@cache
def _statement(
    table: Table,
    columns: tuple[str, ...],
    dialect: Dialect,
    *,
    conflict_columns: tuple[str, ...] | None,
    update: bool,
    constant: tuple[bool, ...] = (),
    earliest: bool = False,
) -> str:
    """Return the INSERT of one row (SQLite) or of a set from column arrays (PostgreSQL).

    ``constant``: on PostgreSQL, the columns bound as one scalar (the same value in
    every row), placed first among the parameters; the others are arrays.
    ``earliest``: an update keeps the earlier of the stored and the new value.
    """
    preparer = dialect.identifier_preparer
    quoted = ", ".join(preparer.quote(c) for c in columns)
    if dialect.name == "postgresql":
        constant = constant or (False,) * len(columns)
        types = [_array_type(table, c, dialect) for c in columns]
        # Types from the schema, values bound: nothing here comes from a caller's data.
        values = [
            f"%s::{t[:-2]}" if fixed else f"u.c{i}"
            for i, (t, fixed) in enumerate(zip(types, constant, strict=True))
        ]
        source = "SELECT " + ", ".join(values)
        arrays = [(f"%b::{t}", f"c{i}") for i, t in enumerate(types) if not constant[i]]
        if arrays:
            source += (
                f" FROM unnest({', '.join(a for a, _ in arrays)})"
                f" AS u({', '.join(n for _, n in arrays)})"
            )
    else:
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        source = "VALUES (" + ", ".join(marker for _ in columns) + ")"
    # Identifiers come from the table's own metadata, quoted by the dialect; values are bound.
    sql = f"INSERT INTO {preparer.format_table(table)} ({quoted}) {source}"
    if conflict_columns is not None:
        target = f" ({', '.join(preparer.quote(c) for c in conflict_columns)})"
        if not conflict_columns:
            target = ""  # any unique constraint
        changed = [c for c in columns if c not in conflict_columns]
        if update and changed:
            name = preparer.format_table(table)
            assignments = ", ".join(
                f"{preparer.quote(c)} = "
                + (
                    earliest_on_conflict(name, preparer.quote(c))
                    if earliest
                    else f"excluded.{preparer.quote(c)}"
                )
                for c in changed
            )
            sql += f" ON CONFLICT{target} DO UPDATE SET {assignments}"
        else:
            sql += f" ON CONFLICT{target} DO NOTHING"
    return sql


def earliest_on_conflict(table: str, column: str) -> str:
    """Return an ON CONFLICT update's value keeping the earlier of the stored and incoming one.

    NULL never wins over a value: a date learned later fills a missing one.
    ``table`` and ``column`` are SQL identifiers, quoted where they need it.
    """
    stored, incoming = f"{table}.{column}", f"excluded.{column}"
    return f"CASE WHEN {stored} IS NULL OR {incoming} < {stored} THEN {incoming} ELSE {stored} END"


def _array_type(table: Table, column: str, dialect: Dialect) -> str:
    """Return the SQL array type a column's values travel in (PostgreSQL)."""
    column_type = table.c[column].type
    if isinstance(column_type, String | Text | Enum):
        # text, not varchar(n): an explicit cast to varchar(n) would silently cut
        # a value that the column's own assignment refuses as too long.
        return "text[]"
    # Parameters (length, precision) dropped: the column's assignment applies them.
    return re.sub(r"\(.*?\)", "", column_type.compile(dialect=dialect)) + "[]"


@cache
def _processors(table: Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[Processor, ...]:
    # The conversion SQLAlchemy applies to each bound value (UTC datetimes,
    # JSON), looked up once per statement instead of once per row.
    return tuple(_processor(table, c, dialect) for c in columns)


def _execute(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str] | None,
    *,
    update: bool,
    earliest: bool = False,
) -> None:
    if not rows:
        return
    columns = tuple(rows[0])
    dialect = connection.dialect
    conflict = None if conflict_columns is None else tuple(conflict_columns)
    if update and conflict:
        # One statement must not update a row twice (PostgreSQL refuses it):
        # keep each key's last row, as sequential upserts would, or its earliest.
        key = itemgetter(*conflict)
        if earliest:
            values = itemgetter(*(c for c in columns if c not in conflict))
            rows = sorted(rows, key=lambda row: _latest_first(values(row)), reverse=True)
        rows = list({key(row): row for row in rows}.values())
    if dialect.name == "postgresql":
        _run_arrays(
            connection,
            table,
            rows,
            columns,
            conflict_columns=conflict,
            update=update,
            earliest=earliest,
        )
        return
    params = _parameters(rows, columns, _processors(table, columns, dialect))
    sql = _statement(
        table, columns, dialect, conflict_columns=conflict, update=update, earliest=earliest
    )
    _run(connection, sql, params)


def _latest_first(values: Any) -> tuple[tuple[bool, Any], ...]:
    """Sort key, descending: None first, then the latest value; the earliest ends last."""
    values = values if isinstance(values, tuple) else (values,)
    return tuple((value is None, value) for value in values)


def _run(connection: Connection, sql: str, params: list[tuple[Any, ...]]) -> None:
    """Run a bulk statement row by row through SQLite's executemany, which loops in C."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()


def _run_arrays(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    columns: tuple[str, ...],
    *,
    conflict_columns: tuple[str, ...] | None,
    update: bool,
    returning: Sequence[str] = (),
    earliest: bool = False,
) -> list[tuple[Any, ...]]:
    """Run a bulk statement as one INSERT from column arrays (PostgreSQL), in the transaction.

    A column with one value in every row is bound once, as a scalar: a third
    of a tracking batch's values are such (its source, time, status...).
    """
    dialect = connection.dialect
    values = _columns(rows, columns, _processors(table, columns, dialect))
    constant = tuple(len(v) == 1 or v.count(v[0]) == len(v) for v in values)
    sql = _statement(
        table,
        columns,
        dialect,
        conflict_columns=conflict_columns,
        update=update,
        constant=constant,
        earliest=earliest,
    )
    if returning:
        sql += " RETURNING " + ", ".join(dialect.identifier_preparer.quote(c) for c in returning)
    params: list[Any] = [_checked(v[0]) for v, fixed in zip(values, constant, strict=True) if fixed]
    for name, column_values, fixed in zip(columns, values, constant, strict=True):
        if not fixed:
            array_type = _array_type(table, name, dialect)
            packed = pack(array_type, column_values)
            params.append(column_values if packed is None else packed)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()] if returning else []
    finally:
        cursor.close()


def _checked(value: Any) -> Any:
    """Return a scalar parameter, refusing a naive datetime (as the packed arrays do)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
    return value


def _columns(
    rows: Sequence[dict[str, Any]], columns: tuple[str, ...], processors: tuple[Processor, ...]
) -> list[list[Any]]:
    """Return each column's values in row order, converted for the driver."""
    values = []
    for name, process in zip(columns, processors, strict=True):
        column_values = [row[name] for row in rows]
        if process is not None:
            column_values = [None if v is None else process(v) for v in column_values]
        values.append(column_values)
    return values


def _parameters(
    rows: Sequence[dict[str, Any]], columns: tuple[str, ...], processors: tuple[Processor, ...]
) -> list[tuple[Any, ...]]:
    """Return each row's values in column order, converted for the driver."""
    if len(columns) == 1:
        only = columns[0]

        def getter(row: dict[str, Any]) -> tuple[Any, ...]:
            return (row[only],)
    else:
        getter = itemgetter(*columns)  # type: ignore[assignment]
    converted = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not converted:
        return [getter(row) for row in rows]
    params = []
    for row in rows:
        values = list(getter(row))
        for index, process in converted:
            value = values[index]
            if value is not None:
                values[index] = process(value)
        params.append(tuple(values))
    return params


def array(array_type: str, values: Sequence[Any]) -> Any:
    """Return values to bind as a PostgreSQL array of this type in hand-written SQL (``%b``)."""
    packed = pack(array_type, values)
    return list(values) if packed is None else packed


def fetch_all(connection: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run hand-written SQL on the driver's cursor in the connection's transaction; return its rows.

    For the hot paths' look-ups on PostgreSQL (a tracking batch runs a dozen):
    no statement compiled, no cache key computed, no result wrapper, arrays
    bound packed (``array``). Values are always bound, never formatted in.
    """
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
    finally:
        cursor.close()


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


def upsert_earliest(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict_columns: Sequence[str],
) -> None:
    """Insert rows, or keep the earlier of the stored and the given value where the key exists.

    For "since" columns: rows arriving in any order end with the first date.
    """
    _execute(connection, table, rows, conflict_columns, update=True, earliest=True)


def insert_new(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], *, key: str
) -> set[Any]:
    """Insert the rows whose unique ``key`` column is not stored yet; return the keys inserted.

    PostgreSQL: one ``INSERT ... ON CONFLICT DO NOTHING RETURNING key``, so of
    two transactions storing the same row at once only the one that wrote it
    sees it as new. SQLite, which has one writer at a time: the keys already
    stored are read first, then the rest inserted.
    """
    if not rows:
        return set()
    if connection.dialect.name == "postgresql":
        inserted = _run_arrays(
            connection,
            table,
            rows,
            tuple(rows[0]),
            conflict_columns=(key,),
            update=False,
            returning=(key,),
        )
        return {row[0] for row in inserted}
    column = table.c[key]
    wanted = [row[key] for row in rows]
    stored: set[Any] = set()
    for condition in is_one_of(connection, column, wanted):
        stored.update(connection.scalars(select(column).where(condition)))
    fresh = [row for row in rows if row[key] not in stored]
    insert_ignore(connection, table, fresh, conflict_columns=[key])
    return {row[key] for row in fresh}


def insert_returning_ids(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert a few rows and return their new ids in order (one statement per row)."""
    return [
        int(connection.execute(table.insert().returning(table.c.id), row).scalar_one())
        for row in rows
    ]


def insert_returning(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """Insert rows in one statement and return the given columns of each (PostgreSQL only).

    The rows come back in no promised order: return a key among the columns.
    """
    if connection.dialect.name != "postgresql":
        raise NotImplementedError("insert_returning is for PostgreSQL; SQLite reads its rowids")
    if not rows:
        return []
    return _run_arrays(
        connection,
        table,
        rows,
        tuple(rows[0]),
        conflict_columns=None,
        update=False,
        returning=returning,
    )
