"""What executing each type of request does; called by ``service.execute_request`` only."""

from __future__ import annotations

from collections.abc import Callable
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

# session, request, actor, now, settings, output directory -> what was done
Executor = Callable[[Session, SubjectRequest, str, datetime, PrivacySettings, Path], dict[str, Any]]

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


def _access(
    session: Session,
    request: SubjectRequest,
    _actor: str,
    now: datetime,
    _settings: PrivacySettings,
    out: Path,
) -> dict[str, Any]:
    data = access_data(session=session, customer_id=request.customer_id)
    paths = write_access_report(data, out, f"DSR-{request.id}-access")
    return {"files": _exported(session, request, paths, now)}


def _portability(
    session: Session,
    request: SubjectRequest,
    _actor: str,
    now: datetime,
    _settings: PrivacySettings,
    out: Path,
) -> dict[str, Any]:
    data = access_data(session=session, customer_id=request.customer_id)
    path = write_portability_archive(data, out, f"DSR-{request.id}-portability")
    return {"files": _exported(session, request, [path], now)}


def _restriction(
    session: Session,
    request: SubjectRequest,
    _actor: str,
    now: datetime,
    _settings: PrivacySettings,
    _out: Path,
) -> dict[str, Any]:
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


def _objection(
    session: Session,
    request: SubjectRequest,
    actor: str,
    now: datetime,
    _settings: PrivacySettings,
    _out: Path,
) -> dict[str, Any]:
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


def _erasure(
    session: Session,
    request: SubjectRequest,
    actor: str,
    now: datetime,
    settings: PrivacySettings,
    _out: Path,
) -> dict[str, Any]:
    return erase_person(session, request, actor, now, suppression_secret(settings))


EXECUTORS: dict[RequestType, Executor] = {
    RequestType.ERASURE: _erasure,
    RequestType.ACCESS: _access,
    RequestType.PORTABILITY: _portability,
    RequestType.RESTRICTION: _restriction,
    RequestType.OBJECTION: _objection,
}
