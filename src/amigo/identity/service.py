"""Identity resolution's service: resolve, merge, unmerge, review. The CLI and API call these.

Services never commit: the command or request that calls them owns the
transaction (``amigo.core.db.unit_of_work``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from amigo.core.clock import utcnow
from amigo.core.config import IdentitySettings, get_settings
from amigo.core.db import table_of
from amigo.core.errors import ConflictError, InvalidInputError, NotFoundError
from amigo.core.sql import insert_returning_ids
from amigo.identity.incremental import IncrementalOutcome, resolve_links
from amigo.identity.matching import MatchingError, PairScorer, TrainedModel, train_model
from amigo.identity.merging import (
    MergeContext,
    MergePlan,
    MergeStep,
    apply_merges,
    holder_of,
    record_distinct,
    unmerge,
)
from amigo.identity.models import (
    IdentityLink,
    MatchModel,
    MatchReview,
    MergeEvent,
    ResolutionRun,
    ReviewStatus,
    RunKind,
)
from amigo.identity.resolution import (
    BatchOutcome,
    ResolveProgress,
    Thresholds,
    read_records,
    refresh_missing_snapshots,
    resolve_batch,
)
from amigo.identity.schemas import REVIEW_FIELDS, FieldComparison, ReviewItem, ReviewRecord
from amigo.profiles.models import CustomerStatus, GoldenCustomer

models_table = table_of(MatchModel)
runs = table_of(ResolutionRun)
reviews = table_of(MatchReview)
links = table_of(IdentityLink)
merge_events = table_of(MergeEvent)


@dataclass(frozen=True)
class ResolveSummary:
    """What `amigo identity resolve` reports."""

    run_id: int
    model_version: int
    trained: bool
    outcome: BatchOutcome
    snapshots_filled: int


def thresholds_of(settings: IdentitySettings) -> Thresholds:
    """Return the thresholds the settings name, refusing a review threshold above the other."""
    if settings.review_threshold > settings.auto_merge_threshold:
        raise InvalidInputError(
            f"AMIGO_IDENTITY_REVIEW_THRESHOLD ({settings.review_threshold}) is above "
            f"AMIGO_IDENTITY_AUTO_MERGE_THRESHOLD ({settings.auto_merge_threshold})"
        )
    return Thresholds(auto=settings.auto_merge_threshold, review=settings.review_threshold)


# ---------------------------------------------------------------- the model


def active_model(*, session: Session) -> MatchModel | None:
    """Return the match model in use, or None before the first training."""
    return session.scalars(
        select(MatchModel).where(MatchModel.active.is_(True)).order_by(MatchModel.version.desc())
    ).first()


def save_model(*, session: Session, trained: TrainedModel, now: datetime) -> int:
    """Store a trained model as the next version and make it the active one."""
    connection = session.connection()
    latest = connection.scalar(select(func.max(models_table.c.version))) or 0
    connection.execute(update(models_table).values(active=False))
    version = int(latest) + 1
    connection.execute(
        models_table.insert().values(
            version=version,
            created_at=now,
            records=trained.records,
            settings=trained.settings,
            summary=trained.summary,
            active=True,
        )
    )
    return version


def get_model(*, session: Session, version: int | None = None) -> MatchModel:
    """Return a saved model by version (the active one by default)."""
    model = (
        session.get(MatchModel, version) if version is not None else active_model(session=session)
    )
    if model is None:
        if version is None:
            raise NotFoundError("no match model yet: run `amigo identity resolve` to train one")
        raise NotFoundError(f"no match model version {version}")
    return model


# ---------------------------------------------------------------- batch resolution


def _start_run(session: Session, kind: RunKind, actor: str, now: datetime) -> int:
    return insert_returning_ids(
        session.connection(),
        runs,
        [{"kind": kind.value, "actor": actor, "started_at": now, "stats": {}}],
    )[0]


def resolve_repository(
    *,
    session: Session,
    actor: str = "amigo identity resolve",
    retrain: bool = False,
    progress: ResolveProgress | None = None,
    settings: IdentitySettings | None = None,
    project_consents: bool = True,
) -> ResolveSummary:
    """Resolve every source customer record: train a model if needed, merge, queue reviews.

    ``project_consents`` False leaves the survivors' consent states to the
    caller: an initial load projects every profile's once, at its end.
    """
    settings = settings or get_settings().identity
    thresholds = thresholds_of(settings)
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # The batch reads each table once and writes much of it: pages mapped in
        # would only count against the memory budget, not save a read.
        connection.exec_driver_sql("PRAGMA mmap_size=0")
        # The merges' large UPDATEs keep a statement journal (each page's old
        # content, to undo that statement alone) and stage the survivors' values
        # in temporary storage: in memory, the write's heap peaked 2 GB higher at
        # the seed volume. In a file, the OS caches what fits. Only possible
        # before this transaction has used temporary storage, hence first.
        with suppress(OperationalError):
            connection.exec_driver_sql("PRAGMA temp_store=FILE")
    now = utcnow()
    filled = refresh_missing_snapshots(connection, now=now, progress=progress)
    run_id = _start_run(session, RunKind.BATCH, actor, now)
    records = read_records(connection)
    if len(records.link_ids) < 2:
        raise InvalidInputError(
            "the repository holds fewer than two source customer records: load some first "
            "(amigo load DIR)"
        )
    model = None if retrain else active_model(session=session)
    trained = model is None
    if model is None:
        if progress:
            progress.stage(f"Training the match model on {len(records.link_ids):,} records")
        try:
            result = train_model(
                [records.table()],
                seed=settings.seed,
                backend=settings.backend,
                on_step=(lambda name: progress.stage(f"Training: {name}")) if progress else None,
            )
        except MatchingError:
            raise
        version = save_model(session=session, trained=result, now=now)
        model_settings = result.settings
    else:
        version, model_settings = model.version, model.settings
    context = MergeContext(
        actor=actor,
        now=now,
        run_id=run_id,
        model_version=version,
        project_consents=project_consents,
    )
    outcome = resolve_batch(
        connection,
        model=model_settings,
        model_version=version,
        thresholds=thresholds,
        context=context,
        progress=progress,
        backend=settings.backend,
        records=records,
    )
    connection.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            model_version=version,
            finished_at=utcnow(),
            stats={
                "records": outcome.records,
                "candidate_pairs": outcome.candidate_pairs,
                "rule_pairs": outcome.rule_pairs,
                "merges": outcome.merges,
                "clusters": outcome.clusters,
                "largest_cluster": outcome.largest_cluster,
                "queued": outcome.queued,
                "kept_apart": outcome.kept_apart,
                "trained": trained,
                "seconds": outcome.seconds,
                "auto_merge_threshold": thresholds.auto,
                "review_threshold": thresholds.review,
            },
        )
    )
    return ResolveSummary(
        run_id=run_id,
        model_version=version,
        trained=trained,
        outcome=outcome,
        snapshots_filled=filled,
    )


# The secondary indexes resolve_initial_load reads by: the audit finds each
# profile's links by customer_id. An initial load builds the others after it,
# so that its moves (links, raw consents, golden rows) maintain none of them.
INITIAL_LOAD_INDEXES = ("ix_identity_link_customer_id",)


def resolve_initial_load(
    *,
    session: Session,
    load_started_at: datetime,
    progress: ResolveProgress | None = None,
    settings: IdentitySettings | None = None,
) -> ResolveSummary | None:
    """Resolve an initial load's customers before their orders, interactions and consents attach.

    The load calls it between its phases, with ``INITIAL_LOAD_INDEXES``
    built: the merges then move no order and no interaction, and the load's
    end projects every profile's consents once. None when there is nothing
    to do: a batch resolution finished since the load began (a resumed
    load), or fewer than two records.
    """
    done = session.scalar(
        select(func.count())
        .select_from(runs)
        .where(
            runs.c.kind == RunKind.BATCH.value,
            runs.c.started_at >= load_started_at,
            runs.c.finished_at.is_not(None),
        )
    )
    if done:
        return None
    loaded = session.scalar(
        select(func.count()).select_from(IdentityLink).where(IdentityLink.record_id.is_not(None))
    )
    if (loaded or 0) < 2:
        return None
    return resolve_repository(
        session=session,
        actor="amigo load --resolve",
        progress=progress,
        settings=settings,
        project_consents=False,
    )


# ---------------------------------------------------------------- incremental resolution


def changed_links(*, session: Session, since: datetime) -> list[int]:
    """Return the source records whose snapshot was written at or after an instant."""
    return [
        int(link_id)
        for link_id in session.scalars(
            select(IdentityLink.id)
            .where(IdentityLink.updated_at >= since, IdentityLink.record_id.is_not(None))
            .order_by(IdentityLink.id)
        )
    ]


def resolve_new_records(
    *,
    session: Session,
    link_ids: Sequence[int],
    actor: str = "incremental resolution",
    settings: IdentitySettings | None = None,
) -> IncrementalOutcome | None:
    """Resolve new or changed source records against existing profiles; None without a model."""
    settings = settings or get_settings().identity
    model = active_model(session=session)
    if model is None or not link_ids:
        return None
    thresholds = thresholds_of(settings)
    now = utcnow()
    run_id = _start_run(session, RunKind.INCREMENTAL, actor, now)
    scorer = _scorer(model)
    outcome = resolve_links(
        session.connection(),
        link_ids,
        model=model.settings,
        model_version=model.version,
        thresholds=thresholds,
        context=MergeContext(actor=actor, now=now, run_id=run_id, model_version=model.version),
        scorer=scorer,
    )
    session.connection().execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            model_version=model.version,
            finished_at=utcnow(),
            stats={
                "records": outcome.records,
                "candidate_pairs": outcome.candidates,
                "merges": outcome.merges,
                "queued": outcome.queued,
            },
        )
    )
    return outcome


INCREMENTAL_LIMIT = 50_000  # beyond, one batch run beats that many single resolutions


@dataclass(frozen=True)
class AfterLoad:
    """What resolving a load's new and changed records did, or why it did not run."""

    changed: int
    outcome: IncrementalOutcome | None
    skipped: str | None = None  # "no model", "disabled", "too many"


