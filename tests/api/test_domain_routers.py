"""The domain routers against the live API: catalog, activity, consents, subject requests,
identity and quality, as their users would notice them, and bad input answered clearly.

The API's database is shared by the tests of a worker, so each test works on
customers of its own (``people``) and never on another test's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from amigo.core.audit import PersonalDataRead
from amigo.core.clock import utcnow
from amigo.core.db import unit_of_work
from amigo.core.roles import Role
from amigo.identity.models import IdentityLink, MatchReview, ReviewStatus
from amigo.profiles.models import (
    CustomerStatus,
    GoldenCustomer,
    Interaction,
    Order,
    Product,
    SalesAssociate,
)
from api.conftest import LiveApi

# Slices of the loaded profiles (by id), one per test that changes or reads people.
_SLICES = {
    "consents": slice(0, 3),
    "subject_requests": slice(3, 9),
    "activity_bad_input": slice(9, 10),
    "identity": slice(-8, None),
}


@pytest.fixture(scope="module")
def people(live_api: LiveApi) -> dict[str, list[int]]:
    """Give each test its own active profiles."""
    with live_api.session() as session:
        ids = list(
            session.scalars(
                select(GoldenCustomer.id)
                .where(GoldenCustomer.status == CustomerStatus.ACTIVE)
                .order_by(GoldenCustomer.id)
            )
        )
    return {name: ids[part] for name, part in _SLICES.items()}


def _get(api: LiveApi, role: Role, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{api.url}{path}", params=params, headers=api.headers(role))


def _post(api: LiveApi, role: Role, path: str, body: Any = None) -> httpx.Response:
    return httpx.post(f"{api.url}{path}", json=body, headers=api.headers(role))


def _client_id(api: LiveApi, role: Role) -> str:
    api.token(role)
    return api.credentials[role][0]


def _reads(api: LiveApi, role: Role, action: str, subject_id: int | None = None) -> int:
    """Count the audit rows of reads by the role's client through one route."""
    query = (
        select(func.count())
        .select_from(PersonalDataRead)
        .where(PersonalDataRead.actor == _client_id(api, role), PersonalDataRead.action == action)
    )
    if subject_id is not None:
        query = query.where(PersonalDataRead.subject_id == subject_id)
    with api.session() as session:
        return int(session.scalar(query) or 0)


