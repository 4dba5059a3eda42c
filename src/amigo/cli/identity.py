"""`amigo identity`: how the identity graph measures up (resolution itself comes next)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from amigo.cli.common import console, get_engine, user_errors
from amigo.identity.evaluation import evaluate, read_truth

app = typer.Typer(help="Identity graph: one golden profile per person.", no_args_is_help=True)


@app.command("evaluate")
@user_errors
def evaluate_command(
    truth: Path = typer.Option(
        ..., "--truth", help="truth.csv from `amigo generate`: each source record's true person."
    ),
) -> None:
    """Print pairwise and cluster precision, recall and F1 against the truth."""
    known = read_truth(truth)
    with get_engine().connect() as connection:
        result = evaluate(connection, known)
    console.print(
        f"Identity graph against {truth}: {result.records:,} source customer records "
        f"in {result.profiles:,} golden profiles, for {result.persons:,} persons."
    )
    table = Table()
    for column in ("measure", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row(
        "pairs",
        f"{result.pairwise_precision:.2%}",
        f"{result.pairwise_recall:.2%}",
        f"{result.pairwise_f1:.2%}",
    )
    table.add_row(
        "clusters (exact)", f"{result.cluster_precision:.2%}", f"{result.cluster_recall:.2%}", ""
    )
    console.print(table)
    console.print(
        f"Pairs: {result.correct_pairs:,} correct of {result.predicted_pairs:,} predicted, "
        f"{result.true_pairs:,} true. Largest profile: {result.largest_profile:,} "
        f"record{'' if result.largest_profile == 1 else 's'}."
    )
    if result.truth_only:
        console.print(
            f"{result.truth_only:,} records of the truth are not in the repository "
            "(rejected or not loaded) and are left out."
        )
