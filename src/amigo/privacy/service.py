"""Data-subject requests: receive, verify, approve, extend, execute, close, or reject.

Every step is one named action that checks the actor's role, writes the
step, and emits its ``subject_request.*`` event in the caller's transaction.
Only the DPO handles requests (an integration may file them, for Shopify's
compliance webhooks); an erasure of a customer with a recent order needs a
second approver, another person, DPO or admin.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amigo.consent.service import held_profiles, holder_of
from amigo.core.config import PrivacySettings
from amigo.core.errors import AmigoError, ConflictError, InvalidInputError, NotFoundError
from amigo.core.roles import Role
from amigo.events.service import DomainEvent, emit_events
from amigo.privacy.deadlines import due_date, extended_due_date, latest_due_date
from amigo.privacy.models import (
    OPEN_STATUSES,
    PrivacyExport,
    ProcessingRestriction,
    RequestStatus,
    RequestType,
    SubjectRequest,
    SubjectRequestStep,
)
from amigo.privacy.schemas import SubjectRequestStepView, SubjectRequestView
from amigo.profiles.models import CustomerStatus, GoldenCustomer, Order

_FILERS = frozenset({Role.DPO, Role.INTEGRATION})
_HANDLERS = frozenset({Role.DPO})
_SECOND_APPROVERS = frozenset({Role.DPO, Role.ADMIN})


class DuplicateRequestError(ConflictError):
    """The same person already has an open request of that type."""

    code = "duplicate_request"


class ForbiddenError(AmigoError):
    """The actor's role may not take this step."""

    code = "forbidden"
    http_status = 403


def reference(request: SubjectRequest) -> str:
    """Return the request's reference as people quote it."""
    return f"DSR-{request.id}"


def _role(role: str, allowed: Collection[Role], step: str) -> Role:
    try:
        chosen = Role(role)
    except ValueError:
        raise InvalidInputError(
            f"{role!r} is not a role: use one of {', '.join(r.value for r in Role)}",
            code="unknown_role",
        ) from None
    if chosen not in allowed:
        raise ForbiddenError(
            f"the {chosen.value} role may not {step} a subject request "
            f"(only {', '.join(sorted(r.value for r in allowed))})"
        )
    return chosen


def _type(value: str) -> RequestType:
    try:
        return RequestType(value)
    except ValueError:
        raise InvalidInputError(
            f"{value!r} is not a request type: use one of {', '.join(t.value for t in RequestType)}",
            code="unknown_request_type",
        ) from None


def get_request(*, session: Session, request_id: int) -> SubjectRequest:
    """Return a request by id (NotFoundError when there is none)."""
    request = session.get(SubjectRequest, request_id)
    if request is None:
        raise NotFoundError(f"no subject request DSR-{request_id}")
    return request


def _step(
    session: Session,
    request: SubjectRequest,
    step: str,
    *,
    actor: str,
    role: Role,
    now: datetime,
    note: str | None = None,
) -> None:
    if not actor.strip():
        raise InvalidInputError("a step of a subject request needs an actor")
    session.add(
        SubjectRequestStep(
            request_id=request.id,
            step=step,
            actor=actor.strip(),
            role=role.value,
            at=now,
            note=note,
        )
    )
    request.updated_at = now
    session.flush()
    customer = session.get_one(GoldenCustomer, request.customer_id)
    emit_events(
        session.connection(),
        [
            DomainEvent(
                type=f"subject_request.{step}",
                subject=customer.external_id,
                data={
                    "request": reference(request),
                    "type": request.type.value,
                    "status": request.status.value,
                    "customer": customer.external_id,
                    "due_at": request.due_at.isoformat(),
                    "actor": actor.strip(),
                    "role": role.value,
                },
            )
        ],
        now=now,
    )


def _expect(request: SubjectRequest, *statuses: RequestStatus, step: str) -> None:
    if request.status not in statuses:
        raise ConflictError(
            f"{reference(request)} is {request.status.value}: it cannot be {step} "
            f"(it must be {' or '.join(s.value for s in statuses)})",
            code="wrong_status",
        )


