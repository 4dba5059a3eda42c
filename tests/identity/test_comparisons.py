"""The Python twin of every comparison level agrees with Splink's SQL, pair by pair."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest

from amigo.identity.comparisons import COMPARISONS
from amigo.identity.matching import (
    LevelReader,
    PairScorer,
    feature_table,
    predict_pairs,
    train_model,
)
from identity.identity_records import record

FIRST = ["Jean", "Marie", "Hélène", "Ji-woo", "Yinuo", "Karl", "Jonathan", "Anne", "Ann"]
LAST = ["Dupont", "Martin", "Kim", "Zhang", "Burton", "Lee", "Smith", "Becker"]


def _people(count: int, seed: int) -> list[dict[str, Any]]:
    """Return records of `count` made-up people, most of them twice with some noise."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first.lower()}.{last.lower()}{n}@example.org"
        phone = f"+3361{n:07d}"
        birth = f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        rows.append(record(first, last, email=email, phone=phone, birth=birth, postal="75011"))
        if rng.random() < 0.7:
            rows.append(
                record(
                    first if rng.random() < 0.8 else None,
                    last if rng.random() < 0.9 else first,
                    email=email if rng.random() < 0.7 else email.replace(".", "", 1),
                    phone=phone if rng.random() < 0.5 else None,
                    birth=birth if rng.random() < 0.5 else None,
                    city="Paris",
                )
            )
    for position, row in enumerate(rows):
        row["unique_id"] = position
    return rows


@pytest.fixture(scope="module")
def scored() -> tuple[list[dict[str, Any]], dict[str, Any], Any]:
    rows = _people(400, seed=5)
    table = feature_table(rows)
    model = train_model([table], seed=1, max_pairs=2e5).settings
    return rows, model, predict_pairs([table], model, threshold=0.0).to_pylist()


def test_python_levels_equal_splink_levels_on_every_scored_pair(
    scored: tuple[list[dict[str, Any]], dict[str, Any], Any],
) -> None:
    rows, model, pairs = scored
    scorer, reader = PairScorer(model), LevelReader(model)
    assert len(pairs) > 300
    columns = [pa.chunked_array([[p[f"mw_{c.name}"] for p in pairs]]) for c in COMPARISONS]
    seen: set[tuple[int, int]] = set()
    for pair, splink in zip(pairs, reader.levels_of_columns(columns), strict=True):
        left, right = rows[pair["unique_id_l"]], rows[pair["unique_id_r"]]
        assert tuple(scorer.levels(left, right)) == splink, (left, right)
        seen.update(enumerate(splink))
    # The sample reaches most levels of every comparison, not only the easy ones.
    assert len(seen) >= 0.5 * sum(len(c.levels) for c in COMPARISONS)


def test_python_match_weights_equal_splinks(
    scored: tuple[list[dict[str, Any]], dict[str, Any], Any],
) -> None:
    rows, model, pairs = scored
    scorer = PairScorer(model)
    names = Counter(row["full_name"] for row in rows if row["full_name"])
    total = sum(names.values())

    def frequency(column: str, value: Any) -> float | None:
        return names[value] / total if column == "full_name" and value in names else None

    for pair in pairs:
        weight, probability, _ = scorer.score(
            rows[pair["unique_id_l"]], rows[pair["unique_id_r"]], frequency
        )
        assert weight == pytest.approx(pair["match_weight"], abs=1e-6)
        assert probability == pytest.approx(pair["match_probability"], abs=1e-9)
