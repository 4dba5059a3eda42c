"""Connector streams keep their resume position and health; dead letters wait, then resolve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from amigo.connectors.models import BreakerState, DeadLetterStatus
from amigo.connectors.state import (
    add_dead_letter,
    dead_letter_counts,
    dead_letter_payload,
    list_dead_letters,
    load_checkpoint,
    reset_checkpoint,
    resolve_dead_letter,
    save_breaker,
    save_checkpoint,
    sync_failed,
    sync_started,
    sync_states,
)
from amigo.core.errors import ConflictError, NotFoundError

NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


def test_a_stream_resumes_from_its_last_saved_page(session: Session) -> None:
    assert load_checkpoint(session=session, connector="shopify", stream="customers") is None
    sync_started(session=session, connector="shopify", stream="customers", now=NOW)
    save_checkpoint(
        session=session,
        connector="shopify",
        stream="customers",
        checkpoint={"after": "eyJsYXN0X2lkIjo0fQ=="},
        records=250,
        last_change_at=NOW - timedelta(hours=2),
        now=NOW,
    )
    save_checkpoint(
        session=session,
        connector="shopify",
        stream="customers",
        checkpoint={"after": "eyJsYXN0X2lkIjo4fQ=="},
        records=250,
        # An older change on a later page must not move the newest change back.
        last_change_at=NOW - timedelta(days=3),
        now=NOW + timedelta(seconds=1),
    )
    assert load_checkpoint(session=session, connector="shopify", stream="customers") == {
        "after": "eyJsYXN0X2lkIjo4fQ=="
    }
    (state,) = sync_states(session=session, connector="shopify")
    assert state.records_total == 500
    assert state.last_change_at == NOW - timedelta(hours=2)
    assert state.last_started_at == NOW
    assert state.last_success_at == NOW + timedelta(seconds=1)
    reset_checkpoint(session=session, connector="shopify", stream="customers", now=NOW)
    assert load_checkpoint(session=session, connector="shopify", stream="customers") is None


def test_failures_are_counted_until_a_success_and_the_error_is_encrypted(
    session: Session,
) -> None:
    for _ in range(2):
        sync_failed(
            session=session,
            connector="cegid",
            stream="customers",
            error="GetCustomerDetail failed 6 times: 503 for jeanne.martin@example.fr",
            now=NOW,
        )
    save_breaker(
        session=session, connector="cegid", stream="customers", state=BreakerState.OPEN, now=NOW
    )
    (state,) = sync_states(session=session, connector="cegid")
    assert (state.errors_total, state.consecutive_failures) == (2, 2)
    assert state.last_error is not None
    assert "503" in state.last_error
    assert (state.breaker_state, state.breaker_opened_at) == (BreakerState.OPEN, NOW)
    stored = session.execute(text("SELECT last_error FROM connector_sync")).scalar_one()
    assert "jeanne.martin" not in stored

    save_checkpoint(
        session=session, connector="cegid", stream="customers", checkpoint=None, now=NOW
    )
    save_breaker(
        session=session, connector="cegid", stream="customers", state=BreakerState.CLOSED, now=NOW
    )
    (state,) = sync_states(session=session, connector="cegid")
    assert (state.errors_total, state.consecutive_failures) == (2, 0)
    assert (state.breaker_state, state.breaker_opened_at) == (BreakerState.CLOSED, None)


def test_a_dead_letter_waits_sealed_then_is_replayed_once(session: Session) -> None:
    payload = {"customerId": "gid://shopify/Customer/7", "email": "jeanne.martin@example.fr"}
    letter_id = add_dead_letter(
        session=session,
        connector="shopify",
        operation="customerEmailMarketingConsentUpdate",
        target="customer:7",
        payload=payload,
        error="HTTP 503 after 6 attempts",
        attempts=6,
        now=NOW,
    )
    sealed = session.execute(
        text("SELECT payload FROM connector_dead_letter WHERE id = :id"), {"id": letter_id}
    ).scalar_one()
    assert b"jeanne.martin" not in bytes(sealed)
    assert dead_letter_counts(session=session) == {"shopify": 1}
    (letter,) = list_dead_letters(session=session, connector="shopify")
    assert (letter.id, letter.operation, letter.attempts) == (letter_id, letter.operation, 6)

    letter, replayed = dead_letter_payload(session=session, letter_id=letter_id)
    assert replayed == payload
    resolve_dead_letter(
        session=session,
        letter_id=letter_id,
        status=DeadLetterStatus.DEAD,
        error="HTTP 503 again",
        now=NOW,
    )
    (letter,) = list_dead_letters(session=session)
    assert (letter.attempts, letter.error) == (7, "HTTP 503 again")
    resolve_dead_letter(
        session=session, letter_id=letter_id, status=DeadLetterStatus.REPLAYED, now=NOW
    )
    assert list_dead_letters(session=session) == []
    assert dead_letter_counts(session=session) == {}
    with pytest.raises(ConflictError, match="only waiting ones"):
        dead_letter_payload(session=session, letter_id=letter_id)
    with pytest.raises(NotFoundError):
        dead_letter_payload(session=session, letter_id=letter_id + 1000)
