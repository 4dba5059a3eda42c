"""What operators rely on: /health, /ready, /metrics, the OpenAPI document, JSON errors."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from amigo.api.app import create_app
from amigo.core.config import ApiSettings, Settings
from amigo.core.db import make_engine
from amigo.core.roles import Role
from api.conftest import TOKEN_KEY, LiveApi
from live import served


def test_health_ready_and_the_openapi_document(live_api: LiveApi) -> None:
    health = httpx.get(f"{live_api.url}/health")
    ready = httpx.get(f"{live_api.url}/ready")
    spec = httpx.get(f"{live_api.url}/openapi.json").json()

    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    assert "/v1/customers/{customer_id}" in spec["paths"]
    assert all(
        path.startswith("/v1/") for path in spec["paths"] if path not in {"/health", "/ready"}
    )
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_ready_says_503_when_the_database_is_gone(tmp_path: object) -> None:
    app = create_app(
        engine=make_engine("sqlite:////nonexistent-dir/amigo.db"),
        settings=Settings(api=ApiSettings(token_key=SecretStr(TOKEN_KEY))),
    )
    with served(app) as url:
        ready = httpx.get(f"{url}/ready")
        health = httpx.get(f"{url}/health")

    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert health.status_code == 200


def test_metrics_count_requests_by_route_template_and_status(live_api: LiveApi) -> None:
    headers = live_api.headers(Role.MARKETER)
    for customer_id in (1, 2, 999_999):
        httpx.get(f"{live_api.url}/v1/customers/{customer_id}", headers=headers)

    metrics = httpx.get(f"{live_api.url}/metrics").text

    assert (
        'amigo_http_requests_total{method="GET",route="/v1/customers/{customer_id}",status="404"}'
        in metrics
    )
    assert 'route="/v1/customers/{customer_id}",status="200"' in metrics
    assert "amigo_http_request_duration_seconds_bucket" in metrics
    assert "/v1/customers/999999" not in metrics  # one series per route, not per id


def test_a_wrong_method_is_a_json_405(live_api: LiveApi) -> None:
    answer = httpx.delete(f"{live_api.url}/v1/customers/1", headers=live_api.headers(Role.ADMIN))

    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert answer.headers["allow"] == "GET"
