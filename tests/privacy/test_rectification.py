"""Rectification on a real repository: the corrected value outranks every source, everywhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from amigo.core.config import PrivacySettings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.events.models import OutboxEvent
from amigo.identity.service import merge_profiles, unmerge_profiles
from amigo.ingest.service import load_directory
from amigo.privacy.models import RequestStatus
from amigo.privacy.service import approve_request, create_request, execute_request, verify_identity
from amigo.profiles.models import GoldenCustomer, ManualRectification
from amigo.profiles.service import find_customers
from consent.exports import cegid_customer, shopify_customer, write_export

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SETTINGS = PrivacySettings(suppression_key=SecretStr("test-suppression-key"))
SHOPIFY_ID = 6840000777001


def _cegid(modified: str, city: str) -> dict[str, str]:
    row = cegid_customer("PAR01000777", "agathe.roussel@example.org", modified)
    row.update(City=city, ZipCode="69003", AddressLine1="12 rue des Lilas")
    return row


@pytest.fixture
def loaded(tmp_path: Path, fresh_database_url: str, open_engine: Callable[[str], Engine]) -> Engine:
    """Return a repository with one person's Y2 and Shopify records, as two profiles."""
    engine = open_engine(fresh_database_url)
    write_export(
        tmp_path / "export",
        cegid=[_cegid("01/06/2025 10:00:00", "Lyon")],
        shopify=[shopify_customer(SHOPIFY_ID, "agathe.r@example.org")],
    )
    load_directory(engine=engine, directory=tmp_path / "export")
    return engine


def _id(engine: Engine, reference: str) -> int:
    with unit_of_work(engine) as session:
        [customer] = find_customers(session=session, reference=reference)
        return customer.id


def _rectify(engine: Engine, customer: int, **changes: str) -> dict[str, object]:
    with unit_of_work(engine) as session:
        request = create_request(session=session, customer_id=customer, type="rectification",
                                 channel="email", actor="dpo@amigo.test", role="dpo", now=NOW,
                                 details="My name is spelt wrong and I moved")  # fmt: skip
        verify_identity(session=session, request_id=request.id, actor="dpo@amigo.test",
                        role="dpo", method="reply from the address on file", now=NOW)  # fmt: skip
        approve_request(session=session, request_id=request.id, actor="dpo@amigo.test",
                        role="dpo", now=NOW, settings=SETTINGS)  # fmt: skip
        done = execute_request(session=session, request_id=request.id, actor="dpo@amigo.test",
                               role="dpo", now=NOW, settings=SETTINGS, changes=changes)  # fmt: skip
        assert done.status is RequestStatus.EXECUTED
        return dict(done.result)


def _profile(engine: Engine, customer: int) -> GoldenCustomer:
    with unit_of_work(engine) as session:
        profile = session.get_one(GoldenCustomer, customer)
        session.expunge(profile)
        return profile


def test_a_rectification_outranks_the_source_with_manual_lineage(loaded: Engine) -> None:
    cegid = _id(loaded, "cegid:PAR01000777")

    result = _rectify(
        loaded, cegid, last_name="Roussel-Vidal", city="Villeurbanne", phone="06 11 22 33 44"
    )

    profile = _profile(loaded, cegid)
    assert (profile.last_name, profile.city, profile.phone) == (
        "Roussel-Vidal",
        "Villeurbanne",
        "+33611223344",
    )
    assert result["before"] == {"last_name": "Roussel", "city": "Lyon", "phone": None}
    assert profile.lineage["last_name"]["source"] == "manual"
    assert profile.lineage["city"]["request"] == "DSR-1"
    assert profile.lineage["first_name"]["source"] == "cegid"  # untouched fields keep theirs
    with unit_of_work(loaded) as session:
        [event] = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "customer.updated")
        ).all()
    assert event.data["fields"] == ["city", "last_name", "phone"]


def test_a_later_load_of_the_source_does_not_undo_the_correction(
    loaded: Engine, tmp_path: Path
) -> None:
    cegid = _id(loaded, "cegid:PAR01000777")
    _rectify(loaded, cegid, city="Villeurbanne")

    later = write_export(tmp_path / "later", cegid=[_cegid("01/09/2026 10:00:00", "Lyon 3e")])
    report = load_directory(engine=loaded, directory=later)

    assert report.total.updated == 1
    profile = _profile(loaded, cegid)
    assert profile.city == "Villeurbanne"
    assert profile.address_line1 == "12 rue des Lilas"


def test_a_merge_keeps_the_correction_and_an_unmerge_gives_it_back(loaded: Engine) -> None:
    cegid, shopify = _id(loaded, "cegid:PAR01000777"), _id(loaded, f"shopify:{SHOPIFY_ID}")
    _rectify(loaded, shopify, birth_date="1984-05-06", email="agathe.roussel@example.net")

    with unit_of_work(loaded) as session:
        merge = merge_profiles(session=session, survivor_id=cegid, merged_id=shopify, actor="t")
    merged = _profile(loaded, cegid)
    with unit_of_work(loaded) as session:
        unmerge_profiles(session=session, merge_event_id=merge, actor="t", reason="check")
    survivor, restored = _profile(loaded, cegid), _profile(loaded, shopify)

    assert merged.birth_date == date(1984, 5, 6)
    assert merged.email == "agathe.roussel@example.net"  # the correction outranks Y2's email
    assert merged.email_match_key == "agathe.roussel@example.net"
    assert survivor.email == "agathe.roussel@example.org"
    assert survivor.birth_date is None
    assert restored.email == "agathe.roussel@example.net"
    assert restored.lineage["email"]["source"] == "manual"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tier": "vip"}, "not a field a person can have corrected"),
        ({"email": "not an email"}, "email"),
        ({"phone": "call me maybe"}, "phone"),
        ({"birth_date": "2090-01-01"}, "birth_date"),
        ({"preferred_language": "french"}, "two-letter code"),
        ({}, "say which values to correct"),
    ],
)
def test_a_bad_correction_is_refused_and_nothing_is_written(
    loaded: Engine, changes: dict[str, str], message: str
) -> None:
    cegid = _id(loaded, "cegid:PAR01000777")
    before = _profile(loaded, cegid)

    with pytest.raises(InvalidInputError, match=message):
        _rectify(loaded, cegid, **changes)

    with unit_of_work(loaded) as session:
        assert session.scalar(select(func.count()).select_from(ManualRectification)) == 0
    after = _profile(loaded, cegid)
    assert (after.email, after.last_name, after.updated_at) == (
        before.email,
        before.last_name,
        before.updated_at,
    )
