"""A customer's consents: the effective state per purpose, the ledger with its proofs, new statements.

Reads are audit-logged; a statement goes through the ledger's one action
(``record_statement``), which projects the new state and emits its event.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from amigo.api.deps import CallerDep, ReaderDep, SessionDep, for_purpose
from amigo.api.errors import COMMON_ERRORS
from amigo.api.fields import Code, Instant, IpAddress, Line
from amigo.api.security import requires
from amigo.consent.models import ConsentPurpose
from amigo.consent.schemas import (
    CONSENT_HISTORY_FIELDS,
    CONSENT_STATE_FIELDS,
    CurrentConsent,
    LedgerEntry,
    RecordedConsent,
)
from amigo.consent.service import consent_history, contact_states, holder_of, record_statement
from amigo.core.audit import Reader, record_reads
from amigo.core.clock import utcnow
from amigo.core.roles import Permission

router = APIRouter(prefix="/v1/customers", tags=["consents"], responses=COMMON_ERRORS)
CustomerId = Annotated[int, Path(ge=1, le=2**62, description="Golden profile id")]


class ProofIn(BaseModel):
    """Where and how the person stated it, as far as the caller knows."""

    model_config = ConfigDict(extra="forbid")

    store_id: Code | None = None
    associate_id: Code | None = None
    ip: IpAddress | None = None
    user_agent: Line | None = None


class ConsentStatementIn(BaseModel):
    """A consent statement the person made (in store, on the phone, on a connected site)."""

    model_config = ConfigDict(extra="forbid")

    purpose: ConsentPurpose
    # never_asked is what no statement means: nobody states it.
    status: Literal["granted", "confirmed", "pending", "withdrawn"]
    channel: Code = Field(description="Where the person said it: store, phone, email, web_form...")
    wording_version: Code = Field(description="The version of the wording the person was shown")
    occurred_at: Instant | None = Field(
        default=None, description="When the person said it (default: now); never in the future"
    )
    proof: ProofIn = Field(default_factory=ProofIn)


def _read(
    session: SessionDep, reader: Reader, customer_id: int, fields: tuple[str, ...], action: str
) -> None:
    holder = holder_of(session=session, customer_id=customer_id)
    record_reads(
        session=session,
        reader=for_purpose(reader, "consents"),
        subject_ids=[holder, customer_id],
        fields=fields,
        action=action,
        now=utcnow(),
    )


@router.get(
    "/{customer_id}/consents",
    response_model=list[CurrentConsent],
    dependencies=[requires(Permission.READ_CONSENTS)],
)
def consents(
    customer_id: CustomerId, session: SessionDep, reader: ReaderDep
) -> list[CurrentConsent]:
    """Return the effective consent of every purpose (never_asked where nothing was said)."""
    states = list(contact_states(session=session, customer_id=customer_id).values())
    _read(session, reader, customer_id, CONSENT_STATE_FIELDS, "GET /v1/customers/{id}/consents")
    return states


@router.get(
    "/{customer_id}/consents/history",
    response_model=list[LedgerEntry],
    dependencies=[requires(Permission.READ_CONSENTS)],
)
def history(customer_id: CustomerId, session: SessionDep, reader: ReaderDep) -> list[LedgerEntry]:
    """Return every statement counting for the customer, oldest first, with its proof."""
    entries = consent_history(session=session, customer_id=customer_id)
    _read(
        session,
        reader,
        customer_id,
        CONSENT_HISTORY_FIELDS,
        "GET /v1/customers/{id}/consents/history",
    )
    return entries


@router.post(
    "/{customer_id}/consents",
    status_code=201,
    response_model=RecordedConsent,
    dependencies=[requires(Permission.WRITE_CONSENTS)],
)
def record(
    customer_id: CustomerId,
    statement: ConsentStatementIn,
    session: SessionDep,
    caller: CallerDep,
    reader: ReaderDep,
) -> RecordedConsent:
    """Append a consent statement to the ledger; return the purpose's effective state after it."""
    proof = statement.proof
    statement_id, state = record_statement(
        session=session,
        customer_id=customer_id,
        purpose=statement.purpose.value,
        status=statement.status,
        channel=statement.channel,
        actor=caller.client_id,
        now=utcnow(),
        occurred_at=statement.occurred_at,
        proof={
            "wording_version": statement.wording_version,
            "store_id": proof.store_id,
            "associate_id": proof.associate_id,
            "ip": str(proof.ip) if proof.ip is not None else None,
            "user_agent": proof.user_agent,
        },
    )
    holder = holder_of(session=session, customer_id=customer_id)
    _read(session, reader, customer_id, CONSENT_STATE_FIELDS, "POST /v1/customers/{id}/consents")
    return RecordedConsent(statement_id=statement_id, customer_id=holder, state=state)
