"""Resolve one new or changed source record against the repository, without a batch run.

Its candidates come from the operational database through the indexed
blocking keys (mailbox, phone, full name, swapped name, birth date); each
candidate pair is scored in Python with the saved model (``PairScorer``,
the twin of Splink's SQL); the record, its profile and the candidates'
profiles are then clustered under the same guards and decisions as a batch,
and merged or queued for review the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, or_, select

from amigo.core.db import table_of
from amigo.core.sql import is_one_of
from amigo.identity.clustering import Link, cluster
from amigo.identity.matching import NAME_BLOCK_CAP, PairScorer, features_of
from amigo.identity.merging import MergeContext, apply_merges
from amigo.identity.models import DistinctDecisionMember, IdentityLink, IdentityReference
from amigo.identity.resolution import (
    CROSS_REFERENCE,
    Records,
    ScoredPair,
    Thresholds,
    deterministic_rule,
    merge_plans,
    queue_reviews,
    review_items,
)

links = table_of(IdentityLink)
references = table_of(IdentityReference)
members = table_of(DistinctDecisionMember)
_MAX_CANDIDATES = 500  # a mailbox or phone shared by more is not a person's


@dataclass
class IncrementalOutcome:
    """What resolving a set of new or changed records did."""

    records: int = 0
    candidates: int = 0  # candidate pairs scored
    merges: int = 0
    queued: int = 0


# The number of named records, the denominator of a name's term frequency.
# Counting it scans every link (20-30 ms at 1.2 M profiles, more than the rest
# of resolving a record): it is kept per database for a few minutes, during
# which a load can only move a share, and so a weight, by a rounding error.
_NAMED_LINKS_TTL = 300.0
_named_links_seen: dict[str, tuple[float, int]] = {}


def _named_links(connection: Connection) -> int:
    key = connection.engine.url.render_as_string(hide_password=True)
    seen = _named_links_seen.get(key)
    if seen is not None and time.monotonic() - seen[0] < _NAMED_LINKS_TTL:
        return seen[1]
    total = int(
        connection.scalar(
            select(func.count()).select_from(links).where(links.c.name_key.is_not(None))
        )
        or 1
    )
    _named_links_seen[key] = (time.monotonic(), total)
    return total


@dataclass
class _Resolver:
    connection: Connection
    scorer: PairScorer
    thresholds: Thresholds
    context: MergeContext
    model_version: int | None
    outcome: IncrementalOutcome = field(default_factory=IncrementalOutcome)
    _name_counts: dict[str, int] = field(default_factory=dict)

    def _rows(self, condition: Any) -> list[Any]:
        return list(self.connection.execute(select(links).where(condition)))

    def total_links(self) -> int:
        return _named_links(self.connection)

    def _name_count(self, name: str) -> int:
        if name not in self._name_counts:
            count = self.connection.scalar(
                select(func.count()).select_from(links).where(links.c.name_key == name)
            )
            self._name_counts[name] = int(count or 0)
        return self._name_counts[name]

    def name_frequency(self, column: str, value: Any) -> float | None:
        """Return a full name's share of the records (the term frequency Splink would use)."""
        if column != "full_name" or value is None:
            return None
        return self._name_count(value) / self.total_links() or None

    def uncommon_name(self, name: str) -> bool:
        """Tell whether a full name is carried by few enough records to block on."""
        return self._name_count(name) <= NAME_BLOCK_CAP

    def resolve(self, link_id: int) -> None:
        found = self._rows(links.c.id == link_id)
        if not found or found[0].record_id is None:
            return
        new = found[0]
        self.outcome.records += 1
        keys = _blocking_conditions(new, self.uncommon_name)
        profiles = {new.customer_id}
        if keys:
            profiles |= set(
                self.connection.scalars(
                    select(links.c.customer_id)
                    .where(or_(*keys), links.c.id != new.id, links.c.customer_id != new.customer_id)
                    .distinct()
                    .limit(_MAX_CANDIDATES)
                )
            )
        named = self._named(new)
        profiles |= set(named.values())
        if len(profiles) == 1:
            return
        rows = self._rows(links.c.customer_id.in_(sorted(profiles)))
        records = _records(rows)
        position = records.position_of[new.id]
        features = records.features
        referenced = {
            (min(position, records.position_of[i]), max(position, records.position_of[i]))
            for i in named
            if i in records.position_of
        }
        pairs = []
        for other, row in enumerate(rows):
            if row.customer_id == new.customer_id:
                continue
            weight, probability, levels = self.scorer.score(
                features[position], features[other], self.name_frequency
            )
            rule = deterministic_rule(features[position], features[other])
            key = (min(position, other), max(position, other))
            if probability < self.thresholds.review and rule is None and key not in referenced:
                continue
            pairs.append(
                ScoredPair(
                    left=min(position, other),
                    right=max(position, other),
                    probability=probability,
                    match_weight=weight,
                    blocking_rule="incremental",
                    levels=tuple(levels),
                )
            )
        self.outcome.candidates += len(pairs)
        if not pairs:
            return
        outcome = cluster(
            features,
            [
                Link(p.left, p.right, p.probability, rule or "model")
                for p in pairs
                if (rule := _rule(p, features, referenced)) is not None
                or p.probability >= self.thresholds.auto
            ],
            groups=_groups(records),
            separations=self._separations(records),
            scores={(p.left, p.right): p.probability for p in pairs},
            review_threshold=self.thresholds.review,
        )
        plans = merge_plans(records, outcome, pairs)
        if plans:
            apply_merges(self.connection, plans, self.context)
            self.outcome.merges += sum(len(plan.steps) for plan in plans)
        items = review_items(records, outcome, pairs, self.thresholds)
        if items:
            self.outcome.queued += queue_reviews(
                self.connection,
                records,
                items,
                run_id=self.context.run_id,
                model_version=self.model_version,
                now=self.context.now,
            )

    def _named(self, new: Any) -> dict[int, int]:
        """Return the links (id -> profile) this record names, or that name this record."""
        target = links.alias("target")
        named = self.connection.execute(
            select(target.c.id, target.c.customer_id)
            .select_from(references)
            .join(
                target,
                (target.c.source_system == references.c.system)
                & (target.c.source_id == references.c.source_id),
            )
            .where(references.c.link_id == new.id)
        ).all()
        naming = self.connection.execute(
            select(links.c.id, links.c.customer_id)
            .select_from(references)
            .join(links, links.c.id == references.c.link_id)
            .where(
                references.c.system == str(new.source_system),
                references.c.source_id == new.source_id,
            )
        ).all()
        return {int(i): int(c) for i, c in [*named, *naming] if int(i) != new.id}

    def _separations(self, records: Records) -> list[tuple[list[int], list[int]]]:
        decisions = {
            int(decision_id)
            for decision_id in self.connection.scalars(
                select(members.c.decision_id)
                .where(members.c.link_id.in_(records.link_ids))
                .distinct()
            )
        }
        if not decisions:
            return []
        sides: dict[int, tuple[list[int], list[int]]] = {}
        for condition in is_one_of(self.connection, members.c.decision_id, sorted(decisions)):
            for decision_id, link_id, side in self.connection.execute(
                select(members.c.decision_id, members.c.link_id, members.c.side).where(condition)
            ):
                sides.setdefault(int(decision_id), ([], []))[int(side)].append(int(link_id))
        return list(sides.values())


