"""Everything AMIgo holds on a person (article 15), and its portable form (article 20).

``access_data`` gathers it as JSON-ready data; ``write_access_report`` writes
it as JSON and as a readable HTML page; ``write_portability_archive`` writes a
zip of schema.org JSON-LD (``Person``, ``Order``) and CSV files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from amigo.consent.service import consent_history, current_consents, held_profiles, holder_of
from amigo.identity.models import IdentityLink, MergeEvent
from amigo.ingest.models import Reject, SourceRecord
from amigo.privacy.models import SubjectRequest, SubjectRequestStep
from amigo.profiles.models import (
    CustomerAssociate,
    CustomerStore,
    GoldenCustomer,
    Interaction,
    Order,
    OrderLine,
    Payment,
)

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
_PROFILE_FIELDS = (
    "external_id", "first_name", "last_name", "email", "phone", "birth_date",
    "preferred_language", "preferred_store_id", "address_line1", "address_line2",
    "postal_code", "city", "region", "country", "tier", "origin", "status",
    "created_at", "updated_at",
)  # fmt: skip
_ORDER_FIELDS = (
    "source_system", "source_order_id", "channel", "store_id", "ordered_at", "currency",
    "total_cents", "status",
)  # fmt: skip
_LINE_FIELDS = ("line_number", "sku", "label", "quantity", "unit_price_cents", "discount_cents")
_PAYMENT_FIELDS = ("payment_number", "method", "amount_cents", "status", "paid_at")
_INTERACTION_FIELDS = ("source_system", "type", "channel", "occurred_at", "campaign", "text")


def _plain(value: Any) -> Any:
    """Return a value JSON can hold (dates as ISO 8601, enums as their value)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, int | float | str):
        return value.value
    return value


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: _plain(getattr(obj, f)) for f in fields}


def access_data(*, session: Session, customer_id: int) -> dict[str, Any]:
    """Return everything held on the person whose profile this is, merged records included."""
    holder = session.get_one(GoldenCustomer, holder_of(session=session, customer_id=customer_id))
    held = held_profiles(session=session, customer_id=holder.id)
    links = list(session.scalars(select(IdentityLink).where(IdentityLink.customer_id == holder.id)))
    keys = [(link.source_system, link.source_id) for link in links]
    records = [
        r
        for system, source_id in keys
        for r in session.scalars(
            select(SourceRecord)
            .where(SourceRecord.source_system == system, SourceRecord.source_id == source_id)
            .order_by(SourceRecord.received_at, SourceRecord.id)
        )
    ]
    rejects = [
        r
        for system, source_id in keys
        for r in session.scalars(
            select(Reject).where(Reject.source_system == system, Reject.source_id == source_id)
        )
    ]
    orders = list(
        session.scalars(
            select(Order).where(Order.customer_id == holder.id).order_by(Order.ordered_at, Order.id)
        )
    )
    order_ids = [o.id for o in orders]
    lines = (
        list(session.scalars(select(OrderLine).where(OrderLine.order_id.in_(order_ids))))
        if orders
        else []
    )
    payments = (
        list(session.scalars(select(Payment).where(Payment.order_id.in_(order_ids))))
        if orders
        else []
    )
    interactions = session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == holder.id)
        .order_by(Interaction.occurred_at, Interaction.id)
    )
    merges = session.scalars(
        select(MergeEvent)
        .where(or_(MergeEvent.survivor_id.in_(held), MergeEvent.merged_id.in_(held)))
        .order_by(MergeEvent.id)
    )
    requests = list(
        session.scalars(select(SubjectRequest).where(SubjectRequest.customer_id.in_(held)))
    )
    steps = (
        list(
            session.scalars(
                select(SubjectRequestStep)
                .where(SubjectRequestStep.request_id.in_([r.id for r in requests]))
                .order_by(SubjectRequestStep.id)
            )
        )
        if requests
        else []
    )
    return {
        "generated_for": holder.external_id,
        "profile": {**_row(holder, _PROFILE_FIELDS), "lineage": holder.lineage},
        "merged_profiles": [
            p.external_id
            for p in session.scalars(select(GoldenCustomer).where(GoldenCustomer.id.in_(held)))
            if p.id != holder.id
        ],
        "source_records": [
            {
                "system": r.source_system.value,
                "entity": r.entity,
                "source_id": r.source_id,
                "received_at": _plain(r.received_at),
                "payload": r.payload,
            }
            for r in records
        ],
        "rejected_records": [
            {
                "system": r.source_system.value,
                "source_id": r.source_id,
                "reason": r.reason_code,
                "message": r.message,
                "raw": r.raw_payload,
            }
            for r in rejects
        ],
        "orders": [
            {
                **_row(o, _ORDER_FIELDS),
                "lines": [
                    _row(li, _LINE_FIELDS)
                    for li in sorted(lines, key=lambda li: li.line_number)
                    if li.order_id == o.id
                ],
                "payments": [_row(p, _PAYMENT_FIELDS) for p in payments if p.order_id == o.id],
            }
            for o in orders
        ],
        "interactions": [_row(i, _INTERACTION_FIELDS) for i in interactions],
        "consents": {
            "current": [
                c.model_dump(mode="json")
                for c in current_consents(session=session, customer_id=holder.id).values()
            ],
            "history": [
                e.model_dump(mode="json")
                for e in consent_history(session=session, customer_id=holder.id)
            ],
        },
        "stores": [
            _row(s, ("store_id", "relation", "since"))
            for s in session.scalars(
                select(CustomerStore).where(CustomerStore.customer_id == holder.id)
            )
        ],
        "associates": [
            _row(a, ("associate_id", "assigned_since"))
            for a in session.scalars(
                select(CustomerAssociate).where(CustomerAssociate.customer_id == holder.id)
            )
        ],
        "merges": [
            {
                "merge_event": m.id,
                "rule": m.rule,
                "probability": m.probability,
                "actor": m.actor,
                "merged_at": _plain(m.merged_at),
                "unmerged_at": _plain(m.unmerged_at),
            }
            for m in merges
        ],
        "subject_requests": [
            {
                "request": f"DSR-{r.id}",
                "type": r.type.value,
                "status": r.status.value,
                "received_at": _plain(r.received_at),
                "due_at": _plain(r.due_at),
                "steps": [
                    {"step": s.step, "actor": s.actor, "role": s.role, "at": _plain(s.at)}
                    for s in steps
                    if s.request_id == r.id
                ],
            }
            for r in requests
        ],
        # No outbound connector has sent anyone's data yet (the sync issue adds them here).
        "recipients": [],
        "segments": [],
        "scores": [],
    }


