"""Fixtures of the core tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """Open a transaction rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()