def resolve_after_load(
    *, session: Session, since: datetime, settings: IdentitySettings | None = None
) -> AfterLoad:
    """Resolve the source records a load wrote, if a model exists and they are not too many."""
    settings = settings or get_settings().identity
    changed = changed_links(session=session, since=since)
    if not settings.incremental:
        return AfterLoad(len(changed), None, "disabled")
    if active_model(session=session) is None:
        return AfterLoad(len(changed), None, "no model")
    if len(changed) > INCREMENTAL_LIMIT:
        return AfterLoad(len(changed), None, "too many")
    outcome = resolve_new_records(session=session, link_ids=changed, settings=settings)
    return AfterLoad(len(changed), outcome)


_SCORERS: dict[tuple[int, datetime], PairScorer] = {}


def _scorer(model: MatchModel) -> PairScorer:
    """Return the scorer of a saved model, built once per process and version."""
    key = (model.version, model.created_at)
    if key not in _SCORERS:
        _SCORERS.clear()
        _SCORERS[key] = PairScorer(model.settings)
    return _SCORERS[key]


# ---------------------------------------------------------------- manual merge and unmerge


def merge_profiles(
    *,
    session: Session,
    survivor_id: int,
    merged_id: int,
    actor: str,
    reason: str | None = None,
    rule: str = "manual",
    evidence: dict[str, Any] | None = None,
    probability: float | None = None,
) -> int:
    """Merge one golden profile into another by a person's decision; return the merge event id."""
    if survivor_id == merged_id:
        raise InvalidInputError("a profile cannot be merged into itself")
    connection = session.connection()
    survivor, merged = holder_of(connection, survivor_id), holder_of(connection, merged_id)
    if survivor == merged:
        raise ConflictError(
            f"profiles {survivor_id} and {merged_id} are already one profile ({survivor})",
            code="already_merged",
        )
    now = utcnow()
    run_id = _start_run(session, RunKind.MANUAL if rule == "manual" else RunKind.REVIEW, actor, now)
    context = MergeContext(actor=actor, now=now, run_id=run_id, reason=reason)
    [event_id] = apply_merges(
        connection,
        [
            MergePlan(
                survivor_id=survivor,
                steps=(
                    MergeStep(
                        merged_id=merged,
                        rule=rule,
                        probability=probability,
                        evidence=evidence or {},
                    ),
                ),
            )
        ],
        context,
    )
    connection.execute(update(runs).where(runs.c.id == run_id).values(finished_at=utcnow()))
    return event_id


