"""`amigo quality`: data-quality report and rejects."""

from __future__ import annotations

import typer
from rich.table import Table

from amigo.cli.common import console, get_engine, user_errors
from amigo.core.db import unit_of_work
from amigo.quality.report import list_rejects, quality_report

app = typer.Typer(help="Data quality: completeness, validity, rejects.", no_args_is_help=True)


@app.command("report")
@user_errors
def report_command() -> None:
    """Print completeness and validity per field, and rejects by reason."""
    with unit_of_work(get_engine()) as session:
        report = quality_report(session=session)
    table = Table(
        title=f"Golden profiles: {report.profiles:,} active, "
        f"from {report.customer_records:,} source customer records"
    )
    table.add_column("field")
    table.add_column("completeness", justify="right")
    table.add_column("filled", justify="right")
    table.add_column("invalid source values", justify="right")
    table.add_column("main issue")
    for field in report.fields:
        table.add_row(
            field.field,
            f"{field.completeness:6.1%}",
            f"{field.filled:,}",
            f"{field.invalid_values:,}",
            field.top_issue or "",
        )
    console.print(table)
    rejects = Table(title="Rejected records by reason")
    for column in ("source", "entity", "reason", "records"):
        rejects.add_column(column, justify="right" if column == "records" else "left")
    for item in report.rejects:
        rejects.add_row(item.source_system, item.entity, item.reason_code, f"{item.count:,}")
    if not report.rejects:
        rejects.add_row("—", "—", "none", "0")
    console.print(rejects)


@app.command("rejects")
@user_errors
def rejects_command(
    reason: str | None = typer.Option(None, help="Only this reason code (e.g. unknown_customer)."),
    limit: int = typer.Option(20, min=1, max=10_000, help="How many to list, newest first."),
) -> None:
    """List rejected records with their reason, file, line and raw payload."""
    with unit_of_work(get_engine()) as session:
        rows = list_rejects(session=session, reason_code=reason, limit=limit)
    table = Table(title=f"Latest {len(rows)} rejects")
    for column in ("source", "id", "reason", "where", "message", "raw"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            f"{row.source_system}/{row.entity}",
            row.source_id or "",
            row.reason_code,
            # A webhook's reject names its delivery, with no line.
            (f"{row.file}:{row.line_number}" if row.line_number is not None else row.file or ""),
            row.message,
            row.raw_payload[:120],
        )
    console.print(table)
