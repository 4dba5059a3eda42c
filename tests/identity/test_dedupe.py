"""`amigo identity dedupe`: any people file, deduplicated or linked, bad files refused clearly."""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amigo.cli.main import app

FIRST = ["Jean", "Marie", "Hélène", "Paul", "Lucie", "Karim", "Sophie", "Nicolas", "Léa", "Hugo"]
LAST = ["Dupont", "Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Garcia"]
MAP = "first_name=prenom,last_name=nom,email=mail,phone=tel,birth_date=naissance"


def _write_people(path: Path, people: range, seed: int, *, delimiter: str = ";") -> dict[str, str]:
    """Write records of made-up people (some twice, with gaps); return each id's person."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    for person in people:
        who = random.Random(person)  # the same person in every file
        first, last = who.choice(FIRST), who.choice(LAST)
        email = f"{first.lower()}.{last.lower()}{person}@example.fr".replace("é", "e")
        birth = f"{who.randint(1950, 2003)}-{who.randint(1, 12):02d}-{who.randint(1, 28):02d}"
        for _ in range(rng.choice([1, 2, 2, 3])):
            rows.append(
                {
                    "id": f"{path.stem}-{len(rows)}",
                    "prenom": first,
                    "nom": last.upper() if rng.random() < 0.3 else last,
                    "mail": email if rng.random() < 0.85 else "",
                    "tel": f"06{person:08d}" if rng.random() < 0.6 else "",
                    "naissance": birth if rng.random() < 0.5 else "",
                    "person": f"P{person}",  # not a canonical column: ignored
                }
            )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return {row["id"]: row["person"] for row in rows}


def _pairs(sizes: Counter[str] | Counter[tuple[str, str]]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes.values())


def _precision_recall(truth: dict[str, str], out: Path) -> tuple[float, float]:
    with out.open(encoding="utf-8") as handle:
        cluster = {row["record_id"]: row["cluster_id"] for row in csv.DictReader(handle)}
    both = Counter((cluster[k], truth[k]) for k in truth)
    predicted = Counter(cluster[k] for k in truth)
    true = Counter(truth.values())
    correct = _pairs(both)
    return correct / _pairs(predicted), correct / _pairs(true)


def test_a_people_file_is_deduplicated_with_a_model_trained_on_it(tmp_path: Path) -> None:
    truth = _write_people(tmp_path / "people.csv", range(600), seed=3)
    out = tmp_path / "clusters.csv"

    result = CliRunner().invoke(
        app,
        ["identity", "dedupe", str(tmp_path / "people.csv"), "-o", str(out),
         "--id-column", "id", "--column-map", MAP, "--country", "FR"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "clusters" in result.output
    precision, recall = _precision_recall(truth, out)
    assert precision >= 0.99
    assert recall >= 0.85
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert set(rows[0]) == {"record_id", "cluster_id", "match_probability"}
    alone = [r for r in rows if Counter(x["cluster_id"] for x in rows)[r["cluster_id"]] == 1]
    assert all(r["match_probability"] == "" for r in alone)


def test_two_files_are_linked_instead_of_deduplicated(tmp_path: Path) -> None:
    shop = _write_people(tmp_path / "shop.csv", range(400), seed=4)
    crm = _write_people(tmp_path / "crm.csv", range(200, 600), seed=4, delimiter=",")
    out = tmp_path / "links.csv"

    result = CliRunner().invoke(
        app,
        ["identity", "dedupe", str(tmp_path / "shop.csv"), "--link", str(tmp_path / "crm.csv"),
         "-o", str(out), "--id-column", "id", "--column-map", MAP, "--country", "FR"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["source"] for r in rows} == {"shop.csv", "crm.csv"}
    linked = Counter(r["cluster_id"] for r in rows)
    sources: dict[str, set[str]] = {r["cluster_id"]: set() for r in rows}
    for r in rows:
        sources[r["cluster_id"]].add(r["source"])
    # Only links across the files: no cluster of two records from one file.
    assert all(len(sources[c]) == 2 for c, n in linked.items() if n == 2)
    found = {c for c in linked if len(sources[c]) == 2}
    truth = {**shop, **crm}
    by_cluster: dict[str, set[str]] = {}
    for r in rows:
        by_cluster.setdefault(r["cluster_id"], set()).add(truth[r["record_id"]])
    # People 200-399 are in both files; linked clusters are one person each.
    assert len(found) > 150
    assert all(len(by_cluster[c]) == 1 for c in found)


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ("id;prenom\n1;Jean\n", ["--id-column", "record_id"], "no 'record_id' column"),
        ("id;prenom\n1;Jean\n1;Marie\n", ["--id-column", "id", "--column-map", "first_name=prenom"],
         "appears twice"),
        ("id;ville\n1;Paris\n2;Lyon\n", ["--id-column", "id"], "none of the columns"),
        ("id;prenom\n1;Jean\n", ["--id-column", "id", "--column-map", "firstname=prenom"],
         "not a canonical column"),
        ("id;prenom\n1;Jean\n", ["--id-column", "id", "--column-map", "first_name=given"],
         "does not have: given"),
        ("id;prenom\n1;Jean\n2;Marie\n", ["--id-column", "id", "--column-map", "first_name=prenom",
                                          "--country", "Atlantis"], "not a country"),
    ],
)  # fmt: skip
def test_bad_files_and_options_exit_with_code_2_and_one_line(
    tmp_path: Path, content: str, options: list[str], message: str
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(content, encoding="utf-8")

    result = CliRunner().invoke(
        app, ["identity", "dedupe", str(people), "-o", str(tmp_path / "out.csv"), *options]
    )

    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()


def test_a_missing_or_binary_file_is_refused(tmp_path: Path) -> None:
    binary = tmp_path / "people.csv"
    binary.write_bytes(b"id;prenom\n1;\xff\xfe\x00Jean\n")
    runner = CliRunner()

    missing = runner.invoke(app, ["identity", "dedupe", str(tmp_path / "nope.csv"), "-o", "x.csv"])
    undecodable = runner.invoke(app, ["identity", "dedupe", str(binary), "-o", "x.csv"])

    assert missing.exit_code == 2
    assert "is not a file" in missing.output
    assert undecodable.exit_code == 2
    assert "not UTF-8" in undecodable.output
