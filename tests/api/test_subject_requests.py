"""Subject requests carried out over HTTP, as a DPO would, and what the people around notice.

Erasure (two DPO clients when the customer ordered in the last year),
rectification, portability and restriction, each filed, verified, approved and
executed through /v1/subject-requests, then checked where a user would look:
the Client 360, the consents, the search, the file the API hands out, the
error bodies. The API's database is shared by the tests of a worker, so each
test works on a person of its own (``people``), away from the profiles the
other modules take (the first ten and the last eight).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from amigo.core.audit import PersonalDataRead
from amigo.core.clock import utcnow
from amigo.core.db import unit_of_work
from amigo.core.roles import Role
from amigo.events.models import OutboxEvent
from amigo.profiles.models import CustomerStatus, GoldenCustomer, Order
from api.conftest import LiveApi

# What erasure blanks on the golden profile, as the Client 360 shows it.
_PERSONAL = (
    "first_name", "last_name", "email", "phone", "birth_date",
    "address_line1", "address_line2", "postal_code", "city", "region",
)  # fmt: skip


@dataclass(frozen=True)
class People:
    """One profile per test, each with what its request needs."""

    recent_buyer: int  # an order 20 days ago: erasing them takes two approvers; a unique email
    prospect: int  # no order at all: one approver
    rectified: int  # lives in France (a French postal code is valid for them)
    portable: int  # has orders, for the archive to carry
    restricted: int


@pytest.fixture(scope="module")
def people(live_api: LiveApi) -> People:
    """Pick the module's people among the active profiles no other module takes."""
    with unit_of_work(live_api.engine) as session:
        active = list(
            session.scalars(
                select(GoldenCustomer.id)
                .where(GoldenCustomer.status == CustomerStatus.ACTIVE)
                .order_by(GoldenCustomer.id)
            )
        )
        pool = active[40:-20]
        buyers = set(session.scalars(select(Order.customer_id).where(Order.customer_id.in_(pool))))
        french = set(
            session.scalars(
                select(GoldenCustomer.id).where(
                    GoldenCustomer.id.in_(pool), GoldenCustomer.country == "FR"
                )
            )
        )
        # Profiles not yet resolved into one another share emails; erasure takes the
        # profile asked about and those merged into it, so the buyer's email is theirs alone.
        # Compared by the emails' blind index: the emails themselves are encrypted.
        shared = set(
            session.scalars(
                select(GoldenCustomer.email_index)
                .where(GoldenCustomer.email_index.is_not(None))
                .group_by(GoldenCustomer.email_index)
                .having(func.count() > 1)
            )
        )
        alone = set(
            session.scalars(
                select(GoldenCustomer.id).where(
                    GoldenCustomer.id.in_(pool), GoldenCustomer.email_index.not_in(shared)
                )
            )
        )
        with_orders = [c for c in pool if c in buyers]
        without = [c for c in pool if c not in buyers]
        recent_buyer = next(c for c in with_orders if c in alone)
        portable = next(c for c in with_orders if c != recent_buyer)
        rectified = next(c for c in without if c in french)
        prospect, restricted = [c for c in without if c != rectified][:2]
        one_order = session.scalars(
            select(Order.id).where(Order.customer_id == recent_buyer).order_by(Order.id)
        ).first()
        # Whatever today's date, the synthetic orders' dates are fixed: make one recent.
        session.execute(
            update(Order)
            .where(Order.id == one_order)
            .values(ordered_at=utcnow() - timedelta(days=20))
        )
    return People(recent_buyer, prospect, rectified, portable, restricted)


