"""Build the secondary indexes after an initial load instead of row by row during it.

Loading millions of rows into an empty repository while maintaining indexes
on random keys (emails, phones, customer ids) costs more than sorting each
index once at the end. Unique indexes stay: the load's upserts and lookups
rely on them. A load killed meanwhile leaves them missing until the resumed
load ends, which builds them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Engine, Index, func, inspect, select, text

import amigo.models  # noqa: F401 - every table registered on the metadata
from amigo.core.db import Base
from amigo.profiles.models import GoldenCustomer


def secondary_indexes() -> list[Index]:
    """Return every non-unique index of the schema."""
    return [
        index
        for table in Base.metadata.sorted_tables
        for index in sorted(table.indexes, key=lambda i: str(i.name))
        if not index.unique
    ]


def drop_for_initial_load(engine: Engine) -> bool:
    """Drop the secondary indexes if the repository is empty; say whether it did."""
    with engine.begin() as connection:
        if connection.scalar(select(func.count()).select_from(GoldenCustomer)):
            return False
        for index in secondary_indexes():
            connection.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))
    return True


def secondary_indexes_missing(engine: Engine) -> bool:
    """Return whether any secondary index is missing (an interrupted initial load)."""
    inspector = inspect(engine)
    present = {
        (table, index["name"])
        for table in inspector.get_table_names()
        for index in inspector.get_indexes(table)
    }
    return any(
        (str(index.table.name if index.table is not None else ""), index.name) not in present
        for index in secondary_indexes()
    )


def ensure_secondary_indexes(engine: Engine, *, only: Collection[str] | None = None) -> None:
    """Create whichever secondary index is missing (a no-op when all exist).

    With ``only``, just the indexes of those names: mid-load, a step that
    reads by a few of them gets those, and the rest wait for the load's end.
    """
    indexes = secondary_indexes()
    if only is not None:
        unknown = set(only) - {str(index.name) for index in indexes}
        if unknown:
            raise ValueError(f"not secondary indexes of the schema: {', '.join(sorted(unknown))}")
        indexes = [index for index in indexes if index.name in only]
    with engine.begin() as connection:
        for index in indexes:
            index.create(bind=connection, checkfirst=True)


# The tables a load looks rows up in by a non-leading column of their unique
# index (system, entity, source id...): plans that go wrong on stale statistics.
LOOKED_UP_TABLES = ("source_record", "customer_order", "identity_link")


def refresh_statistics(engine: Engine, tables: Sequence[str] | None = None) -> None:
    """Give PostgreSQL's planner the repository's current contents (during a load).

    Tables grow from nothing to millions of rows during an initial load, and
    autovacuum may be slow or off. With statistics taken before a file's rows
    existed, PostgreSQL finds "no interaction records" and looks a batch's
    5,000 ids up by filtering every record of the entity instead of probing
    the index for each: minutes per batch at the seed volume. SQLite plans by
    its indexes alone and needs nothing.
    """
    if engine.dialect.name != "postgresql":
        return
    names = tables or [table.name for table in Base.metadata.sorted_tables]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name in names:
            connection.execute(text(f'ANALYZE "{name}"'))
