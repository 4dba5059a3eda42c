"""Unmerge, manual merges and the review queue: reversible, audited, respected later."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amigo.core.clock import utcnow
from amigo.core.errors import ConflictError, InvalidInputError, NotFoundError
from amigo.events.models import OutboxEvent
from amigo.identity.merging import PROFILE_FIELDS, MergeContext, MergePlan, MergeStep, apply_merges
from amigo.identity.models import (
    DistinctDecision,
    IdentityLink,
    MatchReview,
    MergeEvent,
    ReviewStatus,
)
from amigo.identity.service import (
    accept_review,
    merge_history,
    merge_profiles,
    reject_review,
    resolve_repository,
    unmerge_profiles,
)
from amigo.profiles.models import (
    CustomerAssociate,
    CustomerStatus,
    CustomerStore,
    GoldenCustomer,
    Interaction,
    Order,
    SalesAssociate,
    Store,
)
from identity.conftest import SETTINGS, Resolved


def _a_merge_with_orders(session: Session) -> MergeEvent:
    """Return a merge whose merged profile brought orders with it."""
    for event in session.scalars(select(MergeEvent).order_by(MergeEvent.id)):
        orders = session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.customer_link_id.in_(event.moved_link_ids))
        )
        if orders:
            return event
    raise AssertionError("no merge moved orders")  # pragma: no cover


def _values(profile: GoldenCustomer) -> dict[str, object]:
    """Return a profile's fields as the audit stores them (dates as ISO text)."""
    values = {f: getattr(profile, f) for f in PROFILE_FIELDS}
    return {f: v.isoformat() if hasattr(v, "isoformat") else v for f, v in values.items()}


def test_unmerge_restores_both_profiles_and_reattaches_what_moved(
    resolved: Resolved, scratch: Session
) -> None:
    event = _a_merge_with_orders(scratch)
    merged_id, survivor_id = event.merged_id, event.survivor_id
    moved = list(event.moved_link_ids)
    merged = scratch.get(GoldenCustomer, merged_id)
    assert merged is not None
    before = _values(merged)  # a merge leaves the merged profile's fields as they were

    restored, holder = unmerge_profiles(
        session=scratch, merge_event_id=event.id, actor="dpo@amigo", reason="two people"
    )

    scratch.expire_all()
    assert (restored, holder) == (merged_id, survivor_id)
    profile = scratch.get(GoldenCustomer, merged_id)
    assert profile is not None
    assert profile.status == CustomerStatus.ACTIVE
    assert profile.merged_into_id is None
    assert _values(profile) == before
    links = scratch.scalars(select(IdentityLink.id).where(IdentityLink.customer_id == merged_id))
    assert sorted(links) == sorted(moved)
    for model in (Order, Interaction):
        stray = scratch.scalar(
            select(func.count())
            .select_from(model)
            .where(model.customer_link_id.in_(moved), model.customer_id != merged_id)
        )
        assert stray == 0
    assert scratch.get(MergeEvent, event.id).unmerged_by == "dpo@amigo"  # type: ignore[union-attr]
    assert scratch.scalar(select(func.count()).select_from(DistinctDecision)) == 1
    assert "customer.unmerged" in set(scratch.scalars(select(OutboxEvent.type)))


def test_a_merge_fills_a_tie_without_a_date_with_the_merged_profiles_date(
    resolved: Resolved, scratch: Session
) -> None:
    survivor_id, merged_id = scratch.scalars(
        select(GoldenCustomer.id)
        .where(GoldenCustomer.status == CustomerStatus.ACTIVE)
        .order_by(GoldenCustomer.id)
        .limit(2)
    ).all()
    store_id = scratch.scalars(select(Store.id).order_by(Store.id)).first()
    associate_id = scratch.scalars(select(SalesAssociate.id).order_by(SalesAssociate.id)).first()
    first_visit = datetime(2021, 3, 4, 10, 30, tzinfo=UTC)
    for customer_id, since in ((survivor_id, None), (merged_id, first_visit)):
        scratch.merge(
            CustomerStore(
                customer_id=customer_id, store_id=store_id, relation="visited", since=since
            )
        )
        scratch.merge(
            CustomerAssociate(
                customer_id=customer_id, associate_id=associate_id, assigned_since=since
            )
        )
    scratch.flush()

    merge_profiles(session=scratch, survivor_id=survivor_id, merged_id=merged_id, actor="cli")

    scratch.expire_all()
    tie = scratch.get(CustomerStore, (survivor_id, store_id, "visited"))
    assigned = scratch.get(CustomerAssociate, (survivor_id, associate_id))
    # A missing date is not an earlier one: the survivor learns when the person first came.
    assert (tie.since if tie else None) == first_visit
    assert (assigned.assigned_since if assigned else None) == first_visit


def test_resolution_after_an_unmerge_keeps_the_two_apart(
    resolved: Resolved, scratch: Session
) -> None:
    event = _a_merge_with_orders(scratch)
    unmerge_profiles(session=scratch, merge_event_id=event.id, actor="cli", reason="two people")

    again = resolve_repository(session=scratch, settings=SETTINGS)

    scratch.expire_all()
    assert again.outcome.merges == 0
    merged = scratch.get(GoldenCustomer, event.merged_id)
    assert merged is not None
    assert merged.status == CustomerStatus.ACTIVE


