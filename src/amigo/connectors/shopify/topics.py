"""What each webhook topic does, through the load's own path (``ingest.service.write_batch``).

Customer and order bodies have the shape of the bulk export's rows: they are
stored, screened, mapped, rejected or written exactly as ``amigo load``
does, so a webhook and an export of the same version are one record.
Consent updates, deletions and refunds exist only as webhooks: each is a
record of its own (the body in an envelope with the topic and
``X-Shopify-Triggered-At``), with its own mapper and writer.

Webhooks come out of order and twice. A customer or order body whose
``updated_at`` is older than the version applied is kept raw, rejected as
``stale_version``, and changes nothing; the same version again is unchanged.
On PostgreSQL a transaction-scoped advisory lock per resource serializes two
processors working on one customer or order; on SQLite the processor holds
the database's only write lock from its claim on.

Compliance topics become subject requests for the DPO (``customers/redact``
an erasure, ``customers/data_request`` an access); ``shop/redact`` names no
person and is announced for the DPO to decide.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from amigo.connectors.shopify import mapping
from amigo.consent.service import project_consents
from amigo.core.config import Settings
from amigo.core.db import table_of
from amigo.core.errors import InvalidInputError
from amigo.events.service import DomainEvent
from amigo.identity.service import close_source_customer, resolve_new_records
from amigo.ingest import writers
from amigo.ingest.catalog import ExportFile
from amigo.ingest.facts import MappingResult
from amigo.ingest.models import RecordStatus, SourceRecord, SourceSystem
from amigo.ingest.prepare import mapping_context
from amigo.ingest.service import (
    BatchResult,
    FileStats,
    applied_payloads,
    export_file,
    prepare_payloads,
    write_batch,
)
from amigo.privacy.models import SuppressionKind
from amigo.privacy.service import DuplicateRequestError, create_request, reference
from amigo.privacy.suppression import SuppressionList
from amigo.profiles.service import (
    LinkedProfile,
    Located,
    linked_profile,
    locate_customers,
    order_states,
    source_payments,
)
from amigo.quality.dates import parse_timestamp
from amigo.quality.emails import email_match_key, normalize_email
from amigo.quality.issues import ValidationIssue
from amigo.quality.phones import normalize_phone

log = logging.getLogger(__name__)
SYSTEM = mapping.SOURCE
CAUSE = "shopify_webhook"
ACTOR = "process:shopify-webhook"
records = table_of(SourceRecord)

CUSTOMER_FILE = export_file("shopify/customers.jsonl")
ORDER_FILE = export_file("shopify/orders.jsonl")
# Webhook-only records: phase and kind do not apply (they are never in an export).
CONSENT_UPDATES = ExportFile(
    "shopify/webhooks/consent",
    SourceSystem.SHOPIFY,
    0,
    "jsonl",
    mapping.CONSENT_UPDATES,
    writers.write_consent_statements,
)
CUSTOMER_DELETIONS = ExportFile(
    "shopify/webhooks/customer_deletion",
    SourceSystem.SHOPIFY,
    0,
    "jsonl",
    mapping.CUSTOMER_DELETIONS,
    writers.write_nothing,
)
REFUNDS = ExportFile(
    "shopify/webhooks/refund",
    SourceSystem.SHOPIFY,
    0,
    "jsonl",
    mapping.REFUNDS,
    writers.write_refunds,
)


@dataclass(frozen=True)
class Handled:
    """What processing a delivery did, in ids and counts (never a person's values)."""

    outcome: str
    # Set when what the delivery needs is not there yet (its customer, its order): the
    # delivery is tried again later, its raw record and reject kept meanwhile.
    retry: str | None = None
    # Compliance requests keep their body (the request as Shopify made it); other
    # bodies are dropped once processed: their record holds them.
    keep_body: bool = False


@dataclass
class Context:
    """One delivery being processed, in its transaction."""

    session: Session
    webhook_id: str
    topic: str
    shop_domain: str
    triggered_at: datetime | None
    received_at: datetime
    payload: dict[str, Any]
    settings: Settings
    suppression: SuppressionList | None
    now: datetime
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def origin(self) -> str:
        """Return how rejects name where their record came from."""
        return f"shopify webhook {self.webhook_id} ({self.topic})"

    @property
    def event_details(self) -> dict[str, Any]:
        """Return what names the delivery in its events' data, beside their ``cause``."""
        return {"webhook": self.webhook_id, "topic": self.topic}

    def announce(self, type_: str, subject: str | None, **data: Any) -> None:
        """Queue a domain event; the processor writes them with the delivery's state.

        Profiles and orders written are announced by the load's path (``ingest.events``),
        in ``write_batch``: only what that path does not write is announced here.
        """
        self.events.append(
            DomainEvent(
                type=type_, subject=subject, data={**data, "cause": CAUSE, **self.event_details}
            )
        )


def _lock(ctx: Context, kind: str, source_id: str) -> None:
    """Serialize the processing of one resource across processors (PostgreSQL)."""
    connection = ctx.session.connection()
    if connection.dialect.name != "postgresql":
        return  # SQLite: the claim already holds the only write lock
    digest = hashlib.sha256(f"shopify:{kind}:{source_id}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _ingest(
    ctx: Context, spec: ExportFile, payload: dict[str, Any], *, stale: ValidationIssue | None = None
) -> tuple[BatchResult, FileStats]:
    """Store and write one record through the load's path; ``stale`` rejects it as such."""
    connection = ctx.session.connection()
    rows, prepared = prepare_payloads(connection, spec=spec, payloads=[payload])
    result = prepared[0].result
    if stale is not None and result is not None and result.reject is None:
        prepared[0].result = MappingResult(None, result.issues, reject=stale)
    stats = FileStats(file=spec.path)
    written = write_batch(
        connection,
        spec=spec,
        chunk=rows,
        prepared=prepared,
        stats=stats,
        suppression=ctx.suppression,
        origin=ctx.origin,
        consent_actor=ACTOR,
        event_cause=CAUSE,
        event_details=ctx.event_details,
    )
    return written, stats


def _rejected(kind: str, source_id: str | None, written: BatchResult) -> Handled:
    codes = ", ".join(sorted({code for _sid, code, _message in written.rejects}))
    return Handled(f"{kind} {source_id or '?'} rejected ({codes}): kept raw with the reason")


def _updated_at(payload: dict[str, Any]) -> datetime | None:
    value = payload.get("updated_at")
    return parse_timestamp(value, field="updated_at").value if isinstance(value, str) else None


def _stale(ctx: Context, entity: str, source_id: str) -> ValidationIssue | None:
    """Return why a customer or order body is older than the version applied, if it is."""
    version = _updated_at(ctx.payload) or ctx.triggered_at
    if version is None:
        return None
    applied = applied_payloads(
        ctx.session.connection(), system=SYSTEM, entity=entity, source_ids=[source_id]
    ).get(source_id)
    current = None if applied is None else _updated_at(applied)
    if current is None or version >= current:
        return None
    return ValidationIssue(
        field="updated_at",
        code="stale_version",
        message=f"this version ({version.isoformat()}) is older than the one applied "
        f"({current.isoformat()}): kept raw, not applied",
        value=None,
    )


def _deleted(ctx: Context, source_id: str) -> ValidationIssue | None:
    """Return why a customer deleted in Shopify takes no update any more, if it was deleted."""
    deleted = ctx.session.scalar(
        select(
            exists().where(
                records.c.source_system == SYSTEM,
                records.c.entity == CUSTOMER_DELETIONS.entity,
                records.c.source_id == source_id,
                records.c.status == RecordStatus.PROCESSED.value,
            )
        )
    )
    if not deleted:
        return None
    return ValidationIssue(
        field="record",
        code="deleted_in_source",
        message="the customer was deleted in Shopify: a later-arriving version is not applied",
        value=None,
    )


def _suppressed(ctx: Context, source_id: str) -> bool:
    """Tell whether the Shopify customer was erased (webhook-only records are not screened)."""
    if ctx.suppression is None:
        return False
    digest = ctx.suppression.hash(SuppressionKind.SOURCE, f"{SYSTEM}:{source_id}")
    return bool(ctx.suppression.find(ctx.session.connection(), [digest]))


def _linked(ctx: Context, source_id: str) -> LinkedProfile | None:
    return linked_profile(ctx.session.connection(), SYSTEM, source_id)


def _resolve(ctx: Context, link_id: int | None) -> str:
    """Resolve the record against the repository as a load does, once a model exists."""
    if link_id is None or not ctx.settings.identity.incremental:
        return ""
    outcome = resolve_new_records(
        session=ctx.session,
        link_ids=[link_id],
        actor="incremental resolution (shopify webhook)",
        settings=ctx.settings.identity,
    )
    if outcome is None or not (outcome.merges or outcome.queued):
        return ""
    return f"; identity: {outcome.merges} merged, {outcome.queued} queued for review"


# ---------------------------------------------------------------- customers


def _announced(written: BatchResult, type_: str) -> DomainEvent | None:
    """Return the event of this type the delivery's write emitted (one record: one at most)."""
    return next((event for event in written.events if event.type == type_), None)


def customer_changed(ctx: Context) -> Handled:
    """customers/create and customers/update: a new version of the customer record."""
    source_id = mapping.resource_key(ctx.payload)
    stale = None
    if source_id is not None:
        _lock(ctx, "customer", source_id)
        stale = _deleted(ctx, source_id) or _stale(ctx, "customer", source_id)
    written, stats = _ingest(ctx, CUSTOMER_FILE, ctx.payload, stale=stale)
    if stats.rejected:
        return _rejected("customer", source_id, written)
    if stats.suppressed:
        return Handled(f"customer {source_id}: suppressed, an erased person (nothing stored)")
    if not (stats.inserted or stats.updated) or source_id is None:
        return Handled(f"customer {source_id}: this version is stored already (unchanged)")
    after = _linked(ctx, source_id)
    if after is None:  # pragma: no cover - the writer links every customer it stores
        return Handled(f"customer {source_id}: stored, no active profile")
    if _announced(written, "customer.created") is not None:
        done = f"profile {after.external_id} created"
        # A consent webhook may have come first: its statements, kept by the customer's
        # id, count for the profile from now on (a record without consents projects nothing).
        project_consents(
            ctx.session.connection(), [after.customer_id], now=ctx.now, cause="source_statement"
        )
    else:
        updated = _announced(written, "customer.updated")
        fields = [] if updated is None else updated.data["fields"]
        done = f"profile {after.external_id} updated ({', '.join(fields) or 'no value changed'})"
    resolved = _resolve(ctx, after.link_id)
    return Handled(f"customer {source_id}: {done}{resolved}")


def customer_deleted(ctx: Context) -> Handled:
    """customers/delete: the account is gone from Shopify; the link is closed, nothing erased."""
    envelope = mapping.webhook_envelope(ctx.topic, ctx.triggered_at, ctx.payload)
    source_id = CUSTOMER_DELETIONS.mapper.key(envelope)
    if source_id is not None:
        _lock(ctx, "customer", source_id)
        if _suppressed(ctx, source_id):
            return Handled(f"customer {source_id}: an erased person, nothing stored")
    written, stats = _ingest(ctx, CUSTOMER_DELETIONS, envelope)
    if stats.rejected or source_id is None:
        return _rejected("customer deletion", source_id, written)
    profile = close_source_customer(session=ctx.session, source_system=SYSTEM, source_id=source_id)
    if profile is None:
        return Handled(f"customer {source_id}: deleted in Shopify, no link to close")
    linked = _linked(ctx, source_id)
    external_id = linked.external_id if linked is not None else None
    if stats.inserted or stats.updated:
        ctx.announce(
            "customer.source_closed",
            external_id,
            customer=external_id,
            source={"system": SYSTEM, "id": source_id},
        )
    return Handled(f"customer {source_id}: link closed on profile {external_id} (not erased)")


def consent_updated(ctx: Context) -> Handled:
    """The email or SMS marketing consent webhooks: statements appended to the ledger."""
    envelope = mapping.webhook_envelope(ctx.topic, ctx.triggered_at, ctx.payload)
    source_id = CONSENT_UPDATES.mapper.key(envelope)
    if source_id is not None:
        _lock(ctx, "customer", source_id)
        if _suppressed(ctx, source_id):
            return Handled(f"customer {source_id}: an erased person, nothing stored")
    written, stats = _ingest(ctx, CONSENT_UPDATES, envelope)
    if stats.rejected:
        return _rejected("consent of customer", source_id, written)
    if not (stats.inserted or stats.updated):
        return Handled(f"consent of customer {source_id}: stored already (unchanged)")
    return Handled(
        f"consent of customer {source_id}: {written.raw_consents} statement(s) recorded, "
        f"{written.consent_changes} effective state(s) changed"
    )


# ---------------------------------------------------------------- orders


def order_changed(ctx: Context) -> Handled:
    """orders/create, updated, paid, cancelled: a new version of the order."""
    source_id = mapping.resource_key(ctx.payload)
    stale = None
    if source_id is not None:
        _lock(ctx, "order", source_id)
        stale = _stale(ctx, "order", source_id)
    written, stats = _ingest(ctx, ORDER_FILE, ctx.payload, stale=stale)
    if stats.rejected:
        handled = _rejected("order", source_id, written)
        if any(code == "unknown_customer" for _sid, code, _message in written.rejects):
            # Its customer's own webhook may not have arrived yet: try again later.
            return Handled(handled.outcome, retry="its customer is not in the repository yet")
        return handled
    if not (stats.inserted or stats.updated) or source_id is None:
        return Handled(f"order {source_id}: this version is stored already (unchanged)")
    scrubbed = " (its buyer was erased: stored without them)" if stats.suppressed else ""
    created = _announced(written, "order.created")
    if created is not None:
        return Handled(f"order {source_id}: created ({created.data['status']}){scrubbed}")
    updated = _announced(written, "order.updated")
    fields = [] if updated is None else updated.data["fields"]
    changed = ", ".join(fields) or "no value changed"
    return Handled(f"order {source_id}: updated ({changed}){scrubbed}")


def refund_created(ctx: Context) -> Handled:
    """refunds/create: its successful transactions become negative payments of its order.

    The order's status stays what its own webhook says (``orders/updated``
    brings ``refunded`` or ``partially_refunded``); the refund is announced
    once, when first written.
    """
    envelope = mapping.webhook_envelope(ctx.topic, ctx.triggered_at, ctx.payload)
    order_id = mapping.shopify_id(ctx.payload.get("order_id"))
    if order_id is not None:
        _lock(ctx, "order", order_id)
    written, stats = _ingest(ctx, REFUNDS, envelope)
    refund_id = REFUNDS.mapper.key(envelope)
    if stats.rejected:
        handled = _rejected("refund", refund_id, written)
        if any(code == "unknown_order" for _sid, code, _message in written.rejects):
            return Handled(handled.outcome, retry="its order is not in the repository yet")
        return handled
    if not (stats.inserted or stats.updated) or order_id is None:
        return Handled(f"refund {refund_id}: stored already (unchanged)")
    facts = mapping.map_refund(envelope, mapping_context({})).facts
    state = order_states(ctx.session.connection(), SYSTEM, [order_id])[order_id]
    ids = [money.transaction_id for money in facts.transactions] if facts else []
    held = f"{source_payments(ctx.session.connection(), state.id, ids)} refund payment(s)"
    if stats.updated:  # the same refund delivered again (another X-Shopify-Triggered-At)
        return Handled(f"refund {refund_id} of order {order_id}: written once already ({held})")
    ctx.announce(
        "order.refunded",
        state.external_id,
        order=f"{SYSTEM}:{order_id}",
        customer=state.external_id,
        refund=refund_id,
        amount_cents=facts.amount_cents if facts else None,
        currency=facts.currency if facts else None,
    )
    return Handled(f"refund {refund_id} of order {order_id}: recorded ({held} on the order)")


# ---------------------------------------------------------------- compliance


_REQUEST_TYPES = {"customers/redact": "erasure", "customers/data_request": "access"}


def _requester(ctx: Context) -> tuple[str | None, Located | None]:
    """Return the Shopify customer id a compliance request names and the profile holding it."""
    customer = ctx.payload.get("customer")
    customer = customer if isinstance(customer, dict) else {}
    source_id = mapping.shopify_id(customer.get("id"))
    email = customer.get("email")
    phone = customer.get("phone")
    email_key = None
    if isinstance(email, str):
        normalized = normalize_email(email).value
        email_key = None if normalized is None else email_match_key(normalized)
    e164 = normalize_phone(phone, region_hint=None).value if isinstance(phone, str) else None
    lookup = locate_customers(
        ctx.session.connection(),
        source_keys=[(SYSTEM, source_id)] if source_id else [],
        email_keys=[email_key] if email_key else [],
        phones=[e164] if e164 else [],
    )
    located = (
        (lookup.by_source.get((SYSTEM, source_id)) if source_id else None)
        or (lookup.by_email_key.get(email_key) if email_key else None)
        or (lookup.by_phone.get(e164) if e164 else None)
    )
    return source_id, located


def _ids(value: Any) -> list[str]:
    return (
        [i for item in value if (i := mapping.shopify_id(item))] if isinstance(value, list) else []
    )


def subject_request(ctx: Context) -> Handled:
    """customers/redact and customers/data_request: a subject request the DPO handles."""
    kind = _REQUEST_TYPES[ctx.topic]
    source_id, located = _requester(ctx)
    who = f"Shopify customer {source_id or '(no id)'}"
    if located is None:
        return Handled(
            f"{kind} request for {who}: no profile holds them, nothing filed", keep_body=True
        )
    orders = _ids(ctx.payload.get("orders_to_redact") or ctx.payload.get("orders_requested"))
    data_request = ctx.payload.get("data_request")
    request_id = (
        mapping.shopify_id(data_request.get("id")) if isinstance(data_request, dict) else None
    )
    details = (
        f"Shopify {ctx.topic} from {ctx.shop_domain} (webhook {ctx.webhook_id}) for {who}"
        + (f", data request {request_id}" if request_id else "")
        + (f"; orders: {', '.join(orders[:50])}" if orders else "")
    )
    received = min(ctx.triggered_at or ctx.received_at, ctx.now)
    try:
        request = create_request(
            session=ctx.session,
            customer_id=located.customer_id,
            type=kind,
            channel="shopify",
            actor=f"shopify:{ctx.shop_domain}"[:100],
            role="integration",
            now=ctx.now,
            received_at=received,
            details=details,
        )
    except DuplicateRequestError as error:
        open_one = (error.details or {}).get("request", "an open request")
        return Handled(f"{kind} request for {who}: {open_one} is open already", keep_body=True)
    except InvalidInputError as error:
        if error.code != "erased":
            raise
        return Handled(f"{kind} request for {who}: the profile is erased already", keep_body=True)
    return Handled(
        f"{kind} request {reference(request)} filed for profile {located.external_id}: "
        "the DPO handles it",
        keep_body=True,
    )


def shop_redact(ctx: Context) -> Handled:
    """shop/redact: the shop uninstalled the app 48 hours ago; the DPO decides what to erase."""
    shop_id = mapping.shopify_id(ctx.payload.get("shop_id"))
    ctx.announce(
        "shopify.shop_redact_requested",
        None,
        shop=ctx.shop_domain,
        shop_id=shop_id,
        asked_at=(ctx.triggered_at or ctx.received_at).isoformat(),
    )
    log.warning("shop/redact received for %s: for the DPO to decide", ctx.shop_domain)
    return Handled(
        f"shop {ctx.shop_domain} asks to be redacted: announced, the DPO decides (nothing erased)",
        keep_body=True,
    )


HANDLERS: dict[str, Callable[[Context], Handled]] = {
    "customers/create": customer_changed,
    "customers/update": customer_changed,
    "customers/delete": customer_deleted,
    "customers_email_marketing_consent/update": consent_updated,
    "customers_marketing_consent/update": consent_updated,
    "orders/create": order_changed,
    "orders/updated": order_changed,
    "orders/paid": order_changed,
    "orders/cancelled": order_changed,
    "refunds/create": refund_created,
    "customers/data_request": subject_request,
    "customers/redact": subject_request,
    "shop/redact": shop_redact,
}

__all__ = ["HANDLERS", "Context", "Handled"]