def _get(api: LiveApi, role: Role, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{api.url}{path}", params=params, headers=api.headers(role))


def _post(api: LiveApi, role: Role, path: str, body: Any = None) -> httpx.Response:
    return httpx.post(f"{api.url}{path}", json=body, headers=api.headers(role))


def _client_id(api: LiveApi, role: Role) -> str:
    api.token(role)
    return api.credentials[role][0]


def _error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check an error answer's status and body; return the body's error."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code, error
    assert error["message"]
    return error


def _client_360(api: LiveApi, customer_id: int) -> dict[str, Any]:
    answer = _get(api, Role.SALES_ASSOCIATE, f"/v1/customers/{customer_id}", orders=100)
    assert answer.status_code == 200, answer.text
    view: dict[str, Any] = answer.json()
    return view


def _approved(api: LiveApi, customer_id: int, kind: str, details: str | None = None) -> str:
    """File a request as the DPO, verify it and approve it once; return its path."""
    filed = _post(
        api,
        Role.DPO,
        "/v1/subject-requests",
        {"customer_id": customer_id, "type": kind, "channel": "email", "details": details},
    )
    assert filed.status_code == 201, filed.text
    base = f"/v1/subject-requests/{filed.json()['id']}"
    verified = _post(api, Role.DPO, f"{base}/verify", {"method": "reply from the address on file"})
    assert verified.json()["status"] == "identity_verified", verified.text
    approved = _post(api, Role.DPO, f"{base}/approve")
    assert approved.status_code == 200, approved.text
    return base


def _second_dpo(api: LiveApi) -> tuple[str, dict[str, str]]:
    """Create another DPO client (another person); return its id and Authorization header."""
    client_id, secret = api.new_client(Role.DPO, name="second DPO")
    token = httpx.post(
        f"{api.url}/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert token.status_code == 200, token.text
    return client_id, {"Authorization": f"Bearer {token.json()['access_token']}"}


# ---------------------------------------------------------------- erasure


def test_erasing_a_recent_buyer_takes_two_dpo_clients_and_blanks_the_client_360(
    live_api: LiveApi, people: People
) -> None:
    customer_id = people.recent_buyer
    before = _client_360(live_api, customer_id)
    profile = before["profile"]
    assert profile["email"]
    assert before["order_count"] >= 1
    filed = _post(
        live_api,
        Role.DPO,
        "/v1/subject-requests",
        {"customer_id": customer_id, "type": "erasure", "channel": "email",
         "details": f"{profile['first_name']} {profile['last_name']} asks to be forgotten"},
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    base = f"/v1/subject-requests/{filed.json()['id']}"
    reference = filed.json()["reference"]
    _post(live_api, Role.DPO, f"{base}/verify", {"method": "signed letter"})

    first = _post(live_api, Role.DPO, f"{base}/approve", {"note": "first approval"})

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "identity_verified"  # not approved yet
    assert first.json()["steps"][-1]["step"] == "approval"
    twice = _error(_post(live_api, Role.DPO, f"{base}/approve"), 403, "forbidden")
    assert twice["message"] == (
        f"{_client_id(live_api, Role.DPO)} already approved {reference}: "
        "a second approver must be someone else"
    )
    too_soon = _error(_post(live_api, Role.DPO, f"{base}/execute"), 409, "wrong_status")
    assert "identity_verified" in too_soon["message"]
    # Over the API only DPO clients handle requests, admins included (the CLI lets an admin approve).
    admin = _error(_post(live_api, Role.ADMIN, f"{base}/approve"), 403, "forbidden")
    assert admin["details"]["needs"] == "subject_requests:handle"

    second_id, second = _second_dpo(live_api)
    approved = httpx.post(f"{live_api.url}{base}/approve", json={"note": "agreed"}, headers=second)

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    steps = [(s["step"], s["actor"]) for s in approved.json()["steps"]]
    assert [a for s, a in steps if s == "approval"] == [_client_id(live_api, Role.DPO), second_id]
    assert steps[-1] == ("approved", second_id)

    executed = _post(live_api, Role.DPO, f"{base}/execute")

    assert executed.status_code == 200, executed.text
    assert executed.json()["status"] == "executed"
    result = executed.json()["result"]
    assert profile["external_id"] in result["erased_profiles"]
    assert result["orders_kept_unlinked"] >= before["order_count"]
    assert result["suppression_entries"] >= 2  # a source id and the email, at least
    after = _client_360(live_api, customer_id)
    assert after["profile"]["status"] == "erased"
    assert {f: after["profile"][f] for f in _PERSONAL} == dict.fromkeys(_PERSONAL)
    assert (after["orders"], after["order_count"], after["lifetime_value_cents"]) == ([], 0, {})
    assert (after["interactions"], after["stores"], after["associates"]) == ([], [], [])
    shown = json.dumps(after).lower()
    for value in (profile["email"], profile["last_name"], profile["phone"]):
        if value:
            assert value.lower() not in shown
    found = _get(live_api, Role.SALES_ASSOCIATE, "/v1/customers", email=profile["email"])
    assert found.json()["items"] == []
    request = _get(live_api, Role.DPO, base).json()
    assert request["details"] is None  # her own words went with her
    assert {s["note"] for s in request["steps"]} == {None}
    refiled = _post(
        live_api,
        Role.DPO,
        "/v1/subject-requests",
        {"customer_id": customer_id, "type": "access", "channel": "email"},
    )
    assert "was erased" in _error(refiled, 400, "erased")["message"]
    assert _post(live_api, Role.DPO, f"{base}/close").json()["status"] == "closed"


def test_erasing_a_prospect_takes_one_approval_and_deletes_the_files_written_for_them(
    live_api: LiveApi, people: People
) -> None:
    customer_id = people.prospect
    access = _approved(live_api, customer_id, "access")
    files = _post(live_api, Role.DPO, f"{access}/execute").json()["result"]["files"]
    report = f"{access}/files/{PurePath(files[0]).name}"
    assert _get(live_api, Role.DPO, report).status_code == 200

    erasure = _approved(live_api, customer_id, "erasure")
    assert _get(live_api, Role.DPO, erasure).json()["status"] == "approved"  # no second approver
    executed = _post(live_api, Role.DPO, f"{erasure}/execute")

    assert executed.status_code == 200, executed.text
    assert executed.json()["result"]["files_deleted"] == len(files) == 2
    assert _client_360(live_api, customer_id)["profile"]["status"] == "erased"
    gone = _error(_get(live_api, Role.DPO, report), 404, "file_deleted")
    assert "no longer kept" in gone["message"]


# ---------------------------------------------------------------- rectification


def test_a_rectification_over_http_changes_the_client_360_and_bad_values_change_nothing(
    live_api: LiveApi, people: People
) -> None:
    customer_id = people.rectified
    before = _client_360(live_api, customer_id)["profile"]
    base = _approved(live_api, customer_id, "rectification", "I moved to Villeurbanne")
    execute = f"{base}/execute"

    nothing = _error(_post(live_api, Role.DPO, execute), 400, "invalid_input")
    assert nothing["message"].endswith('"changes": {"field": "value"} over the API)')
    refused = {
        "email": {"email": "marie@@example"},
        "phone": {"phone": "call me maybe"},
        "birth_date": {"birth_date": "1980-02-31"},
        "tier: not a field a person can have corrected": {"tier": "vip"},
        # One bad value among good ones: none is applied.
        "postal_code": {"city": "Villeurbanne", "postal_code": "ABCDE"},
    }
    for reason, changes in refused.items():
        error = _error(
            _post(live_api, Role.DPO, execute, {"changes": changes}), 400, "invalid_input"
        )
        assert error["message"].startswith(reason), error
    malformed: list[dict[str, Any]] = [
        {"changes": {"city": 69}},
        {"changes": {"city": "c" * 501}},
        {"chnages": {}},
    ]
    for body in malformed:
        _error(_post(live_api, Role.DPO, execute, body), 422, "invalid_request")
    assert _get(live_api, Role.DPO, base).json()["status"] == "approved"
    assert _client_360(live_api, customer_id)["profile"] == before

    corrected: dict[str, str | None] = {
        "city": "Villeurbanne", "postal_code": "69100", "phone": "+33 6 11 22 33 44",
        "address_line2": None,
    }  # fmt: skip
    executed = _post(live_api, Role.DPO, execute, {"changes": corrected})

    assert executed.status_code == 200, executed.text
    assert executed.json()["status"] == "executed"
    result = executed.json()["result"]
    assert result["customer"] == before["external_id"]
    assert result["after"] == {**corrected, "phone": "+33611223344"}
    assert result["before"] == {field: before[field] for field in corrected}
    after = _client_360(live_api, customer_id)["profile"]
    assert (after["city"], after["postal_code"], after["phone"], after["address_line2"]) == (
        "Villeurbanne", "69100", "+33611223344", None
    )  # fmt: skip
    assert (after["email"], after["last_name"]) == (before["email"], before["last_name"])
    reference = executed.json()["reference"]
    assert after["lineage"]["city"]["source"] == "manual"
    assert after["lineage"]["city"]["request"] == reference
    _error(_post(live_api, Role.DPO, execute, {"changes": corrected}), 409, "wrong_status")


# ---------------------------------------------------------------- portability


def test_the_portability_archive_is_downloaded_over_http_and_holds_the_client_360(
    live_api: LiveApi, people: People
) -> None:
    customer_id = people.portable
    view = _client_360(live_api, customer_id)
    base = _approved(live_api, customer_id, "portability")
    values = _post(live_api, Role.DPO, f"{base}/execute", {"changes": {"city": "Lyon"}})
    assert "takes no corrected values" in _error(values, 400, "invalid_input")["message"]

    executed = _post(live_api, Role.DPO, f"{base}/execute")

    assert executed.status_code == 200, executed.text
    [path] = executed.json()["result"]["files"]
    name = PurePath(path).name
    assert name == f"{executed.json()['reference']}-portability.zip"
    download = _get(live_api, Role.DPO, f"{base}/files/{name}")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"] == f'attachment; filename="{name}"'
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert set(archive.namelist()) == {
        "person.jsonld", "orders.jsonld", "profile.csv", "orders.csv", "order_lines.csv",
        "consents.csv", "interactions.csv",
    }  # fmt: skip
    person = json.loads(archive.read("person.jsonld"))
    profile = view["profile"]
    assert (person["@type"], person["identifier"]) == ("Person", profile["external_id"])
    assert (person.get("email"), person.get("familyName")) == (
        profile["email"],
        profile["last_name"],
    )
    orders = json.loads(archive.read("orders.jsonld"))["@graph"]
    assert {o["orderNumber"] for o in orders} == {
        f"{o['source_system']}:{o['source_order_id']}" for o in view["orders"]
    }
    rows = list(csv.DictReader(io.StringIO(archive.read("orders.csv").decode())))
    assert len(rows) == len(orders) >= 1
    with live_api.session() as session:
        audited = session.scalar(
            select(func.count())
            .select_from(PersonalDataRead)
            .where(
                PersonalDataRead.subject_id == customer_id,
                PersonalDataRead.action == "GET /v1/subject-requests/{id}/files/{name}",
            )
        )
    assert audited == 1

    files = f"{base}/files"
    missing = _error(_get(live_api, Role.DPO, f"{files}/DSR-1-access.json"), 404, "not_found")
    assert missing["details"] == {"files": [name]}
    _error(_get(live_api, Role.DPO, f"{files}/person.jsonld"), 422, "invalid_request")
    _error(_get(live_api, Role.DPO, f"{files}/..%2F..%2Fetc%2Fpasswd"), 404, "not_found")
    _error(
        _get(live_api, Role.DPO, f"/v1/subject-requests/999999999/files/{name}"), 404, "not_found"
    )
    _error(_get(live_api, Role.MARKETER, f"{files}/{name}"), 403, "forbidden")


# ---------------------------------------------------------------- restriction


def test_a_restriction_keeps_the_data_and_every_consent_view_says_no_contact(
    live_api: LiveApi, people: People
) -> None:
    customer_id = people.restricted
    granted = _post(
        live_api,
        Role.SALES_ASSOCIATE,
        f"/v1/customers/{customer_id}/consents",
        {"purpose": "email_marketing", "status": "granted", "channel": "store",
         "wording_version": "in-store-2026-01"},
    )  # fmt: skip
    assert granted.json()["state"]["allows_contact"] is True, granted.text
    before = _client_360(live_api, customer_id)
    base = _approved(live_api, customer_id, "restriction", "I contest the accuracy of my data")

    executed = _post(live_api, Role.DPO, f"{base}/execute")

    assert executed.status_code == 200, executed.text
    assert executed.json()["status"] == "executed"
    assert executed.json()["result"]["restricted_since"]
    after = _client_360(live_api, customer_id)
    assert after["profile"] == before["profile"]  # the data is kept (article 18)
    states = {s["purpose"]: s for s in after["consent_states"]}
    assert {(s["allows_contact"], s["restricted"]) for s in states.values()} == {(False, True)}
    assert states["email_marketing"]["status"] == "granted"  # she still consents
    consents = _get(live_api, Role.MARKETER, f"/v1/customers/{customer_id}/consents").json()
    assert consents == after["consent_states"]
    with live_api.session() as session:
        restricted = session.scalars(
            select(OutboxEvent).where(
                OutboxEvent.type == "customer.restricted",
                OutboxEvent.subject == before["profile"]["external_id"],
            )
        ).all()
    assert [e.data["request"] for e in restricted] == [executed.json()["reference"]]

    assert _post(live_api, Role.DPO, f"{base}/close").json()["status"] == "closed"
    again = _client_360(live_api, customer_id)["consent_states"]
    assert {s["allows_contact"] for s in again} == {False}
