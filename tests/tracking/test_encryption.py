"""Tracking data at rest: raw messages sealed, userIds encrypted, ids by blind index, rotated."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, insert, select, text

from amigo.api.app import create_app
from amigo.core.config import EncryptionSettings, Settings
from amigo.core.crypto import FieldCrypto, crypto_from_settings, current_crypto, using_crypto
from amigo.core.db import Base, make_engine, unit_of_work
from amigo.core.migrate import alembic_config, upgrade
from amigo.core.rotation import count_stale, rotate_keys
from amigo.profiles.models import Interaction
from amigo.tracking.models import (
    ANONYMOUS_ID_FIELD,
    USER_ID_FIELD,
    TrackingIdentity,
    TrackingMessage,
    id_index,
)
from amigo.tracking.service import create_source
from conftest import DatabaseFactory
from dumps import raw_dump
from live import served


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[FieldCrypto]:
    """Install the embedded mode's keys from files of the test's own directory."""
    settings = EncryptionSettings(
        key_file=tmp_path / "amigo-encryption.key", index_key_file=tmp_path / "amigo-index.key"
    )
    with using_crypto(crypto_from_settings(settings)) as crypto:
        yield crypto


def _people(count: int) -> list[dict[str, str]]:
    tag = uuid.uuid4().hex[:6]
    return [
        {
            "email": f"Tracked.Person{n:03d}.{tag}@Example.org",
            "phone": f"06 {n + 10:02d} 34 {n % 89 + 10:02d} 7{n % 10}",
            "user": f"shop-user-{n:03d}-{tag}",
            "device": f"device-{n:03d}-{tag}",
        }
        for n in range(count)
    ]


def _messages(person: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "type": "identify",
            "messageId": uuid.uuid4().hex,
            "anonymousId": person["device"],
            "userId": person["user"],
            "traits": {"email": person["email"], "phone": person["phone"]},
        },
        {
            "type": "track",
            "messageId": uuid.uuid4().hex,
            "anonymousId": person["device"],
            "event": "Product Viewed",
            "context": {"traits": {"email": person["email"].lower()}},
        },
    ]


def _hidden(people: list[dict[str, str]]) -> set[str]:
    """Return what must appear nowhere: each email and phone as sent, normalized, in parts."""
    hidden = {"@example.org", "@Example.org"}
    for person in people:
        email, digits = person["email"], "".join(c for c in person["phone"] if c.isdigit())
        hidden |= {email, email.lower(), email.split("@")[0], person["phone"]}
        hidden |= {digits, "+33" + digits[1:], "33" + digits[1:]}
    return hidden


def test_tracked_emails_and_phones_are_nowhere_in_clear_and_rotate(
    backend: str, database_factory: DatabaseFactory, keys: FieldCrypto
) -> None:
    url = database_factory.new_url()
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        write_key = create_source(session=session, name="web", now=datetime.now(UTC)).write_key
    people = _people(40)
    with served(create_app(engine=engine, settings=Settings())) as base:
        batch = [m for person in people for m in _messages(person)]
        response = httpx.post(
            f"{base}/v1/batch", json={"batch": batch}, auth=(write_key, ""), timeout=30
        )
        assert response.status_code == 200, response.text
    with unit_of_work(engine) as session:
        stored = session.scalars(select(TrackingMessage).order_by(TrackingMessage.id)).all()
        assert len(stored) == 2 * len(people)
        first = stored[0]
        assert first.payload["traits"]["email"] == people[0]["email"]  # read back in clear
        assert first.user_id == people[0]["user"]
        assert first.user_index == id_index(people[0]["user"], field=USER_ID_FIELD)
        assert len(session.scalars(select(Interaction.id)).all()) == len(stored)
    dump = raw_dump(engine)
    assert people[0]["device"].encode() in dump  # anonymousIds stay in clear: the control
    for hidden in _hidden(people):
        assert hidden.encode() not in dump, hidden
    # The userIds are encrypted in the raw messages (the interactions still name them).
    with engine.connect() as connection:
        user_ids = connection.execute(text("SELECT user_id FROM tracking_message")).scalars()
        assert {str(u)[:6] for u in user_ids if u is not None} == {"v1.k1."}

    # amigo keys rotate: a new key, every sealed payload and userId re-encrypted under it.
    rotation = rotate_keys(engine=engine, metadata=Base.metadata, new_key=True, batch_size=25)
    assert current_crypto().cipher.current_key_id == "k2"
    messages = {stats.table: stats for stats in rotation.tables}["tracking_message"]
    assert set(messages.columns) == {"user_id", "payload_sealed"}
    assert messages.values == len(stored) + len(people)  # every payload, every userId
    assert (messages.batches, rotation.remaining) == (4, 0)
    assert count_stale(engine, Base.metadata.tables["tracking_message"]) == 0
    prefix = current_crypto().cipher.current_binary_prefix
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT payload_sealed FROM tracking_message")).scalars()
        assert all(bytes(value).startswith(prefix) for value in raw)
    with unit_of_work(engine) as session:
        again = session.get(TrackingMessage, first.id)
        assert again is not None
        assert again.payload["traits"]["phone"] == people[0]["phone"]
        assert again.user_id == people[0]["user"]
    engine.dispose()


def _sealing_revisions(engine: Engine) -> tuple[str, str]:
    """Return the revision that seals the tracking tables and the one before it."""
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    for revision in scripts.walk_revisions():
        if revision.path.endswith("_tracking_sealed.py"):
            assert isinstance(revision.down_revision, str)
            return revision.revision, revision.down_revision
    raise AssertionError("no tracking_sealed migration")


def test_the_migration_seals_existing_rows_and_back(
    backend: str, database_factory: DatabaseFactory, keys: FieldCrypto
) -> None:
    url = database_factory.new_url(migrate=False)
    engine = make_engine(url)
    sealing, before = _sealing_revisions(engine)
    upgrade(engine, before)
    now = datetime.now(UTC)
    email = f"before.sealing.{uuid.uuid4().hex[:6]}@example.org"
    with engine.begin() as connection:
        # The tables as the revision before made them (the models have moved on).
        tables = MetaData()
        for name in ("golden_customer", "tracking_source", "tracking_message", "tracking_identity"):
            Table(name, tables, autoload_with=connection)
        connection.execute(
            insert(tables.tables["golden_customer"]),
            [
                {
                    "external_id": "AMI-1",
                    "origin": "retail",
                    "tier": "standard",
                    "status": "active",
                    "lineage": {},
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        customer_id = connection.scalar(text("SELECT id FROM golden_customer"))
        connection.execute(
            insert(tables.tables["tracking_source"]),
            [{"name": "web", "write_key_hash": "0" * 64, "write_key_hint": "x", "created_at": now}],
        )
        source_id = connection.scalar(text("SELECT id FROM tracking_source"))
        connection.execute(
            insert(tables.tables["tracking_message"]),
            [
                {
                    "key": f"k{n}",
                    "source_id": source_id,
                    "message_id": f"m{n}",
                    "type": "identify",
                    "user_id": f"User-{n}" if n % 2 else None,
                    "anonymous_id": f"device-{n}",
                    "payload": {"traits": {"email": email}, "n": n},
                    "payload_hash": "h",
                    "received_at": now,
                    "status": "processed",
                }
                for n in range(2500)  # three batches of the migration
            ],
        )
        connection.execute(
            insert(tables.tables["tracking_identity"]),
            [
                {
                    "source_id": source_id,
                    "kind": kind,
                    "value": value,
                    "customer_id": customer_id,
                    "rule": "email",
                    "updated_at": now,
                }
                for kind, value in (("user", "User-1"), ("anonymous", "device-1"))
            ],
        )
    engine.dispose()

    upgrade(engine, sealing)

    with unit_of_work(engine) as session:
        stored = {m.key: m for m in session.scalars(select(TrackingMessage))}
        assert stored["k7"].payload == {"traits": {"email": email}, "n": 7}
        assert (stored["k7"].user_id, stored["k8"].user_id) == ("User-7", None)
        assert stored["k7"].user_index == id_index("User-7", field=USER_ID_FIELD)
        identities = {(i.kind, i.value) for i in session.scalars(select(TrackingIdentity))}
    assert identities == {
        ("user", id_index("User-1", field=USER_ID_FIELD)),
        ("anonymous", id_index("device-1", field=ANONYMOUS_ID_FIELD)),
    }
    dump = raw_dump(engine)
    assert b"device-1" in dump
    assert email.encode() not in dump  # VACUUM: no page of the file keeps the old rows
    assert b"User-1" not in dump

    command.downgrade(alembic_config(engine), before)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT user_id, payload FROM tracking_message WHERE key = 'k7'")
        ).one()
        values = set(connection.execute(text("SELECT value FROM tracking_identity")).scalars())
    payload = row.payload if isinstance(row.payload, dict) else orjson.loads(row.payload)
    assert (row.user_id, payload["traits"]["email"]) == ("User-7", email)
    assert values == {"User-1", "device-1"}
    engine.dispose()
