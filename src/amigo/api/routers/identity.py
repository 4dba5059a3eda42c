"""Identity: the review queue, manual merges and unmerges, a profile's merge history.

Review listings and merge histories show personal data (the records
compared, each field before and after a merge): their reads are audit-logged.
Every decision is the identity service's action, audited there with the
caller's client id as actor (invariant 3).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from amigo.api.deps import CallerDep, ReaderDep, SessionDep, for_purpose
from amigo.api.errors import COMMON_ERRORS, ErrorBody
from amigo.api.fields import Line
from amigo.api.security import requires
from amigo.core.audit import Reader, record_reads
from amigo.core.clock import utcnow
from amigo.core.roles import Permission
from amigo.identity.schemas import (
    MERGE_HISTORY_FIELDS,
    REVIEW_FIELDS,
    MergeEventView,
    ReviewQueue,
    ReviewRejected,
    Unmerged,
)
from amigo.identity.service import (
    accept_review,
    describe_review,
    get_merge_event,
    merge_history,
    merge_profiles,
    pending_review_count,
    pending_reviews,
    reject_review,
    unmerge_profiles,
)

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "Already decided, merged or undone"}
}
router = APIRouter(prefix="/v1", tags=["identity"], responses={**COMMON_ERRORS, **_CONFLICT})
_REVIEW = [requires(Permission.REVIEW_IDENTITY)]
Id = Annotated[int, Path(ge=1, le=2**62)]
ProfileId = Annotated[int, Field(ge=1, le=2**62, description="Golden profile id")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Decision(_Body):
    reason: Line = Field(description="Why they are (or are not) one person: kept in the audit")


class MergeIn(_Body):
    survivor_id: ProfileId
    merged_id: ProfileId
    reason: Line | None = None


class UnmergeIn(_Body):
    merge_event_id: int = Field(ge=1, le=2**62, description="The merge to undo (see history)")
    reason: Line | None = None


def _audit(session: SessionDep, reader: Reader, ids: list[int], fields: Any, action: str) -> None:
    record_reads(
        session=session,
        reader=for_purpose(reader, "identity_review"),
        subject_ids=ids,
        fields=fields,
        action=action,
        now=utcnow(),
    )


@router.get("/identity/reviews", response_model=ReviewQueue, dependencies=_REVIEW)
def reviews(
    session: SessionDep,
    reader: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=200, description="Pairs per page")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Pairs to skip")] = 0,
) -> ReviewQueue:
    """List pending pairs, most likely matches first, each compared field by field."""
    items = [
        describe_review(session=session, review=review)
        for review in pending_reviews(session=session, limit=limit, offset=offset)
    ]
    _audit(
        session,
        reader,
        [p for item in items for p in (item.left.profile_id, item.right.profile_id)],
        REVIEW_FIELDS,
        "GET /v1/identity/reviews",
    )
    return ReviewQueue(pending=pending_review_count(session=session), items=items)


@router.post(
    "/identity/reviews/{review_id}/accept", response_model=MergeEventView, dependencies=_REVIEW
)
def accept(
    review_id: Id, decision: Decision, session: SessionDep, caller: CallerDep
) -> MergeEventView:
    """Decide the pair is one person: their profiles merge (audited, reversible)."""
    event_id = accept_review(
        session=session, review_id=review_id, actor=caller.client_id, reason=decision.reason
    )
    return MergeEventView.model_validate(get_merge_event(session=session, merge_event_id=event_id))


@router.post(
    "/identity/reviews/{review_id}/reject", response_model=ReviewRejected, dependencies=_REVIEW
)
def reject(
    review_id: Id, decision: Decision, session: SessionDep, caller: CallerDep
) -> ReviewRejected:
    """Decide the pair is two people: later resolutions keep them apart."""
    decision_id = reject_review(
        session=session, review_id=review_id, actor=caller.client_id, reason=decision.reason
    )
    return ReviewRejected(review_id=review_id, decision_id=decision_id)


@router.post(
    "/identity/merges", status_code=201, response_model=MergeEventView, dependencies=_REVIEW
)
def merge(body: MergeIn, session: SessionDep, caller: CallerDep) -> MergeEventView:
    """Merge one golden profile into another by a person's decision (reversible)."""
    event_id = merge_profiles(
        session=session,
        survivor_id=body.survivor_id,
        merged_id=body.merged_id,
        actor=caller.client_id,
        reason=body.reason,
    )
    return MergeEventView.model_validate(get_merge_event(session=session, merge_event_id=event_id))


@router.post("/identity/unmerge", response_model=Unmerged, dependencies=_REVIEW)
def unmerge(body: UnmergeIn, session: SessionDep, caller: CallerDep) -> Unmerged:
    """Undo a merge; later resolutions keep the two apart."""
    restored, holder = unmerge_profiles(
        session=session,
        merge_event_id=body.merge_event_id,
        actor=caller.client_id,
        reason=body.reason,
    )
    return Unmerged(merge_event_id=body.merge_event_id, restored_id=restored, holder_id=holder)


@router.get(
    "/customers/{customer_id}/merges", response_model=list[MergeEventView], dependencies=_REVIEW
)
def history(customer_id: Id, session: SessionDep, reader: ReaderDep) -> list[MergeEventView]:
    """List the merges into and out of a profile, oldest first, with each field's change."""
    events = [
        MergeEventView.model_validate(e)
        for e in merge_history(session=session, customer_id=customer_id)
    ]
    _audit(
        session,
        reader,
        [customer_id, *(p for e in events for p in (e.survivor_id, e.merged_id))],
        MERGE_HISTORY_FIELDS,
        "GET /v1/customers/{id}/merges",
    )
    return events
