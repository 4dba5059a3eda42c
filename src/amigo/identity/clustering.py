"""Clusters of records that are one person, grown from the strongest links down, never chained.

Connected components at a threshold chain: A-B strong, B-C weak, and A and
C end up together though nothing says they are one person; with common
names they snowball into clusters of hundreds. Here links join clusters one
at a time, strongest first, and a link joins two clusters only if

- no pair of records across them trips a guard (``guards.pair_conflicts``),
- no "not the same person" decision separates them, and
- when both clusters already hold several records, the records across them
  mostly look alike too (the scored cross pairs above the review threshold
  are at least half of all cross pairs): one weak link cannot pull two
  strong clusters into one.

Pure: positions in, clusters out. Deterministic: ties break on positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from amigo.identity.guards import is_hard, pair_conflicts

Row = Mapping[str, Any]
_MIN_SUPPORT = 0.5


@dataclass(frozen=True, slots=True)
class Link:
    """A reason to join two records: a deterministic rule, or the model's probability."""

    left: int
    right: int
    probability: float
    rule: str  # the deterministic rule's name, or "model"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A link that did not join its clusters, and why (guard codes, "decision", "support")."""

    link: Link
    reasons: tuple[str, ...]

    @property
    def final(self) -> bool:
        """Tell whether a person could not overrule it either (a hard guard or a decision)."""
        return is_hard(self.reasons) or "decision" in self.reasons


@dataclass
class Clustering:
    """The outcome: each position's cluster root, the joins made and the links refused."""

    roots: list[int]
    joins: list[Link] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def clusters(self) -> dict[int, list[int]]:
        """Return the members of each cluster, by root."""
        found: dict[int, list[int]] = {}
        for position, root in enumerate(self.roots):
            found.setdefault(root, []).append(position)
        return found


class _Clusters:
    def __init__(self, count: int) -> None:
        self.parent = list(range(count))
        self.members: dict[int, list[int]] = {}
        self.tags: dict[int, set[tuple[int, int]]] = {}

    def find(self, node: int) -> int:
        parent = self.parent
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def of(self, root: int) -> list[int]:
        return self.members.get(root) or [root]

    def union(self, a: int, b: int) -> int:
        """Join the clusters of roots a and b; return the new root (the larger keeps it)."""
        members_a, members_b = self.of(a), self.of(b)
        if len(members_a) < len(members_b):
            a, b, members_a, members_b = b, a, members_b, members_a
        self.parent[b] = a
        self.members[a] = members_a + members_b
        self.members.pop(b, None)
        tags_b = self.tags.pop(b, None)
        if tags_b:
            self.tags.setdefault(a, set()).update(tags_b)
        return a

    def separated(self, a: int, b: int) -> bool:
        tags_a, tags_b = self.tags.get(a), self.tags.get(b)
        if not tags_a or not tags_b:
            return False
        return any((decision, 1 - side) in tags_b for decision, side in tags_a)


def cluster(
    features: Sequence[Row],
    links: Iterable[Link],
    *,
    groups: Iterable[Sequence[int]] = (),
    separations: Iterable[tuple[Sequence[int], Sequence[int]]] = (),
    scores: Mapping[tuple[int, int], float] | None = None,
    review_threshold: float = 0.5,
) -> Clustering:
    """Join records along links, strongest first, as the module docstring says.

    Args:
        features: each position's feature row (what the guards compare).
        links: candidate joins; the strongest (highest probability) go first.
        groups: positions already in one profile (kept together, not re-checked).
        separations: pairs of position sets that must never share a cluster.
        scores: probability of every scored pair (smaller position first), for support.
        review_threshold: cross pairs scored at least this much support a join.
    """
    state = _Clusters(len(features))
    for group in groups:
        members = list(group)
        for other in members[1:]:
            a, b = state.find(members[0]), state.find(other)
            if a != b:
                state.union(a, b)
    for decision, (side_0, side_1) in enumerate(separations):
        for side, positions in ((0, side_0), (1, side_1)):
            for position in positions:
                state.tags.setdefault(state.find(position), set()).add((decision, side))

    outcome = Clustering(roots=[])
    ordered = sorted(links, key=lambda k: (-k.probability, min(k.left, k.right), k.right))
    scores = scores or {}
    for link in ordered:
        a, b = state.find(link.left), state.find(link.right)
        if a == b:
            continue
        reasons = _objections(state, a, b, features, scores, review_threshold)
        if reasons:
            outcome.refused.append(Refusal(link, reasons))
            continue
        state.union(a, b)
        outcome.joins.append(link)
    outcome.roots = [state.find(position) for position in range(len(features))]
    return outcome


def _objections(  # noqa: PLR0917 - a private helper of cluster(), called once
    state: _Clusters,
    a: int,
    b: int,
    features: Sequence[Row],
    scores: Mapping[tuple[int, int], float],
    review_threshold: float,
) -> tuple[str, ...]:
    if state.separated(a, b):
        return ("decision",)
    members_a, members_b = state.of(a), state.of(b)
    found: set[str] = set()
    for x in members_a:
        row_x = features[x]
        for y in members_b:
            codes = pair_conflicts(row_x, features[y])
            if codes:
                if is_hard(codes):
                    return codes
                found.update(codes)
    if found:
        return tuple(sorted(found))
    if len(members_a) > 1 and len(members_b) > 1:
        supported = sum(
            1
            for x in members_a
            for y in members_b
            if scores.get((x, y) if x < y else (y, x), 0.0) >= review_threshold
        )
        if supported < _MIN_SUPPORT * len(members_a) * len(members_b):
            return ("support",)
    return ()


__all__ = ["Clustering", "Link", "Refusal", "cluster"]
