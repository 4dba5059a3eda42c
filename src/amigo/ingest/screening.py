"""Screen a batch against the erasure suppression list before anything of it is stored.

Runs inside the batch's transaction, after the rows are keyed and mapped and
before their source records are written: what an erased person's rows would
bring back never reaches the database (privacy.suppression says what is kept).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection

from amigo.core.sql import JsonText
from amigo.ingest import writers
from amigo.ingest.catalog import ExportFile
from amigo.ingest.facts import CustomerFacts, InteractionFacts, MappingContext, OrderFacts
from amigo.ingest.prepare import PreparedRow, canonical_json
from amigo.ingest.readers import RawRow
from amigo.privacy.models import SuppressionKind
from amigo.privacy.suppression import (
    ORDER_CONTACT_KEYS,
    SuppressionList,
    contact_email_key,
    customer_identifiers,
    scrub_order_payload,
)

Keyed = list[tuple[RawRow, PreparedRow]]


def screen_batch(
    connection: Connection,
    *,
    spec: ExportFile,
    keyed: Keyed,
    listed: SuppressionList,
    mapping: MappingContext,
    now: datetime,
) -> tuple[Keyed, int]:
    """Return the rows to store (erased buyers' orders scrubbed) and how many were screened."""
    if spec.writer is writers.write_customers:
        return _customers(connection, spec, keyed, listed, now)
    if spec.writer is writers.write_orders:
        return _orders(connection, spec, keyed, listed, mapping)
    if spec.writer is writers.write_interactions:
        return _interactions(connection, keyed, listed)
    return keyed, 0


def _source_hash(listed: SuppressionList, system: str, source_id: str) -> str:
    return listed.hash(SuppressionKind.SOURCE, f"{system}:{source_id}")


def _customers(
    connection: Connection, spec: ExportFile, keyed: Keyed, listed: SuppressionList, now: datetime
) -> tuple[Keyed, int]:
    system = spec.source.value
    hashes: list[str] = []
    for _row, item in keyed:
        hashes.append(_source_hash(listed, system, str(item.source_id)))
        facts = item.result.facts if item.result is not None else None
        if isinstance(facts, CustomerFacts):
            hashes += [listed.hash(kind, value) for kind, value in customer_identifiers(facts)]
    found = listed.find(connection, hashes)
    if not found:
        return keyed, 0
    kept: Keyed = []
    for row, item in keyed:
        facts = item.result.facts if item.result is not None else None
        if _source_hash(listed, system, str(item.source_id)) in found:
            continue
        if isinstance(facts, CustomerFacts) and not listed.admits_customer(
            connection, facts, found, now
        ):
            continue
        kept.append((row, item))
    return kept, len(keyed) - len(kept)


def _order_hashes(listed: SuppressionList, row: RawRow, item: PreparedRow) -> list[str]:
    hashes = []
    facts = item.result.facts if item.result is not None else None
    if isinstance(facts, OrderFacts) and facts.customer_source_id:
        hashes.append(_source_hash(listed, facts.source_system, facts.customer_source_id))
    data = row.data or {}
    for key in ORDER_CONTACT_KEYS:
        email = contact_email_key(data.get(key))
        if email is not None:
            hashes.append(listed.hash(SuppressionKind.EMAIL, email))
    return hashes


def _orders(
    connection: Connection,
    spec: ExportFile,
    keyed: Keyed,
    listed: SuppressionList,
    mapping: MappingContext,
) -> tuple[Keyed, int]:
    per_row = [_order_hashes(listed, row, item) for row, item in keyed]
    found = listed.find(connection, [h for hashes in per_row for h in hashes])
    if not found:
        return keyed, 0
    screened = 0
    kept: Keyed = []
    for (row, item), hashes in zip(keyed, per_row, strict=True):
        if not any(h in found for h in hashes):
            kept.append((row, item))
            continue
        # Kept for the accounts, without the buyer: the same bytes erasure left.
        screened += 1
        data = scrub_order_payload(row.data or {})
        encoded = canonical_json(data)
        text = encoded.decode()
        kept.append(
            (
                RawRow(row.line_number, row.ordinal, text, data, None),
                PreparedRow(
                    item.source_id,
                    hashlib.sha256(encoded).hexdigest(),
                    None,
                    spec.mapper.map(data, mapping),
                    JsonText(text),
                ),
            )
        )
    return kept, screened


def _interactions(
    connection: Connection, keyed: Keyed, listed: SuppressionList
) -> tuple[Keyed, int]:
    def customer_hash(item: PreparedRow) -> str | None:
        facts = item.result.facts if item.result is not None else None
        if not isinstance(facts, InteractionFacts):
            return None
        return _source_hash(listed, facts.customer_source_system, facts.customer_source_id)

    hashes = [customer_hash(item) for _row, item in keyed]
    found = listed.find(connection, [h for h in hashes if h is not None])
    if not found:
        return keyed, 0
    kept = [pair for pair, h in zip(keyed, hashes, strict=True) if h not in found]
    return kept, len(keyed) - len(kept)


__all__ = ["Keyed", "screen_batch"]