def create_request(
    *,
    session: Session,
    customer_id: int,
    type: str,
    channel: str,
    actor: str,
    role: str,
    now: datetime,
    received_at: datetime | None = None,
    details: str | None = None,
) -> SubjectRequest:
    """File a request about a person; it is due one month after receipt."""
    chosen_role = _role(role, _FILERS, "file")
    chosen_type = _type(type)
    received = received_at or now
    if received > now:
        raise InvalidInputError(
            f"a request cannot be received in the future ({received.isoformat()})"
        )
    if not channel.strip():
        raise InvalidInputError(
            "say through which channel the request came (email, letter, store...)"
        )
    customer_id = holder_of(session=session, customer_id=customer_id)
    profile = session.get_one(GoldenCustomer, customer_id)
    if profile.status == CustomerStatus.ERASED:
        raise InvalidInputError(
            f"customer {profile.external_id} was erased: AMIgo holds nothing on them any more",
            code="erased",
        )
    existing = session.scalars(
        select(SubjectRequest).where(
            SubjectRequest.customer_id == customer_id,
            SubjectRequest.type == chosen_type,
            SubjectRequest.status.in_(list(OPEN_STATUSES)),
        )
    ).first()
    if existing is not None:
        raise DuplicateRequestError(
            f"customer {customer_id} already has an open {chosen_type.value} request: "
            f"{reference(existing)} ({existing.status.value}, due {existing.due_at:%Y-%m-%d})",
            details={"request": reference(existing)},
        )
    request = SubjectRequest(
        type=chosen_type,
        status=RequestStatus.RECEIVED,
        customer_id=customer_id,
        channel=channel.strip()[:30],
        received_at=received,
        due_at=due_date(received),
        details=details,
        result={},
        created_by=actor.strip(),
        updated_at=now,
    )
    session.add(request)
    session.flush()
    _step(session, request, "received", actor=actor, role=chosen_role, now=now, note=details)
    return request


def verify_identity(
    *, session: Session, request_id: int, actor: str, role: str, method: str, now: datetime
) -> SubjectRequest:
    """Record how the requester's identity was checked (ID document, signed-in account...)."""
    chosen_role = _role(role, _HANDLERS, "verify")
    request = get_request(session=session, request_id=request_id)
    _expect(request, RequestStatus.RECEIVED, step="verified")
    if not method.strip():
        raise InvalidInputError("say how the identity was verified")
    request.status = RequestStatus.IDENTITY_VERIFIED
    _step(
        session, request, "identity_verified", actor=actor, role=chosen_role, now=now, note=method
    )
    return request


def _approvers(session: Session, request: SubjectRequest) -> list[str]:
    return list(
        session.scalars(
            select(SubjectRequestStep.actor)
            .where(
                SubjectRequestStep.request_id == request.id, SubjectRequestStep.step == "approval"
            )
            .order_by(SubjectRequestStep.id)
        )
    )


def needs_second_approver(
    *, session: Session, request: SubjectRequest, settings: PrivacySettings, now: datetime
) -> bool:
    """Return whether the request is an erasure of a customer with an order in the last year."""
    if request.type is not RequestType.ERASURE:
        return False
    since = now - timedelta(days=settings.recent_order_days)
    recent = session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.customer_id == request.customer_id, Order.ordered_at >= since)
    )
    return bool(recent)


