"""Build the secondary indexes after an initial load instead of row by row during it.

Loading millions of rows into an empty repository while maintaining indexes
on random keys (emails, phones, customer ids) costs more than sorting each
index once at the end. Unique indexes stay: the load's upserts and lookups
rely on them. A load killed meanwhile leaves them missing until the resumed
load ends, which builds them.
"""

from __future__ import annotations

from sqlalchemy import Engine, Index, func, select, text

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


def ensure_secondary_indexes(engine: Engine) -> None:
    """Create whichever secondary index is missing (a no-op when all exist)."""
    with engine.begin() as connection:
        for index in secondary_indexes():
            index.create(bind=connection, checkfirst=True)


def refresh_statistics(engine: Engine) -> None:
    """Give PostgreSQL's planner the repository's current sizes (between load phases).

    Tables grow from nothing to millions of rows during an initial load, and
    autovacuum may be slow or off: without fresh statistics the planner can
    choose to scan a whole table for a batch's lookups. SQLite plans by its
    indexes alone and needs nothing.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in Base.metadata.sorted_tables:
            connection.execute(text(f'ANALYZE "{table.name}"'))
