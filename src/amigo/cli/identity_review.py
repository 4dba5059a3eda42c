"""`amigo identity review`: the pairs resolution was not sure about, for a person to decide."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from amigo.cli.common import console, get_engine, user_errors
from amigo.core.db import unit_of_work
from amigo.identity.guards import describe
from amigo.identity.models import MatchReview
from amigo.identity.service import (
    ReviewSide,
    accept_review,
    get_review,
    pending_review_count,
    pending_reviews,
    reject_review,
    review_sides,
)

app = typer.Typer(
    help="The review queue: pairs that may be one person. Without a subcommand: list them.",
    invoke_without_command=True,
)

_FIELDS = (
    ("first name", "first_name"),
    ("last name", "last_name"),
    ("e-mail", "email"),
    ("phone", "phone"),
    ("birth date", "birth_date"),
    ("street", "address_line1"),
    ("postal code", "postal_code"),
    ("city", "city"),
    ("country", "country"),
    ("store", "preferred_store_id"),
)


def _reasons(review: MatchReview) -> str:
    codes = [code for code in review.reasons if code != "below_auto_threshold"]
    words = ["below the auto-merge threshold"] if "below_auto_threshold" in review.reasons else []
    if "support" in codes:
        words.append("the two profiles' other records do not look alike")
        codes.remove("support")
    if codes:
        words.append(describe(codes))
    return "; ".join(words)


@app.callback()
@user_errors
def list_command(
    ctx: typer.Context,
    limit: int = typer.Option(20, min=1, max=1000, help="How many to list."),
    offset: int = typer.Option(0, min=0, help="How many to skip."),
) -> None:
    """List pending pairs, most likely matches first."""
    if ctx.invoked_subcommand is not None:
        return
    with unit_of_work(get_engine()) as session:
        total = pending_review_count(session=session)
        items = pending_reviews(session=session, limit=limit, offset=offset)
        table = Table(title=f"Review queue: {total:,} pending pair{'' if total == 1 else 's'}")
        for column in ("id", "probability", "left", "right", "why not merged"):
            table.add_column(column, justify="right" if column == "probability" else "left")
        for item in items:
            left, right = review_sides(session=session, review=item)
            table.add_row(
                str(item.id),
                f"{item.probability:.3f}",
                _who(left),
                _who(right),
                _reasons(item),
            )
    if not total:
        console.print("The review queue is empty.")
        return
    console.print(table)
    console.print(
        "See one with [bold]amigo identity review show ID[/]; decide with "
        "[bold]accept ID --reason ...[/] or [bold]reject ID --reason ...[/]."
    )


def _who(side: ReviewSide) -> str:
    link = side.link
    name = " ".join(p for p in (link.first_name, link.last_name) if p) or "(no name)"
    return f"{name} [dim]{link.source_system}:{link.source_id} → {side.profile.id}[/]"


def _value(link: Any, field: str) -> str:
    value = getattr(link, field)
    return "—" if value in (None, "") else str(value)


@app.command("show")
@user_errors
def show_command(review_id: int = typer.Argument(..., help="Review item id.")) -> None:
    """Compare a pair field by field, with the model's verdict on each comparison."""
    with unit_of_work(get_engine()) as session:
        review = get_review(session=session, review_id=review_id)
        left, right = review_sides(session=session, review=review)
        table = Table(
            title=f"Review {review.id} ({review.status}): match probability "
            f"{review.probability:.3f}, weight {review.match_weight:+.1f} bits"
        )
        table.add_column("field")
        table.add_column(f"{left.link.source_system}:{left.link.source_id}")
        table.add_column(f"{right.link.source_system}:{right.link.source_id}")
        for label, field in _FIELDS:
            a, b = _value(left.link, field), _value(right.link, field)
            style = "green" if a == b and a != "—" else ("red" if "—" not in (a, b) else None)
            table.add_row(label, a, b, style=style)
        table.add_row("profile", str(left.profile.id), str(right.profile.id), style="dim")
        console.print(table)
        console.print(f"Candidate by: {review.rule}. Not merged because: {_reasons(review)}.")
        for comparison, level in review.comparison.items():
            console.print(f"  {comparison}: {level}")


@app.command("accept")
@user_errors
def accept_command(
    review_id: int = typer.Argument(..., help="Review item id."),
    reason: str = typer.Option(..., "--reason", help="Why they are one person."),
    actor: str = typer.Option("cli", "--actor", help="Who decides (recorded in the audit)."),
) -> None:
    """Decide the pair is one person: their profiles merge (audited, reversible)."""
    with unit_of_work(get_engine()) as session:
        event_id = accept_review(session=session, review_id=review_id, actor=actor, reason=reason)
    console.print(f"Review {review_id} accepted: profiles merged (merge event {event_id}).")


@app.command("reject")
@user_errors
def reject_command(
    review_id: int = typer.Argument(..., help="Review item id."),
    reason: str = typer.Option(..., "--reason", help="Why they are two people."),
    actor: str = typer.Option("cli", "--actor", help="Who decides (recorded in the audit)."),
) -> None:
    """Decide the pair is two people: later resolutions keep them apart."""
    with unit_of_work(get_engine()) as session:
        decision = reject_review(session=session, review_id=review_id, actor=actor, reason=reason)
    console.print(
        f"Review {review_id} rejected: recorded as not the same person (decision {decision})."
    )
