"""GET /v1/connectors/status: the same health as the CLI, without error texts."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from amigo.connectors.state import save_checkpoint, sync_failed
from amigo.core.db import unit_of_work
from amigo.core.roles import Role
from api.conftest import LiveApi


def test_an_admin_reads_each_connectors_streams(live_api: LiveApi) -> None:
    with unit_of_work(live_api.engine) as session:
        save_checkpoint(
            session=session,
            connector="shopify",
            stream="api-status-test",
            checkpoint={"after": "abc"},
            records=250,
            now=datetime.now(UTC),
        )
        sync_failed(
            session=session,
            connector="cegid",
            stream="api-status-test",
            error="GetCustomerDetail for jeanne.martin@example.fr: HTTP 500",
            now=datetime.now(UTC),
        )
    answer = httpx.get(f"{live_api.url}/v1/connectors/status", headers=live_api.headers(Role.ADMIN))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    connectors = {c["connector"]: c for c in body["connectors"]}
    assert set(connectors) >= {"shopify", "cegid"}
    streams = {s["stream"]: s for s in connectors["shopify"]["streams"]}
    assert streams["api-status-test"]["records_total"] == 250
    assert streams["api-status-test"]["health"] == "ok"
    failing = {s["stream"]: s for s in connectors["cegid"]["streams"]}["api-status-test"]
    assert (failing["health"], failing["consecutive_failures"]) == ("degraded", 1)
    assert "jeanne.martin" not in answer.text  # error texts stay in the CLI
    refused = httpx.get(
        f"{live_api.url}/v1/connectors/status", headers=live_api.headers(Role.MARKETER)
    )
    assert refused.status_code == 403
