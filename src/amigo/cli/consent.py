"""`amigo consent`: a person's consent history with its proofs, recording a statement, the projection."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from amigo.cli.common import console, get_engine, user_errors
from amigo.consent.service import (
    PURPOSES,
    consent_history,
    current_consents,
    rebuild_projection,
    record_consent,
)
from amigo.core.clock import utcnow
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError, NotFoundError
from amigo.profiles.models import GoldenCustomer
from amigo.profiles.service import find_customers

app = typer.Typer(help="The consent ledger: history, statements, projection.", no_args_is_help=True)

_REFERENCE_HELP = "Golden id, AMI- id, source:id (cegid:PAR01000001), email or phone."


def _one_customer(session: Session, reference: str) -> GoldenCustomer:
    found = list({c.id: c for c in find_customers(session=session, reference=reference)}.values())
    if not found:
        raise NotFoundError(f"no customer matches {reference!r}")
    if len(found) > 1:
        ids = ", ".join(c.external_id for c in found[:5])
        raise InvalidInputError(
            f"{reference!r} matches {len(found)} customers ({ids}): give one id"
        )
    return found[0]


def _proof_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


@app.command("show")
@user_errors
def show_command(reference: str = typer.Argument(..., help=_REFERENCE_HELP)) -> None:
    """Print a customer's effective consent per purpose and the ledger history behind it."""
    with unit_of_work(get_engine()) as session:
        customer = _one_customer(session, reference)
        current = current_consents(session=session, customer_id=customer.id)
        history = consent_history(session=session, customer_id=customer.id)
    name = " ".join(p for p in (customer.first_name, customer.last_name) if p) or "(no name)"
    states = Table(
        title=f"Consent of {name}  {customer.external_id} · id {customer.id}", title_justify="left"
    )
    for column in ("purpose", "state", "may contact", "since (UTC)", "decided by ledger rows"):
        states.add_column(column)
    for consent in current.values():
        states.add_row(
            consent.purpose,
            consent.status,
            "yes" if consent.allows_contact else "no",
            _when(consent.since),
            ", ".join(str(i) for i in consent.decided_by) or "—",
        )
    console.print(states)
    ledger = Table(title=f"Ledger ({len(history)} statements)", title_justify="left")
    for column in ("#", "when (UTC)", "purpose", "state", "source", "channel", "actor", "proof"):
        ledger.add_column(column, overflow="fold")
    for entry in history:
        when = _when(entry.occurred_at or entry.recorded_at)
        if entry.time_basis != "exact":
            when += " (as of)" if entry.time_basis == "as_of" else " (received)"
        source = entry.source_system + (f":{entry.source_id}" if entry.source_id else "")
        # The source is in its own column; the rest is the proof as recorded.
        proof = {k: v for k, v in entry.proof.items() if k != "source"}
        if entry.raw_value is not None:
            proof = {"value": entry.raw_value, **proof}
        ledger.add_row(
            str(entry.id),
            when,
            entry.purpose,
            entry.status,
            source,
            entry.channel,
            entry.actor,
            "\n".join(f"{k}: {_proof_text(v)}" for k, v in proof.items()),
        )
    console.print(ledger)


@app.command("record")
@user_errors
def record_command(
    *,
    reference: str = typer.Argument(..., help=_REFERENCE_HELP),
    purpose: str = typer.Option(..., help=f"One of {', '.join(PURPOSES)}."),
    state: str = typer.Option(..., help="granted, confirmed, pending or withdrawn."),
    channel: str = typer.Option("store", help="Where the person said it: store, phone, email..."),
    actor: str = typer.Option(..., help="Who records it: associate:A12, user:alice..."),
    wording: str | None = typer.Option(None, help="The wording or form version shown."),
    store: str | None = typer.Option(None, help="The store, for in-store consent."),
) -> None:
    """Append a consent statement the person made (in store, on the phone) to the ledger."""
    with unit_of_work(get_engine()) as session:
        customer = _one_customer(session, reference)
        current = record_consent(
            session=session,
            customer_id=customer.id,
            purpose=purpose,
            status=state,
            channel=channel,
            actor=actor,
            now=utcnow(),
            proof={"wording_version": wording, "store_id": store},
        )
    console.print(
        f"Recorded {purpose} {state} for {customer.external_id}: effective state now "
        f"[bold]{current.status}[/] ({'may' if current.allows_contact else 'may not'} contact)."
    )


@app.command("rebuild")
@user_errors
def rebuild_command(
    check: bool = typer.Option(
        False, "--check", help="Only compare the stored states with the ledger; write nothing."
    ),
) -> None:
    """Re-derive every profile's consent states from the ledger (or check that they match)."""
    engine = get_engine()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress, unit_of_work(engine) as session:
        task = progress.add_task("Projecting the consent ledger", total=None)
        summary = rebuild_projection(
            session=session,
            now=utcnow(),
            check_only=check,
            on_progress=lambda n: progress.advance(task, n),
        )
    verb = "differ from" if check else "changed to match"
    console.print(
        f"{summary.profiles:,} active profiles, {summary.states:,} stored states; "
        f"{summary.differences:,} {verb} the ledger."
    )
    if check and summary.differences:
        raise typer.Exit(code=1)
