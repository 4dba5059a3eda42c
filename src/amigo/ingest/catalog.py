"""The export files `amigo load` reads, in the phase order of the original project."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from amigo.connectors.base import RowMapper
from amigo.connectors.cegid import mapping as cegid
from amigo.connectors.shopify import mapping as shopify
from amigo.connectors.webforms import mapping as webforms
from amigo.ingest import writers
from amigo.ingest.models import SourceSystem


@dataclass(frozen=True)
class ExportFile:
    """One file of an export directory and how it is loaded."""

    path: str  # relative to the export directory
    source: SourceSystem
    phase: int
    kind: Literal["csv", "jsonl"]
    mapper: RowMapper[Any]
    writer: writers.Writer
    # Within a phase, a later step starts once the earlier ones are loaded
    # (customers name stores and associates).
    step: int = 0
    # Loaded as this many parts side by side, rows split by a hash of their
    # source id: customer records cost the most to map (phones, emails,
    # addresses). A constant, not the worker count, so that a resumed load
    # finds the same parts in its checkpoints.
    parts: int = 1

    @property
    def lane(self) -> str:
        """Return the files' lane: within a phase, different lanes may load side by side."""
        return self.source.value

    @property
    def entity(self) -> str:
        """Return the kind of record the file holds."""
        return self.mapper.entity


PHASES = {
    1: "Cegid Y2 stores, associates, products and customers",
    2: "Shopify customers, then web-form sign-ups",
    3: "order history and interactions, attached to the customers",
    4: "raw consents from every source",
}
# The first phase whose records attach to customers stored before it.
ATTACHING_PHASE = 3

EXPORT_FILES: tuple[ExportFile, ...] = (
    ExportFile(
        "cegid/stores.csv", SourceSystem.CEGID, 1, "csv", cegid.STORES, writers.write_stores
    ),
    ExportFile(
        "cegid/sales_associates.csv",
        SourceSystem.CEGID,
        1,
        "csv",
        cegid.ASSOCIATES,
        writers.write_associates,
    ),
    ExportFile(
        "cegid/products.csv", SourceSystem.CEGID, 1, "csv", cegid.PRODUCTS, writers.write_products
    ),
    ExportFile(
        "cegid/customers.csv",
        SourceSystem.CEGID,
        1,
        "csv",
        cegid.CUSTOMERS,
        writers.write_customers,
        step=1,
        parts=2,
    ),
    ExportFile(
        "shopify/customers.jsonl",
        SourceSystem.SHOPIFY,
        2,
        "jsonl",
        shopify.CUSTOMERS,
        writers.write_customers,
        parts=2,
    ),
    ExportFile(
        "webforms/submissions.jsonl",
        SourceSystem.WEBFORMS,
        2,
        "jsonl",
        webforms.SUBMISSIONS,
        writers.write_customers,
        parts=2,
    ),
    ExportFile(
        "cegid/receipts.csv", SourceSystem.CEGID, 3, "csv", cegid.RECEIPTS, writers.write_orders
    ),
    ExportFile(
        "cegid/receipt_lines.csv",
        SourceSystem.CEGID,
        3,
        "csv",
        cegid.RECEIPT_LINES,
        writers.write_receipt_lines,
    ),
    ExportFile(
        "cegid/receipt_payments.csv",
        SourceSystem.CEGID,
        3,
        "csv",
        cegid.RECEIPT_PAYMENTS,
        writers.write_receipt_payments,
    ),
    ExportFile(
        "shopify/orders.jsonl",
        SourceSystem.SHOPIFY,
        3,
        "jsonl",
        shopify.ORDERS,
        writers.write_orders,
    ),
    ExportFile(
        "webforms/interactions.jsonl",
        SourceSystem.WEBFORMS,
        3,
        "jsonl",
        webforms.INTERACTIONS,
        writers.write_interactions,
    ),
)

# Customer records by (source system, entity): re-mapped for survivorship and consents.
CUSTOMER_MAPPERS: dict[tuple[str, str], RowMapper[Any]] = {
    ("cegid", "customer"): cegid.CUSTOMERS,
    ("shopify", "customer"): shopify.CUSTOMERS,
    ("webforms", "submission"): webforms.SUBMISSIONS,
}
# Records about a source customer that arrive on their own, keyed by the customer's id
# (Shopify's consent and deletion webhooks): erasure blanks them with the customer's records.
CUSTOMER_NOTICE_ENTITIES: dict[str, tuple[str, ...]] = {"shopify": ("consent", "customer_deletion")}
