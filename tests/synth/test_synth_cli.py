"""`amigo generate` on a small app built with register(): exit codes and messages."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from amigo.cli.generate import register
from amigo.synth import GenerationSummary, NoiseOptions, generate


def make_app() -> typer.Typer:
    """Return an app holding only the generate command, as the main CLI registers it."""
    app = typer.Typer()
    register(app)

    @app.callback()
    def root() -> None:
        """Test application."""

    return app


def run(*args: str) -> tuple[int, str, str]:
    """Invoke `generate` with `args`; return exit code, stdout and stderr."""
    result = CliRunner().invoke(make_app(), ["generate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_generates_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code, stdout, _ = run("--customers", "60", "--seed", "5", "--out", str(out))
    assert code == 0
    assert (out / "truth.csv").is_file()
    assert (out / "cegid" / "customers.csv").is_file()
    assert "people written to" in stdout
    assert "shopify/orders.jsonl" in stdout


def test_refuses_a_non_empty_directory_without_force(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    code, _, stderr = run("--customers", "20", "--out", str(tmp_path))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1
    assert "--force" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]

    code, _, _ = run("--customers", "20", "--out", str(tmp_path), "--force")
    assert code == 0
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert (tmp_path / "truth.csv").is_file()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--customers", "-5"], "--customers must be at least 1"),
        (["--typo-rate", "1.5"], "--typo-rate must be between 0 and 1"),
        (["--household-rate", "-0.1"], "--household-rate must be between 0 and 1"),
        (["--noise-scale", "-1"], "--noise-scale must be a finite number >= 0, got -1.0"),
        (["--noise-scale", "nan"], "--noise-scale must be a finite number >= 0, got nan"),
        (["--cegid-encoding", "ebcdic"], "cegid encoding must be one of"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], reason: str) -> None:
    code, _, stderr = run(*args, "--out", str(tmp_path / "x"))
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1
    assert reason in lines[0]
    assert not (tmp_path / "x" / "truth.csv").exists()


def test_an_out_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("", encoding="utf-8")
    code, _, stderr = run("--customers", "5", "--out", str(target))
    assert code == 2
    assert "not a directory" in stderr


def within_source_duplicates(root: Path) -> int:
    """Return how many customer records are a second card of a person in the same source."""
    with (root / "truth.csv").open(encoding="utf-8", newline="") as handle:
        records = Counter(
            (row["source"], row["person_id"])
            for row in csv.DictReader(handle)
            if row["source"] in {"cegid", "shopify"}
        )
    return sum(count - 1 for count in records.values())


def test_noise_scale_multiplies_the_rates(tmp_path: Path) -> None:
    default, doubled = tmp_path / "default", tmp_path / "doubled"
    assert run("--customers", "2000", "--seed", "9", "--out", str(default))[0] == 0
    code, _, _ = run(
        "--customers", "2000", "--seed", "9", "--out", str(doubled), "--noise-scale", "2"
    )
    assert code == 0
    base, more = within_source_duplicates(default), within_source_duplicates(doubled)
    assert base > 30
    assert more > 1.5 * base


def test_noise_scale_applies_after_the_rate_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[NoiseOptions] = []

    def spy(**kwargs: Any) -> GenerationSummary:
        seen.append(kwargs["noise"])
        return generate(**kwargs)

    monkeypatch.setattr("amigo.cli.generate.generate", spy)
    out = str(tmp_path / "x")
    code, _, _ = run("--customers", "20", "--typo-rate", "0.1", "--noise-scale", "2", "--out", out)
    assert code == 0
    assert seen == [NoiseOptions(typo=0.1).scaled(2)]
    assert seen[0].typo == pytest.approx(0.2)
    assert seen[0].duplicate_within_source == pytest.approx(0.08)
