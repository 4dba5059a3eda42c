"""The `amigo` command line."""

from __future__ import annotations

import typer

from amigo import __version__
from amigo.cli import (
    audit,
    clients,
    connectors,
    consent,
    customer,
    db,
    events,
    identity,
    keys,
    load,
    privacy,
    quality,
    serve,
    sources,
)
from amigo.cli import generate as generate_command

app = typer.Typer(
    name="amigo",
    help="AMIgo: one trustworthy golden profile per customer, from Cegid Y2, Shopify and web forms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"amigo {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """AMIgo customer data platform."""


app.add_typer(db.app, name="db")
app.add_typer(quality.app, name="quality")
app.add_typer(customer.app, name="customer")
app.add_typer(identity.app, name="identity")
app.add_typer(consent.app, name="consent")
app.add_typer(privacy.app, name="privacy")
app.add_typer(events.app, name="events")
app.add_typer(clients.app, name="clients")
app.add_typer(audit.app, name="audit")
app.add_typer(sources.app, name="sources")
app.add_typer(connectors.app, name="connectors")
app.add_typer(keys.app, name="keys")
load.register(app)
serve.register(app)
generate_command.register(app)


def main() -> None:
    """Run the command line."""
    app()
