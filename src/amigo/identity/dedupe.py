"""Deduplicate, or link, any CSV file of people with AMIgo's model, trained on the file itself.

No repository involved: rows are normalized (``amigo.quality``), keyed,
scored by a Splink model trained on them, and clustered under the same
rules and guards as the repository's resolution. Each record leaves with
its cluster and the probability of the link that put it there.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amigo.core.errors import FileFormatError, InvalidInputError
from amigo.identity.clustering import Link, cluster
from amigo.identity.keys import name_keys
from amigo.identity.matching import (
    base_settings,
    feature_table,
    features_of,
    predict_pairs,
    train_model,
)
from amigo.identity.resolution import deterministic_rule
from amigo.quality.addresses import (
    normalize_address_line,
    normalize_city,
    normalize_country,
    normalize_postal_code,
)
from amigo.quality.dates import parse_date
from amigo.quality.emails import email_match_key, normalize_email
from amigo.quality.names import normalize_name
from amigo.quality.phones import normalize_phone

CANONICAL_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
    "country",
)
# At least one of these must be there: without them nothing tells people apart.
_IDENTIFYING = {"first_name", "last_name", "email", "phone"}
_FLOOR = 1e-6  # below, a pair is not worth keeping even for a deterministic rule
Step = Callable[[str], None]


@dataclass(frozen=True)
class PeopleFile:
    """A CSV of people: its records' ids and their normalized values."""

    path: Path
    ids: list[str]
    values: list[dict[str, Any]]
    columns: list[str]  # the canonical columns found


@dataclass(frozen=True)
class DedupeResult:
    """Each record's cluster and link probability, and the counts to report."""

    rows: list[dict[str, Any]]  # record_id, cluster_id, match_probability (and source)
    records: int
    clusters: int
    largest: int
    pairs_scored: int


