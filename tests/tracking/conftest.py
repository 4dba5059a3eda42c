"""The app served by Uvicorn on loopback, with a tracking source and customers to send events about."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from amigo.api.app import create_app
from amigo.core.config import Settings
from amigo.core.db import make_engine, unit_of_work
from amigo.events.models import OutboxEvent
from amigo.identity.models import IdentityLink
from amigo.profiles.models import GoldenCustomer, Interaction
from amigo.tracking.models import TrackingMessage
from amigo.tracking.service import create_source
from conftest import DatabaseFactory
from live import served


@dataclass
class Person:
    """A golden profile with one Cegid source record."""

    id: int
    external_id: str
    email: str
    cegid_id: str


@dataclass
class TrackingApp:
    """A running app, its database and the write key of its source."""

    url: str
    engine: Engine
    write_key: str

    def new_person(self) -> Person:
        """Create an active golden profile linked to a Cegid customer, with a unique email."""
        now = datetime.now(UTC)
        tag = uuid.uuid4().hex[:10]
        email = f"p{tag}@example.org"
        with unit_of_work(self.engine) as session:
            customer = GoldenCustomer(
                external_id=f"AMI-{tag.upper()}",
                first_name="Agathe",
                email=email,
                email_match_key=email,
                origin="retail",
                status="active",
                lineage={},
                created_at=now,
                updated_at=now,
            )
            session.add(customer)
            session.flush()
            session.add(
                IdentityLink(
                    source_system="cegid",
                    source_id=f"C{tag}",
                    customer_id=customer.id,
                    rule="seed",
                    linked_at=now,
                    email=email,
                    email_match_key=email,
                )
            )
            return Person(customer.id, customer.external_id, email, f"C{tag}")

    def interactions(self, **where: Any) -> list[Interaction]:
        """Return the tracking interactions whose payload names these ids (anonymous_id=...)."""
        with unit_of_work(self.engine) as session:
            rows = session.scalars(
                select(Interaction)
                .where(Interaction.source_system == "tracking")
                .order_by(Interaction.occurred_at, Interaction.id)
            ).all()
        return [i for i in rows if all((i.payload or {}).get(k) == v for k, v in where.items())]

    def messages(self, message_id: str) -> list[TrackingMessage]:
        """Return the raw messages stored under a messageId."""
        with unit_of_work(self.engine) as session:
            return list(
                session.scalars(
                    select(TrackingMessage).where(TrackingMessage.message_id == message_id)
                )
            )

    def events(self, event_type: str) -> list[OutboxEvent]:
        """Return the outbox events of a type."""
        with unit_of_work(self.engine) as session:
            return list(session.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type)))


@pytest.fixture(scope="module")
def tracking_app(database_factory: DatabaseFactory) -> Iterator[TrackingApp]:
    """Serve the app on an ephemeral loopback port, with one tracking source."""
    engine = make_engine(database_factory.new_url())
    with unit_of_work(engine) as session:
        write_key = create_source(session=session, name="web", now=datetime.now(UTC)).write_key
    try:
        with served(create_app(engine=engine, settings=Settings())) as url:
            yield TrackingApp(url, engine, write_key)
    finally:
        engine.dispose()
