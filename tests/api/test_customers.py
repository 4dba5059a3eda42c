"""Customer search and the Client 360 over HTTP, each read of personal data audit-logged."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import httpx
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from amigo.core.audit import PersonalDataRead
from amigo.core.roles import Role
from amigo.profiles.models import CustomerStatus, GoldenCustomer, Order
from api.conftest import LiveApi


def _reads(api: LiveApi, subject_id: int) -> list[PersonalDataRead]:
    with api.session() as session:
        return list(
            session.scalars(
                select(PersonalDataRead)
                .where(PersonalDataRead.subject_id == subject_id)
                .order_by(PersonalDataRead.id)
            )
        )


def _customer_with_orders(api: LiveApi) -> GoldenCustomer:
    with api.session() as session:
        customer_id = session.scalar(
            select(Order.customer_id).where(Order.customer_id.isnot(None)).limit(1)
        )
        customer = session.get(GoldenCustomer, customer_id)
    assert customer is not None
    return customer


def test_the_client_360_answers_with_profile_orders_consents_and_sources(
    live_api: LiveApi,
) -> None:
    customer = _customer_with_orders(live_api)

    answer = httpx.get(
        f"{live_api.url}/v1/customers/{customer.id}",
        params={"orders": 2},
        headers=live_api.headers(Role.SALES_ASSOCIATE),
    )

    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["profile"]["external_id"] == customer.external_id
    assert view["profile"]["email"] == customer.email
    assert 1 <= len(view["orders"]) <= 2
    assert view["order_count"] >= len(view["orders"])
    assert view["sources"]
    assert {"consent_states", "interactions", "stores", "associates"} <= set(view)


def test_every_read_is_audit_logged_with_actor_role_purpose_and_fields(
    live_api: LiveApi,
) -> None:
    customer = _customer_with_orders(live_api)
    before = len(_reads(live_api, customer.id))

    httpx.get(f"{live_api.url}/v1/customers/{customer.id}", headers=live_api.headers(Role.MARKETER))
    httpx.get(
        f"{live_api.url}/v1/customers/{customer.id}",
        headers=live_api.headers(Role.SALES_ASSOCIATE, **{"X-Purpose": "in-store advice"}),
    )

    reads = _reads(live_api, customer.id)[before:]
    assert [(r.role, r.purpose) for r in reads] == [
        ("marketer", "client_360"),
        ("sales_associate", "in-store advice"),
    ]
    assert reads[0].actor == live_api.credentials[Role.MARKETER][0]
    assert {"email", "phone", "orders", "consents"} <= set(reads[0].fields)
    assert reads[0].action == "GET /v1/customers/{id}"


def test_a_search_finds_by_email_phone_and_name_and_logs_each_hit(live_api: LiveApi) -> None:
    with live_api.session() as session:
        person = session.scalars(
            select(GoldenCustomer).where(
                GoldenCustomer.status != CustomerStatus.MERGED,
                GoldenCustomer.email.isnot(None),
                GoldenCustomer.phone.isnot(None),
                GoldenCustomer.last_name.isnot(None),
            )
        ).first()
    assert person is not None
    assert person.email
    assert person.phone
    assert person.last_name
    headers = live_api.headers(Role.SALES_ASSOCIATE)
    before = len(_reads(live_api, person.id))

    by_email = httpx.get(
        f"{live_api.url}/v1/customers", params={"email": person.email.upper()}, headers=headers
    )
    by_phone = httpx.get(
        f"{live_api.url}/v1/customers", params={"phone": person.phone}, headers=headers
    )
    by_name = httpx.get(
        f"{live_api.url}/v1/customers",
        params={"last_name": person.last_name.lower(), "first_name": person.first_name or ""},
        headers=headers,
    )

    for answer in (by_email, by_phone):
        assert answer.status_code == 200, answer.text
        assert person.id in [hit["id"] for hit in answer.json()["items"]]
    assert by_name.status_code in {200, 400}  # an empty first name is refused, not ignored
    reads = _reads(live_api, person.id)[before:]
    assert [r.purpose for r in reads][:2] == ["customer_search", "customer_search"]


def test_search_pages_follow_the_cursor_without_gaps_or_repeats(live_api: LiveApi) -> None:
    with live_api.session() as session:
        name, count = session.execute(
            select(GoldenCustomer.last_name, func.count())
            .where(
                GoldenCustomer.status != CustomerStatus.MERGED,
                GoldenCustomer.last_name.isnot(None),
            )
            .group_by(GoldenCustomer.last_name)
            .order_by(func.count().desc(), GoldenCustomer.last_name)
            .limit(1)
        ).one()
        expected = list(
            session.scalars(
                select(GoldenCustomer.id)
                .where(
                    GoldenCustomer.last_name == name,
                    GoldenCustomer.status != CustomerStatus.MERGED,
                )
                .order_by(GoldenCustomer.id)
            )
        )
    assert count >= 2, "the generated data should hold a shared last name"
    headers = live_api.headers(Role.MARKETER)
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(count + 1):
        params: dict[str, str | int] = {"last_name": name, "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(f"{live_api.url}/v1/customers", params=params, headers=headers).json()
        seen += [hit["id"] for hit in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == expected
    assert max(Counter(seen).values()) == 1


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/customers", {}, 400, "missing_criterion"),
        ("/v1/customers", {"emial": "a@b.fr"}, 400, "unknown_parameter"),
        ("/v1/customers", {"email": "not-an-email"}, 400, "invalid_email"),
        ("/v1/customers", {"phone": "12"}, 400, "invalid_phone"),
        ("/v1/customers", {"email": "a@b.fr", "cursor": "Zm9yZ2Vk"}, 400, "invalid_cursor"),
        ("/v1/customers", {"email": "a@b.fr", "limit": 0}, 422, "invalid_request"),
        ("/v1/customers", {"email": "x" * 400}, 422, "invalid_request"),
        ("/v1/customers/abc", {}, 422, "invalid_request"),
        ("/v1/customers/0", {}, 422, "invalid_request"),
        ("/v1/customers/999999999", {}, 404, "not_found"),
        ("/v1/nowhere", {}, 404, "not_found"),
    ],
)
def test_bad_input_gets_a_json_error_never_a_500(
    live_api: LiveApi, path: str, params: dict[str, str | int], status: int, code: str
) -> None:
    answer = httpx.get(f"{live_api.url}{path}", params=params, headers=live_api.headers(Role.ADMIN))

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]


def test_the_audit_log_refuses_updates_and_deletes(live_api: LiveApi) -> None:
    customer = _customer_with_orders(live_api)
    httpx.get(f"{live_api.url}/v1/customers/{customer.id}", headers=live_api.headers(Role.DPO))

    for statement in (
        "UPDATE personal_data_read SET purpose = 'nothing to see'",
        "DELETE FROM personal_data_read",
    ):
        with live_api.engine.connect() as connection, pytest.raises(DBAPIError) as refused:
            connection.execute(text(statement))
        assert "append-only" in str(refused.value)
    assert _reads(live_api, customer.id)


def test_amigo_audit_show_lists_the_reads_of_a_subject(live_api: LiveApi) -> None:
    customer = _customer_with_orders(live_api)
    httpx.get(
        f"{live_api.url}/v1/customers/{customer.id}",
        headers=live_api.headers(Role.DPO, **{"X-Purpose": "access request DSR-7"}),
    )
    url = live_api.engine.url.render_as_string(hide_password=False)

    shown = subprocess.run(
        [sys.executable, "-m", "amigo.cli", "audit", "show", "--subject", customer.external_id],
        env={**os.environ, "AMIGO_DATABASE_URL": url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert shown.returncode == 0, shown.stderr
    assert "access request DSR-7" in shown.stdout
    assert f"profile {customer.id}" in shown.stdout
    assert live_api.credentials[Role.DPO][0] in shown.stdout


def test_the_client_360_costs_a_fixed_number_of_queries(live_api: LiveApi) -> None:
    customer = _customer_with_orders(live_api)
    headers = live_api.headers(Role.SALES_ASSOCIATE)
    httpx.get(f"{live_api.url}/v1/customers/{customer.id}", headers=headers)  # warm caches
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(live_api.engine, "before_cursor_execute", count)
    try:
        answer = httpx.get(f"{live_api.url}/v1/customers/{customer.id}", headers=headers)
    finally:
        event.remove(live_api.engine, "before_cursor_execute", count)

    assert answer.status_code == 200
    # Profile, links, one latest source record per link, orders, their lines, totals,
    # consents as stated, the ledger's states, whether a restriction holds (the profiles
    # held, then the restrictions: 3), interactions and their count, stores, associates,
    # the audit row: a hot path whose cost must not grow unnoticed.
    sources = len(answer.json()["sources"])
    assert len(statements) == 17 + sources, statements