def test_unmerge_then_merge_by_hand_is_a_round_trip(resolved: Resolved, scratch: Session) -> None:
    event = _a_merge_with_orders(scratch)
    survivor = scratch.get(GoldenCustomer, event.survivor_id)
    assert survivor is not None
    merged_values = _values(survivor)

    unmerge_profiles(session=scratch, merge_event_id=event.id, actor="cli", reason="checking")
    merge_profiles(
        session=scratch,
        survivor_id=event.survivor_id,
        merged_id=event.merged_id,
        actor="cli",
        reason="confirmed in store",
    )

    scratch.expire_all()
    again = scratch.get(GoldenCustomer, event.survivor_id)
    assert again is not None
    assert _values(again) == merged_values
    history = merge_history(session=scratch, customer_id=event.survivor_id)
    assert [h.rule for h in history if h.merged_id == event.merged_id][-1] == "manual"


def test_bad_unmerges_and_merges_are_refused_with_a_reason(
    resolved: Resolved, scratch: Session
) -> None:
    event = _a_merge_with_orders(scratch)
    unmerge_profiles(session=scratch, merge_event_id=event.id, actor="cli", reason="x")

    with pytest.raises(ConflictError, match="already undone"):
        unmerge_profiles(session=scratch, merge_event_id=event.id, actor="cli", reason="x")
    with pytest.raises(NotFoundError, match="no merge event"):
        unmerge_profiles(session=scratch, merge_event_id=10**9, actor="cli", reason="x")
    with pytest.raises(InvalidInputError, match="into itself"):
        merge_profiles(session=scratch, survivor_id=1, merged_id=1, actor="cli")
    with pytest.raises(NotFoundError):
        merge_profiles(session=scratch, survivor_id=1, merged_id=10**9, actor="cli")


def test_a_merge_plan_naming_a_profile_that_is_not_active_is_refused_whole(
    resolved: Resolved, scratch: Session
) -> None:
    done = scratch.scalars(select(MergeEvent).order_by(MergeEvent.id)).first()
    assert done is not None
    already_merged, survivor = done.merged_id, done.survivor_id
    connection = scratch.connection()
    events_before = scratch.scalar(select(func.count()).select_from(MergeEvent))
    context = MergeContext(actor="test", now=utcnow())

    def plan(merged_id: int) -> MergePlan:
        return MergePlan(
            survivor_id=survivor, steps=(MergeStep(merged_id=merged_id, rule="manual"),)
        )

    with pytest.raises(InvalidInputError, match="is merged, not active"):
        apply_merges(connection, [plan(already_merged)], context)
    with pytest.raises(NotFoundError, match="no golden customer"):
        apply_merges(connection, [plan(10**9)], context)
    assert scratch.scalar(select(func.count()).select_from(MergeEvent)) == events_before


def _pending(session: Session) -> MatchReview:
    review = session.scalars(
        select(MatchReview).where(MatchReview.status == ReviewStatus.PENDING)
    ).first()
    assert review is not None, "the resolution queued nothing for review"
    return review


def test_the_review_queue_holds_doubtful_pairs_with_their_comparison(resolved: Resolved) -> None:
    with Session(resolved.engine) as session:
        reviews = session.scalars(select(MatchReview)).all()
        assert len(reviews) == resolved.summary.outcome.queued > 0
        for review in reviews:
            assert review.probability >= SETTINGS.review_threshold
            assert review.reasons
            assert set(review.comparison) == {"name", "birth_date", "email", "phone", "location"}
            left = session.get(IdentityLink, review.left_link_id)
            right = session.get(IdentityLink, review.right_link_id)
            assert left is not None
            assert right is not None
            assert left.customer_id != right.customer_id


def test_accepting_a_review_merges_the_pair(resolved: Resolved, scratch: Session) -> None:
    review = _pending(scratch)

    event_id = accept_review(
        session=scratch, review_id=review.id, actor="marie@store", reason="same customer card"
    )

    scratch.expire_all()
    left = scratch.get(IdentityLink, review.left_link_id)
    right = scratch.get(IdentityLink, review.right_link_id)
    assert left is not None
    assert right is not None
    assert left.customer_id == right.customer_id
    event = scratch.get(MergeEvent, event_id)
    assert event is not None
    assert event.rule == "review"
    assert event.reason == "same customer card"
    assert scratch.get(MatchReview, review.id).status == ReviewStatus.ACCEPTED  # type: ignore[union-attr]
    with pytest.raises(ConflictError, match="already accepted"):
        accept_review(session=scratch, review_id=review.id, actor="x", reason="again")


def test_rejecting_a_review_keeps_the_pair_apart_in_later_runs(
    resolved: Resolved, scratch: Session
) -> None:
    review = _pending(scratch)
    with pytest.raises(InvalidInputError, match="reason"):
        reject_review(session=scratch, review_id=review.id, actor="x", reason="  ")

    reject_review(session=scratch, review_id=review.id, actor="x", reason="different birth year")
    resolve_repository(session=scratch, settings=SETTINGS)

    scratch.expire_all()
    left = scratch.get(IdentityLink, review.left_link_id)
    right = scratch.get(IdentityLink, review.right_link_id)
    assert left is not None
    assert right is not None
    assert left.customer_id != right.customer_id
    assert scratch.get(MatchReview, review.id).status == ReviewStatus.REJECTED  # type: ignore[union-attr]
    with pytest.raises(NotFoundError, match="no review item"):
        reject_review(session=scratch, review_id=10**9, actor="x", reason="r")
