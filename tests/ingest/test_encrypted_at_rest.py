"""Issue 5's proof of encryption at rest: a loaded, resolved repository dumped raw names nobody.

An export is loaded and resolved (merges, reviews), a profile rectified and a
subject request filed in the person's words; then every byte of the database
(the SQLite files with their WAL, or pg_dump's output) is searched for every
email and phone the export carried, as the sources wrote them and as AMIgo
normalized them, and for the birth dates and streets of the profiles.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from amigo.core.config import IdentitySettings
from amigo.core.db import make_engine, unit_of_work
from amigo.identity.models import IdentityLink, MatchReview, MergeEvent
from amigo.identity.service import resolve_repository
from amigo.ingest.service import load_directory
from amigo.privacy.service import create_request
from amigo.profiles.models import GoldenCustomer
from amigo.profiles.rectification import rectify_profile
from amigo.profiles.service import find_customers
from amigo.synth import generate
from dumps import raw_dump

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SETTINGS = IdentitySettings(auto_merge_threshold=0.99, review_threshold=0.5, seed=7)
CUSTOMER_FILES = (
    "cegid/customers.csv",
    "shopify/customers.jsonl",
    "shopify/orders.jsonl",
    "webforms/submissions.jsonl",
)
# Where the sources write an email or a phone (Y2 columns, Shopify and web-form keys).
CONTACT_KEYS = {
    "Email",
    "AlternativeEmail",
    "CellularPhoneNumber",
    "HomePhoneNumber",
    "email",
    "contact_email",
    "phone",
}


def _contacts_in(value: Any, found: set[str], *, key: str = "") -> None:
    """Collect every string under a key holding an email or a phone, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            _contacts_in(v, found, key=str(k))
    elif isinstance(value, list):
        for item in value:
            _contacts_in(item, found, key=key)
    elif isinstance(value, str) and key in CONTACT_KEYS:
        found.add(value.strip())


def exported_contacts(export: Path) -> set[str]:
    """Return every email and phone the export's people files carry, as written."""
    found: set[str] = set()
    for name in CUSTOMER_FILES:
        path = export / name
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle, delimiter=";"):
                    _contacts_in(row, found)
        else:
            for line in path.read_text(encoding="utf-8").splitlines():
                _contacts_in(json.loads(line), found)
    # Short strings ("0", "n/a") could occur by chance in any dump.
    return {value for value in found if len(value) >= 8}


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate a small multi-source export."""
    out = tmp_path_factory.mktemp("at-rest") / "export"
    generate(customers=300, seed=5, out_dir=out)
    return out


@pytest.fixture
def repository(export: Path, fresh_database_url: str) -> Iterator[Engine]:
    """Return a repository holding the export, resolved, with a rectification and a request."""
    engine = make_engine(fresh_database_url)
    load_directory(engine=engine, directory=export, batch_size=200)
    with unit_of_work(engine) as session:
        resolve_repository(session=session, settings=SETTINGS)
    with unit_of_work(engine) as session:
        person = session.scalars(
            select(GoldenCustomer).where(GoldenCustomer.email.is_not(None)).limit(1)
        ).one()
        rectify_profile(
            session=session,
            customer_id=person.id,
            changes={"email": "corrected.address@example.net", "phone": "+33 6 99 88 77 66"},
            actor="dpo@brand",
            now=NOW,
        )
        create_request(
            session=session,
            customer_id=person.id,
            type="access",
            channel="email",
            actor="dpo@brand",
            role="dpo",
            now=NOW,
            details="Please send me what you hold about corrected.address@example.net",
        )
    yield engine
    engine.dispose()


def test_a_raw_dump_of_a_loaded_repository_holds_no_email_or_phone(
    backend: str, export: Path, repository: Engine
) -> None:
    engine = repository
    with unit_of_work(engine) as session:
        # Read back through the column types: the values are there, decrypted.
        profiles = session.scalars(select(GoldenCustomer)).all()
        links = session.scalars(select(IdentityLink)).all()
        assert session.scalar(select(MergeEvent.id).limit(1)) is not None
        assert session.scalar(select(MatchReview.id).limit(1)) is not None
        normalized = {v for p in profiles for v in (p.email, p.phone) if v}
        normalized |= {v for link in links for v in (link.email, link.phone) if v}
        birth_dates = {p.birth_date.isoformat() for p in profiles if p.birth_date}
        streets = {p.address_line1 for p in profiles if p.address_line1}
        assert "+33699887766" in normalized  # the rectified phone, E.164
        found = find_customers(session=session, reference="corrected.address@example.net")
        assert [c.phone for c in found] == ["+33699887766"]  # looked up by its blind index
    exported = exported_contacts(export)
    assert len(exported) > 300
    assert len(normalized) > 300
    assert len(birth_dates) > 100

    dump = raw_dump(engine)

    assert b"v1.k1." in dump  # the values are there, encrypted
    leaked = sorted(
        value
        for value in {*exported, *normalized, *streets, "corrected.address@example.net"}
        if value.encode() in dump or value.lower().encode() in dump
    )
    assert leaked == [], leaked[:20]
    assert sorted(d for d in birth_dates if d.encode() in dump) == []