def unmerge_profiles(
    *, session: Session, merge_event_id: int, actor: str, reason: str | None = None
) -> tuple[int, int]:
    """Undo a merge and record that the two sides are not the same person."""
    context = MergeContext(actor=actor, now=utcnow(), reason=reason)
    return unmerge(session.connection(), merge_event_id, context)


def merge_history(*, session: Session, customer_id: int) -> list[MergeEvent]:
    """Return the merges into or out of a profile, oldest first."""
    if session.get(GoldenCustomer, customer_id) is None:
        raise NotFoundError(f"no golden customer with id {customer_id}")
    return list(
        session.scalars(
            select(MergeEvent)
            .where((MergeEvent.survivor_id == customer_id) | (MergeEvent.merged_id == customer_id))
            .order_by(MergeEvent.id)
        )
    )


# ---------------------------------------------------------------- the review queue


def pending_reviews(*, session: Session, limit: int = 20, offset: int = 0) -> list[MatchReview]:
    """Return pending review items, most likely matches first."""
    return list(
        session.scalars(
            select(MatchReview)
            .where(MatchReview.status == ReviewStatus.PENDING)
            .order_by(MatchReview.probability.desc(), MatchReview.id)
            .limit(limit)
            .offset(offset)
        )
    )


def pending_review_count(*, session: Session) -> int:
    """Return how many review items wait for a decision."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(MatchReview)
            .where(MatchReview.status == ReviewStatus.PENDING)
        )
        or 0
    )


@dataclass(frozen=True)
class ReviewSide:
    """One record of a review pair, with the profile it is in now."""

    link: IdentityLink
    profile: GoldenCustomer


def review_sides(*, session: Session, review: MatchReview) -> tuple[ReviewSide, ReviewSide]:
    """Return both records of a review item with their current profiles."""
    sides = []
    for link_id in (review.left_link_id, review.right_link_id):
        link = session.get(IdentityLink, link_id)
        if link is None:  # pragma: no cover - foreign keys forbid it
            raise NotFoundError(f"source record link {link_id} is gone")
        profile = session.get(GoldenCustomer, link.customer_id)
        if profile is None:  # pragma: no cover
            raise NotFoundError(f"golden customer {link.customer_id} is gone")
        sides.append(ReviewSide(link=link, profile=profile))
    return sides[0], sides[1]


def describe_review(*, session: Session, review: MatchReview) -> ReviewItem:
    """Return a review item with both records, field by field, as the API shows it."""
    left, right = review_sides(session=session, review=review)
    fields = []
    for name in REVIEW_FIELDS:
        a, b = (_shown(getattr(side.link, name)) for side in (left, right))
        fields.append(FieldComparison(field=name, left=a, right=b, same=a is not None and a == b))
    return ReviewItem(
        id=review.id,
        status=review.status.value,
        probability=review.probability,
        match_weight=review.match_weight,
        rule=review.rule,
        reasons=list(review.reasons),
        levels=dict(review.comparison),
        model_version=review.model_version,
        created_at=review.created_at,
        left=_record(left),
        right=_record(right),
        fields=fields,
    )


def _shown(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _record(side: ReviewSide) -> ReviewRecord:
    return ReviewRecord(
        link_id=side.link.id,
        source_system=side.link.source_system.value,
        source_id=side.link.source_id,
        profile_id=side.profile.id,
    )


def get_merge_event(*, session: Session, merge_event_id: int) -> MergeEvent:
    """Return a merge event, or a clear error."""
    event = session.get(MergeEvent, merge_event_id)
    if event is None:
        raise NotFoundError(f"no merge event {merge_event_id}")
    return event


def get_review(*, session: Session, review_id: int) -> MatchReview:
    """Return a review item, or a clear error."""
    review = session.get(MatchReview, review_id)
    if review is None:
        raise NotFoundError(f"no review item {review_id}")
    return review


def _pending(session: Session, review_id: int) -> MatchReview:
    review = get_review(session=session, review_id=review_id)
    if review.status != ReviewStatus.PENDING:
        raise ConflictError(
            f"review item {review_id} is already {review.status}"
            + (f" (by {review.decided_by})" if review.decided_by else ""),
            code="already_decided",
        )
    return review


def _require_reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise InvalidInputError("give a reason for the decision (--reason)")
    return reason.strip()


def accept_review(*, session: Session, review_id: int, actor: str, reason: str | None) -> int:
    """Decide that a review pair is one person: merge their profiles; return the merge event id."""
    reason = _require_reason(reason)
    review = _pending(session, review_id)
    left, right = review_sides(session=session, review=review)
    now = utcnow()
    if left.profile.id == right.profile.id:
        raise ConflictError(
            f"review item {review_id}: both records are already in profile {left.profile.id}",
            code="already_merged",
        )
    survivor, merged = sorted((left.profile.id, right.profile.id))
    event_id = merge_profiles(
        session=session,
        survivor_id=survivor,
        merged_id=merged,
        actor=actor,
        reason=reason,
        rule="review",
        probability=review.probability,
        evidence={
            "review_id": review.id,
            "left_link_id": review.left_link_id,
            "right_link_id": review.right_link_id,
            "levels": review.comparison,
        },
    )
    review.status = ReviewStatus.ACCEPTED
    review.decided_at, review.decided_by, review.decision_reason = now, actor, reason
    session.flush()
    return event_id


def reject_review(*, session: Session, review_id: int, actor: str, reason: str | None) -> int:
    """Decide that a review pair is two people; later runs keep them apart. Return the decision id."""
    reason = _require_reason(reason)
    review = _pending(session, review_id)
    left, right = review_sides(session=session, review=review)
    if left.profile.id == right.profile.id:
        raise ConflictError(
            f"review item {review_id}: both records are already in profile {left.profile.id}; "
            "unmerge it instead (amigo identity unmerge)",
            code="already_merged",
        )
    connection = session.connection()
    side = {
        profile_id: [
            int(i)
            for i in connection.scalars(select(links.c.id).where(links.c.customer_id == profile_id))
        ]
        for profile_id in (left.profile.id, right.profile.id)
    }
    now = utcnow()
    decision_id = record_distinct(
        connection,
        side[left.profile.id],
        side[right.profile.id],
        MergeContext(actor=actor, now=now, reason=reason),
        origin="review",
        review_id=review.id,
    )
    review.status = ReviewStatus.REJECTED
    review.decided_at, review.decided_by, review.decision_reason = now, actor, reason
    session.flush()
    return decision_id


def ensure_active(*, session: Session, customer_id: int) -> GoldenCustomer:
    """Return an active profile by id, following merges, or a clear error."""
    connection = session.connection()
    holder = holder_of(connection, customer_id)
    profile = session.get(GoldenCustomer, holder)
    if profile is None or profile.status != CustomerStatus.ACTIVE:
        raise InvalidInputError(f"golden customer {customer_id} is not active")
    return profile


def close_source_customer(*, session: Session, source_system: str, source_id: str) -> int | None:
    """Mark a source customer closed in its own system (deleted there; not an erasure).

    The link stays, with its snapshot: the person and what the record said
    remain (a Y2 card closed in store is the same). Returns the link's
    profile, or None when no link has that source id.
    """
    connection = session.connection()
    row = connection.execute(
        select(links.c.id, links.c.customer_id).where(
            links.c.source_system == source_system, links.c.source_id == source_id
        )
    ).first()
    if row is None:
        return None
    connection.execute(update(links).where(links.c.id == row.id).values(closed=True))
    return int(row.customer_id)


__all__ = [
    "INITIAL_LOAD_INDEXES",
    "AfterLoad",
    "ResolveSummary",
    "accept_review",
    "active_model",
    "changed_links",
    "close_source_customer",
    "describe_review",
    "get_merge_event",
    "get_model",
    "get_review",
    "merge_history",
    "merge_profiles",
    "pending_review_count",
    "pending_reviews",
    "reject_review",
    "resolve_after_load",
    "resolve_initial_load",
    "resolve_new_records",
    "resolve_repository",
    "review_sides",
    "save_model",
    "thresholds_of",
    "unmerge_profiles",
]
