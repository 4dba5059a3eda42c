"""Batch resolution of the whole repository: candidates, scores, guarded clusters, merges, reviews.

1. Every source customer record's features come from its identity link.
2. Splink (trained on these records, or the active saved model) scores the
   candidate pairs its blocking rules produce.
3. Deterministic rules (same mailbox; same phone and last name) and scores
   above the auto-merge threshold become links; clusters grow from the
   strongest link down under the guards (``clustering``).
4. Each cluster spanning several profiles becomes one merge plan; pairs
   between the thresholds, or stopped by a soft guard, go to the review
   queue.

Existing profiles stay whole (a batch run only adds merges), and "not the
same person" decisions keep their sides apart.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, func, select, update

from amigo.core.crypto import current_crypto
from amigo.core.db import table_of
from amigo.core.sql import bulk_insert, is_one_of
from amigo.identity.clustering import Clustering, Link, cluster
from amigo.identity.comparisons import COMPARISONS
from amigo.identity.guards import is_hard, pair_conflicts
from amigo.identity.matching import (
    BLOCKING_RULES,
    LevelReader,
    PairScorer,
    comparison_labels,
    feature_table,
    features_of,
    predict_pairs,
)
from amigo.identity.merging import (
    MergeContext,
    MergePlan,
    MergeProgress,
    MergeStep,
    SilentProgress,
    apply_merges,
    separations,
)
from amigo.identity.models import IdentityLink, IdentityReference, MatchReview, ReviewStatus
from amigo.identity.snapshot import snapshot_values
from amigo.ingest.service import current_customer_facts

links = table_of(IdentityLink)
reviews = table_of(MatchReview)
SAME_EMAIL = "same e-mail"
CROSS_REFERENCE = "cross reference"
SAME_PHONE_AND_LAST_NAME = "same phone and last name"
# The blocking rules whose pairs a deterministic rule may link.
_RULE_BLOCKS = ("same e-mail", "same phone")
# Below this probability a pair is not kept, even for a deterministic rule: a
# shared mailbox with a name typo scores around 0.001, and must reach the rules.
_PREDICT_FLOOR = 1e-6


class ResolveProgress(MergeProgress, Protocol):
    """Receives the stages of a resolution, its writes' among them."""


@dataclass(frozen=True)
class Thresholds:
    """Match probabilities: merge automatically at or above ``auto``, review from ``review``."""

    auto: float
    review: float


@dataclass
class BatchOutcome:
    """What a batch resolution found and did."""

    records: int = 0
    candidate_pairs: int = 0  # scored pairs kept (at or above the review threshold or by rule)
    rule_pairs: int = 0  # pairs a deterministic rule links
    merges: int = 0  # profiles merged into another
    clusters: int = 0  # profiles that now hold several source records
    largest_cluster: int = 0
    queued: int = 0  # pairs sent to the review queue
    kept_apart: int = 0  # links refused for good (hard guards, decisions)
    seconds: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- snapshots


def refresh_missing_snapshots(
    connection: Connection, *, now: Any, progress: ResolveProgress | None = None
) -> int:
    """Fill the snapshot of links made before snapshots existed, from their stored records."""
    missing = connection.execute(
        select(links.c.id, links.c.source_system, links.c.source_id).where(
            links.c.record_id.is_(None)
        )
    ).all()
    if not missing:
        return 0
    progress = progress or SilentProgress()
    progress.stage("Reading source records for match features", total=len(missing))
    chunk = 20_000
    for start in range(0, len(missing), chunk):
        part = missing[start : start + chunk]
        facts = current_customer_facts(
            connection, [(str(system), source_id) for _, system, source_id in part]
        )
        for link_id, system, source_id in part:
            found = facts.get((str(system), source_id))
            if found is None:
                continue
            record_id, customer = found
            connection.execute(
                update(links)
                .where(links.c.id == link_id)
                .values(**snapshot_values(customer, record_id, now))
            )
        progress.advance(len(part))
    return len(missing)


# ---------------------------------------------------------------- features


