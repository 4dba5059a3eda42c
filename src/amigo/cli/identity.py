"""`amigo identity`: resolve, evaluate, merge, unmerge, and the review queue."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from amigo.cli import identity_review
from amigo.cli.common import console, counted_progress, get_engine, user_errors
from amigo.core.config import get_settings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.core.migrate import upgrade
from amigo.identity.dedupe import (
    CANONICAL_COLUMNS,
    dedupe,
    parse_column_map,
    read_people,
    write_result,
)
from amigo.identity.evaluation import evaluate, read_truth
from amigo.identity.matching import level_weights
from amigo.identity.service import (
    ResolveSummary,
    get_model,
    merge_history,
    merge_profiles,
    resolve_repository,
    unmerge_profiles,
)
from amigo.quality.addresses import normalize_country

app = typer.Typer(help="Identity graph: one golden profile per person.", no_args_is_help=True)
app.add_typer(identity_review.app, name="review")


class RichStages:
    """Show each stage of a resolution as a line, with a bar where its size is known."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.started = time.perf_counter()

    def stage(self, description: str, total: int | None = None) -> None:
        if self.task is not None:
            # A stage without a count shows as one step done; "Writing 0 merges" as 0/0, not 1/1.
            counted = self.progress.tasks[self.task].total
            done = 1 if counted is None else counted
            self.progress.update(self.task, total=done, completed=done)
        self.task = self.progress.add_task(description, total=total)
        if not self.progress.console.is_interactive:
            # Into a log or a pipe the bars are drawn once, at the end: a line
            # per stage as it starts says where a long run is.
            elapsed = time.perf_counter() - self.started
            self.progress.console.print(
                f"[{elapsed:7.1f} s] {description}", markup=False, highlight=False, soft_wrap=True
            )

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)

    def close(self) -> None:
        self.stage("Done", total=1)
        self.advance(1)


@app.command("resolve")
@user_errors
def resolve_command(
    retrain: bool = typer.Option(
        False, "--retrain", help="Train a new model version even if one is saved."
    ),
) -> None:
    """Resolve every source customer record: match, merge, and queue doubtful pairs for review.

    Trains the match model on the repository's own records the first time
    (saved and versioned; --retrain makes a new version). Existing profiles
    stay whole; "not the same person" decisions are respected.
    """
    engine = get_engine()
    upgrade(engine)
    started = time.perf_counter()
    with counted_progress(58) as progress, unit_of_work(engine) as session:
        stages = RichStages(progress)
        summary = resolve_repository(session=session, retrain=retrain, progress=stages)
        stages.close()
    print_resolve_summary(summary, time.perf_counter() - started)


def print_resolve_summary(summary: ResolveSummary, seconds: float) -> None:
    outcome = summary.outcome
    trained = "trained now" if summary.trained else "saved"
    table = Table(
        title=f"Resolution run {summary.run_id} with model v{summary.model_version} "
        f"({trained}), {seconds:.1f} s"
    )
    table.add_column("")
    table.add_column("count", justify="right")
    for label, value in (
        ("source customer records", outcome.records),
        ("candidate pairs kept (scored or linked by rule)", outcome.candidate_pairs),
        ("pairs linked by a deterministic rule", outcome.rule_pairs),
        ("profiles merged into another", outcome.merges),
        ("profiles now holding several records", outcome.clusters),
        ("largest profile (records)", outcome.largest_cluster),
        ("pairs queued for review", outcome.queued),
        ("links refused by a guard or a decision", outcome.kept_apart),
    ):
        table.add_row(label, f"{value:,}")
    console.print(table)
    if summary.snapshots_filled:
        console.print(
            f"Match features filled from stored records for {summary.snapshots_filled:,} "
            "source records loaded before identity resolution existed."
        )
    if outcome.queued:
        console.print("Decide on the doubtful pairs with [bold]amigo identity review[/].")


