"""How far the identity graph is from the truth: pairwise and cluster precision and recall.

The generator's ``truth.csv`` names the true person of every source record.
Each source customer record in the repository belongs to one golden profile
(``identity_link``): records sharing a profile are the predicted clusters,
records sharing a person the true ones. Only records present in both count;
rejected or missing ones are reported apart.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from amigo.core.errors import FileFormatError, InvalidInputError
from amigo.identity.models import IdentityLink

TRUTH_COLUMNS = ("source", "entity", "source_id", "person_id")
CUSTOMER_ENTITIES = frozenset({"customer", "submission"})
RecordKey = tuple[str, str]  # (source system, source id)


@dataclass(frozen=True)
class Evaluation:
    """Pairwise and cluster figures of the identity graph against the truth."""

    records: int  # evaluated: in the truth and linked to a profile
    truth_only: int  # in the truth, not in the repository (rejected or not loaded)
    profiles: int  # predicted clusters among the evaluated records
    persons: int  # true clusters among them
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    exact_clusters: int  # profiles whose records are exactly one person's
    largest_profile: int  # records in the largest predicted cluster

    @property
    def pairwise_precision(self) -> float:
        """Share of predicted same-person pairs that are true (1.0 when none is predicted)."""
        return _share(self.correct_pairs, self.predicted_pairs)

    @property
    def pairwise_recall(self) -> float:
        """Share of true same-person pairs that are predicted (1.0 when there are none)."""
        return _share(self.correct_pairs, self.true_pairs)

    @property
    def pairwise_f1(self) -> float:
        """Harmonic mean of pairwise precision and recall."""
        precision, recall = self.pairwise_precision, self.pairwise_recall
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    @property
    def cluster_precision(self) -> float:
        """Share of profiles that hold exactly one person's records, all of them."""
        return _share(self.exact_clusters, self.profiles)

    @property
    def cluster_recall(self) -> float:
        """Share of persons whose records make exactly one profile."""
        return _share(self.exact_clusters, self.persons)


def read_truth(path: Path) -> dict[RecordKey, str]:
    """Return the true person of each source customer record in a truth.csv file."""
    if not path.is_file():
        raise InvalidInputError(f"{path} is not a file", code="missing_file")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in TRUTH_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise FileFormatError(
                    f"{path}: not a truth file, missing column(s) {', '.join(missing)} "
                    f"(expected {', '.join(TRUTH_COLUMNS)}, as `amigo generate` writes)",
                    code="missing_columns",
                )
            return {
                (row["source"], row["source_id"]): row["person_id"]
                for row in reader
                if row["entity"] in CUSTOMER_ENTITIES and row["source_id"] and row["person_id"]
            }
    except UnicodeDecodeError as error:
        raise FileFormatError(f"{path}: not UTF-8 text ({error.reason})", code="encoding") from None


def evaluate(connection: Connection, truth: dict[RecordKey, str]) -> Evaluation:
    """Compare the identity graph in the repository with the true persons."""
    links = connection.execute(
        select(IdentityLink.source_system, IdentityLink.source_id, IdentityLink.customer_id)
    )
    return evaluate_clusters(
        {(str(system), source_id): customer_id for system, source_id, customer_id in links},
        truth,
    )


def evaluate_clusters(
    clusters: Mapping[RecordKey, Hashable], truth: dict[RecordKey, str]
) -> Evaluation:
    """Compare any clustering of source records (record -> cluster id) with the true persons."""
    profile_of = {key: cluster for key, cluster in clusters.items() if key in truth}
    pairs = Counter((profile_of[key], truth[key]) for key in profile_of)
    profile_sizes = Counter(profile for profile, _person in pairs.elements())
    person_sizes = Counter(person for _profile, person in pairs.elements())
    exact = sum(
        1
        for (profile, person), count in pairs.items()
        if profile_sizes[profile] == count == person_sizes[person]
    )
    return Evaluation(
        records=len(profile_of),
        truth_only=len(truth) - len(profile_of),
        profiles=len(profile_sizes),
        persons=len(person_sizes),
        predicted_pairs=_pairs(profile_sizes.values()),
        true_pairs=_pairs(person_sizes.values()),
        correct_pairs=_pairs(pairs.values()),
        exact_clusters=exact,
        largest_profile=max(profile_sizes.values(), default=0),
    )


def _share(part: int, whole: int) -> float:
    """Return part / whole, 1.0 for an empty whole (nothing to get wrong, nothing missed)."""
    return part / whole if whole else 1.0


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


__all__ = ["Evaluation", "evaluate", "evaluate_clusters", "read_truth"]
