"""The app served by a real Uvicorn on loopback, over a migrated database of this backend."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine

from amigo.api.app import create_app
from amigo.core.config import ConsentSettings, Settings
from amigo.core.db import make_engine, unit_of_work
from amigo.profiles.models import GoldenCustomer
from conftest import DatabaseFactory

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
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(engine=engine, settings=settings),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", engine, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
