"""Read models of identity resolution for the API: the review queue and the merge history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class ReviewRecord(_ReadModel):
    """One source record of a review pair and the profile it is in now."""

    link_id: int
    source_system: str
    source_id: str
    profile_id: int


class FieldComparison(_ReadModel):
    """One field of both records side by side."""

    field: str
    left: str | None
    right: str | None
    same: bool


class ReviewItem(_ReadModel):
    """A pair resolution was not sure about: the model's score and the records compared."""

    id: int
    status: str
    probability: float
    match_weight: float
    rule: str
    reasons: list[str]  # why it was not merged automatically
    levels: dict[str, Any]  # the model's comparison levels
    model_version: int | None
    created_at: datetime
    left: ReviewRecord
    right: ReviewRecord
    fields: list[FieldComparison]


class ReviewQueue(_ReadModel):
    """A page of the pending reviews, most likely matches first."""

    pending: int
    items: list[ReviewItem]


class MergeEventView(_ReadModel):
    """One merge: who, by which rule and score, each survivor field before and after."""

    id: int
    run_id: int | None
    survivor_id: int
    merged_id: int
    actor: str
    rule: str
    model_version: int | None
    probability: float | None
    match_weight: float | None
    evidence: dict[str, Any]
    field_changes: dict[str, Any]
    moved_link_ids: list[int]
    reason: str | None
    merged_at: datetime
    unmerged_at: datetime | None
    unmerged_by: str | None
    unmerge_reason: str | None


class Unmerged(_ReadModel):
    """What an unmerge gave back: the restored profile and the one that kept the rest."""

    merge_event_id: int
    restored_id: int
    holder_id: int


class ReviewRejected(_ReadModel):
    """A review decided as two people, and the decision that keeps them apart."""

    review_id: int
    decision_id: int


# The fields a review compares (source record snapshots), named in the audit log of reads.
REVIEW_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "address_line1",
    "postal_code",
    "city",
    "country",
    "preferred_store_id",
)
MERGE_HISTORY_FIELDS = ("merge_field_changes",)
