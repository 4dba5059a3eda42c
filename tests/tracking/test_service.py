"""The tracking service without HTTP: the write-key cache and its bound."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from amigo.core.errors import InvalidInputError
from amigo.tracking.errors import InvalidWriteKeyError
from amigo.tracking.models import TrackingSource
from amigo.tracking.service import (
    WRITE_KEY_CACHE_SECONDS,
    authenticate,
    create_source,
    disable_source,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _source(session: Session) -> tuple[str, str]:
    name = f"web-{uuid.uuid4().hex[:8]}"
    return name, create_source(session=session, name=name, now=NOW).write_key


def test_a_disabled_key_is_refused_within_the_cache_time(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, key = _source(session)
    first = authenticate(session=session, write_key=key)
    assert first.name == name
    # Another process disables the source: this one still knows the key, for a while only.
    session.execute(
        update(TrackingSource).where(TrackingSource.name == name).values(disabled_at=NOW)
    )
    assert authenticate(session=session, write_key=key) == first
    later = time.monotonic() + WRITE_KEY_CACHE_SECONDS + 0.1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    with pytest.raises(InvalidWriteKeyError):
        authenticate(session=session, write_key=key)


def test_disabling_a_source_refuses_its_key_at_once_in_this_process(session: Session) -> None:
    name, key = _source(session)
    authenticate(session=session, write_key=key)
    disabled = disable_source(session=session, name=name, now=NOW)
    assert disabled.disabled_at == NOW
    with pytest.raises(InvalidWriteKeyError):
        authenticate(session=session, write_key=key)
    with pytest.raises(InvalidInputError, match="no source"):
        disable_source(session=session, name="nobody", now=NOW)


def test_an_unknown_key_is_never_cached(session: Session) -> None:
    with pytest.raises(InvalidWriteKeyError):
        authenticate(session=session, write_key="not-a-key")
    with pytest.raises(InvalidWriteKeyError):
        authenticate(session=session, write_key="")
