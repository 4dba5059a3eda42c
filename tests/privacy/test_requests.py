"""Subject requests on a real repository: lifecycle, roles, deadlines, and what execution does."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amigo.consent.service import consent_history, may_contact, record_consent
from amigo.core.config import PrivacySettings
from amigo.core.errors import ConflictError, InvalidInputError, NotFoundError
from amigo.events.models import OutboxEvent
from amigo.privacy.models import PrivacyExport, RequestStatus
from amigo.privacy.service import (
    DuplicateRequestError,
    ForbiddenError,
    approve_request,
    close_request,
    create_request,
    execute_request,
    extend_request,
    is_restricted,
    list_requests,
    reject_request,
    request_steps,
    verify_identity,
)
from amigo.profiles.models import GoldenCustomer, Order, OrderLine

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SETTINGS = PrivacySettings(suppression_key=SecretStr("test-suppression-key"))


def _customer(session: Session, *, language: str = "fr", order_days_ago: int | None = None) -> int:
    customer = GoldenCustomer(
        external_id=f"AMI-{uuid.uuid4().hex[:12].upper()}",
        first_name="Agathe",
        last_name="Roussel",
        email="agathe.roussel@example.org",
        phone="+33612345678",
        birth_date=datetime(1984, 5, 6, tzinfo=UTC).date(),
        address_line1="12 rue des Lilas",
        postal_code="69003",
        city="Lyon",
        country="FR",
        preferred_language=language,
        origin="retail",
        status="active",
        lineage={},
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(customer)
    session.flush()
    if order_days_ago is not None:
        order = Order(
            source_system="cegid",
            source_order_id=f"PAR01-{uuid.uuid4().hex[:8]}",
            customer_id=customer.id,
            channel="store",
            store_id=None,
            ordered_at=NOW - timedelta(days=order_days_ago),
            currency="EUR",
            total_cents=12_900,
            status="completed",
        )
        session.add(order)
        session.flush()
        session.add(
            OrderLine(order_id=order.id, line_number=1, sku="SKU-1", label="Robe lin", quantity=1,
                      unit_price_cents=12_900, discount_cents=0)
        )  # fmt: skip
        session.flush()
    return customer.id


def _file(session: Session, customer: int, kind: str, role: str = "dpo", **more: Any) -> int:
    return create_request(
        session=session,
        customer_id=customer,
        type=kind,
        channel="email",
        actor="dpo@amigo.test",
        role=role,
        now=NOW,
        **more,
    ).id


def _approved(session: Session, customer: int, kind: str) -> int:
    request = _file(session, customer, kind)
    verify_identity(session=session, request_id=request, actor="dpo@amigo.test", role="dpo",
                    method="ID card seen in store", now=NOW)  # fmt: skip
    approve_request(session=session, request_id=request, actor="dpo@amigo.test", role="dpo",
                    now=NOW, settings=SETTINGS)  # fmt: skip
    return request


def _execute(session: Session, request: int, out: Path) -> dict[str, Any]:
    done = execute_request(session=session, request_id=request, actor="dpo@amigo.test", role="dpo",
                           now=NOW, settings=SETTINGS, out_dir=out)  # fmt: skip
    assert done.status is RequestStatus.EXECUTED
    return done.result


# ---------------------------------------------------------------- lifecycle and deadlines


def test_a_request_is_due_one_month_after_receipt_and_announced(session: Session) -> None:
    customer = _customer(session)

    request = create_request(session=session, customer_id=customer, type="access", channel="letter",
                             actor="dpo@amigo.test", role="dpo", now=NOW,
                             received_at=datetime(2026, 1, 31, 9, 0, tzinfo=UTC))  # fmt: skip

    assert request.status is RequestStatus.RECEIVED
    assert request.due_at == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)  # a month, clamped at its end
    event = session.scalars(
        select(OutboxEvent).where(OutboxEvent.type == "subject_request.received")
    ).one()
    assert event.data["request"] == f"DSR-{request.id}"
    assert event.data["type"] == "access"


def test_the_full_lifecycle_keeps_every_step(session: Session, tmp_path: Path) -> None:
    customer = _customer(session)
    request = _approved(session, customer, "access")

    _execute(session, request, tmp_path)
    close_request(session=session, request_id=request, actor="dpo@amigo.test", role="dpo", now=NOW,
                  note="sent by e-mail")  # fmt: skip

    steps = [s.step for s in request_steps(session=session, request_id=request)]
    assert steps == ["received", "identity_verified", "approval", "approved", "executed", "closed"]


def test_a_duplicate_open_request_is_refused_but_another_type_is_not(session: Session) -> None:
    customer = _customer(session)
    first = _file(session, customer, "access")

    with pytest.raises(DuplicateRequestError, match=f"DSR-{first}"):
        _file(session, customer, "access")
    _file(session, customer, "portability")
    reject_request(session=session, request_id=first, actor="dpo@amigo.test", role="dpo",
                   reason="identity not proven", now=NOW)  # fmt: skip
    _file(session, customer, "access")  # the first is no longer open


def test_an_unknown_person_or_type_is_a_clear_error(session: Session) -> None:
    with pytest.raises(NotFoundError):
        _file(session, 987_654_321, "access")
    customer = _customer(session)
    with pytest.raises(InvalidInputError, match="not a request type"):
        _file(session, customer, "forget-me-maybe")
    with pytest.raises(InvalidInputError, match="in the future"):
        _file(session, customer, "access", received_at=NOW + timedelta(days=1))


def _up_to(session: Session, customer: int, step: str) -> int | None:
    """Return a request brought to the stage where ``step`` comes next (None for create)."""
    if step == "create":
        return None
    request = _file(session, customer, "access")
    if step in ("approve", "execute"):
        verify_identity(
            session=session, request_id=request, actor="dpo", role="dpo", method="ID", now=NOW
        )
    if step == "execute":
        approve_request(
            session=session, request_id=request, actor="dpo", role="dpo", now=NOW, settings=SETTINGS
        )
    return request


def _take(
    session: Session, step: str, request: int | None, customer: int, role: str, out: Path
) -> None:
    if request is None:
        create_request(session=session, customer_id=customer, type="access", channel="email",
                       actor="someone", role=role, now=NOW)  # fmt: skip
    elif step == "verify":
        verify_identity(
            session=session, request_id=request, actor="x", role=role, method="ID", now=NOW
        )
    elif step == "approve":
        approve_request(
            session=session, request_id=request, actor="x", role=role, now=NOW, settings=SETTINGS
        )
    else:
        execute_request(session=session, request_id=request, actor="x", role=role, now=NOW,
                        settings=SETTINGS, out_dir=out)  # fmt: skip


@pytest.mark.parametrize(
    ("step", "role"),
    [("create", "marketer"), ("create", "sales_associate"), ("verify", "admin"),
     ("approve", "marketer"), ("approve", "integration"), ("execute", "admin")],
)  # fmt: skip
def test_only_the_dpo_handles_requests(
    session: Session, step: str, role: str, tmp_path: Path
) -> None:
    customer = _customer(session)
    request = _up_to(session, customer, step)
    before = session.scalar(select(func.count()).select_from(OutboxEvent))

    with pytest.raises(ForbiddenError, match=f"the {role} role may not"):
        _take(session, step, request, customer, role, tmp_path)

    assert session.scalar(select(func.count()).select_from(OutboxEvent)) == before
    assert not list(tmp_path.iterdir())


def test_an_unknown_role_is_a_clear_error(session: Session) -> None:
    with pytest.raises(InvalidInputError, match="not a role"):
        _file(session, _customer(session), "objection", role="superuser")


def test_steps_must_come_in_order(session: Session) -> None:
    customer = _customer(session)
    request = _file(session, customer, "access")

    with pytest.raises(ConflictError, match="is received: it cannot be approved"):
        approve_request(
            session=session, request_id=request, actor="dpo", role="dpo", now=NOW, settings=SETTINGS
        )
    reject_request(
        session=session, request_id=request, actor="dpo", role="dpo", reason="unfounded", now=NOW
    )
    with pytest.raises(ConflictError, match="is rejected"):
        verify_identity(
            session=session, request_id=request, actor="dpo", role="dpo", method="ID", now=NOW
        )
    with pytest.raises(InvalidInputError, match="needs a reason"):
        reject_request(session=session, request_id=_file(session, customer, "access"), actor="dpo",
                       role="dpo", reason="  ", now=NOW)  # fmt: skip


def test_an_erasure_with_a_recent_order_needs_a_second_approver(session: Session) -> None:
    customer = _customer(session, order_days_ago=40)
    request = _file(session, customer, "erasure")
    verify_identity(
        session=session,
        request_id=request,
        actor="dpo@amigo.test",
        role="dpo",
        method="ID",
        now=NOW,
    )

    first = approve_request(session=session, request_id=request, actor="dpo@amigo.test", role="dpo",
                            now=NOW, settings=SETTINGS)  # fmt: skip
    assert first.status is RequestStatus.IDENTITY_VERIFIED
    with pytest.raises(ForbiddenError, match="must be someone else"):
        approve_request(session=session, request_id=request, actor="dpo@amigo.test", role="dpo",
                        now=NOW, settings=SETTINGS)  # fmt: skip
    with pytest.raises(ForbiddenError, match="marketer"):
        approve_request(session=session, request_id=request, actor="m@amigo.test", role="marketer",
                        now=NOW, settings=SETTINGS)  # fmt: skip
    second = approve_request(session=session, request_id=request, actor="ceo@amigo.test", role="admin",
                             now=NOW, settings=SETTINGS)  # fmt: skip
    assert second.status is RequestStatus.APPROVED


def test_an_erasure_without_a_recent_order_needs_one_approver(
    session: Session, tmp_path: Path
) -> None:
    customer = _customer(session, order_days_ago=500)

    request = _approved(session, customer, "erasure")

    assert list_requests(session=session, status="approved")[-1].id == request
    result = _execute(session, request, tmp_path)
    assert result["erased_profiles"] == [session.get_one(GoldenCustomer, customer).external_id]
    assert session.get_one(GoldenCustomer, customer).status == "erased"


def test_an_extension_is_two_months_at_most_with_a_reason(session: Session) -> None:
    customer = _customer(session)
    request = _file(
        session, customer, "portability", received_at=datetime(2026, 11, 10, tzinfo=UTC)
    )

    with pytest.raises(InvalidInputError, match="needs a reason"):
        extend_request(
            session=session,
            request_id=request,
            actor="dpo",
            role="dpo",
            months=1,
            reason="",
            now=NOW,
        )
    extended = extend_request(session=session, request_id=request, actor="dpo", role="dpo", months=1,
                              reason="several systems to search", now=NOW)  # fmt: skip
    assert extended.due_at == datetime(2027, 1, 10, tzinfo=UTC)
    extended = extend_request(session=session, request_id=request, actor="dpo", role="dpo", months=1,
                              reason="still searching", now=NOW)  # fmt: skip
    assert extended.due_at == datetime(2027, 2, 10, tzinfo=UTC)
    with pytest.raises(InvalidInputError, match="at most"):
        extend_request(session=session, request_id=request, actor="dpo", role="dpo", months=1,
                       reason="more", now=NOW)  # fmt: skip


def test_overdue_requests_are_the_open_ones_past_their_due_date(
    session: Session, tmp_path: Path
) -> None:
    customer = _customer(session)
    late = _file(session, customer, "access", received_at=NOW - timedelta(days=40))
    on_time = _file(session, customer, "portability", received_at=NOW - timedelta(days=3))
    answered = _file(session, customer, "objection", received_at=NOW - timedelta(days=45))
    verify_identity(
        session=session, request_id=answered, actor="dpo", role="dpo", method="ID", now=NOW
    )
    approve_request(
        session=session, request_id=answered, actor="dpo", role="dpo", now=NOW, settings=SETTINGS
    )
    _execute(session, answered, tmp_path)

    overdue = [r.id for r in list_requests(session=session, overdue_at=NOW)]

    assert late in overdue
    assert on_time not in overdue
    assert answered not in overdue


# ---------------------------------------------------------------- execution


def test_access_writes_everything_held_as_json_and_html(session: Session, tmp_path: Path) -> None:
    customer = _customer(session, order_days_ago=10)
    record_consent(session=session, customer_id=customer, purpose="email_marketing", status="granted",
                   channel="store", actor="associate:A12", now=NOW - timedelta(days=1),
                   proof={"wording_version": "store-2026-01"})  # fmt: skip
    request = _approved(session, customer, "access")

    result = _execute(session, request, tmp_path)

    json_file, html_file = (Path(p) for p in result["files"])
    data = json.loads(json_file.read_text("utf-8"))
    assert data["profile"]["email"] == "agathe.roussel@example.org"
    assert data["orders"][0]["lines"][0]["label"] == "Robe lin"
    assert data["consents"]["history"][0]["proof"] == {"wording_version": "store-2026-01"}
    assert data["subject_requests"][0]["request"] == f"DSR-{request}"
    assert data["recipients"] == []
    html = html_file.read_text("utf-8")
    assert "agathe.roussel@example.org" in html
    assert "Robe lin" in html
    assert oct(json_file.stat().st_mode)[-3:] == "600"
    exports = session.scalars(select(PrivacyExport.path).where(PrivacyExport.request_id == request))
    assert sorted(exports) == sorted(result["files"])


def test_portability_is_a_zip_of_schema_org_json_ld_and_csv(
    session: Session, tmp_path: Path
) -> None:
    customer = _customer(session, order_days_ago=10)
    request = _approved(session, customer, "portability")

    [archive] = _execute(session, request, tmp_path)["files"]

    with zipfile.ZipFile(archive) as zipped:
        assert set(zipped.namelist()) == {"person.jsonld", "orders.jsonld", "profile.csv", "orders.csv",
                                          "order_lines.csv", "consents.csv", "interactions.csv"}  # fmt: skip
        person = json.loads(zipped.read("person.jsonld"))
        orders = json.loads(zipped.read("orders.jsonld"))
        lines = list(csv.DictReader(io.StringIO(zipped.read("order_lines.csv").decode())))
    assert person["@context"] == "https://schema.org"
    assert person["@type"] == "Person"
    assert (person["email"], person["givenName"], person["address"]["postalCode"]) == (
        "agathe.roussel@example.org", "Agathe", "69003")  # fmt: skip
    assert orders["@graph"][0]["@type"] == "Order"
    assert orders["@graph"][0]["totalPaymentDue"] == {"@type": "PriceSpecification", "price": 129.0,
                                                      "priceCurrency": "EUR"}  # fmt: skip
    assert lines[0]["label"] == "Robe lin"


def test_restriction_keeps_the_data_and_stops_marketing(session: Session, tmp_path: Path) -> None:
    customer = _customer(session)
    record_consent(session=session, customer_id=customer, purpose="sms_marketing", status="granted",
                   channel="store", actor="associate:A12", now=NOW - timedelta(days=1))  # fmt: skip
    assert may_contact(session=session, customer_id=customer, purpose="sms_marketing")
    request = _approved(session, customer, "restriction")

    _execute(session, request, tmp_path)

    assert is_restricted(session=session, customer_id=customer)
    assert not may_contact(session=session, customer_id=customer, purpose="sms_marketing")
    assert session.get(GoldenCustomer, customer) is not None  # kept
    assert session.scalars(
        select(OutboxEvent).where(OutboxEvent.type == "customer.restricted")
    ).one()


def test_objection_withdraws_every_marketing_purpose_with_a_confirmation(
    session: Session, tmp_path: Path
) -> None:
    customer = _customer(session, language="fr")
    for purpose in ("email_marketing", "postal_mail"):
        record_consent(session=session, customer_id=customer, purpose=purpose, status="granted",
                       channel="store", actor="associate:A12", now=NOW - timedelta(days=1))  # fmt: skip
    request = _approved(session, customer, "objection")

    result = _execute(session, request, tmp_path)

    assert sorted(result["withdrawn"]) == ["email_marketing", "postal_mail"]
    assert result["confirmation"].startswith("Votre opposition est enregistrée")
    assert not may_contact(session=session, customer_id=customer, purpose="email_marketing")
    latest = consent_history(session=session, customer_id=customer)[-1]
    assert (latest.status, latest.channel, latest.proof["request"]) == (
        "withdrawn",
        "objection",
        f"DSR-{request}",
    )