@app.command("dedupe")
@user_errors
def dedupe_command(
    *,
    people: Path = typer.Argument(..., help="CSV of people (comma, semicolon or tab separated)."),
    out: Path = typer.Option(..., "-o", "--out", help="CSV to write: id, cluster, probability."),
    link: Path | None = typer.Option(
        None, "--link", help="A second file: link its records to the first's instead of deduping."
    ),
    id_column: str = typer.Option("record_id", "--id-column", help="The column of record ids."),
    column_map: str | None = typer.Option(
        None,
        "--column-map",
        help="Canonical names of your columns: first_name=prenom,email=mail,... Canonical: "
        + ", ".join(CANONICAL_COLUMNS),
    ),
    country: str | None = typer.Option(
        None,
        "--country",
        help="Country of rows that name none (ISO code): how to read national phone numbers.",
    ),
    threshold: float | None = typer.Option(
        None,
        min=0.0,
        max=1.0,
        help="Link probability to join (default AMIGO_IDENTITY_AUTO_MERGE_THRESHOLD).",
    ),
) -> None:
    """Find the same people in any CSV file (or across two) with a model trained on the file.

    Reads any subset of first_name, last_name, email, phone, birth_date,
    address_line1, address_line2, postal_code, city, region, country (other
    columns are ignored) and writes each record's id, its cluster id (the
    cluster's first record id) and the probability of the link that put it
    there (empty for a record alone).
    """
    mapping = parse_column_map(column_map)
    region = normalize_country(country).value if country else None
    if country and region is None:
        raise InvalidInputError(f"--country {country!r} is not a country code or name")
    files = [read_people(people, id_column=id_column, column_map=mapping, default_country=region)]
    if link is not None:
        files.append(
            read_people(link, id_column=id_column, column_map=mapping, default_country=region)
        )
    settings = get_settings().identity
    started = time.perf_counter()
    columns = (TextColumn("{task.description:<44}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        stages = RichStages(progress)
        result = dedupe(
            files,
            auto_threshold=settings.auto_merge_threshold if threshold is None else threshold,
            seed=settings.seed,
            backend=settings.backend,
            on_step=stages.stage,
        )
        stages.close()
    write_result(result, out)
    duplicates = result.records - result.clusters
    console.print(
        f"{result.records:,} records in {result.clusters:,} clusters "
        f"({duplicates:,} {'linked' if link else 'duplicates'}; largest cluster "
        f"{result.largest} records; {result.pairs_scored:,} pairs scored) in "
        f"{time.perf_counter() - started:.1f} s. Written to {out}."
    )


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


@app.command("model")
@user_errors
def model_command(
    version: int | None = typer.Option(None, help="Model version (default: the active one)."),
    export: Path | None = typer.Option(
        None, "--export", help="Write the model (Splink JSON) to this file."
    ),
) -> None:
    """Show a saved match model: its prior and each comparison level's weight."""
    with unit_of_work(get_engine()) as session:
        model = get_model(session=session, version=version)
        settings, summary = model.settings, model.summary
        header = (
            f"Match model v{model.version}{' (active)' if model.active else ''}, trained "
            f"{model.created_at:%Y-%m-%d %H:%M} UTC on {model.records:,} records"
        )
    if export is not None:
        import json  # noqa: PLC0415

        export.write_text(json.dumps(settings, indent=2, ensure_ascii=False), encoding="utf-8")
        console.print(f"Model v{version or 'active'} written to {export}.")
        return
    console.print(header)
    console.print(
        f"Prior: two random records are one person with probability "
        f"{settings['probability_two_random_records_match']:.3g}; training took "
        f"{summary.get('seconds', '?')} s."
    )
    table = Table()
    table.add_column("comparison")
    table.add_column("level")
    table.add_column("weight (bits)", justify="right")
    for comparison, levels in level_weights(settings).items():
        for index, (label, weight) in enumerate(levels.items()):
            table.add_row(comparison if index == 0 else "", label, f"{weight:+.2f}")
    console.print(table)


@app.command("merge")
@user_errors
def merge_command(
    survivor: int = typer.Argument(..., help="Id of the profile that stays."),
    merged: int = typer.Argument(..., help="Id of the profile merged into it."),
    reason: str = typer.Option(..., "--reason", help="Why they are the same person."),
    actor: str = typer.Option("cli", "--actor", help="Who decides (recorded in the audit)."),
) -> None:
    """Merge two golden profiles by hand (audited, reversible with `amigo identity unmerge`)."""
    with unit_of_work(get_engine()) as session:
        event_id = merge_profiles(
            session=session, survivor_id=survivor, merged_id=merged, actor=actor, reason=reason
        )
    console.print(f"Profile {merged} merged into {survivor} (merge event {event_id}).")


@app.command("unmerge")
@user_errors
def unmerge_command(
    merge_event: int = typer.Argument(..., help="Id of the merge event to undo (see history)."),
    reason: str = typer.Option(..., "--reason", help="Why they are not the same person."),
    actor: str = typer.Option("cli", "--actor", help="Who decides (recorded in the audit)."),
) -> None:
    """Undo a merge; later resolutions keep the two apart."""
    with unit_of_work(get_engine()) as session:
        restored, holder = unmerge_profiles(
            session=session, merge_event_id=merge_event, actor=actor, reason=reason
        )
    console.print(
        f"Merge {merge_event} undone: profile {restored} is back on its own, {holder} keeps "
        "the rest. Resolution will not merge them again."
    )


@app.command("history")
@user_errors
def history_command(
    customer: int = typer.Argument(..., help="Golden profile id."),
) -> None:
    """List the merges into and out of a profile, with rule, score and changed fields."""
    with unit_of_work(get_engine()) as session:
        events = merge_history(session=session, customer_id=customer)
        table = Table(title=f"Merges of profile {customer}")
        for column in (
            "event",
            "when (UTC)",
            "survivor",
            "merged",
            "by",
            "rule",
            "score",
            "fields",
        ):
            table.add_column(column)
        for event in events:
            state = "undone" if event.unmerged_at else ""
            table.add_row(
                f"{event.id} {state}".strip(),
                f"{event.merged_at:%Y-%m-%d %H:%M}",
                str(event.survivor_id),
                str(event.merged_id),
                event.actor,
                event.rule,
                f"{event.probability:.4f}" if event.probability is not None else "",
                ", ".join(sorted(event.field_changes)) or "—",
            )
    if not events:
        console.print(f"Profile {customer} was never merged.")
        return
    console.print(table)