def approve_request(
    *,
    session: Session,
    request_id: int,
    actor: str,
    role: str,
    now: datetime,
    settings: PrivacySettings,
    note: str | None = None,
) -> SubjectRequest:
    """Approve a verified request (an erasure with a recent order: twice, by two people)."""
    request = get_request(session=session, request_id=request_id)
    _expect(request, RequestStatus.IDENTITY_VERIFIED, step="approved")
    approvers = _approvers(session, request)
    first = not approvers
    chosen_role = _role(role, _HANDLERS if first else _SECOND_APPROVERS, "approve")
    if actor.strip() in approvers:
        raise ForbiddenError(
            f"{actor.strip()} already approved {reference(request)}: a second approver must be someone else"
        )
    second_needed = needs_second_approver(
        session=session, request=request, settings=settings, now=now
    )
    _step(session, request, "approval", actor=actor, role=chosen_role, now=now, note=note)
    if not first or not second_needed:
        request.status = RequestStatus.APPROVED
        _step(session, request, "approved", actor=actor, role=chosen_role, now=now)
    return request


def extend_request(
    *,
    session: Session,
    request_id: int,
    actor: str,
    role: str,
    months: int,
    reason: str,
    now: datetime,
) -> SubjectRequest:
    """Push the due date by up to two months in all, with the reason the person is told."""
    chosen_role = _role(role, _HANDLERS, "extend")
    request = get_request(session=session, request_id=request_id)
    _expect(request, *OPEN_STATUSES, step="extended")
    if not reason.strip():
        raise InvalidInputError(
            "an extension needs a reason (article 12(3): the person is told why)"
        )
    extended = extended_due_date(request.received_at, request.due_at, months)
    if extended is None:
        raise InvalidInputError(
            f"{reference(request)} can be extended to {latest_due_date(request.received_at):%Y-%m-%d} "
            f"at most (two months beyond the first due date)",
            code="extension_too_long",
        )
    request.due_at = extended
    request.extension_reason = reason.strip()
    _step(session, request, "extended", actor=actor, role=chosen_role, now=now, note=reason.strip())
    return request


def reject_request(
    *, session: Session, request_id: int, actor: str, role: str, reason: str, now: datetime
) -> SubjectRequest:
    """Refuse a request with the reason the person is told (identity not proven, unfounded...)."""
    chosen_role = _role(role, _HANDLERS, "reject")
    request = get_request(session=session, request_id=request_id)
    _expect(request, *OPEN_STATUSES, step="rejected")
    if not reason.strip():
        raise InvalidInputError("a rejection needs a reason")
    request.status = RequestStatus.REJECTED
    request.rejection_reason = reason.strip()
    _step(session, request, "rejected", actor=actor, role=chosen_role, now=now, note=reason.strip())
    return request


def execute_request(
    *,
    session: Session,
    request_id: int,
    actor: str,
    role: str,
    now: datetime,
    settings: PrivacySettings,
    out_dir: Path | None = None,
    changes: Mapping[str, str | None] | None = None,
) -> SubjectRequest:
    """Carry an approved request out and record what was done (``changes``: a rectification's)."""
    from amigo.privacy.execution import EXECUTORS, Execution  # noqa: PLC0415 - imports this module

    chosen_role = _role(role, _HANDLERS, "execute")
    request = get_request(session=session, request_id=request_id)
    _expect(request, RequestStatus.APPROVED, step="executed")
    executor = EXECUTORS.get(request.type)
    if executor is None:
        raise InvalidInputError(
            f"executing {request.type.value} requests is not available yet: "
            f"{reference(request)} stays approved until it is",
            code="not_available",
        )
    # The messages name both ways of giving values: the CLI's --set, the API's "changes".
    if request.type is RequestType.RECTIFICATION and not changes:
        raise InvalidInputError(
            f"{reference(request)}: say which values to correct "
            '(--set field=value, or "changes": {"field": "value"} over the API)'
        )
    if changes and request.type is not RequestType.RECTIFICATION:
        raise InvalidInputError(
            f"{reference(request)} is {request.type.value}: it takes no corrected values "
            '(--set or "changes" are for rectifications)'
        )
    request.result = executor(
        Execution(
            session=session,
            request=request,
            actor=actor.strip(),
            now=now,
            settings=settings,
            out=out_dir or settings.export_dir,
            changes=changes or {},
        )
    )
    request.status = RequestStatus.EXECUTED
    _step(session, request, "executed", actor=actor, role=chosen_role, now=now)
    return request


