"""Plain Splink, as its documentation sets it up: the baseline AMIgo's rules are measured against.

The same normalized records (AMIgo's quality layer already ran: e-mails
lower-cased, phones in E.164, names cleaned), Splink's library comparisons
with their default levels, simple blocking rules, EM training, and
connected components at a fixed threshold. No name keys, no e-mail
inference, no guards, no deterministic rules.
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, select

from amigo.identity.models import IdentityLink


def read_plain_records(connection: Connection) -> tuple[pa.Table, list[tuple[str, str]]]:
    """Return the records' normalized values as Splink input, and each row's source key."""
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "unique_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "birth_date",
            "postal_code",
            "city",
            "address_line1",
        )
    }
    keys = []
    rows = connection.execute(
        select(
            IdentityLink.source_system,
            IdentityLink.source_id,
            IdentityLink.first_name,
            IdentityLink.last_name,
            IdentityLink.email,
            IdentityLink.phone,
            IdentityLink.birth_date,
            IdentityLink.postal_code,
            IdentityLink.city,
            IdentityLink.address_line1,
        ).where(IdentityLink.record_id.is_not(None))
    )
    for position, row in enumerate(rows):
        keys.append((str(row.source_system), row.source_id))
        columns["unique_id"].append(position)
        columns["first_name"].append(row.first_name.lower() if row.first_name else None)
        columns["last_name"].append(row.last_name.lower() if row.last_name else None)
        columns["email"].append(row.email.lower() if row.email else None)
        columns["phone"].append(row.phone)
        columns["birth_date"].append(row.birth_date.isoformat() if row.birth_date else None)
        columns["postal_code"].append(row.postal_code)
        columns["city"].append(row.city.lower() if row.city else None)
        columns["address_line1"].append(row.address_line1.lower() if row.address_line1 else None)
    return pa.table(columns), keys


def plain_splink_clusters(table: pa.Table, *, threshold: float = 0.95, seed: int = 42) -> list[int]:
    """Return each row's cluster id from plain Splink (connected components at the threshold)."""
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on  # noqa: PLC0415

    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("first_name", "last_name"),
            block_on("birth_date", "last_name"),
            block_on("postal_code", "last_name"),
        ],
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.PostcodeComparison("postal_code"),
            cl.ExactMatch("city"),
            cl.LevenshteinAtThresholds("address_line1"),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(table), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    for rule in (block_on("first_name", "last_name"), block_on("email"), block_on("birth_date")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    arrow = clusters.as_pyarrow_table()  # type: ignore[no-untyped-call]
    found = arrow.select(["unique_id", "cluster_id"]).to_pydict()
    cluster_of = [0] * table.num_rows
    for unique_id, cluster_id in zip(found["unique_id"], found["cluster_id"], strict=True):
        cluster_of[int(unique_id)] = int(cluster_id)
    return cluster_of
