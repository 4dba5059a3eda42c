"""The result types every normalizer returns."""

from __future__ import annotations

import dataclasses

import pytest

from amigo.quality import Normalized, ValidationIssue, normalize_email
from amigo.quality.issues import make_issue, storable


def test_results_are_frozen_values() -> None:
    result = normalize_email("jean@example.fr")
    assert result == Normalized("jean@example.fr", None)
    assert result.ok
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = "other"  # type: ignore[misc]


def test_issue_carries_field_code_message_and_raw_value() -> None:
    result = make_issue("email", "invalid_email", "{value} is not an email address.", "jean")
    assert result == Normalized(
        None,
        ValidationIssue(
            field="email",
            code="invalid_email",
            message="'jean' is not an email address.",
            value="jean",
        ),
    )
    assert not result.ok


def test_braces_in_the_value_or_message_are_harmless() -> None:
    result = make_issue("name", "invalid_name", "{value} has {braces} {0}.", "{value}{}")
    assert result.issue is not None
    assert result.issue.message == "'{value}{}' has {braces} {0}."


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("a\x00b", "a\ufffdb"),
        ("a\ud800b", "a\ufffdb"),
        ("x" * 500, "x" * 200),
        ("José", "José"),
    ],
)
def test_issue_values_are_storable(raw: str, stored: str) -> None:
    assert storable(raw) == stored
    stored.encode("utf-8")