def _assert_error(answer: httpx.Response, status: int, code: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error


# ---------------------------------------------------------------- catalog


def test_stores_associates_and_products_are_listed_and_looked_up(live_api: LiveApi) -> None:
    stores = _get(live_api, Role.SALES_ASSOCIATE, "/v1/stores")
    assert stores.status_code == 200, stores.text
    store_ids = [s["id"] for s in stores.json()]
    assert len(store_ids) == 12
    assert store_ids == sorted(store_ids)
    one = _get(live_api, Role.MARKETER, f"/v1/stores/{store_ids[0]}")
    assert one.status_code == 200
    assert one.json() == stores.json()[0]

    staff = _get(live_api, Role.SALES_ASSOCIATE, "/v1/associates", store_id=store_ids[0])
    assert staff.status_code == 200
    members = staff.json()["items"]
    assert members
    assert {a["store_id"] for a in members} == {store_ids[0]}
    with live_api.session() as session:
        in_store = session.scalar(
            select(func.count())
            .select_from(SalesAssociate)
            .where(SalesAssociate.store_id == store_ids[0])
        )
    assert len(members) == in_store
    associate = _get(live_api, Role.INTEGRATION, f"/v1/associates/{members[0]['id']}")
    assert associate.json() == members[0]


def test_products_page_by_sku_without_duplicates_or_gaps(live_api: LiveApi) -> None:
    with live_api.session() as session:
        skus = list(session.scalars(select(Product.sku).order_by(Product.sku)))
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 17}
        if cursor is not None:
            params["cursor"] = cursor
        page = _get(live_api, Role.MARKETER, "/v1/products", **params)
        assert page.status_code == 200, page.text
        seen += [p["sku"] for p in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == skus

    family = skus[0].split("-")[0]
    found = _get(live_api, Role.MARKETER, "/v1/products", sku=family.lower(), limit=200)
    assert [p["sku"] for p in found.json()["items"]] == [s for s in skus if s.startswith(family)]
    product = _get(live_api, Role.SALES_ASSOCIATE, f"/v1/products/{skus[0]}")
    assert product.status_code == 200
    assert product.json()["sku"] == skus[0]
    assert product.json()["name"]


def test_catalog_reads_write_no_audit_rows_and_unknown_items_get_404(live_api: LiveApi) -> None:
    for path in ("/v1/stores", "/v1/associates", "/v1/products"):
        assert _get(live_api, Role.SALES_ASSOCIATE, path).status_code == 200
    with live_api.session() as session:
        catalog_reads = session.scalar(
            select(func.count())
            .select_from(PersonalDataRead)
            .where(
                PersonalDataRead.action.like("GET /v1/stores%")
                | PersonalDataRead.action.like("GET /v1/associates%")
                | PersonalDataRead.action.like("GET /v1/products%")
            )
        )
    assert catalog_reads == 0

    for path in ("/v1/stores/NOPE1", "/v1/associates/VNOPE", "/v1/products/NO-SUCH-SKU"):
        _assert_error(_get(live_api, Role.MARKETER, path), 404, "not_found")
    _assert_error(
        _get(live_api, Role.MARKETER, "/v1/associates", store_id="NOPE1"), 404, "not_found"
    )
    _assert_error(_get(live_api, Role.MARKETER, "/v1/products", sku="X" * 41), 422)
    _assert_error(_get(live_api, Role.MARKETER, "/v1/products", cursor="forged"), 400)
    _assert_error(_get(live_api, Role.DPO, "/v1/stores"), 403, "forbidden")


# ---------------------------------------------------------------- activity


def test_orders_page_newest_first_with_lines_and_each_read_is_audited(live_api: LiveApi) -> None:
    with live_api.session() as session:
        customer_id, count = session.execute(
            select(Order.customer_id, func.count())
            .where(Order.customer_id.is_not(None))
            .group_by(Order.customer_id)
            .order_by(func.count().desc(), Order.customer_id)
            .limit(1)
        ).one()
        expected = set(session.scalars(select(Order.id).where(Order.customer_id == customer_id)))
    assert count >= 5
    before = _reads(live_api, Role.SALES_ASSOCIATE, "GET /v1/customers/{id}/orders", customer_id)

    orders: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = _get(live_api, Role.SALES_ASSOCIATE, f"/v1/customers/{customer_id}/orders", **params)
        assert page.status_code == 200, page.text
        orders += page.json()["items"]
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break

    ids = [o["id"] for o in orders]
    assert len(ids) == len(set(ids)) == count
    assert set(ids) == expected
    times = [(o["ordered_at"], o["id"]) for o in orders]
    assert times == sorted(times, reverse=True)
    assert all(o["customer_id"] == customer_id for o in orders)
    assert any(o["lines"] for o in orders)
    after = _reads(live_api, Role.SALES_ASSOCIATE, "GET /v1/customers/{id}/orders", customer_id)
    assert after - before == pages

    one = _get(live_api, Role.MARKETER, f"/v1/orders/{orders[0]['id']}")
    assert one.status_code == 200
    assert one.json() == orders[0]
    assert _reads(live_api, Role.MARKETER, "GET /v1/orders/{id}", customer_id) >= 1


def test_interactions_page_without_duplicates(live_api: LiveApi) -> None:
    with live_api.session() as session:
        customer_id, count = session.execute(
            select(Interaction.customer_id, func.count())
            .where(Interaction.customer_id.is_not(None))
            .group_by(Interaction.customer_id)
            .order_by(func.count().desc(), Interaction.customer_id)
            .limit(1)
        ).one()
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = _get(
            live_api, Role.INTEGRATION, f"/v1/customers/{customer_id}/interactions", **params
        )
        assert page.status_code == 200, page.text
        seen += [i["id"] for i in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == count
    assert _reads(live_api, Role.INTEGRATION, "GET /v1/customers/{id}/interactions", customer_id)


def test_activity_of_unknown_customers_and_forged_cursors_are_refused(
    live_api: LiveApi, people: dict[str, list[int]]
) -> None:
    [someone] = people["activity_bad_input"]
    unknown = 10**9
    _assert_error(_get(live_api, Role.MARKETER, f"/v1/customers/{unknown}/orders"), 404)
    _assert_error(_get(live_api, Role.MARKETER, f"/v1/customers/{unknown}/interactions"), 404)
    _assert_error(_get(live_api, Role.MARKETER, f"/v1/orders/{unknown}"), 404, "not_found")
    _assert_error(_get(live_api, Role.MARKETER, "/v1/orders/0"), 422, "invalid_request")
    _assert_error(_get(live_api, Role.MARKETER, "/v1/orders/abc"), 422, "invalid_request")
    id_cursor = "aWQ6MTI"  # an "id:" cursor of another list
    for cursor in ("@@@", id_cursor, "YXQ6bm90LWEtdGltZXwx"):
        _assert_error(
            _get(live_api, Role.MARKETER, f"/v1/customers/{someone}/orders", cursor=cursor),
            400,
            "invalid_cursor",
        )
    _assert_error(_get(live_api, Role.MARKETER, f"/v1/customers/{someone}/orders", limit=201), 422)


# ---------------------------------------------------------------- consents


def test_a_consent_recorded_via_post_shows_in_the_state_and_the_history(
    live_api: LiveApi, people: dict[str, list[int]]
) -> None:
    customer_id = people["consents"][0]
    # Other modules may read the profile too (test_roles calls every route on profile 1).
    states_read = "GET /v1/customers/{id}/consents"
    history_read = "GET /v1/customers/{id}/consents/history"
    read_before = [
        _reads(live_api, Role.MARKETER, a, customer_id) for a in (states_read, history_read)
    ]
    body = {
        "purpose": "sms_marketing",
        "status": "granted",
        "channel": "store",
        "wording_version": "in-store-2026-01",
        "proof": {"store_id": "PAR01", "associate_id": "VPAR0101", "ip": "192.0.2.7"},
    }

    recorded = _post(live_api, Role.SALES_ASSOCIATE, f"/v1/customers/{customer_id}/consents", body)

    assert recorded.status_code == 201, recorded.text
    state = recorded.json()["state"]
    assert state["purpose"] == "sms_marketing"
    assert state["status"] == "granted"
    assert state["allows_contact"] is True
    statement_id = recorded.json()["statement_id"]
    assert state["decided_by"] == [statement_id]

    current = _get(live_api, Role.MARKETER, f"/v1/customers/{customer_id}/consents")
    assert current.status_code == 200
    by_purpose = {c["purpose"]: c for c in current.json()}
    assert by_purpose["sms_marketing"] == state
    assert set(by_purpose) == {
        "email_marketing", "sms_marketing", "phone_calls", "postal_mail", "data_analysis"
    }  # fmt: skip

    history = _get(live_api, Role.MARKETER, f"/v1/customers/{customer_id}/consents/history")
    assert history.status_code == 200
    [entry] = [e for e in history.json() if e["id"] == statement_id]
    assert entry["status"] == "granted"
    assert entry["channel"] == "store"
    assert entry["actor"] == _client_id(live_api, Role.SALES_ASSOCIATE)
    assert entry["proof"] == {
        "wording_version": "in-store-2026-01",
        "store_id": "PAR01",
        "associate_id": "VPAR0101",
        "ip": "192.0.2.7",
    }

    withdrawn = _post(
        live_api,
        Role.INTEGRATION,
        f"/v1/customers/{customer_id}/consents",
        {**body, "status": "withdrawn", "channel": "web_form", "proof": {}},
    )
    assert withdrawn.status_code == 201, withdrawn.text
    assert withdrawn.json()["state"]["allows_contact"] is False
    read_after = [
        _reads(live_api, Role.MARKETER, a, customer_id) for a in (states_read, history_read)
    ]
    assert [a - b for a, b in zip(read_after, read_before, strict=True)] == [1, 1]


def test_bad_consent_statements_are_refused_without_a_write(
    live_api: LiveApi, people: dict[str, list[int]]
) -> None:
    customer_id = people["consents"][1]
    path = f"/v1/customers/{customer_id}/consents"
    good = {"purpose": "email_marketing", "status": "granted", "channel": "store",
            "wording_version": "v1"}  # fmt: skip
    future = (utcnow() + timedelta(days=2)).isoformat()
    bad = {
        "unknown purpose": {**good, "purpose": "telepathy"},
        "never_asked is no statement": {**good, "status": "never_asked"},
        "over-long channel": {**good, "channel": "c" * 31},
        "over-long wording": {**good, "wording_version": "w" * 31},
        "over-long user agent": {**good, "proof": {"user_agent": "u" * 501}},
        "NUL in the channel": {**good, "channel": "st\x00ore"},
        "not an IP": {**good, "proof": {"ip": "999.1.1.1"}},
        "unknown field": {**good, "colour": "blue"},
        "naive time": {**good, "occurred_at": "2026-01-01T10:00:00"},
        "no UTC instant": {**good, "occurred_at": "0001-01-01T00:00:00+05:00"},
        "missing wording": {k: v for k, v in good.items() if k != "wording_version"},
    }
    for name, body in bad.items():
        _assert_error(_post(live_api, Role.SALES_ASSOCIATE, path, body), 422, "invalid_request")
        assert name
    _assert_error(
        _post(live_api, Role.SALES_ASSOCIATE, path, {**good, "occurred_at": future}),
        400,
        "future_consent",
    )
    _assert_error(_post(live_api, Role.SALES_ASSOCIATE, path, {**good, "channel": "  "}), 400)
    _assert_error(
        _post(live_api, Role.SALES_ASSOCIATE, "/v1/customers/999999999/consents", good), 404
    )
    _assert_error(_post(live_api, Role.MARKETER, path, good), 403, "forbidden")
    _assert_error(_get(live_api, Role.MARKETER, "/v1/customers/999999999/consents"), 404)

    history = _get(live_api, Role.MARKETER, f"{path}/history").json()
    assert not [e for e in history if e["source_system"] == "amigo"]


# ---------------------------------------------------------------- subject requests


def test_a_dpo_carries_an_access_request_through_the_api(
    live_api: LiveApi, people: dict[str, list[int]]
) -> None:
    customer_id = people["subject_requests"][0]

    filed = _post(
        live_api,
        Role.DPO,
        "/v1/subject-requests",
        {"customer_id": customer_id, "type": "access", "channel": "email",
         "details": "Send me everything you hold on me."},
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["status"] == "received"
    assert request["reference"] == f"DSR-{request['id']}"
    assert request["overdue"] is False
    base = f"/v1/subject-requests/{request['id']}"

    steps = [
        ("verify", {"method": "ID card checked over video call"}, "identity_verified"),
        ("approve", {"note": "plain access request"}, "approved"),
        ("execute", None, "executed"),
        ("close", {"note": "report sent by email"}, "closed"),
    ]
    for step, body, status in steps:
        answer = _post(live_api, Role.DPO, f"{base}/{step}", body)
        assert answer.status_code == 200, (step, answer.text)
        assert answer.json()["status"] == status

    shown = _get(live_api, Role.DPO, base)
    assert shown.status_code == 200
    detail = shown.json()
    assert [s["step"] for s in detail["steps"]] == [
        "received", "identity_verified", "approval", "approved", "executed", "closed"
    ]  # fmt: skip
    assert {s["actor"] for s in detail["steps"]} == {_client_id(live_api, Role.DPO)}
    assert {s["role"] for s in detail["steps"]} == {"dpo"}
    files = detail["result"]["files"]
    assert any(f.endswith(".json") for f in files)
    assert any(f.endswith(".html") for f in files)

    listed = _get(live_api, Role.DPO, "/v1/subject-requests", status="closed")
    assert request["id"] in [r["id"] for r in listed.json()]
    assert all(r["steps"] is None for r in listed.json())
    assert _reads(live_api, Role.DPO, "GET /v1/subject-requests/{id}", customer_id) == 1
    assert _reads(live_api, Role.DPO, "GET /v1/subject-requests", customer_id) >= 1


def test_only_the_dpo_handles_requests_and_steps_out_of_order_conflict(
    live_api: LiveApi, people: dict[str, list[int]]
) -> None:
    customer_id = people["subject_requests"][1]
    new = {"customer_id": customer_id, "type": "objection", "channel": "shopify"}

    for role in (Role.SALES_ASSOCIATE, Role.MARKETER):
        _assert_error(_post(live_api, role, "/v1/subject-requests", new), 403, "forbidden")
        _assert_error(_get(live_api, role, "/v1/subject-requests"), 403, "forbidden")
    filed = _post(live_api, Role.INTEGRATION, "/v1/subject-requests", new)
    assert filed.status_code == 201, filed.text  # Shopify's compliance webhooks file requests
    base = f"/v1/subject-requests/{filed.json()['id']}"
    for role in (Role.INTEGRATION, Role.ADMIN):
        _assert_error(_post(live_api, role, f"{base}/verify", {"method": "x"}), 403, "forbidden")

    _assert_error(_post(live_api, Role.DPO, "/v1/subject-requests", new), 409, "duplicate_request")
    _assert_error(_post(live_api, Role.DPO, f"{base}/approve"), 409, "wrong_status")
    _assert_error(_post(live_api, Role.DPO, f"{base}/close"), 409, "wrong_status")
    extended = _post(
        live_api, Role.DPO, f"{base}/extend", {"months": 2, "reason": "many systems to search"}
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["extension_reason"] == "many systems to search"
    _assert_error(
        _post(live_api, Role.DPO, f"{base}/extend", {"months": 1, "reason": "more"}),
        400,
        "extension_too_long",
    )
    rejected = _post(live_api, Role.DPO, f"{base}/reject", {"reason": "identity not proven"})
    assert rejected.json()["status"] == "rejected"
    _assert_error(_post(live_api, Role.DPO, f"{base}/verify", {"method": "too late"}), 409)


def test_bad_subject_requests_get_clear_errors(
    live_api: LiveApi, people: dict[str, list[int]]
) -> None:
    customer_id = people["subject_requests"][2]
    path = "/v1/subject-requests"
    good = {"customer_id": customer_id, "type": "access", "channel": "letter"}
    for body in (
        {**good, "type": "forget_me"},
        {**good, "channel": "x" * 31},
        {**good, "details": "d" * 4001},
        {**good, "customer_id": 0},
        {**good, "received_at": "yesterday"},
        {k: v for k, v in good.items() if k != "type"},
    ):
        _assert_error(_post(live_api, Role.DPO, path, body), 422, "invalid_request")
    _assert_error(_get(live_api, Role.DPO, path, status="lost"), 422, "invalid_request")
    _assert_error(_post(live_api, Role.DPO, path, {**good, "customer_id": 10**9}), 404)
    _assert_error(_get(live_api, Role.DPO, f"{path}/999999999"), 404, "not_found")
    _assert_error(_post(live_api, Role.DPO, f"{path}/999999999/verify", {"method": "x"}), 404)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("verify", {"method": "m" * 501}),
        ("extend", {"months": 3, "reason": "r"}),
        ("reject", {}),
        ("execute", {"changes": {"city": "c" * 501}}),
    ]
    for step, step_body in steps:
        _assert_error(
            _post(live_api, Role.DPO, f"{path}/1/{step}", step_body), 422, "invalid_request"
        )


# ---------------------------------------------------------------- identity


def _queue_review(api: LiveApi, left_profile: int, right_profile: int) -> int:
    """Queue a pair for review as a resolution run unsure about it would."""
    with unit_of_work(api.engine) as session:
        left, right = (
            session.scalars(select(IdentityLink.id).where(IdentityLink.customer_id == p)).first()
            for p in (left_profile, right_profile)
        )
        assert left is not None
        assert right is not None
        review = MatchReview(
            left_link_id=left,
            right_link_id=right,
            probability=0.91,
            match_weight=3.3,
            rule="blocking:last_name",
            reasons=["below_auto_threshold"],
            comparison={"last_name": "exact", "email": "different"},
            status=ReviewStatus.PENDING,
            created_at=utcnow(),
        )
        session.add(review)
        session.flush()
        return review.id


def _profile(api: LiveApi, customer_id: int) -> GoldenCustomer:
    with api.session() as session:
        return session.get_one(GoldenCustomer, customer_id)


def test_accepting_a_review_merges_the_pair_and_unmerge_restores_them(
    live_api: LiveApi, people: dict[str, list[int]]
) -> None:
    a, b = people["identity"][0:2]
    review_id = _queue_review(live_api, a, b)

    queue = _get(live_api, Role.ADMIN, "/v1/identity/reviews", limit=200)
    assert queue.status_code == 200, queue.text
    [item] = [i for i in queue.json()["items"] if i["id"] == review_id]
    assert queue.json()["pending"] >= 1
    assert item["probability"] == 0.91
    assert {item["left"]["profile_id"], item["right"]["profile_id"]} == {a, b}
    fields = {f["field"]: f for f in item["fields"]}
    left = _profile(live_api, item["left"]["profile_id"])
    assert fields["last_name"]["left"] == left.last_name
    assert fields["email"]["same"] is False
    assert _reads(live_api, Role.ADMIN, "GET /v1/identity/reviews", a) >= 1
    assert _reads(live_api, Role.ADMIN, "GET /v1/identity/reviews", b) >= 1

    accepted = _post(
        live_api, Role.ADMIN, f"/v1/identity/reviews/{review_id}/accept", {"reason": "same card"}
    )
    assert accepted.status_code == 200, accepted.text
    merge = accepted.json()
    assert (merge["survivor_id"], merge["merged_id"]) == (min(a, b), max(a, b))
    assert merge["rule"] == "review"
    assert merge["actor"] == _client_id(live_api, Role.ADMIN)
    assert merge["probability"] == 0.91
    assert _profile(live_api, max(a, b)).status == CustomerStatus.MERGED
    history = _get(live_api, Role.ADMIN, f"/v1/customers/{min(a, b)}/merges")
    assert [e["id"] for e in history.json()] == [merge["id"]]
    assert _reads(live_api, Role.ADMIN, "GET /v1/customers/{id}/merges", max(a, b)) == 1

    again = _post(
        live_api, Role.ADMIN, f"/v1/identity/reviews/{review_id}/accept", {"reason": "twice"}
    )
    _assert_error(again, 409, "already_decided")

    undone = _post(
        live_api,
        Role.ADMIN,
        "/v1/identity/unmerge",
        {"merge_event_id": merge["id"], "reason": "two sisters"},
    )
    assert undone.status_code == 200, undone.text
    assert undone.json() == {
        "merge_event_id": merge["id"], "restored_id": max(a, b), "holder_id": min(a, b)
    }  # fmt: skip
    assert _profile(live_api, max(a, b)).status == CustomerStatus.ACTIVE
    [event] = _get(live_api, Role.ADMIN, f"/v1/customers/{max(a, b)}/merges").json()
    assert event["unmerged_at"] is not None
    assert event["unmerge_reason"] == "two sisters"
    _assert_error(
        _post(live_api, Role.ADMIN, "/v1/identity/unmerge", {"merge_event_id": merge["id"]}),
        409,
        "already_unmerged",
    )


def test_rejecting_a_review_and_merging_by_hand(
    live_api: LiveApi, people: dict[str, list[int]]
) -> None:
    c, d, e, f = people["identity"][2:6]
    review_id = _queue_review(live_api, c, d)

    rejected = _post(
        live_api, Role.ADMIN, f"/v1/identity/reviews/{review_id}/reject", {"reason": "namesakes"}
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["review_id"] == review_id
    assert _profile(live_api, c).status == CustomerStatus.ACTIVE
    assert _profile(live_api, d).status == CustomerStatus.ACTIVE
    pending = _get(live_api, Role.ADMIN, "/v1/identity/reviews", limit=200).json()["items"]
    assert review_id not in [i["id"] for i in pending]

    merged = _post(
        live_api,
        Role.ADMIN,
        "/v1/identity/merges",
        {"survivor_id": e, "merged_id": f, "reason": "customer asked at the till"},
    )
    assert merged.status_code == 201, merged.text
    assert (merged.json()["survivor_id"], merged.json()["merged_id"]) == (e, f)
    assert merged.json()["rule"] == "manual"
    _assert_error(
        _post(live_api, Role.ADMIN, "/v1/identity/merges", {"survivor_id": e, "merged_id": f}),
        409,
        "already_merged",
    )


def test_identity_refuses_bad_input_and_other_roles(
    live_api: LiveApi, people: dict[str, list[int]]
) -> None:
    g = people["identity"][6]
    merges = "/v1/identity/merges"
    _assert_error(_post(live_api, Role.ADMIN, merges, {"survivor_id": g, "merged_id": g}), 400)
    _assert_error(_post(live_api, Role.ADMIN, merges, {"survivor_id": g, "merged_id": 10**9}), 404)
    _assert_error(_post(live_api, Role.ADMIN, merges, {"survivor_id": g}), 422)
    _assert_error(
        _post(
            live_api, Role.ADMIN, merges, {"survivor_id": g, "merged_id": 1, "reason": "r" * 501}
        ),
        422,
    )
    _assert_error(
        _post(live_api, Role.ADMIN, "/v1/identity/unmerge", {"merge_event_id": 10**9}), 404
    )
    _assert_error(
        _post(live_api, Role.ADMIN, "/v1/identity/reviews/999999999/accept", {"reason": "x"}),
        404,
    )
    _assert_error(_post(live_api, Role.ADMIN, "/v1/identity/reviews/1/reject", {"reason": ""}), 422)
    _assert_error(_get(live_api, Role.ADMIN, "/v1/customers/999999999/merges"), 404)
    _assert_error(_get(live_api, Role.ADMIN, "/v1/identity/reviews", offset=-1), 422)
    for role in (Role.SALES_ASSOCIATE, Role.MARKETER, Role.DPO, Role.INTEGRATION):
        _assert_error(_get(live_api, role, "/v1/identity/reviews"), 403, "forbidden")
        _assert_error(_post(live_api, role, merges, {"survivor_id": g, "merged_id": 1}), 403)


# ---------------------------------------------------------------- quality


def test_the_quality_report_counts_the_active_profiles(live_api: LiveApi) -> None:
    report = _get(live_api, Role.MARKETER, "/v1/quality/report")

    assert report.status_code == 200, report.text
    body = report.json()
    with live_api.session() as session:
        active = session.scalar(
            select(func.count())
            .select_from(GoldenCustomer)
            .where(GoldenCustomer.status == CustomerStatus.ACTIVE)
        )
    assert body["profiles"] == active
    email = next(f for f in body["fields"] if f["field"] == "email")
    assert 0 < email["completeness"] <= 1
    assert email["filled"] == round(email["completeness"] * email["profiles"])
    _assert_error(_get(live_api, Role.SALES_ASSOCIATE, "/v1/quality/report"), 403, "forbidden")
