"""The secondary indexes an initial load drops, then builds when they are read by or at its end."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, inspect

from amigo.ingest.indexes import (
    drop_for_initial_load,
    ensure_secondary_indexes,
    secondary_indexes,
    secondary_indexes_missing,
)


def _secondary_present(engine: Engine) -> set[str]:
    inspector = inspect(engine)
    present = {
        str(index["name"])
        for table in inspector.get_table_names()
        for index in inspector.get_indexes(table)
    }
    return present & {str(index.name) for index in secondary_indexes()}


def test_named_indexes_are_built_alone_and_the_rest_at_the_end(
    fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    engine = open_engine(fresh_database_url)
    assert drop_for_initial_load(engine)
    assert _secondary_present(engine) == set()

    ensure_secondary_indexes(engine, only={"ix_identity_link_customer_id"})

    assert _secondary_present(engine) == {"ix_identity_link_customer_id"}
    assert secondary_indexes_missing(engine)
    ensure_secondary_indexes(engine)
    assert not secondary_indexes_missing(engine)


def test_a_name_that_is_no_secondary_index_is_refused_before_building_any(
    fresh_database_url: str, open_engine: Callable[[str], Engine]
) -> None:
    engine = open_engine(fresh_database_url)
    drop_for_initial_load(engine)

    with pytest.raises(ValueError, match="ix_identity_link_customer"):
        ensure_secondary_indexes(
            engine, only={"ix_identity_link_customer_id", "ix_identity_link_customer"}
        )

    assert _secondary_present(engine) == set()
