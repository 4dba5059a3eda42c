"""The app served by a real Uvicorn on loopback, over a migrated database of this backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from amigo.api.app import create_app
from amigo.core.config import ConsentSettings, Settings
from amigo.core.db import make_engine, unit_of_work
from amigo.profiles.models import GoldenCustomer
from conftest import DatabaseFactory
from live import served

SECRET = "test-link-secret"  # noqa: S105 - the suite's own signing key


@dataclass
class LiveApp:
    """A running app: its address, its database and its settings."""

    url: str
    engine: Engine
    settings: Settings

    def new_customer(self, first_name: str = "Agathe", language: str | None = "fr") -> int:
        """Create an active golden profile and return its id."""
        now = datetime.now(UTC)
        with unit_of_work(self.engine) as session:
            customer = GoldenCustomer(
                external_id=f"AMI-{uuid.uuid4().hex[:12].upper()}",
                first_name=first_name,
                email=f"{uuid.uuid4().hex[:8]}@example.org",
                preferred_language=language,
                origin="web form",
                status="active",
                lineage={},
                created_at=now,
                updated_at=now,
            )
            session.add(customer)
            session.flush()
            return customer.id


@pytest.fixture(scope="module")
def live_app(database_factory: DatabaseFactory) -> Iterator[LiveApp]:
    """Serve the app on an ephemeral loopback port for the module's tests."""
    engine = make_engine(database_factory.new_url())
    settings = Settings(
        consent=ConsentSettings(link_secret=SecretStr(SECRET), public_base_url="http://unused")
    )
    app = create_app(engine=engine, settings=settings)
    try:
        with served(app) as url:
            yield LiveApp(url, engine, settings)
    finally:
        engine.dispose()
