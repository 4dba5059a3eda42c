"""`amigo db`: the database schema."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from amigo.cli.common import console, get_engine, user_errors
from amigo.core.crypto import current_crypto
from amigo.core.keycheck import recorded_checks
from amigo.core.migrate import current_revision, upgrade

app = typer.Typer(help="Create or upgrade the database schema.", no_args_is_help=True)


@app.command("upgrade")
@user_errors
def upgrade_command() -> None:
    """Create the schema or bring it up to date (safe to run again)."""
    engine = get_engine()
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"Database {url} is up to date (revision {after}).")
    else:
        console.print(f"Database {url} upgraded from {before or 'empty'} to revision {after}.")
    console.print(_keys_line(engine))


@app.command("status")
@user_errors
def status_command() -> None:
    """Print the database URL and its schema revision."""
    engine = get_engine()
    url = engine.url.render_as_string(hide_password=True)
    revision = current_revision(engine)
    console.print(f"{url}: revision {revision or 'none (run amigo db upgrade)'}")
    if revision is not None:
        console.print(_keys_line(engine))


def _keys_line(engine: Engine) -> str:
    """Say which keys the database's encrypted fields are under (checked and recorded on connect)."""
    with engine.connect() as connection:
        recorded = recorded_checks(connection)
    ids = sorted(key_id for kind, key_id in recorded if kind == "field")
    return (
        f"Encrypted fields: keys {', '.join(ids)} and the index key, from {current_crypto().source} "
        "(recorded in the database: other keys are refused; keep them with it)."
    )