def close_request(
    *,
    session: Session,
    request_id: int,
    actor: str,
    role: str,
    now: datetime,
    note: str | None = None,
) -> SubjectRequest:
    """Close an executed request once the answer has reached the person."""
    chosen_role = _role(role, _HANDLERS, "close")
    request = get_request(session=session, request_id=request_id)
    _expect(request, RequestStatus.EXECUTED, step="closed")
    request.status = RequestStatus.CLOSED
    _step(session, request, "closed", actor=actor, role=chosen_role, now=now, note=note)
    return request


def list_requests(
    *, session: Session, status: str | None = None, overdue_at: datetime | None = None
) -> list[SubjectRequest]:
    """Return requests, by due date; ``overdue_at``: the open ones due before that time."""
    query = select(SubjectRequest).order_by(SubjectRequest.due_at, SubjectRequest.id)
    if status is not None:
        try:
            query = query.where(SubjectRequest.status == RequestStatus(status))
        except ValueError:
            raise InvalidInputError(
                f"{status!r} is not a status: use one of {', '.join(s.value for s in RequestStatus)}"
            ) from None
    if overdue_at is not None:
        query = query.where(
            SubjectRequest.status.in_(list(OPEN_STATUSES)), SubjectRequest.due_at < overdue_at
        )
    return list(session.scalars(query))


def request_steps(*, session: Session, request_id: int) -> list[SubjectRequestStep]:
    """Return a request's steps, oldest first."""
    get_request(session=session, request_id=request_id)
    return list(
        session.scalars(
            select(SubjectRequestStep)
            .where(SubjectRequestStep.request_id == request_id)
            .order_by(SubjectRequestStep.id)
        )
    )


def export_file(*, session: Session, request_id: int, name: str) -> Path:
    """Return a file the request produced (access report, portability archive), by its name."""
    request = get_request(session=session, request_id=request_id)
    written = [
        Path(path)
        for path in session.scalars(
            select(PrivacyExport.path)
            .where(PrivacyExport.request_id == request.id)
            .order_by(PrivacyExport.id)
        )
    ]
    for path in written:
        if path.name != name:
            continue
        if not path.is_file():
            raise NotFoundError(
                f"{name} of {reference(request)} is no longer kept: erasing the person "
                "deleted it, or it was removed from the export directory",
                code="file_deleted",
            )
        return path
    produced = ", ".join(path.name for path in written) or "none"
    raise NotFoundError(
        f"{reference(request)} produced no file {name!r} (its files: {produced})",
        details={"files": [path.name for path in written]},
    )


def is_restricted(*, session: Session, customer_id: int) -> bool:
    """Return whether the profile (or one merged into it) is restricted (article 18)."""
    held = held_profiles(session=session, customer_id=customer_id)
    return bool(
        session.scalar(
            select(func.count())
            .select_from(ProcessingRestriction)
            .where(ProcessingRestriction.customer_id.in_(held))
        )
    )


def request_view(
    *,
    request: SubjectRequest,
    now: datetime,
    steps: Sequence[SubjectRequestStep] | None = None,
) -> SubjectRequestView:
    """Return a request as the API shows it, with its steps if given."""
    return SubjectRequestView(
        id=request.id,
        reference=reference(request),
        type=request.type.value,
        status=request.status.value,
        customer_id=request.customer_id,
        channel=request.channel,
        received_at=request.received_at,
        due_at=request.due_at,
        overdue=request.status in OPEN_STATUSES and request.due_at < now,
        extension_reason=request.extension_reason,
        details=request.details,
        rejection_reason=request.rejection_reason,
        result=request.result,
        created_by=request.created_by,
        updated_at=request.updated_at,
        steps=None
        if steps is None
        else [SubjectRequestStepView.model_validate(step) for step in steps],
    )
