"""`amigo consent`: a person's consent history with its proofs, recording a statement, the projection."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from amigo.cli.common import console, counted_progress, get_engine, user_errors
from amigo.consent.links import LinkAction
from amigo.consent.preferences import page_link, request_confirmation
from amigo.consent.service import (
    PURPOSES,
    consent_history,
    current_consents,
    rebuild_projection,
    record_consent,
)
from amigo.core.clock import utcnow
from amigo.core.config import get_settings
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


_PROOF_WIDTH = 40  # long values (user agents) abridged on screen; the ledger keeps them whole


def _proof_text(value: object) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= _PROOF_WIDTH else shown[: _PROOF_WIDTH - 1] + "…"


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
    console.print(f"[bold]Ledger[/] ({len(history)} statements, oldest first)")
    for entry in history:
        when = _when(entry.occurred_at or entry.recorded_at)
        basis = {"as_of": " (as of)", "unknown": " (received)"}.get(entry.time_basis, "")
        source = entry.source_system + (f":{entry.source_id}" if entry.source_id else "")
        console.print(
            f"  #{entry.id:<7} {when + basis:<26} {entry.purpose:<16} [bold]{entry.status:<11}[/] "
            f"{source} · {entry.channel} · {entry.actor}",
            highlight=False,
        )
        # The source is shown above; the rest is the proof as recorded.
        proof = {k: v for k, v in entry.proof.items() if k != "source"}
        if entry.raw_value is not None:
            proof = {"value": entry.raw_value, **proof}
        if proof:
            line = "; ".join(f"{k}: {_proof_text(v)}" for k, v in proof.items())
            console.print(Padding(Text(line, style="dim"), (0, 0, 0, 11)))


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
    with counted_progress() as progress, unit_of_work(engine) as session:
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


@app.command("link")
@user_errors
def link_command(
    reference: str = typer.Argument(..., help=_REFERENCE_HELP),
    unsubscribe: str | None = typer.Option(
        None, "--unsubscribe", help="Purpose: print the one-click unsubscribe link for it."
    ),
) -> None:
    """Print a customer's signed preference center link (or unsubscribe link) for messages."""
    settings = get_settings().consent
    with unit_of_work(get_engine()) as session:
        customer = _one_customer(session, reference)
        url = page_link(
            session=session,
            customer_id=customer.id,
            action=LinkAction.UNSUBSCRIBE if unsubscribe else LinkAction.PREFERENCES,
            settings=settings,
            purpose=unsubscribe,
        )
    console.print(url, soft_wrap=True, highlight=False)


@app.command("request-confirmation")
@user_errors
def request_confirmation_command(
    reference: str = typer.Argument(..., help=_REFERENCE_HELP),
    purpose: str = typer.Option("email_marketing", help=f"One of {', '.join(PURPOSES)}."),
    channel: str = typer.Option("email", help="Where the confirmation link is sent."),
) -> None:
    """Record a pending double opt-in and print its signed, expiring confirmation link."""
    settings = get_settings().consent
    with unit_of_work(get_engine()) as session:
        customer = _one_customer(session, reference)
        url = request_confirmation(
            session=session,
            customer_id=customer.id,
            purpose=purpose,
            channel=channel,
            settings=settings,
            now=utcnow(),
        )
    console.print(
        f"Pending until confirmed (valid {settings.confirmation_hours} h):", highlight=False
    )
    console.print(url, soft_wrap=True, highlight=False)
