"""Schema migrations (Alembic), run by `amigo db upgrade` and by the test suite."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

# The repository's migrations/ folder; the package is installed in editable mode.
MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration that runs on the given engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to the given revision."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or None when never migrated."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - only here

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """Return the newest revision of the repository's migrations."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only here

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()
