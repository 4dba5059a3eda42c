"""`amigo privacy request ...` (subject requests from receipt to closure), `retention`, `anonymized-copy`."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from amigo.cli.common import console, counted_progress, get_engine, user_errors
from amigo.core.clock import utcnow
from amigo.core.config import get_settings
from amigo.core.db import make_engine, normalize_url, unit_of_work
from amigo.core.errors import InvalidInputError, NotFoundError
from amigo.privacy.anonymized_copy import copy_anonymized, copy_keys
from amigo.privacy.models import SubjectRequest
from amigo.privacy.retention import anonymize_expired, cutoff, find_expired
from amigo.privacy.service import (
    approve_request,
    close_request,
    create_request,
    execute_request,
    extend_request,
    get_request,
    list_requests,
    needs_second_approver,
    reference,
    reject_request,
    request_steps,
    verify_identity,
)
from amigo.privacy.suppression import suppression_secret
from amigo.profiles.models import GoldenCustomer
from amigo.profiles.service import find_customers

app = typer.Typer(
    help="Data-subject requests (GDPR): access, erasure, portability...", no_args_is_help=True
)
requests_app = typer.Typer(
    help="File, follow and carry out subject requests.", no_args_is_help=True
)
app.add_typer(requests_app, name="request")

_ACTOR = typer.Option(..., "--actor", help="Who takes the step (dpo@example.com).")
_ROLE = typer.Option("dpo", "--role", help="The actor's role: dpo (admin, integration...).")


def _request_id(value: str) -> int:
    text = value.strip().upper().removeprefix("DSR-")
    if not text.isdigit():
        raise InvalidInputError(f"{value!r} is not a request reference (DSR-12 or 12)")
    return int(text)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _print_request(request: SubjectRequest, customer: GoldenCustomer) -> None:
    overdue = (
        request.status.value in ("received", "identity_verified", "approved")
        and request.due_at < utcnow()
    )
    console.print(
        f"[bold]{reference(request)}[/] {request.type.value} · [bold]{request.status.value}[/] · "
        f"{customer.external_id} (id {customer.id}) · received {_when(request.received_at)} "
        f"via {request.channel} · due {_when(request.due_at)}"
        + (" [red]OVERDUE[/]" if overdue else ""),
        highlight=False,
    )
    if request.extension_reason:
        console.print(f"  extended: {request.extension_reason}", highlight=False)
    if request.rejection_reason:
        console.print(f"  rejected: {request.rejection_reason}", highlight=False)
    for key, value in request.result.items():
        shown = "\n    ".join(value) if isinstance(value, list) and value else value
        console.print(f"  {key}: {shown}", highlight=False)


@requests_app.command("create")
@user_errors
def create_command(
    *,
    customer: str = typer.Argument(..., help="Golden id, AMI- id, source:id, email or phone."),
    request_type: str = typer.Option(
        ..., "--type", help="access, rectification, erasure, restriction, portability or objection."
    ),
    channel: str = typer.Option(
        "email", help="How the request came: email, letter, store, web_form..."
    ),
    received: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Day received (default: now)."
    ),
    details: str | None = typer.Option(None, help="What the person asked, in their words."),
    actor: str = _ACTOR,
    role: str = _ROLE,
) -> None:
    """Record a request as received; it is due one month later."""
    with unit_of_work(get_engine()) as session:
        found = list(
            {c.id: c for c in find_customers(session=session, reference=customer)}.values()
        )
        if len(found) != 1:
            if not found:
                raise NotFoundError(f"no customer matches {customer!r}")
            raise InvalidInputError(f"{customer!r} matches {len(found)} customers: give one id")
        request = create_request(
            session=session,
            customer_id=found[0].id,
            type=request_type,
            channel=channel,
            actor=actor,
            role=role,
            now=utcnow(),
            received_at=received.replace(tzinfo=utcnow().tzinfo) if received else None,
            details=details,
        )
        _print_request(request, session.get_one(GoldenCustomer, request.customer_id))


@requests_app.command("list")
@user_errors
def list_command(
    status: str | None = typer.Option(None, help="Only this status (received, approved...)."),
    overdue: bool = typer.Option(
        False, "--overdue", help="Only the open requests past their due date."
    ),
) -> None:
    """List requests by due date."""
    with unit_of_work(get_engine()) as session:
        found = list_requests(
            session=session, status=status, overdue_at=utcnow() if overdue else None
        )
        table = Table(title=f"{len(found)} subject requests", title_justify="left")
        for column in ("request", "type", "status", "customer", "received", "due"):
            table.add_column(column)
        now = utcnow()
        for request in found:
            late = (
                request.status.value in ("received", "identity_verified", "approved")
                and request.due_at < now
            )
            table.add_row(
                reference(request),
                request.type.value,
                request.status.value,
                session.get_one(GoldenCustomer, request.customer_id).external_id,
                _when(request.received_at),
                f"[red]{_when(request.due_at)} overdue[/]" if late else _when(request.due_at),
            )
    console.print(table)


@requests_app.command("show")
@user_errors
def show_command(request: str = typer.Argument(..., help="DSR-12 or 12.")) -> None:
    """Print a request, what it produced, and every step with who took it."""
    settings = get_settings().privacy
    with unit_of_work(get_engine()) as session:
        found = get_request(session=session, request_id=_request_id(request))
        _print_request(found, session.get_one(GoldenCustomer, found.customer_id))
        if needs_second_approver(session=session, request=found, settings=settings, now=utcnow()):
            console.print("  an order in the last year: two approvers needed", highlight=False)
        steps = Table(title="Steps", title_justify="left")
        for column in ("when (UTC)", "step", "actor", "role", "note"):
            steps.add_column(column)
        for step in request_steps(session=session, request_id=found.id):
            steps.add_row(_when(step.at), step.step, step.actor, step.role, step.note or "")
    console.print(steps)


@requests_app.command("verify")
@user_errors
def verify_command(
    request: str = typer.Argument(..., help="DSR-12 or 12."),
    method: str = typer.Option(
        ..., help="How the identity was checked (ID card seen in store...)."
    ),
    actor: str = _ACTOR,
    role: str = _ROLE,
) -> None:
    """Record that the requester's identity was verified."""
    with unit_of_work(get_engine()) as session:
        found = verify_identity(
            session=session,
            request_id=_request_id(request),
            actor=actor,
            role=role,
            method=method,
            now=utcnow(),
        )
        _print_request(found, session.get_one(GoldenCustomer, found.customer_id))