@dataclass
class Records:
    """The repository's source customer records as positions: features and current profile."""

    link_ids: list[int]
    customer_ids: list[int]
    features: list[dict[str, Any]]
    position_of: dict[int, int]
    _table: pa.Table | None = None

    def table(self) -> pa.Table:
        """Return the features as the Arrow table Splink reads (unique_id = position), once."""
        if self._table is None:
            self._table = feature_table(self.features)
        return self._table


_READ_COLUMNS = (
    "id",
    "customer_id",
    "first_name",
    "last_name",
    "first_name_key",
    "last_name_key",
    "name_key",
    "email_match_key",
    "phone",
    "birth_date",
    "postal_code",
    "city",
    "address_line1",
    "distinct_local_part",
)


def read_records(connection: Connection) -> Records:
    """Read every linked source customer record's features, in link id order.

    Through the driver's cursor: at 1.7 M rows, SQLAlchemy's per-row type
    processing (dates parsed only to be written back as text) would double
    the time. The encrypted identifiers are decrypted here (the ISO text of a
    birth date is what the features take).
    """
    cipher = current_crypto().cipher

    def opened(value: str | None, field: str) -> str | None:
        return None if value is None else cipher.decrypt(value, field=field)

    link_ids: list[int] = []
    customer_ids: list[int] = []
    features: list[dict[str, Any]] = []
    sql = (
        f"SELECT {', '.join(_READ_COLUMNS)} FROM identity_link "  # noqa: S608 - fixed names
        "WHERE record_id IS NOT NULL ORDER BY id"
    )
    cursor = connection.exec_driver_sql(sql)
    position = 0
    while rows := cursor.fetchmany(50_000):
        for row in rows:
            (link_id, customer_id, first_name, last_name, first_key, last_key, name_key) = row[:7]
            link_ids.append(link_id)
            customer_ids.append(customer_id)
            features.append(
                features_of(
                    unique_id=position,
                    first_name=first_name,
                    last_name=last_name,
                    first_name_key=first_key,
                    last_name_key=last_key,
                    name_key=name_key,
                    email_match_key=opened(row[7], "identity_link.email_match_key"),
                    phone=opened(row[8], "identity_link.phone"),
                    birth_date=opened(row[9], "identity_link.birth_date"),
                    postal_code=row[10],
                    city=row[11],
                    address_line1=opened(row[12], "identity_link.address_line1"),
                    local_part=opened(row[13], "identity_link.distinct_local_part"),
                )
            )
            position += 1
    return Records(
        link_ids=link_ids,
        customer_ids=customer_ids,
        features=features,
        position_of={link_id: position for position, link_id in enumerate(link_ids)},
    )


