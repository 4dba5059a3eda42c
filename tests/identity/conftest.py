"""A generated export with hand-made look-alikes, loaded and resolved once per backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amigo.core.config import IdentitySettings
from amigo.core.db import make_engine, unit_of_work
from amigo.identity.models import IdentityLink
from amigo.identity.service import ResolveSummary, resolve_repository
from amigo.ingest.service import load_directory
from amigo.synth import generate

SETTINGS = IdentitySettings(auto_merge_threshold=0.99, review_threshold=0.5, seed=7)


def _submission(sid: str, **fields: Any) -> str:
    base = {
        "email": None,
        "first_name": None,
        "last_name": None,
        "phone": None,
        "birth_date": None,
        "postal_code": None,
        "city": None,
        "country": "FR",
    }
    return json.dumps(
        {
            "submission_id": sid,
            "form": "account",
            "submitted_at": "2025-03-02T18:04:11+01:00",
            "locale": "fr-FR",
            "fields": {**base, **fields},
            "consents": {"email_marketing": True, "sms_marketing": False},
            "consent_text_version": "acct-2025-01",
            "ip": "192.0.2.1",
            "user_agent": "test",
        }
    )


# Look-alikes made by hand, by what the tests call them.
LOOKALIKES = [
    # One person, three records: the same e-mail, then the same phone.
    _submission("wf-x-person-1", email="quentin.bellamy@free.fr", first_name="Quentin",
                last_name="Bellamy", birth_date="1980-03-12", phone="06 12 34 56 01"),
    _submission("wf-x-person-2", email="quentin.bellamy@free.fr", first_name="Quentin",
                last_name="Bellamy", postal_code="75011", city="Paris"),
    _submission("wf-x-person-3", first_name="Quentin", last_name="Bellamy",
                phone="+33 6 12 34 56 01", birth_date="1980-03-12"),
    # His namesake: same name and city, another birth date, e-mail and phone.
    _submission("wf-x-namesake", email="qbellamy@orange.fr", first_name="Quentin",
                last_name="Bellamy", birth_date="1961-10-02", phone="06 98 76 54 32",
                postal_code="75011", city="Paris"),
    # A household: one e-mail, one last name, two first names and birth dates.
    _submission("wf-x-mother", email="famille.vasseur@free.fr", first_name="Sylvie",
                last_name="Vasseur", birth_date="1970-05-05", postal_code="69003", city="Lyon"),
    _submission("wf-x-son", email="famille.vasseur@free.fr", first_name="Hugo",
                last_name="Vasseur", birth_date="2001-09-30", postal_code="69003", city="Lyon"),
    # A chain: shares the person's phone and the namesake's e-mail.
    _submission("wf-x-chain", email="qbellamy@orange.fr", first_name="Quentin",
                last_name="Bellamy", phone="06 12 34 56 01"),
]  # fmt: skip


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate a small export and add the hand-made look-alikes to its web forms."""
    out = tmp_path_factory.mktemp("resolution") / "export"
    generate(customers=300, seed=23, out_dir=out)
    with (out / "webforms" / "submissions.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in LOOKALIKES))
    return out


@dataclass
class Resolved:
    """A loaded and resolved repository, and the summary of its resolution."""

    engine: Engine
    url: str
    summary: ResolveSummary
    export: Path


@pytest.fixture(scope="module")
def resolved(export_dir: Path, database_factory: Any) -> Iterator[Resolved]:
    """Return a repository holding the export, resolved once (tests must not change it)."""
    url = database_factory.new_url()
    engine = make_engine(url)
    load_directory(engine=engine, directory=export_dir, batch_size=500)
    with unit_of_work(engine) as session:
        summary = resolve_repository(session=session, settings=SETTINGS)
    yield Resolved(engine=engine, url=url, summary=summary, export=export_dir)
    engine.dispose()


@pytest.fixture
def scratch(resolved: Resolved) -> Iterator[Session]:
    """Open a session on the resolved repository whose changes are rolled back afterwards."""
    connection = resolved.engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


def profile_of(session_or_engine: Session | Engine, source_id: str) -> int:
    """Return the golden profile a source id is linked to now."""
    query = select(IdentityLink.customer_id).where(IdentityLink.source_id == source_id)
    if isinstance(session_or_engine, Session):
        return int(session_or_engine.scalars(query).one())
    with session_or_engine.connect() as connection:
        return int(connection.scalars(query).one())