@requests_app.command("approve")
@user_errors
def approve_command(
    request: str = typer.Argument(..., help="DSR-12 or 12."),
    note: str | None = typer.Option(None, help="Why it is approved."),
    actor: str = _ACTOR,
    role: str = _ROLE,
) -> None:
    """Approve a verified request (an erasure with a recent order needs a second approver)."""
    with unit_of_work(get_engine()) as session:
        found = approve_request(
            session=session,
            request_id=_request_id(request),
            actor=actor,
            role=role,
            now=utcnow(),
            settings=get_settings().privacy,
            note=note,
        )
        _print_request(found, session.get_one(GoldenCustomer, found.customer_id))
        if found.status.value != "approved":
            console.print("  first approval recorded: a second approver (another person) is needed")


@requests_app.command("extend")
@user_errors
def extend_command(
    request: str = typer.Argument(..., help="DSR-12 or 12."),
    months: int = typer.Option(..., min=1, max=2, help="By how many months (two in all at most)."),
    reason: str = typer.Option(..., help="Why: the person is told."),
    actor: str = _ACTOR,
    role: str = _ROLE,
) -> None:
    """Extend the due date (article 12(3): two more months at most, with a reason)."""
    with unit_of_work(get_engine()) as session:
        found = extend_request(
            session=session, request_id=_request_id(request), actor=actor, role=role,
            months=months, reason=reason, now=utcnow(),
        )  # fmt: skip
        _print_request(found, session.get_one(GoldenCustomer, found.customer_id))


@requests_app.command("reject")
@user_errors
def reject_command(
    request: str = typer.Argument(..., help="DSR-12 or 12."),
    reason: str = typer.Option(..., help="Why: the person is told."),
    actor: str = _ACTOR,
    role: str = _ROLE,
) -> None:
    """Refuse a request with a reason."""
    with unit_of_work(get_engine()) as session:
        found = reject_request(
            session=session,
            request_id=_request_id(request),
            actor=actor,
            role=role,
            reason=reason,
            now=utcnow(),
        )
        _print_request(found, session.get_one(GoldenCustomer, found.customer_id))


@requests_app.command("execute")
@user_errors
def execute_command(
    request: str = typer.Argument(..., help="DSR-12 or 12."),
    out: Path | None = typer.Option(
        None, help="Where to write exports (default AMIGO_PRIVACY_EXPORT_DIR)."
    ),
    actor: str = _ACTOR,
    role: str = _ROLE,
    corrections: list[str] | None = typer.Option(
        None,
        "--set",
        help="A rectification's corrected value, field=value (repeat; field= removes it).",
    ),
) -> None:
    """Carry out an approved request: access report, portability archive, restriction,
    objection, erasure, rectification (with --set)."""
    changes = _corrections(corrections or [])
    with unit_of_work(get_engine()) as session:
        found = execute_request(
            session=session, request_id=_request_id(request), actor=actor, role=role,
            now=utcnow(), settings=get_settings().privacy, out_dir=out, changes=changes,
        )  # fmt: skip
        _print_request(found, session.get_one(GoldenCustomer, found.customer_id))


