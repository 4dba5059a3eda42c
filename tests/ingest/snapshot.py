"""A logical dump of the repository by natural keys, to compare two databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, text

from amigo.core.db import table_of
from amigo.profiles.models import GoldenCustomer

# Each query names rows by natural keys only: surrogate ids, batch ids and
# wall-clock columns differ between two loads of the same data by design.
# The golden profiles through their column types: the identifiers are encrypted, and two
# encryptions of one value differ (a fresh nonce each), so they are compared decrypted.
GOLDEN = select(
    *(
        table_of(GoldenCustomer).c[name]
        for name in (
            "external_id", "email", "email_match_key", "email_index", "first_name", "last_name",
            "phone", "phone_index", "birth_date", "preferred_language", "preferred_store_id",
            "origin", "tier", "address_line1", "address_line2", "postal_code", "city", "region",
            "country", "status",
        )
    )
)  # fmt: skip
QUERIES: dict[str, Any] = {
    "golden": GOLDEN,
    "links": """
        SELECT l.source_system, l.source_id, g.external_id, l.rule
        FROM identity_link l JOIN golden_customer g ON g.id = l.customer_id""",
    "records": """
        SELECT source_system, entity, source_id, payload_hash, status FROM source_record""",
    "rejects": """
        SELECT source_system, entity, source_id, reason_code, payload_hash, file, line_number
        FROM reject""",
    "issues": """
        SELECT r.source_system, r.entity, r.source_id, r.payload_hash, i.field, i.code
        FROM validation_issue i JOIN source_record r ON r.id = i.source_record_id""",
    "orders": """
        SELECT o.source_system, o.source_order_id, g.external_id, o.channel, o.store_id,
               o.ordered_at, o.currency, o.total_cents, o.status
        FROM customer_order o LEFT JOIN golden_customer g ON g.id = o.customer_id""",
    "lines": """
        SELECT o.source_system, o.source_order_id, l.line_number, l.sku, l.quantity,
               l.unit_price_cents, l.discount_cents
        FROM order_line l JOIN customer_order o ON o.id = l.order_id""",
    "payments": """
        SELECT o.source_system, o.source_order_id, p.payment_number, p.method, p.amount_cents,
               p.status, p.paid_at
        FROM payment p JOIN customer_order o ON o.id = p.order_id""",
    "interactions": """
        SELECT i.source_system, i.source_interaction_id, g.external_id, i.type, i.channel,
               i.occurred_at, i.campaign
        FROM interaction i LEFT JOIN golden_customer g ON g.id = i.customer_id""",
    "consents": """
        SELECT r.source_system, r.source_id, r.payload_hash, c.purpose, c.raw_value,
               c.opt_in_level, c.stated_at, g.external_id
        FROM raw_consent c JOIN source_record r ON r.id = c.source_record_id
        LEFT JOIN golden_customer g ON g.id = c.customer_id""",
    "consent_ledger": """
        SELECT e.source_system, e.source_id, r.payload_hash, e.purpose, e.status,
               e.occurred_at, e.time_basis, e.channel, e.actor, e.raw_value
        FROM consent_event e LEFT JOIN source_record r ON r.id = e.source_record_id""",
    "consent_states": """
        SELECT g.external_id, s.purpose, s.status
        FROM consent_state s JOIN golden_customer g ON g.id = s.customer_id""",
    "stores": "SELECT id, name, country, region, timezone FROM store",
    "associates": "SELECT id, first_name, last_name, store_id, active FROM sales_associate",
    "products": "SELECT sku, name, category, season, price_cents, currency FROM product",
    "customer_stores": """
        SELECT g.external_id, s.store_id, s.relation, s.since
        FROM customer_store s JOIN golden_customer g ON g.id = s.customer_id""",
    "customer_associates": """
        SELECT g.external_id, a.associate_id, a.assigned_since
        FROM customer_associate a JOIN golden_customer g ON g.id = a.customer_id""",
}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Return every table's rows by natural key, sorted, as comparable tuples."""
    with engine.connect() as connection:
        return {
            name: sorted(
                (
                    tuple(str(v) if v is not None else "" for v in row)
                    for row in connection.execute(text(query) if isinstance(query, str) else query)
                ),
            )
            for name, query in QUERIES.items()
        }
