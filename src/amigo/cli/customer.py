"""`amigo customer show`: the Client 360 from the command line."""

from __future__ import annotations

import json

import typer
from rich.panel import Panel
from rich.table import Table

from amigo.cli.common import console, get_engine, user_errors
from amigo.core.db import unit_of_work
from amigo.core.errors import NotFoundError
from amigo.profiles.schemas import Client360
from amigo.profiles.service import client_360, find_customers
from amigo.profiles.survivorship import ADDRESS_FIELDS

app = typer.Typer(help="Look up golden customer profiles.", no_args_is_help=True)


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency}"


def _print_360(view: Client360) -> None:
    profile = view.profile
    name = " ".join(p for p in (profile.first_name, profile.last_name) if p) or "(no name)"
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    address = ", ".join(
        p
        for p in (
            profile.address_line1,
            profile.address_line2,
            " ".join(x for x in (profile.postal_code, profile.city) if x),
            profile.region,
            profile.country,
        )
        if p
    )
    for label, value, lineage_key in (
        ("email", profile.email, "email"),
        ("phone", profile.phone, "phone"),
        ("birth date", profile.birth_date, "birth_date"),
        ("language", profile.preferred_language, "preferred_language"),
        ("preferred store", profile.preferred_store_id, "preferred_store_id"),
        ("address", address, "address"),
        ("origin", profile.origin, "origin"),
        ("tier", profile.tier, "tier"),
    ):
        source = profile.lineage.get(lineage_key)
        origin = f"  [dim]← {source['source']}:{source['source_id']}[/]" if source else ""
        if lineage_key == "address":  # a corrected part of the address says so
            origin += "".join(
                f"[dim]; {part} ← manual:{profile.lineage[part]['source_id']}[/]"
                for part in ADDRESS_FIELDS
                if profile.lineage.get(part, {}).get("source") == "manual"
            )
        facts.add_row(label, f"{value if value not in (None, '') else '—'}{origin}")
    ltv = ", ".join(_money(c, cur) for cur, c in view.lifetime_value_cents.items()) or "—"
    facts.add_row("orders", f"{view.order_count} (lifetime value {ltv})")
    facts.add_row("interactions", str(view.interaction_count))
    facts.add_row(
        "consent",
        "  ".join(
            f"{c.purpose} [{'green' if c.allows_contact else 'red'}]{c.status}[/]"
            for c in view.consent_states
        ),
    )
    console.print(
        Panel(
            facts,
            title=f"{name}  [dim]{profile.external_id} · id {profile.id} · {profile.status}[/]",
        )
    )
    _print_sources(view)
    _print_orders(view)
    _print_consents(view)
    _print_interactions(view)
    _print_links(view)


def _print_sources(view: Client360) -> None:
    sources = Table(title="Source records", title_justify="left")
    for column in ("system", "source id", "received", "status"):
        sources.add_column(column)
    for record in view.sources:
        sources.add_row(
            record.source_system,
            record.source_id,
            record.received_at.isoformat(timespec="seconds"),
            record.status,
        )
    console.print(sources)


def _print_orders(view: Client360) -> None:
    if view.orders:
        orders = Table(
            title=f"Latest orders ({len(view.orders)} of {view.order_count})", title_justify="left"
        )
        for column in ("date (UTC)", "order", "channel", "store", "total", "status", "lines"):
            orders.add_column(column)
        for order in view.orders:
            orders.add_row(
                order.ordered_at.strftime("%Y-%m-%d %H:%M"),
                f"{order.source_system}:{order.source_order_id}",
                order.channel,
                order.store_id or "",
                _money(order.total_cents, order.currency),
                order.status,
                "; ".join(f"{line.quantity}× {line.label or line.sku}" for line in order.lines),
            )
        console.print(orders)


def _print_consents(view: Client360) -> None:
    if view.consents:
        consents = Table(title="Consents as stated by each source", title_justify="left")
        for column in ("purpose", "value", "level", "stated", "source", "proof"):
            consents.add_column(column)
        for consent in view.consents:
            consents.add_row(
                consent.purpose,
                consent.raw_value or "",
                consent.opt_in_level or "",
                consent.stated_at.strftime("%Y-%m-%d") if consent.stated_at else "",
                f"{consent.source_system}:{consent.source_id}",
                json.dumps(consent.proof, ensure_ascii=False),
            )
        console.print(consents)


def _print_interactions(view: Client360) -> None:
    if view.interactions:
        interactions = Table(
            title=f"Latest interactions ({len(view.interactions)} of {view.interaction_count})",
            title_justify="left",
        )
        for column in ("when (UTC)", "type", "channel", "campaign", "text"):
            interactions.add_column(column)
        for item in view.interactions:
            interactions.add_row(
                item.occurred_at.strftime("%Y-%m-%d %H:%M"),
                item.type,
                item.channel,
                item.campaign or "",
                item.text or "",
            )
        console.print(interactions)


def _print_links(view: Client360) -> None:
    links = Table(title="Stores and associates", title_justify="left")
    for column in ("kind", "who / where", "since"):
        links.add_column(column)
    for store in view.stores:
        links.add_row(
            f"store ({store.relation})",
            f"{store.store_id} {store.store_name}",
            store.since.strftime("%Y-%m-%d") if store.since else "",
        )
    for associate in view.associates:
        links.add_row(
            "associate",
            f"{associate.associate_id} {associate.name} ({associate.store_id or '-'})",
            associate.assigned_since.strftime("%Y-%m-%d") if associate.assigned_since else "",
        )
    console.print(links)


@app.command("show")
@user_errors
def show_command(
    reference: str = typer.Argument(
        ...,
        help="Golden id, AMI- id, source:id (cegid:PAR01000001, shopify:123), email or phone.",
    ),
    orders: int = typer.Option(10, min=0, max=1000, help="How many recent orders to list."),
    interactions: int = typer.Option(10, min=0, max=1000, help="How many recent interactions."),
) -> None:
    """Print a customer's golden profile, source records, orders, consents and links."""
    with unit_of_work(get_engine()) as session:
        found = find_customers(session=session, reference=reference)
        if not found:
            raise NotFoundError(f"no customer matches {reference!r}")
        for customer in {c.id: c for c in found}.values():
            _print_360(
                client_360(
                    session=session,
                    customer_id=customer.id,
                    recent_orders=orders,
                    recent_interactions=interactions,
                )
            )
