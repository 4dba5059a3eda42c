"""The `amigo` command line.

Each command's module is imported when that command runs, not at every
start: importing them all (every domain service, zeep, alembic) took about
1.5 s of each `amigo` call, which cron jobs, scripts and the suite's CLI
tests all pay. ``amigo --help`` still imports them all to list them.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from importlib import import_module
from typing import Any

import typer
from typer import _click as click  # typer 0.2x carries its own click: its commands are these
from typer.core import TyperGroup

from amigo import __version__

# Command name -> the module that defines it, in the order `amigo --help` lists them.
# A module either holds the command group as ``app`` or adds its one command
# with ``register(app)``.
COMMAND_MODULES = {
    "db": "amigo.cli.db",
    "quality": "amigo.cli.quality",
    "customer": "amigo.cli.customer",
    "identity": "amigo.cli.identity",
    "consent": "amigo.cli.consent",
    "privacy": "amigo.cli.privacy",
    "events": "amigo.cli.events",
    "clients": "amigo.cli.clients",
    "audit": "amigo.cli.audit",
    "sources": "amigo.cli.sources",
    "connectors": "amigo.cli.connectors",
    "keys": "amigo.cli.keys",
    "load": "amigo.cli.load",
    "serve": "amigo.cli.serve",
    "generate": "amigo.cli.generate",
}


def load_command(name: str) -> click.Command:
    """Import the module of a command and return it as a click command named ``name``."""
    module = import_module(COMMAND_MODULES[name])
    holder = typer.Typer(add_completion=False)
    if hasattr(module, "app"):
        holder.add_typer(module.app, name=name)
        group = typer.main.get_command(holder)
        return group.commands[name]  # type: ignore[attr-defined, no-any-return]
    module.register(holder)  # one command: typer returns it, not a group
    return typer.main.get_command(holder)


class _ImportedOnUse(MutableMapping[str, click.Command]):
    """The root's commands: every name known, a command's module imported when it is looked up."""

    def __init__(self, loaded: MutableMapping[str, click.Command]) -> None:
        self._loaded = dict(loaded)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded and name in COMMAND_MODULES:
            self._loaded[name] = load_command(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*COMMAND_MODULES, *(n for n in self._loaded if n not in COMMAND_MODULES)])

    def __len__(self) -> int:
        return len(set(COMMAND_MODULES) | set(self._loaded))


class LazyCommands(TyperGroup):
    """The root group: knows its commands by name, imports one only when it runs or is listed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Typos still get "Did you mean ...?": the names are there, not yet the modules.
        self.commands = _ImportedOnUse(self.commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return every command name, without importing any."""
        return list(self.commands)


app = typer.Typer(
    name="amigo",
    cls=LazyCommands,
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


def main() -> None:
    """Run the command line."""
    app()