def deterministic_rule(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """Return the deterministic rule a pair satisfies, if any."""
    if a["email"] is not None and a["email"] == b["email"]:
        return SAME_EMAIL
    same_phone = a["phone"] is not None and a["phone"] == b["phone"]
    if same_phone and a["last_x"] is not None and a["last_x"] == b["last_x"]:
        return SAME_PHONE_AND_LAST_NAME
    return None


# ---------------------------------------------------------------- the batch


@dataclass(frozen=True)
class ScoredPair:
    """A candidate pair of positions with its score and what produced it."""

    left: int
    right: int
    probability: float
    match_weight: float
    blocking_rule: str
    levels: tuple[int, ...]


def score_pairs(
    records: Records,
    model: dict[str, Any],
    thresholds: Thresholds,
    *,
    backend: str = "duckdb",
) -> list[ScoredPair]:
    """Score the candidate pairs; keep those above the review threshold or linked by a rule."""
    predicted = predict_pairs([records.table()], model, threshold=_PREDICT_FLOOR, backend=backend)
    # Only pairs above the review threshold or sharing a mailbox or a phone (the
    # deterministic rules' blocking keys) can matter: filter them in Arrow,
    # before millions of rows become Python objects.
    rule_keys = pa.array(
        [str(i) for i, (name, _) in enumerate(BLOCKING_RULES) if name in _RULE_BLOCKS]
    )
    wanted = pc.or_(
        pc.greater_equal(predicted["match_probability"], thresholds.review),
        pc.is_in(pc.cast(predicted["match_key"], pa.string()), value_set=rule_keys),
    )
    filtered = predicted.filter(wanted)
    levels = LevelReader(model).levels_of_columns([filtered[f"mw_{c.name}"] for c in COMPARISONS])
    columns = filtered.select(
        ["unique_id_l", "unique_id_r", "match_weight", "match_probability", "match_key"]
    ).to_pydict()
    features = records.features
    kept: list[ScoredPair] = []
    for index, (left, right, weight, probability, key) in enumerate(
        zip(
            columns["unique_id_l"],
            columns["unique_id_r"],
            columns["match_weight"],
            columns["match_probability"],
            columns["match_key"],
            strict=True,
        )
    ):
        if probability < thresholds.review and (
            deterministic_rule(features[left], features[right]) is None
        ):
            continue
        kept.append(
            ScoredPair(
                left=min(left, right),
                right=max(left, right),
                probability=float(probability),
                match_weight=float(weight),
                blocking_rule=BLOCKING_RULES[int(key)][0],
                levels=levels[index],
            )
        )
    return kept


def plan_clusters(
    records: Records,
    pairs: Sequence[ScoredPair],
    thresholds: Thresholds,
    separated: Sequence[tuple[list[int], list[int]]],
    referenced: frozenset[tuple[int, int]] = frozenset(),
) -> tuple[Clustering, list[Link]]:
    """Grow guarded clusters from the links (rules and confident scores); return them and the links."""
    features = records.features
    candidates: list[Link] = []
    for pair in pairs:
        rule = (
            CROSS_REFERENCE
            if (pair.left, pair.right) in referenced
            else deterministic_rule(features[pair.left], features[pair.right])
        )
        if rule is not None or pair.probability >= thresholds.auto:
            candidates.append(Link(pair.left, pair.right, pair.probability, rule or "model"))
    groups: dict[int, list[int]] = {}
    for position, customer_id in enumerate(records.customer_ids):
        groups.setdefault(customer_id, []).append(position)
    position_of = records.position_of
    positions = [
        (
            [position_of[i] for i in side_0 if i in position_of],
            [position_of[i] for i in side_1 if i in position_of],
        )
        for side_0, side_1 in separated
    ]
    outcome = cluster(
        features,
        candidates,
        groups=[g for g in groups.values() if len(g) > 1],
        separations=positions,
        scores={(p.left, p.right): p.probability for p in pairs},
        review_threshold=thresholds.review,
    )
    return outcome, candidates


def read_references(connection: Connection, records: Records) -> frozenset[tuple[int, int]]:
    """Return the pairs of positions whose records name each other (one names the other's id)."""
    references = table_of(IdentityReference)
    target = links.alias("target")
    pairs = set()
    position_of = records.position_of
    for link_id, target_id in connection.execute(
        select(references.c.link_id, target.c.id).join(
            target,
            (target.c.source_system == references.c.system)
            & (target.c.source_id == references.c.source_id),
        )
    ):
        a, b = position_of.get(int(link_id)), position_of.get(int(target_id))
        if a is not None and b is not None and a != b:
            pairs.add((min(a, b), max(a, b)))
    return frozenset(pairs)


def score_referenced(
    records: Records,
    model: dict[str, Any],
    referenced: frozenset[tuple[int, int]],
    scored: Sequence[ScoredPair],
) -> list[ScoredPair]:
    """Score the cross-referenced pairs no blocking rule brought together."""
    have = {(p.left, p.right) for p in scored}
    scorer = PairScorer(model)
    extra = []
    for left, right in sorted(referenced - have):
        weight, probability, levels = scorer.score(records.features[left], records.features[right])
        extra.append(ScoredPair(left, right, probability, weight, CROSS_REFERENCE, tuple(levels)))
    return extra


def merge_plans(
    records: Records, outcome: Clustering, pairs: Sequence[ScoredPair]
) -> list[MergePlan]:
    """Turn clusters into merges: the oldest profile survives, each other one merges into it."""
    pair_of = {(p.left, p.right): p for p in pairs}
    joined_by: dict[int, Link] = {}  # profile -> the strongest join touching its records
    for join in outcome.joins:
        for position in (join.left, join.right):
            profile = records.customer_ids[position]
            strongest = joined_by.get(profile)
            if strongest is None or join.probability > strongest.probability:
                joined_by[profile] = join
    plans = []
    for members in outcome.clusters().values():
        profiles = sorted({records.customer_ids[p] for p in members})
        if len(profiles) < 2:
            continue
        survivor, merged = profiles[0], profiles[1:]
        steps = []
        for profile in merged:
            link: Link | None = joined_by.get(profile)
            pair = (
                pair_of.get((min(link.left, link.right), max(link.left, link.right)))
                if link
                else None
            )
            steps.append(
                MergeStep(
                    merged_id=profile,
                    rule=link.rule if link else "cluster",
                    probability=link.probability if link else None,
                    match_weight=pair.match_weight if pair else None,
                    evidence=_evidence(records, pair) if pair else {},
                )
            )
        plans.append(MergePlan(survivor_id=survivor, steps=tuple(steps)))
    return plans


def _evidence(records: Records, pair: ScoredPair) -> dict[str, Any]:
    return {
        "left_link_id": records.link_ids[pair.left],
        "right_link_id": records.link_ids[pair.right],
        "blocking_rule": pair.blocking_rule,
        "levels": comparison_labels(pair.levels),
    }


def review_items(
    records: Records,
    outcome: Clustering,
    pairs: Sequence[ScoredPair],
    thresholds: Thresholds,
) -> list[tuple[ScoredPair, list[str]]]:
    """Return the pairs a person should decide on, one per pair of clusters, strongest first."""
    refused = {
        (min(r.link.left, r.link.right), max(r.link.left, r.link.right)): r for r in outcome.refused
    }
    roots = outcome.roots
    best: dict[tuple[int, int], tuple[ScoredPair, list[str]]] = {}
    for pair in pairs:
        a, b = roots[pair.left], roots[pair.right]
        if a == b or pair.probability < thresholds.review:
            continue
        refusal = refused.get((pair.left, pair.right))
        if refusal is not None:
            if refusal.final:
                continue
            reasons = list(refusal.reasons)
        else:
            codes = pair_conflicts(records.features[pair.left], records.features[pair.right])
            if is_hard(codes):
                continue
            reasons = ["below_auto_threshold", *codes]
        key = (min(a, b), max(a, b))
        if key not in best or pair.probability > best[key][0].probability:
            best[key] = (pair, reasons)
    return sorted(best.values(), key=lambda item: -item[0].probability)


def queue_reviews(
    connection: Connection,
    records: Records,
    items: Sequence[tuple[ScoredPair, list[str]]],
    *,
    run_id: int | None,
    model_version: int | None,
    now: Any,
) -> int:
    """Add review items, skipping pairs of profiles that already have one pending or decided."""
    # A pair of profiles is queued once, whichever of their records made the pair.
    left_link, right_link = links.alias("left_link"), links.alias("right_link")
    existing: set[tuple[Any, ...]] = set()
    for left, right, left_profile, right_profile in connection.execute(
        select(
            reviews.c.left_link_id,
            reviews.c.right_link_id,
            left_link.c.customer_id,
            right_link.c.customer_id,
        )
        .join(left_link, left_link.c.id == reviews.c.left_link_id)
        .join(right_link, right_link.c.id == reviews.c.right_link_id)
    ):
        existing.add((min(left, right), max(left, right)))
        existing.add(
            ("profiles", min(left_profile, right_profile), max(left_profile, right_profile))
        )
    named = sorted(
        {records.link_ids[p.left] for p, _ in items} | {records.link_ids[p.right] for p, _ in items}
    )
    profile_of: dict[int, int] = {}
    for condition in is_one_of(connection, links.c.id, named):
        for link_id, customer_id in connection.execute(
            select(links.c.id, links.c.customer_id).where(condition)
        ):
            profile_of[int(link_id)] = int(customer_id)
    rows = []
    for pair, reasons in items:
        left, right = records.link_ids[pair.left], records.link_ids[pair.right]
        profiles = sorted((profile_of[left], profile_of[right]))
        if (min(left, right), max(left, right)) in existing or (
            "profiles",
            *profiles,
        ) in existing:
            continue
        rows.append(
            {
                "left_link_id": left,
                "right_link_id": right,
                "probability": pair.probability,
                "match_weight": pair.match_weight,
                "rule": pair.blocking_rule,
                "reasons": reasons,
                "comparison": comparison_labels(pair.levels),
                "model_version": model_version,
                "run_id": run_id,
                "status": ReviewStatus.PENDING.value,
                "created_at": now,
            }
        )
    bulk_insert(connection, reviews, rows)
    return len(rows)


def resolve_batch(
    connection: Connection,
    *,
    model: dict[str, Any],
    model_version: int | None,
    thresholds: Thresholds,
    context: MergeContext,
    progress: ResolveProgress | None = None,
    backend: str = "duckdb",
    records: Records | None = None,
) -> BatchOutcome:
    """Resolve every source customer record of the repository with the given model."""
    progress = progress or SilentProgress()
    outcome = BatchOutcome()
    timer = _Timer(outcome.seconds)
    if records is None:
        progress.stage("Reading match features")
        records = timer("read", lambda: read_records(connection))
    outcome.records = len(records.link_ids)
    if outcome.records < 2:
        return outcome
    progress.stage(f"Scoring candidate pairs of {outcome.records:,} records")
    pairs = timer("score", lambda: score_pairs(records, model, thresholds, backend=backend))
    referenced = read_references(connection, records)
    pairs += score_referenced(records, model, referenced, pairs)
    outcome.candidate_pairs = len(pairs)
    progress.stage(f"Clustering {len(pairs):,} pairs under the guards")
    separated = separations(connection)
    clustering, candidates = timer(
        "cluster", lambda: plan_clusters(records, pairs, thresholds, separated, referenced)
    )
    outcome.rule_pairs = sum(1 for link in candidates if link.rule != "model")
    outcome.kept_apart = sum(1 for refusal in clustering.refused if refusal.final)
    sizes = [len(m) for m in clustering.clusters().values()]
    outcome.clusters = sum(1 for size in sizes if size > 1)
    outcome.largest_cluster = max(sizes, default=0)
    plans = merge_plans(records, clustering, pairs)
    items = review_items(records, clustering, pairs, thresholds)
    # The features are no longer needed: give their memory back before the writes.
    records.features.clear()
    records._table = None
    progress.stage(f"Writing {sum(len(p.steps) for p in plans):,} merges", total=len(plans))
    with _collector_spared():
        timer("write", partial(apply_merges, connection, plans, context, progress))
    outcome.merges = sum(len(plan.steps) for plan in plans)
    progress.stage(f"Review queue: {len(items):,} doubtful pairs")
    outcome.queued = timer(
        "review",
        lambda: queue_reviews(
            connection,
            records,
            items,
            run_id=context.run_id,
            model_version=model_version,
            now=context.now,
        ),
    )
    return outcome


class _Timer:
    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds = seconds

    def __call__(self, name: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.seconds[name] = round(
                self.seconds.get(name, 0.0) + time.perf_counter() - started, 2
            )


class _collector_spared:  # noqa: N801 - used as a context manager, named like one
    """Keep Python's cycle collector quiet while millions of short-lived rows come and go."""

    def __enter__(self) -> None:
        self.thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(70_000, 20, 100)

    def __exit__(self, *_exc: object) -> None:
        gc.set_threshold(*self.thresholds)
        gc.unfreeze()


def profile_count(connection: Connection) -> int:
    """Return the number of active golden profiles."""
    from amigo.profiles.models import GoldenCustomer  # noqa: PLC0415

    return int(
        connection.scalar(
            select(func.count())
            .select_from(GoldenCustomer)
            .where(GoldenCustomer.status == "active")
        )
        or 0
    )


__all__ = [
    "BatchOutcome",
    "Records",
    "ResolveProgress",
    "ScoredPair",
    "Thresholds",
    "deterministic_rule",
    "merge_plans",
    "plan_clusters",
    "queue_reviews",
    "read_records",
    "refresh_missing_snapshots",
    "resolve_batch",
    "review_items",
    "score_pairs",
]
