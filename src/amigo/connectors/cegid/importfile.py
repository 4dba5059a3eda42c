"""The enrichment pushed to Y2, written as a Y2 customer import file instead of service calls.

For sites whose Y2 imports files rather than taking UpdateCustomer calls. One
row per Y2 customer that has at least one field to change, by the same
per-field decisions as the push (``outbound.plan_profile``); the columns are
customers.csv's (``docs/formats.md``), so that the file Y2 imports is the file
AMIgo's own mapping reads. Every column carries the value Y2 should hold
after the import: AMIgo's where it is sent or Y2 has it already, Y2's own
where Y2's newer change wins or AMIgo has none (a full-row import then
changes nothing there); empty only where neither has a value. Written as Y2 writes its exports: ``;``-delimited, UTF-8 with
a BOM, CRLF line ends, under a temporary name renamed once complete, so a
watcher never picks up half a file.

Writing the file records nothing as sent: whether and when Y2 imports it is
not known here. Once it has, the inbound sync brings the values back and
they are held by Y2, so the next push or export leaves them out.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from amigo.connectors.cegid.outbound import (
    Outcome,
    changed_profiles,
    enrichment_columns,
    plan_profile,
)
from amigo.core.config import CegidSettings
from amigo.core.errors import InvalidInputError
from amigo.ingest.service import applied_payloads

KEY_COLUMN = "CustomerId"
# Where the row carries AMIgo's value: to send, or Y2 holds it (or was sent it) already.
_AMIGOS = frozenset({Outcome.SEND, Outcome.HELD, Outcome.ECHO, Outcome.AWAITING})


@dataclass(frozen=True)
class ExportedFile:
    """What export_enrichment wrote."""

    path: Path
    rows: int
    profiles: int


def file_name(now: datetime) -> str:
    """Return the import file's name for a run at ``now``."""
    return f"customers_enrichment_{now:%Y%m%dT%H%M%SZ}.csv"


def export_enrichment(
    *,
    session: Session,
    out_dir: Path,
    since: datetime | None,
    settings: CegidSettings,
    now: datetime,
) -> ExportedFile:
    """Write the enrichment of the profiles changed since ``since`` as a Y2 import file."""
    if not out_dir.is_dir():
        raise InvalidInputError(f"{out_dir} is not a folder", code="not_a_folder")
    columns = (KEY_COLUMN, *enrichment_columns(settings.outbound_golden_id_slot))
    rows: list[dict[str, str]] = []
    profiles = 0
    for customer_id in changed_profiles(session=session, since=since, create=False):
        plan = plan_profile(session=session, customer_id=customer_id, settings=settings)
        if plan is None:
            continue
        cards = [card for card in plan.cards if card.customer_ref is not None and card.send]
        if not cards:
            continue
        profiles += 1
        held = applied_payloads(
            session.connection(),
            system="cegid",
            entity="customer",
            source_ids=[str(card.customer_ref) for card in cards],
        )
        plan_values = {column: w.value for column, w in plan.wanted.items()}
        for card in cards:
            ref = str(card.customer_ref)
            row = {KEY_COLUMN: ref}
            for column in columns[1:]:
                outcome = card.outcomes.get(column)
                if outcome in _AMIGOS:
                    row[column] = plan_values[column]
                else:  # Y2's newer value, a consent AskCustomer would not replace, or no value
                    row[column] = str(held.get(ref, {}).get(column) or "")
            rows.append(row)
    path = out_dir / file_name(now)
    temporary = out_dir / f".{path.name}.part"
    with temporary.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    return ExportedFile(path, len(rows), profiles)


__all__ = ["KEY_COLUMN", "ExportedFile", "export_enrichment", "file_name"]
