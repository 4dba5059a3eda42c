"""`amigo connectors cegid ...`: Cegid Y2's web services and drop folder."""

from __future__ import annotations

import typer

cegid_app = typer.Typer(
    help="Cegid Y2: customers and receipts from its retail web services and its drop folder.",
    no_args_is_help=True,
)