def _rule(
    pair: ScoredPair, features: Sequence[Any], referenced: set[tuple[int, int]]
) -> str | None:
    if (pair.left, pair.right) in referenced:
        return CROSS_REFERENCE
    return deterministic_rule(features[pair.left], features[pair.right])


def _blocking_conditions(new: Any, uncommon: Callable[[str], bool]) -> list[Any]:
    conditions = []
    # The identifiers are encrypted: their blind indexes are the blocking keys.
    if new.email_index:
        conditions.append(links.c.email_index == new.email_index)
    if new.phone_index:
        conditions.append(links.c.phone_index == new.phone_index)
    if new.name_key:
        # As in a batch: a name shared by many records is no reason to compare.
        first, _, last = new.name_key.partition(" ")
        names = [name for name in (new.name_key, f"{last} {first}") if uncommon(name)]
        if names:
            conditions.append(links.c.name_key.in_(names))
    if new.birth_date_index and (new.first_name_key or new.last_name_key):
        same_name_part = [
            column == value
            for column, value in (
                (links.c.first_name_key, new.first_name_key),
                (links.c.last_name_key, new.last_name_key),
            )
            if value
        ]
        conditions.append((links.c.birth_date_index == new.birth_date_index) & or_(*same_name_part))
    return conditions


def _records(rows: Sequence[Any]) -> Records:
    features = [
        features_of(
            unique_id=position,
            first_name=row.first_name,
            last_name=row.last_name,
            first_name_key=row.first_name_key,
            last_name_key=row.last_name_key,
            name_key=row.name_key,
            email_match_key=row.email_match_key,
            phone=row.phone,
            birth_date=row.birth_date,
            postal_code=row.postal_code,
            city=row.city,
            address_line1=row.address_line1,
            local_part=row.distinct_local_part,
        )
        for position, row in enumerate(rows)
    ]
    link_ids = [row.id for row in rows]
    return Records(
        link_ids=link_ids,
        customer_ids=[row.customer_id for row in rows],
        features=features,
        position_of={link_id: position for position, link_id in enumerate(link_ids)},
    )


def _groups(records: Records) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for position, customer_id in enumerate(records.customer_ids):
        groups.setdefault(customer_id, []).append(position)
    return [group for group in groups.values() if len(group) > 1]


def resolve_links(
    connection: Connection,
    link_ids: Sequence[int],
    *,
    model: dict[str, Any],
    model_version: int | None,
    thresholds: Thresholds,
    context: MergeContext,
    scorer: PairScorer | None = None,
) -> IncrementalOutcome:
    """Resolve each given source record against the repository, one after the other."""
    resolver = _Resolver(
        connection=connection,
        scorer=scorer or PairScorer(model),
        thresholds=thresholds,
        context=context,
        model_version=model_version,
    )
    for link_id in link_ids:
        resolver.resolve(link_id)
    return resolver.outcome


__all__ = ["IncrementalOutcome", "resolve_links"]
