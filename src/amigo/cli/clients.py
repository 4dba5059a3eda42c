"""`amigo clients`: the API's OAuth 2.0 clients, each with one role."""

from __future__ import annotations

import typer
from rich.table import Table

from amigo.api.oauth import create_client, list_clients, revoke_client
from amigo.cli.common import console, get_engine, user_errors
from amigo.core.clock import utcnow
from amigo.core.db import unit_of_work
from amigo.core.roles import Role

app = typer.Typer(help="API clients: create, list, revoke.", no_args_is_help=True)


@app.command("create")
@user_errors
def create_command(
    name: str = typer.Option(..., help="Who the client is (a system, a team, a person)."),
    role: str = typer.Option(..., help=f"What it may do: {', '.join(r.value for r in Role)}."),
) -> None:
    """Create a client and print its id and secret: the secret is shown this once only."""
    with unit_of_work(get_engine()) as session:
        created = create_client(session=session, name=name, role=role, now=utcnow())
        client_id, chosen = created.client.client_id, created.client.role.value
    console.print(f"client_id:     {client_id}", highlight=False)
    console.print(f"client_secret: {created.secret}", highlight=False, soft_wrap=True)
    console.print(f"role:          {chosen}", highlight=False)
    console.print(
        "Keep the secret now: only its hash is stored. Exchange both for a token with\n"
        f"  curl -s -d grant_type=client_credentials -u {client_id}:<secret> "
        "http://127.0.0.1:8000/v1/oauth/token",
        highlight=False,
        soft_wrap=True,
    )


@app.command("list")
@user_errors
def list_command() -> None:
    """List the clients, their roles and whether they are revoked."""
    with unit_of_work(get_engine()) as session:
        clients = list_clients(session=session)
        table = Table(title=f"{len(clients)} API clients")
        table.add_column("client_id", no_wrap=True)
        for column in ("name", "role", "created", "revoked"):
            table.add_column(column)
        for client in clients:
            table.add_row(
                client.client_id,
                client.name,
                client.role.value,
                f"{client.created_at:%Y-%m-%d %H:%M}",
                f"{client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "",
            )
    console.print(table)


@app.command("revoke")
@user_errors
def revoke_command(client_id: str = typer.Argument(..., help="The client_id to revoke.")) -> None:
    """Revoke a client: its secret stops working, its tokens within seconds."""
    with unit_of_work(get_engine()) as session:
        client = revoke_client(session=session, client_id=client_id, now=utcnow())
        console.print(
            f"revoked {client.client_id} ({client.name}) at {client.revoked_at:%Y-%m-%d %H:%M:%S}"
        )
