"""Engines and sessions for the suite: every storage test runs on SQLite and PostgreSQL.

PostgreSQL comes from ``AMIGO_TEST_POSTGRES_URL`` (default: the local server on
127.0.0.1:5432, user postgres). Each test session gets its own databases,
created here and dropped at the end. Where PostgreSQL is unreachable its runs
are skipped with a notice, except under ``CI=true``, where that is an error.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from amigo.core.db import make_engine, normalize_url
from amigo.core.migrate import upgrade

BACKENDS = ["sqlite", "postgresql"]
POSTGRES_ADMIN_URL = normalize_url(
    os.environ.get("AMIGO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
)
_postgres_problem: str | None = None


def _probe_postgres() -> str | None:
    try:
        probe = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Check once whether PostgreSQL is reachable."""
    global _postgres_problem  # noqa: PLW0603 - computed once per test session
    _postgres_problem = _probe_postgres()
    if _postgres_problem and os.environ.get("CI") == "true":
        raise pytest.UsageError(
            f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL).render_as_string()} is unreachable "
            f"and CI=true requires it: {_postgres_problem}"
        )


def pytest_report_header(config: pytest.Config) -> str:
    """Say visibly which backends this run covers."""
    if _postgres_problem:
        return f"NOTICE: PostgreSQL unreachable, its runs are SKIPPED ({_postgres_problem})"
    return f"storage backends: sqlite, postgresql ({make_url(POSTGRES_ADMIN_URL).host})"


class DatabaseFactory:
    """Create empty, migrated databases on one backend and drop them afterwards."""

    def __init__(self, backend: str, tmp_dir: Path) -> None:
        self.backend = backend
        self.tmp_dir = tmp_dir
        self._created: list[tuple[str, Engine]] = []
        self._template: str | None = None

    def new_url(self, *, migrate: bool = True) -> str:
        """Return the URL of a new empty database, migrated to head unless told not to.

        A migrated one is a copy of a template migrated once per session (a file
        copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL): the same
        schema as running every migration, for a tenth of the time, hundreds of
        times a run.
        """
        template = self._migrated_template() if migrate else None
        name = f"amigo_test_{uuid.uuid4().hex[:12]}"
        if template is None:
            url = self._empty(name)
        elif self.backend == "sqlite":
            path = self.tmp_dir / f"{name}.db"
            shutil.copyfile(self.tmp_dir / f"{template}.db", path)
            url = f"sqlite:///{path}"
        else:
            admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            admin.dispose()
            url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
        engine = make_engine(url)
        self._created.append((name, engine))
        return url

    def _migrated_template(self) -> str:
        """Return the name of this session's migrated template database, made on first use."""
        if self._template is None:
            name = f"amigo_test_template_{uuid.uuid4().hex[:12]}"
            url = self._empty(name)
            engine = make_engine(url)
            upgrade(engine)
            with engine.begin() as connection:
                # A template records no keys: each test's database records those of
                # the first process that uses it (a CLI run in its own directory).
                connection.execute(text("DELETE FROM encryption_key_check"))
            if self.backend == "sqlite":
                with engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            # Release every connection now: PostgreSQL copies a template nobody is connected
            # to, and SQLite's last close folds the write-ahead log into the file copied.
            engine.dispose()
            self._created.append((name, engine))
            self._template = name
        return self._template

    def _empty(self, name: str) -> str:
        """Create an empty database; return its URL."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp_dir / name}.db"
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)

    def drop_all(self) -> None:
        """Drop every database this factory created."""
        for name, engine in self._created:
            engine.dispose()
            if self.backend == "postgresql":
                admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        self._created.clear()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Name the storage backend this test runs on."""
    name: str = request.param
    if name == "postgresql" and _postgres_problem:
        pytest.skip(f"PostgreSQL unreachable: {_postgres_problem}")
    return name


@pytest.fixture(scope="session")
def database_factory(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseFactory]:
    """Make databases on the current backend for the whole test session."""
    factory = DatabaseFactory(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def engine(database_factory: DatabaseFactory) -> Iterator[Engine]:
    """Return an engine on a migrated database shared by the session's tests."""
    shared = make_engine(database_factory.new_url())
    yield shared
    shared.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """Open a session inside a transaction that is rolled back after the test.

    Code under test may commit: with ``create_savepoint`` its commits only
    release a SAVEPOINT, and the outer rollback undoes everything.
    """
    connection = engine.connect()
    outer = connection.begin()
    db_session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def fresh_database_url(database_factory: DatabaseFactory) -> str:
    """Return the URL of a new migrated database, for tests of code that commits itself."""
    return database_factory.new_url()


@pytest.fixture
def make_database_url(database_factory: DatabaseFactory) -> Callable[[], str]:
    """Return a function that creates yet another migrated database on this backend."""
    return database_factory.new_url


@pytest.fixture
def open_engine() -> Iterator[Callable[[str], Engine]]:
    """Return a function that opens an engine on a URL; every one is disposed after the test."""
    opened: list[Engine] = []

    def _open(url: str) -> Engine:
        opened.append(make_engine(url))
        return opened[-1]

    yield _open
    for engine in opened:
        engine.dispose()