def _corrections(pairs: list[str]) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field.strip():
            raise InvalidInputError(f"--set {pair!r}: write field=value, e.g. --set city=Lyon")
        changes[field.strip()] = value or None
    return changes


@requests_app.command("close")
@user_errors
def close_command(
    request: str = typer.Argument(..., help="DSR-12 or 12."),
    note: str | None = typer.Option(None, help="How the answer reached the person."),
    actor: str = _ACTOR,
    role: str = _ROLE,
) -> None:
    """Close an executed request once the person has the answer."""
    with unit_of_work(get_engine()) as session:
        found = close_request(
            session=session,
            request_id=_request_id(request),
            actor=actor,
            role=role,
            now=utcnow(),
            note=note,
        )
        _print_request(found, session.get_one(GoldenCustomer, found.customer_id))


@app.command("retention")
@user_errors
def retention_command(
    apply: bool = typer.Option(
        False, "--apply", help="Anonymize the profiles listed (default: a dry run that lists them)."
    ),
    years: float | None = typer.Option(
        None, help="Retention period in years (default AMIGO_PRIVACY_RETENTION_YEARS, 3)."
    ),
    show: int = typer.Option(20, min=0, help="How many of the profiles to list."),
    actor: str = typer.Option("process:retention", "--actor", help="Who runs it, for the record."),
) -> None:
    """List prospects and customers silent for 3 years (CNIL); --apply anonymizes them."""
    settings = get_settings().privacy
    period = years if years is not None else settings.retention_years
    if period <= 0:
        raise InvalidInputError(f"--years must be positive, got {period}")
    now = utcnow()
    engine = get_engine()
    with unit_of_work(engine) as session:
        expired = list(find_expired(session=session, now=now, years=period))
    kinds = Counter(e.kind for e in expired)
    console.print(
        f"{len(expired):,} profiles past {period:g} years without purchase or contact "
        f"(last activity before {cutoff(now, period):%Y-%m-%d}): "
        f"{kinds['prospect']:,} prospects, {kinds['customer']:,} customers."
    )
    if expired and show:
        table = Table("customer", "kind", "last activity", "what it was")
        for item in expired[:show]:
            table.add_row(item.external_id, item.kind, _when(item.last_activity), item.because)
        console.print(table)
    if not apply:
        if expired:
            console.print("Dry run: nothing changed. Run with --apply to anonymize them.")
        return
    with counted_progress() as progress:
        task = progress.add_task("Anonymizing", total=len(expired))
        done = anonymize_expired(
            session_factory=lambda: unit_of_work(engine),
            expired=expired,
            actor=actor,
            now=now,
            secret=suppression_secret(settings),
            on_progress=lambda n: progress.advance(task, n),
        )
    console.print(
        f"{done:,} profiles anonymized (reference retention-{now:%Y-%m-%d}); their orders are "
        "kept without them. Each emitted customer.erased for the connected systems."
    )


@app.command("anonymized-copy")
@user_errors
def anonymized_copy_command(
    to: str = typer.Option(
        ..., "--to", help="URL of a new or empty database (sqlite:///test.db, postgresql://...)."
    ),
    keys_dir: Path = typer.Option(
        Path("anonymized-copy-keys"),
        "--keys-dir",
        help="Where the test environment's own encryption keys are (created on first use): "
        "the copy is encrypted under them, never under the repository's.",
    ),
) -> None:
    """Write an anonymized copy of the repository for a test environment."""
    source = get_engine()
    target_crypto = copy_keys(keys_dir)
    target = make_engine(normalize_url(to))
    try:
        with counted_progress() as progress:
            task = progress.add_task("Copying", total=None)

            def next_table(name: str, rows: int) -> None:
                progress.reset(task, total=rows, description=f"{name:<26}")

            copied = copy_anonymized(
                source=source,
                target=target,
                target_crypto=target_crypto,
                on_table=next_table,
                on_rows=lambda n: progress.advance(task, n),
            )
    finally:
        target.dispose()
    console.print(
        f"{sum(copied.values()):,} rows in {len(copied)} tables copied to "
        f"{target.url.render_as_string(hide_password=True)}: names, emails, phones, streets "
        "and IPs pseudonymized, birth dates shifted, free text dropped (docs/privacy.md). "
        f"It is encrypted under the keys in {keys_dir}/: give the test environment "
        f"AMIGO_ENCRYPTION_KEY_FILE={keys_dir}/amigo-encryption.key and "
        f"AMIGO_ENCRYPTION_INDEX_KEY_FILE={keys_dir}/amigo-index.key."
    )
