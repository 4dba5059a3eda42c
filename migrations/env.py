"""Alembic environment: runs migrations on the engine handed over by amigo.core.migrate."""

from alembic import context

import amigo.models  # noqa: F401 - registers every table on Base.metadata
from amigo.core.config import get_settings
from amigo.core.db import Base, make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine(get_settings().database.url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
