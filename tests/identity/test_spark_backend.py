"""The Spark backend: the same model, the same pairs, the same clusters as DuckDB."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amigo.identity.comparisons import COMPARISONS, for_spark, spark_sql
from amigo.identity.matching import base_settings
from identity.test_dedupe import MAP, _write_people


def test_spark_spelling_renames_jaro_winkler_and_drops_the_global_flag() -> None:
    assert spark_sql("jaro_winkler_similarity(first_l, first_r) >= 0.9") == (
        "jaro_winkler(first_l, first_r) >= 0.9"
    )
    assert spark_sql(
        "regexp_replace(email_l, '[^0-9]', '', 'g') = regexp_replace(email_r, '[^0-9]', '', 'g')"
    ) == ("regexp_replace(email_l, '[^0-9]', '') = regexp_replace(email_r, '[^0-9]', '')")
    assert spark_sql("birth_l = birth_r") == "birth_l = birth_r"


def test_every_level_translated_for_spark_keeps_no_duckdb_only_spelling() -> None:
    settings = for_spark(base_settings())
    conditions = [
        level["sql_condition"]
        for comparison in settings["comparisons"]
        for level in comparison["comparison_levels"]
    ]
    assert len(conditions) == sum(len(c.levels) for c in COMPARISONS)
    assert not [c for c in conditions if "jaro_winkler_similarity" in c or "'g')" in c]


def _clusters(path: Path) -> tuple[list[list[str]], dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    members: dict[str, list[str]] = {}
    for row in rows:
        members.setdefault(row["cluster_id"], []).append(row["record_id"])
    return sorted(sorted(m) for m in members.values()), {
        row["record_id"]: row["match_probability"] for row in rows
    }


# Slow (a JVM, and Splink's training as Spark jobs: 80 s of the suite's 14 minutes):
# run by `make bench`, not in CI; the Spark spelling of every comparison is checked above.
@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("java") is None, reason="Spark needs Java 17 (apt install default-jre)"
)
def test_dedupe_on_spark_finds_the_clusters_duckdb_finds(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    _write_people(tmp_path / "people.csv", range(150), seed=5)
    runs = {}
    for backend in ("duckdb", "spark"):
        out = tmp_path / f"{backend}.csv"
        done = subprocess.run(
            [sys.executable, "-m", "amigo.cli", "identity", "dedupe", str(tmp_path / "people.csv"),
             "-o", str(out), "--id-column", "id", "--column-map", MAP, "--country", "FR"],
            env={**os.environ, "AMIGO_IDENTITY_BACKEND": backend, "SPARK_LOCAL_IP": "127.0.0.1"},
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        runs[backend] = _clusters(out)

    duckdb_clusters, duckdb_probabilities = runs["duckdb"]
    spark_clusters, spark_probabilities = runs["spark"]
    assert spark_clusters == duckdb_clusters
    assert any(len(members) > 1 for members in spark_clusters)
    assert spark_probabilities == duckdb_probabilities
