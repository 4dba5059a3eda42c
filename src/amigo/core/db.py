"""Database engine, declarative base, column types and the unit of work."""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Enum,
    Integer,
    MetaData,
    Table,
    create_engine,
    event,
    exc,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

# A pooled PostgreSQL connection used this recently is handed out without a ping.
PING_AFTER_IDLE_SECONDS = 5.0

# Stable constraint names, so Alembic migrations are the same on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every ORM model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite has no time zones; PostgreSQL's timestamptz has. Both round-trip
    through this type the same way, and a naive value is refused rather than
    guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what the database returns."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BIGINT on PostgreSQL, INTEGER (the rowid alias, auto-incrementing) on SQLite.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def str_enum(cls: type[enum.Enum]) -> Enum:
    """Store an enum as its value string with a CHECK constraint: readable and portable."""
    return Enum(
        cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        create_constraint=True,
        length=20,
    )


# JSON payloads: JSONB on PostgreSQL (indexable), JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def normalize_url(url: str) -> str:
    """Select the psycopg 3 driver for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _json_serializer(value: Any) -> str:
    # orjson: payloads are serialized millions of times during a load.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalize_url(url)
    is_sqlite = make_url(url).get_backend_name() == "sqlite"
    engine = create_engine(
        url,
        echo=echo,
        json_serializer=_json_serializer,
        json_deserializer=orjson.loads,
        # PostgreSQL: no server-side prepared statements. After five runs psycopg
        # would prepare one, and PostgreSQL may then keep a generic plan chosen
        # without the parameters' values: for "= ANY(5,000 ids)" on a table grown
        # since, a filter over every row instead of an index lookup (seconds
        # instead of milliseconds per batch on a load).
        connect_args={"timeout": 30} if is_sqlite else {"prepare_threshold": None},
    )
    if not is_sqlite:
        _ping_idle_connections(engine)
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache
            # Read pages through the OS page cache instead of copying them: large loads.
            # SQLite caps this at its build's MAX_MMAP_SIZE (Debian's: 2 GiB); asking
            # for more is harmless and gets more from a build that allows it.
            cursor.execute("PRAGMA mmap_size=4294967296")
            cursor.close()

    # Imported here: the check's table is a model, and models import this module.
    from amigo.core.keycheck import watch_keys  # noqa: PLC0415

    watch_keys(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle over PING_AFTER_IDLE_SECONDS.

    SQLAlchemy's pool_pre_ping costs a round trip on every checkout (one more
    statement per API request); a connection checked in a moment ago is as
    good as a pinged one. One idle longer, maybe closed by the server or a
    restart meanwhile, is pinged and replaced if it is dead. A connection
    broken within the last seconds fails its request, and SQLAlchemy then
    invalidates the whole pool, as it does for a server lost mid-request.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["last_used"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["last_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("last_used", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool discards this connection and checks out another.
                raise exc.DisconnectionError(str(error)) from error
            raise


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to the engine."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """Open a session, commit when the block ends, roll back on error.

    Services never commit (STYLE.md habit 2); the CLI command or request that
    calls them owns the transaction through this context manager.
    """
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def table_of(model: type[Base]) -> Table:
    """Return the Core table of an ORM model, typed as a Table for bulk statements."""
    return cast(Table, model.__table__)
