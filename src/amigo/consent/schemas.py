"""Read models of the consent ledger, shared by the CLI, the pages and (later) the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class LedgerEntry(BaseModel):
    """One statement of a person's consent history, with its proof."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    purpose: str
    status: str
    occurred_at: datetime | None
    time_basis: str
    recorded_at: datetime
    source_system: str
    source_id: str | None
    customer_id: int | None
    channel: str
    actor: str
    raw_value: str | None
    proof: dict[str, Any]


class CurrentConsent(BaseModel):
    """A purpose's effective state for one person."""

    model_config = ConfigDict(frozen=True)

    purpose: str
    status: str
    allows_contact: bool
    since: datetime | None
    decided_by: list[int]
    # A restriction of processing (GDPR article 18) holds: no contact, whatever the consent.
    restricted: bool = False


class RecordedConsent(BaseModel):
    """A statement just appended to the ledger, and the purpose's effective state after it."""

    model_config = ConfigDict(frozen=True)

    statement_id: int
    customer_id: int  # the active profile the statement counts for
    state: CurrentConsent


# The personal fields each read model shows, named in the audit log of reads.
CONSENT_STATE_FIELDS = ("consents",)
CONSENT_HISTORY_FIELDS = ("consents", "consent_proofs")
