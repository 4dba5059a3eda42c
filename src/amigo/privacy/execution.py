"""What executing each type of request does; called by ``service.execute_request`` only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from amigo.consent.service import current_consents, record_consent
from amigo.core.config import PrivacySettings
from amigo.core.db import table_of
from amigo.core.sql import insert_ignore
from amigo.events.service import DomainEvent, emit_events
from amigo.privacy.access import access_data, write_access_report, write_portability_archive
from amigo.privacy.erasure import erase_person
from amigo.privacy.models import PrivacyExport, ProcessingRestriction, RequestType, SubjectRequest
from amigo.privacy.suppression import suppression_secret
from amigo.profiles.models import GoldenCustomer
from amigo.profiles.rectification import rectify_profile

# session, request, actor, now, settings, output directory -> what was done


@dataclass(frozen=True)
class Execution:
    """What carrying out one request needs."""

    session: Session
    request: SubjectRequest
    actor: str
    now: datetime
    settings: PrivacySettings
    out: Path
    changes: Mapping[str, str | None] = field(default_factory=dict)  # rectification only


Executor = Callable[[Execution], dict[str, Any]]

_OBJECTION_CONFIRMATION = {
    "fr": "Votre opposition est enregistrée : vous ne recevrez plus aucune sollicitation "
    "commerciale de notre part, et vos données ne serviront plus à vous proposer des offres.",
    "en": "Your objection is recorded: you will receive no more marketing from us, and your "
    "data will no longer be used to make you offers.",
}


def _exported(
    session: Session, request: SubjectRequest, paths: list[Path], now: datetime
) -> list[str]:
    for path in paths:
        session.add(
            PrivacyExport(
                request_id=request.id,
                customer_id=request.customer_id,
                kind=path.suffix.lstrip("."),
                path=str(path.resolve()),
                created_at=now,
            )
        )
    return [str(path.resolve()) for path in paths]


def _access(job: Execution) -> dict[str, Any]:
    session = job.session
    request = job.request
    now = job.now
    out = job.out
    data = access_data(session=session, customer_id=request.customer_id)
    paths = write_access_report(data, out, f"DSR-{request.id}-access")
    return {"files": _exported(session, request, paths, now)}


def _portability(job: Execution) -> dict[str, Any]:
    session = job.session
    request = job.request
    now = job.now
    out = job.out
    data = access_data(session=session, customer_id=request.customer_id)
    path = write_portability_archive(data, out, f"DSR-{request.id}-portability")
    return {"files": _exported(session, request, [path], now)}


def _restriction(job: Execution) -> dict[str, Any]:
    session = job.session
    request = job.request
    now = job.now
    insert_ignore(
        session.connection(),
        table_of(ProcessingRestriction),
        [{"customer_id": request.customer_id, "request_id": request.id, "since": now}],
        conflict_columns=["customer_id"],
    )
    customer = session.get_one(GoldenCustomer, request.customer_id)
    emit_events(
        session.connection(),
        [
            DomainEvent(
                type="customer.restricted",
                subject=customer.external_id,
                data={
                    "customer": customer.external_id,
                    "request": f"DSR-{request.id}",
                    "since": now.isoformat(),
                },
            )
        ],
        now=now,
    )
    return {"restricted_since": now.isoformat()}


def _objection(job: Execution) -> dict[str, Any]:
    session = job.session
    request = job.request
    actor = job.actor
    now = job.now
    withdrawn = []
    for purpose, state in current_consents(
        session=session, customer_id=request.customer_id
    ).items():
        if state.status in ("withdrawn", "never_asked"):
            continue
        record_consent(
            session=session,
            customer_id=request.customer_id,
            purpose=purpose,
            status="withdrawn",
            channel="objection",
            actor=f"dpo:{actor}",
            now=now,
            proof={"request": f"DSR-{request.id}", "article": "GDPR 21"},
        )
        withdrawn.append(purpose)
    customer = session.get_one(GoldenCustomer, request.customer_id)
    language = "fr" if (customer.preferred_language or "").lower() == "fr" else "en"
    return {
        "withdrawn": withdrawn,
        "confirmation": _OBJECTION_CONFIRMATION[language],
        "language": language,
    }


def _erasure(job: Execution) -> dict[str, Any]:
    return erase_person(
        job.session,
        customer_id=job.request.customer_id,
        reference=f"DSR-{job.request.id}",
        actor=job.actor,
        now=job.now,
        secret=suppression_secret(job.settings),
        request_id=job.request.id,
    )


def _rectification(job: Execution) -> dict[str, Any]:
    done = rectify_profile(
        session=job.session,
        customer_id=job.request.customer_id,
        changes=job.changes,
        actor=f"dpo:{job.actor}",
        now=job.now,
        request_id=job.request.id,
        reason=job.request.details,
    )
    return {"customer": done.customer, "before": done.before, "after": done.after}


EXECUTORS: dict[RequestType, Executor] = {
    RequestType.RECTIFICATION: _rectification,
    RequestType.ERASURE: _erasure,
    RequestType.ACCESS: _access,
    RequestType.PORTABILITY: _portability,
    RequestType.RESTRICTION: _restriction,
    RequestType.OBJECTION: _objection,
}
