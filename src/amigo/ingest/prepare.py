"""The CPU-bound half of a load, free of the database: key, hash and map each row.

It runs before a batch's transaction opens, so that on SQLite the write lock
is held only while rows are written and loads of other files can prepare
their next batch meanwhile.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from amigo.core.sql import JsonText
from amigo.ingest.catalog import EXPORT_FILES, ExportFile
from amigo.ingest.facts import MappingContext, MappingResult
from amigo.ingest.readers import RawRow
from amigo.quality.issues import ValidationIssue

MAX_SOURCE_ID = 80  # the width of source_record.source_id
StoreTable = dict[str, tuple[str | None, str | None]]  # store id -> (timezone, country)
_SPECS = {spec.path: spec for spec in EXPORT_FILES}


@dataclass(slots=True)  # not frozen: one per row, see RawRow
class PreparedRow:
    """One row keyed and mapped, or the reason it cannot even be stored as a record."""

    source_id: str | None
    digest: str | None
    problem: ValidationIssue | None
    result: MappingResult[Any] | None
    payload_json: JsonText | None = None  # the canonical JSON the digest was taken of


def canonical_json(payload: Any) -> bytes:
    """Return the payload as JSON with sorted keys: the same bytes for the same content."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def payload_hash(payload: Any) -> str:
    """Return the SHA-256 of the payload's canonical JSON (key order does not matter)."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def record_issue(code: str, message: str) -> ValidationIssue:
    """Return an issue about the record as a whole."""
    return ValidationIssue(field="record", code=code, message=message, value=None)


def mapping_context(stores: StoreTable) -> MappingContext:
    """Return the mapping context for a snapshot of the store table."""
    return MappingContext(
        store_timezone=lambda store: stores.get(store, (None, None))[0],
        store_country=lambda store: stores.get(store, (None, None))[1],
    )


def prepare_rows(path: str, rows: list[RawRow], stores: StoreTable) -> list[PreparedRow]:
    """Key, hash and map every row of a batch of one export file."""
    return prepare_spec_rows(_SPECS[path], rows, stores)


def prepare_spec_rows(
    spec: ExportFile, rows: list[RawRow], stores: StoreTable
) -> list[PreparedRow]:
    """Key, hash and map rows of a kind of record, an export file's or a webhook's."""
    ctx = mapping_context(stores)
    prepared = []
    for row in rows:
        if row.error is not None or row.data is None:
            issue = record_issue("unparseable", row.error or "unreadable row")
            prepared.append(PreparedRow(None, None, issue, None))
            continue
        source_id = spec.mapper.key(row.data)
        if not source_id:
            issue = record_issue("missing_id", f"the row has no {spec.entity} id")
            prepared.append(PreparedRow(None, None, issue, None))
            continue
        if len(source_id) > MAX_SOURCE_ID:
            issue = record_issue("id_too_long", f"the id is {len(source_id)} characters long")
            prepared.append(PreparedRow(None, None, issue, None))
            continue
        result = spec.mapper.map(row.data, ctx)
        if result.reject is None and result.facts is None:
            result = MappingResult(None, result.issues, record_issue("unmappable", "no facts"))
        encoded = canonical_json(row.data)
        digest = hashlib.sha256(encoded).hexdigest()
        prepared.append(PreparedRow(source_id, digest, None, result, JsonText(encoded.decode())))
    return prepared