def parse_column_map(text: str | None) -> dict[str, str]:
    """Read ``canonical=theirs,...`` into {canonical: the file's column}."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for item in text.split(","):
        canonical, sep, theirs = item.partition("=")
        canonical, theirs = canonical.strip(), theirs.strip()
        if not sep or not canonical or not theirs:
            raise InvalidInputError(
                f"--column-map expects canonical=column pairs separated by commas, got {item!r}"
            )
        if canonical not in CANONICAL_COLUMNS:
            raise InvalidInputError(
                f"--column-map: {canonical!r} is not a canonical column "
                f"({', '.join(CANONICAL_COLUMNS)})"
            )
        mapping[canonical] = theirs
    return mapping


def read_people(
    path: Path,
    *,
    id_column: str,
    column_map: Mapping[str, str],
    default_country: str | None = None,
) -> PeopleFile:
    """Read and normalize a CSV of people, refusing what cannot be used with a clear reason."""
    if not path.is_file():
        raise InvalidInputError(f"{path} is not a file", code="missing_file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(64 * 1024)
            handle.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
            reader = csv.DictReader(handle, dialect=dialect)
            header = reader.fieldnames or []
            if id_column not in header:
                raise FileFormatError(
                    f"{path}: no {id_column!r} column (columns: {', '.join(header) or 'none'}); "
                    "name the id column with --id-column",
                    code="missing_columns",
                )
            source_of = {c: column_map.get(c, c) for c in CANONICAL_COLUMNS}
            missing_mapped = [theirs for theirs in column_map.values() if theirs not in header]
            if missing_mapped:
                raise FileFormatError(
                    f"{path}: --column-map names column(s) the file does not have: "
                    f"{', '.join(missing_mapped)}",
                    code="missing_columns",
                )
            found = [c for c, theirs in source_of.items() if theirs in header]
            if not _IDENTIFYING & set(found):
                raise FileFormatError(
                    f"{path}: none of the columns {', '.join(sorted(_IDENTIFYING))} is there; "
                    "map yours with --column-map (e.g. email=mail)",
                    code="missing_columns",
                )
            ids: list[str] = []
            values: list[dict[str, Any]] = []
            seen: set[str] = set()
            for line, row in enumerate(reader, start=2):
                record_id = (row.get(id_column) or "").strip()
                if not record_id:
                    raise FileFormatError(f"{path}, line {line}: empty {id_column}", code="bad_row")
                if record_id in seen:
                    raise FileFormatError(
                        f"{path}, line {line}: {id_column} {record_id!r} appears twice",
                        code="duplicate_id",
                    )
                seen.add(record_id)
                ids.append(record_id)
                raw = {c: row.get(source_of[c]) for c in found}
                values.append(_normalized(raw, default_country))
    except UnicodeDecodeError as error:
        raise FileFormatError(f"{path}: not UTF-8 text ({error.reason})", code="encoding") from None
    except csv.Error as error:
        raise FileFormatError(
            f"{path}: not a readable CSV file ({error})", code="bad_file"
        ) from None
    if not ids:
        raise FileFormatError(f"{path}: no records", code="empty_file")
    return PeopleFile(path=path, ids=ids, values=values, columns=found)


def _normalized(raw: Mapping[str, str | None], default_country: str | None) -> dict[str, Any]:
    """Return a row's values normalized as the repository's are (invalid ones dropped)."""
    country = normalize_country(raw.get("country")).value or default_country
    email = normalize_email(raw.get("email")).value
    values: dict[str, Any] = {
        "first_name": normalize_name(raw.get("first_name")).value,
        "last_name": normalize_name(raw.get("last_name"), field="last_name").value,
        "email_match_key": email_match_key(email) if email else None,
        "phone": normalize_phone(raw.get("phone"), region_hint=country).value,
        "birth_date": parse_date(raw.get("birth_date")).value,
        "address_line1": normalize_address_line(raw.get("address_line1")).value,
        "postal_code": normalize_postal_code(raw.get("postal_code"), country=country).value,
        "city": normalize_city(raw.get("city")).value,
        "country": country,
    }
    return values


def _features(people: Sequence[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    rows = []
    for offset, person in enumerate(people):
        keys = name_keys(
            person["first_name"],
            person["last_name"],
            person["email_match_key"],
            person["country"],
            person["phone"],
        )
        rows.append(
            features_of(
                unique_id=start + offset,
                first_name=person["first_name"],
                last_name=person["last_name"],
                first_name_key=keys.first,
                last_name_key=keys.last,
                name_key=keys.full,
                email_match_key=person["email_match_key"],
                phone=person["phone"],
                birth_date=person["birth_date"],
                postal_code=person["postal_code"],
                city=person["city"],
                address_line1=person["address_line1"],
            )
        )
    return rows


def dedupe(
    files: Sequence[PeopleFile],
    *,
    auto_threshold: float,
    seed: int = 42,
    backend: str = "duckdb",
    on_step: Step | None = None,
) -> DedupeResult:
    """Cluster the records of one file (dedupe) or link two files' records (link only)."""
    step = on_step or (lambda _description: None)
    features: list[dict[str, Any]] = []
    for people in files:
        features += _features(people.values, len(features))
    if len(features) < 2:
        raise InvalidInputError("at least two records are needed to find duplicates")
    tables = []
    start = 0
    for people in files:
        tables.append(feature_table(features[start : start + len(people.ids)]))
        start += len(people.ids)
    link_type = "dedupe_only" if len(files) == 1 else "link_only"
    step(f"Training a match model on {len(features):,} records")
    model = train_model(
        tables, link_type=link_type, seed=seed, backend=backend, settings=base_settings(link_type)
    ).settings
    step("Scoring candidate pairs")
    pairs = predict_pairs(tables, model, threshold=_FLOOR, backend=backend).to_pydict()
    step("Clustering")
    links, scores = [], {}
    for left, right, probability in zip(
        pairs["unique_id_l"], pairs["unique_id_r"], pairs["match_probability"], strict=True
    ):
        a, b = min(left, right), max(left, right)
        scores[a, b] = probability
        rule = deterministic_rule(features[a], features[b])
        if rule is not None or probability >= auto_threshold:
            links.append(Link(a, b, probability, rule or "model"))
    outcome = cluster(features, links, scores=scores, review_threshold=min(0.5, auto_threshold))
    strongest: dict[int, float] = {}
    for link in outcome.joins:
        for position in (link.left, link.right):
            strongest[position] = max(strongest.get(position, 0.0), link.probability)
    ids = [record_id for people in files for record_id in people.ids]
    sources = [people.path.name for people in files for _ in people.ids]
    clusters = outcome.clusters()
    cluster_name = {root: ids[min(members)] for root, members in clusters.items()}
    rows = []
    for position, root in enumerate(outcome.roots):
        row: dict[str, Any] = {
            "record_id": ids[position],
            "cluster_id": cluster_name[root],
            "match_probability": f"{strongest[position]:.6f}" if position in strongest else "",
        }
        if len(files) > 1:
            row = {"source": sources[position], **row}
        rows.append(row)
    return DedupeResult(
        rows=rows,
        records=len(features),
        clusters=len(clusters),
        largest=max(len(m) for m in clusters.values()),
        pairs_scored=len(scores),
    )


def write_result(result: DedupeResult, path: Path) -> None:
    """Write each record's cluster as CSV."""
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(result.rows[0]))
            writer.writeheader()
            writer.writerows(result.rows)
    except OSError as error:
        raise InvalidInputError(f"cannot write {path}: {error.strerror or error}") from None


__all__ = [
    "CANONICAL_COLUMNS",
    "DedupeResult",
    "PeopleFile",
    "dedupe",
    "parse_column_map",
    "read_people",
    "write_result",
]
