"""`amigo audit`: who read whose personal data, when, and why."""

from __future__ import annotations

import typer
from rich.table import Table

from amigo.cli.common import console, get_engine, user_errors
from amigo.core.audit import reads_of
from amigo.core.db import unit_of_work
from amigo.profiles.service import find_customers

app = typer.Typer(help="The audit log of personal-data reads.", no_args_is_help=True)


@app.command("show")
@user_errors
def show_command(
    subject: str = typer.Option(
        ..., help="The person: golden profile id, AMI- id, source:id, email or phone."
    ),
    limit: int = typer.Option(50, min=1, max=10_000, help="How many reads, newest first."),
) -> None:
    """List the reads of one person's data: time, actor, role, purpose, fields."""
    with unit_of_work(get_engine()) as session:
        subject_id = int(subject) if subject.isdigit() and len(subject) < 12 else None
        if subject_id is None:
            found = find_customers(session=session, reference=subject, limit=1)
            subject_id = found[0].id if found else None
        rows = reads_of(session=session, subject_id=subject_id, limit=limit) if subject_id else []
        table = Table(title=f"{len(rows)} reads of profile {subject_id or subject} (newest first)")
        for column in ("time (UTC)", "actor", "role"):
            table.add_column(column, no_wrap=True)
        for column in ("purpose", "action", "fields"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                f"{row.read_at:%Y-%m-%d %H:%M:%S}",
                row.actor,
                row.role,
                row.purpose,
                row.action,
                ", ".join(row.fields),
            )
    console.print(table)
