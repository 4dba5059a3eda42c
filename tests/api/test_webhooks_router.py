"""/v1/webhooks/subscriptions: the integration role manages subscriptions; the secret shows once."""

from __future__ import annotations

import httpx

from amigo.core.roles import Role
from api.conftest import LiveApi


def test_subscriptions_are_created_listed_and_deleted_by_the_integration_role(
    live_api: LiveApi,
) -> None:
    url = f"{live_api.url}/v1/webhooks/subscriptions"
    headers = live_api.headers(Role.INTEGRATION)

    created = httpx.post(
        url,
        json={"url": "https://crm.example.com/amigo", "event_types": ["customer.*"]},
        headers=headers,
    )
    listed = httpx.get(url, headers=headers)
    bad = httpx.post(url, json={"url": "ftp://x"}, headers=headers)
    marketer = httpx.get(url, headers=live_api.headers(Role.MARKETER))
    anonymous = httpx.get(url)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["customer.*"]
    assert listed.status_code == 200
    mine = [s for s in listed.json() if s["id"] == body["id"]]
    assert mine == [{k: v for k, v in body.items() if k != "secret"}]
    assert "secret" not in listed.text
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_url"
    assert marketer.status_code == 403
    assert anonymous.status_code == 401

    deleted = httpx.delete(f"{url}/{body['id']}", headers=headers)
    again = httpx.delete(f"{url}/{body['id']}", headers=headers)

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"
