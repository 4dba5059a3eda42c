"""Data-subject requests (GDPR articles 15-21): filed, then handled step by step by the DPO.

Each step is the privacy service's named action, taken with the caller's
role and client id: the service checks the role again (only the DPO
handles requests; a second approver may be an admin) and records the step.
Reading a request shows what the person asked, and downloading the files it
produced shows everything held on them: both are audit-logged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from amigo.api.deps import CallerDep, ReaderDep, SessionDep, SettingsDep, for_purpose
from amigo.api.errors import COMMON_ERRORS, ErrorBody
from amigo.api.fields import Code, Instant, Line, Note
from amigo.api.security import requires
from amigo.core.audit import Reader, record_reads
from amigo.core.clock import utcnow
from amigo.core.roles import Permission
from amigo.privacy.models import RequestStatus, RequestType, SubjectRequest
from amigo.privacy.schemas import EXPORT_FIELDS, SUBJECT_REQUEST_FIELDS, SubjectRequestView
from amigo.privacy.service import (
    approve_request,
    close_request,
    create_request,
    execute_request,
    export_file,
    extend_request,
    get_request,
    list_requests,
    reject_request,
    request_steps,
    request_view,
    verify_identity,
)

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The request is not in a state that allows this step"}
}
router = APIRouter(
    prefix="/v1/subject-requests",
    tags=["subject requests"],
    responses={**COMMON_ERRORS, **_CONFLICT},
)
_HANDLE = [requires(Permission.HANDLE_SUBJECT_REQUESTS)]
RequestId = Annotated[int, Path(ge=1, le=2**62, description="The request's id (DSR-12: 12)")]
FileName = Annotated[
    str,
    Path(
        max_length=60,
        pattern=r"^DSR-[0-9]+-[a-z]+\.(json|html|zip)$",
        description="A file's name as the request's result lists it (DSR-12-portability.zip)",
    ),
]
_MEDIA_TYPES = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "zip": "application/zip",
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewRequest(_Body):
    """A request a person made about their data."""

    customer_id: int = Field(ge=1, le=2**62, description="Golden profile id")
    type: RequestType
    channel: Code = Field(description="How it came: email, letter, store, web_form, shopify...")
    received_at: Instant | None = Field(default=None, description="When (default: now)")
    details: Note | None = Field(default=None, description="What the person asked, in their words")


class Verification(_Body):
    method: Line = Field(description="How the identity was checked (ID card seen in store...)")


class Remark(_Body):
    note: Line | None = Field(default=None, description="Why, or how the answer reached them")


class Extension(_Body):
    months: int = Field(ge=1, le=2, description="Two months in all at most (article 12(3))")
    reason: Line = Field(description="Why: the person is told")


class Rejection(_Body):
    reason: Line = Field(description="Why: the person is told")


class ExecutionIn(_Body):
    """What executing needs: a rectification's corrected values (null removes a value)."""

    changes: dict[Code, Line | None] = Field(default_factory=dict, max_length=30)


def _view(
    session: SessionDep, request: SubjectRequest, *, steps: bool = True
) -> SubjectRequestView:
    return request_view(
        request=request,
        now=utcnow(),
        steps=request_steps(session=session, request_id=request.id) if steps else None,
    )


def _audit(
    session: SessionDep,
    reader: Reader,
    customer_ids: list[int],
    action: str,
    fields: tuple[str, ...] = SUBJECT_REQUEST_FIELDS,
) -> None:
    record_reads(
        session=session,
        reader=for_purpose(reader, "subject_request"),
        subject_ids=customer_ids,
        fields=fields,
        action=action,
        now=utcnow(),
    )


@router.post(
    "",
    status_code=201,
    response_model=SubjectRequestView,
    dependencies=[requires(Permission.FILE_SUBJECT_REQUESTS)],
)
def file_request(
    filed: NewRequest, session: SessionDep, caller: CallerDep, reader: ReaderDep
) -> SubjectRequestView:
    """File a request as received; it is due one month after receipt (409: one is already open)."""
    request = create_request(
        session=session,
        customer_id=filed.customer_id,
        type=filed.type.value,
        channel=filed.channel,
        now=utcnow(),
        received_at=filed.received_at,
        details=filed.details,
        actor=caller.client_id,
        role=caller.role.value,
    )
    _audit(session, reader, [request.customer_id], "POST /v1/subject-requests")
    return _view(session, request)


