"""`amigo db`: the database schema."""

from __future__ import annotations

import typer

from amigo.cli.common import console, get_engine, user_errors
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


@app.command("status")
@user_errors
def status_command() -> None:
    """Print the database URL and its schema revision."""
    engine = get_engine()
    url = engine.url.render_as_string(hide_password=True)
    console.print(f"{url}: revision {current_revision(engine) or 'none (run amigo db upgrade)'}")