def _private_dir(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return out_dir


def _write_private(path: Path, content: bytes) -> None:
    """Write a file readable by its owner only, atomically (no half-written report)."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    temporary.replace(path)


def write_access_report(data: dict[str, Any], out_dir: Path, name: str) -> list[Path]:
    """Write the data as ``name.json`` and as a readable ``name.html``; return both paths."""
    directory = _private_dir(out_dir)
    as_json = directory / f"{name}.json"
    as_html = directory / f"{name}.html"
    _write_private(as_json, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode())
    html = _templates.get_template("access_report.html").render(data=data, name=name)
    _write_private(as_html, html.encode())
    return [as_json, as_html]


def schema_org_person(data: dict[str, Any]) -> dict[str, Any]:
    """Return the profile as a schema.org ``Person`` (JSON-LD)."""
    p = data["profile"]
    street = ", ".join(x for x in (p["address_line1"], p["address_line2"]) if x) or None
    person = {
        "@context": "https://schema.org",
        "@type": "Person",
        "identifier": p["external_id"],
        "givenName": p["first_name"],
        "familyName": p["last_name"],
        "email": p["email"],
        "telephone": p["phone"],
        "birthDate": p["birth_date"],
        "knowsLanguage": p["preferred_language"],
        "address": {
            k: v
            for k, v in {
                "@type": "PostalAddress",
                "streetAddress": street,
                "postalCode": p["postal_code"],
                "addressLocality": p["city"],
                "addressRegion": p["region"],
                "addressCountry": p["country"],
            }.items()
            if v is not None
        },
    }
    return {k: v for k, v in person.items() if v is not None}


def schema_org_orders(data: dict[str, Any]) -> dict[str, Any]:
    """Return the orders as schema.org ``Order`` items (JSON-LD graph)."""
    return {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "Order",
                "orderNumber": f"{o['source_system']}:{o['source_order_id']}",
                "orderDate": o["ordered_at"],
                "orderStatus": o["status"],
                "seller": {"@type": "Store", "identifier": o["store_id"]}
                if o["store_id"]
                else None,
                "totalPaymentDue": {
                    "@type": "PriceSpecification",
                    "price": o["total_cents"] / 100,
                    "priceCurrency": o["currency"],
                },
                "orderedItem": [
                    {
                        "@type": "OrderItem",
                        "orderQuantity": line["quantity"],
                        "orderedItem": {
                            "@type": "Product",
                            "sku": line["sku"],
                            "name": line["label"],
                        },
                    }
                    for line in o["lines"]
                ],
            }
            for o in data["orders"]
        ],
    }


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                    for k, v in row.items()
                }
            )
    return buffer.getvalue().encode("utf-8")


def write_portability_archive(data: dict[str, Any], out_dir: Path, name: str) -> Path:
    """Write ``name.zip``: schema.org JSON-LD of the person and orders, and CSV tables."""
    members = {
        "person.jsonld": json.dumps(schema_org_person(data), ensure_ascii=False, indent=2).encode(),
        "orders.jsonld": json.dumps(schema_org_orders(data), ensure_ascii=False, indent=2).encode(),
        "profile.csv": _csv(
            [{"field": k, "value": v} for k, v in data["profile"].items() if k != "lineage"]
        ),
        "orders.csv": _csv(
            [{k: v for k, v in o.items() if k not in ("lines", "payments")} for o in data["orders"]]
        ),
        "order_lines.csv": _csv(
            [
                {"order": f"{o['source_system']}:{o['source_order_id']}", **line}
                for o in data["orders"]
                for line in o["lines"]
            ]
        ),
        "consents.csv": _csv(data["consents"]["history"]),
        "interactions.csv": _csv(data["interactions"]),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    path = _private_dir(out_dir) / f"{name}.zip"
    _write_private(path, buffer.getvalue())
    return path