@router.get("", response_model=list[SubjectRequestView], dependencies=_HANDLE)
def requests(
    session: SessionDep,
    reader: ReaderDep,
    status: RequestStatus | None = None,
    overdue: Annotated[bool, Query(description="Only the open ones past their due date")] = False,
) -> list[SubjectRequestView]:
    """List requests by due date (without their steps)."""
    now = utcnow()
    found = list_requests(
        session=session,
        status=status.value if status is not None else None,
        overdue_at=now if overdue else None,
    )
    _audit(session, reader, [r.customer_id for r in found], "GET /v1/subject-requests")
    return [_view(session, request, steps=False) for request in found]


@router.get("/{request_id}", response_model=SubjectRequestView, dependencies=_HANDLE)
def request(request_id: RequestId, session: SessionDep, reader: ReaderDep) -> SubjectRequestView:
    """Return a request, what it produced, and every step with who took it."""
    found = get_request(session=session, request_id=request_id)
    _audit(session, reader, [found.customer_id], "GET /v1/subject-requests/{id}")
    return _view(session, found)


@router.get(
    "/{request_id}/files/{name}",
    response_class=FileResponse,
    dependencies=_HANDLE,
    responses={
        200: {
            "description": "The file, as an attachment",
            "content": {media: {} for media in _MEDIA_TYPES.values()},
        }
    },
)
def request_file(
    request_id: RequestId, name: FileName, session: SessionDep, reader: ReaderDep
) -> FileResponse:
    """Download a file an executed request wrote (access report, portability archive)."""
    path = export_file(session=session, request_id=request_id, name=name)
    found = get_request(session=session, request_id=request_id)
    _audit(
        session,
        reader,
        [found.customer_id],
        "GET /v1/subject-requests/{id}/files/{name}",
        EXPORT_FIELDS,
    )
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix.lstrip(".")], filename=name)


@router.post("/{request_id}/verify", response_model=SubjectRequestView, dependencies=_HANDLE)
def verify(
    request_id: RequestId, body: Verification, session: SessionDep, caller: CallerDep
) -> SubjectRequestView:
    """Record how the requester's identity was checked."""
    found = verify_identity(
        session=session,
        request_id=request_id,
        method=body.method,
        now=utcnow(),
        actor=caller.client_id,
        role=caller.role.value,
    )
    return _view(session, found)


@router.post("/{request_id}/approve", response_model=SubjectRequestView, dependencies=_HANDLE)
def approve(
    request_id: RequestId,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    body: Remark | None = None,
) -> SubjectRequestView:
    """Approve a verified request (an erasure with a recent order needs a second approver)."""
    found = approve_request(
        session=session,
        request_id=request_id,
        now=utcnow(),
        settings=settings.privacy,
        note=body.note if body else None,
        actor=caller.client_id,
        role=caller.role.value,
    )
    return _view(session, found)


@router.post("/{request_id}/extend", response_model=SubjectRequestView, dependencies=_HANDLE)
def extend(
    request_id: RequestId, body: Extension, session: SessionDep, caller: CallerDep
) -> SubjectRequestView:
    """Push the due date back (two months in all at most), with the reason the person is told."""
    found = extend_request(
        session=session,
        request_id=request_id,
        months=body.months,
        reason=body.reason,
        now=utcnow(),
        actor=caller.client_id,
        role=caller.role.value,
    )
    return _view(session, found)


@router.post("/{request_id}/reject", response_model=SubjectRequestView, dependencies=_HANDLE)
def reject(
    request_id: RequestId, body: Rejection, session: SessionDep, caller: CallerDep
) -> SubjectRequestView:
    """Refuse a request with the reason the person is told."""
    found = reject_request(
        session=session,
        request_id=request_id,
        reason=body.reason,
        now=utcnow(),
        actor=caller.client_id,
        role=caller.role.value,
    )
    return _view(session, found)


@router.post("/{request_id}/execute", response_model=SubjectRequestView, dependencies=_HANDLE)
def execute(
    request_id: RequestId,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    body: ExecutionIn | None = None,
) -> SubjectRequestView:
    """Carry out an approved request (access report, erasure, restriction...) and record it."""
    found = execute_request(
        session=session,
        request_id=request_id,
        now=utcnow(),
        settings=settings.privacy,
        changes=body.changes if body else None,
        actor=caller.client_id,
        role=caller.role.value,
    )
    return _view(session, found)


@router.post("/{request_id}/close", response_model=SubjectRequestView, dependencies=_HANDLE)
def close(
    request_id: RequestId, session: SessionDep, caller: CallerDep, body: Remark | None = None
) -> SubjectRequestView:
    """Close an executed request once the answer has reached the person."""
    found = close_request(
        session=session,
        request_id=request_id,
        now=utcnow(),
        note=body.note if body else None,
        actor=caller.client_id,
        role=caller.role.value,
    )
    return _view(session, found)
