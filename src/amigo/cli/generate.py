"""`amigo generate`: write a synthetic multi-source export directory with its ground truth."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from amigo.cli.common import fail
from amigo.core.errors import AmigoError
from amigo.synth import GenerationSummary, NoiseOptions, generate

# NoiseOptions field (or "scale", the factor of NoiseOptions.scaled) -> the flag
# that sets it, to name the flag in error messages.
_FLAGS = {
    "duplicate_within_source": "--duplicate-rate",
    "typo": "--typo-rate",
    "swapped_names": "--swapped-names-rate",
    "missing_field": "--missing-field-rate",
    "second_email": "--second-email-rate",
    "format_variant": "--format-variant-rate",
    "moved": "--moved-rate",
    "namesake": "--namesake-rate",
    "household": "--household-rate",
    "invalid_value": "--invalid-value-rate",
    "scale": "--noise-scale",
}
_PHASES = {"catalog": "Stores, associates, products", "people": "People and their records"}


def _rate(flag: str, what: str) -> object:
    return typer.Option(flag, help=f"Probability of {what} (0 to 1).")


def generate_command(
    *,
    customers: Annotated[
        int, typer.Option("--customers", help="Number of people to generate.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same bytes.")] = 42,
    out: Annotated[Path, typer.Option("--out", help="Directory to write the export into.")] = Path(
        "demo-data"
    ),
    force: Annotated[
        bool, typer.Option("--force", help="Write even if the directory is not empty.")
    ] = False,
    cegid_encoding: Annotated[
        str, typer.Option("--cegid-encoding", help="utf-8, utf-8-sig or cp1252 for the Y2 CSVs.")
    ] = "utf-8",
    duplicate_rate: Annotated[
        float, _rate("--duplicate-rate", "a person entered twice in the same system")
    ] = 0.04,
    typo_rate: Annotated[
        float, _rate("--typo-rate", "a typo in a name or e-mail on a later record")
    ] = 0.05,
    swapped_names_rate: Annotated[
        float, _rate("--swapped-names-rate", "first and last names swapped")
    ] = 0.02,
    missing_field_rate: Annotated[
        float, _rate("--missing-field-rate", "a record missing a field")
    ] = 0.10,
    second_email_rate: Annotated[
        float, _rate("--second-email-rate", "another e-mail on one of a person's records")
    ] = 0.08,
    format_variant_rate: Annotated[
        float, _rate("--format-variant-rate", "phone, date, case or country format variants")
    ] = 0.30,
    moved_rate: Annotated[float, _rate("--moved-rate", "a newer address on newer records")] = 0.04,
    namesake_rate: Annotated[
        float, _rate("--namesake-rate", "a different person with the same name and city")
    ] = 0.01,
    household_rate: Annotated[
        float, _rate("--household-rate", "a different person sharing an e-mail or phone")
    ] = 0.02,
    invalid_value_rate: Annotated[
        float, _rate("--invalid-value-rate", "an invalid e-mail, phone or date")
    ] = 0.01,
    noise_scale: Annotated[
        float,
        typer.Option(
            "--noise-scale",
            help="Multiply every noise rate by this factor, capped at 1 (2 = twice the noise).",
        ),
    ] = 1.0,
) -> None:
    """Generate synthetic Cegid, Shopify and web-form exports with a truth file."""
    err = Console(stderr=True)
    try:
        noise = NoiseOptions(
            duplicate_within_source=duplicate_rate,
            typo=typo_rate,
            swapped_names=swapped_names_rate,
            missing_field=missing_field_rate,
            second_email=second_email_rate,
            format_variant=format_variant_rate,
            moved=moved_rate,
            namesake=namesake_rate,
            household=household_rate,
            invalid_value=invalid_value_rate,
        ).scaled(noise_scale)
        if customers < 1:
            raise AmigoError(f"--customers must be at least 1, got {customers}")
        if out.exists() and not out.is_dir():
            raise AmigoError(f"--out {out} exists and is not a directory")
        if out.is_dir() and any(out.iterdir()) and not force:
            raise AmigoError(f"--out {out} is not empty; pass --force to write into it anyway")
        started = time.monotonic()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def on_progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = progress.add_task(_PHASES.get(phase, phase), total=total)
                progress.update(tasks[phase], completed=done, total=total)

            summary = generate(
                customers=customers,
                seed=seed,
                out_dir=out,
                noise=noise,
                on_progress=on_progress,
                cegid_encoding=cegid_encoding,
            )
    except AmigoError as exc:
        message = exc.message
        if isinstance(exc.details, dict) and exc.details.get("option") in _FLAGS:
            flag = _FLAGS[exc.details["option"]]
            message = f"{flag} must be {exc.details['expected']}, got {exc.details['value']}"
        raise fail(escape(message)) from None
    except OSError as exc:
        raise fail(escape(f"cannot write {out}: {exc.strerror or exc}")) from None
    _print_summary(summary, time.monotonic() - started)


def _print_summary(summary: GenerationSummary, seconds: float) -> None:
    table = Table(title=f"{summary.people:,} people written to {summary.out_dir}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    table.add_column("bad rows", justify="right")
    for path, rows in summary.rows_by_file().items():
        bad = summary.bad_rows.get(path, 0)
        table.add_row(path, f"{rows:,}", f"{bad:,}" if bad else "")
    console = Console()
    console.print(table)
    console.print(f"Done in {seconds:.1f} s.", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `generate` command to the main app."""
    app.command("generate")(generate_command)
