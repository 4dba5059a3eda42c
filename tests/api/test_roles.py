"""Every /v1 route says what it needs: anonymous calls get 401, roles without it get 403."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from amigo.api.routes import API_ROUTERS
from amigo.api.security import permission_of
from amigo.core.roles import Permission, Role, permissions_of
from api.conftest import LiveApi

# Routes that authenticate otherwise, each with the reason.
PUBLIC = {
    ("POST", "/v1/oauth/token"): "the token endpoint authenticates the client's secret itself",
    **{
        ("POST", f"/v1/{call}"): "Segment's tracking API: the source's write key (HTTP Basic)"
        for call in ("identify", "track", "page", "screen", "group", "alias", "batch")
    },
    ("POST", "/v1/connectors/shopify/webhooks"): "Shopify signs each delivery with the app secret",
}


def _routes() -> Iterator[APIRoute]:
    for router in API_ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield route


def _permission(dependant: Dependant) -> Permission | None:
    for dependency in dependant.dependencies:
        call: Callable[..., Any] | None = dependency.call
        found = permission_of(call) if call is not None else None
        if found is None:
            found = _permission(dependency)
        if found is not None:
            return found
    return None


def _calls() -> list[tuple[str, str, Permission | None]]:
    calls = []
    for route in _routes():
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted(route.methods or ()):
            calls.append((method, path, _permission(route.dependant)))
    return calls


CALLS = _calls()


def test_every_route_declares_a_permission_or_is_public_for_a_stated_reason() -> None:
    undeclared = [
        (method, path)
        for method, path, permission in CALLS
        if permission is None and (method, path) not in PUBLIC
    ]
    assert not undeclared
    assert len(CALLS) >= 3


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [call for call in CALLS if call[2] is not None],
    ids=[f"{m} {p}" for m, p, permission in CALLS if permission is not None],
)
def test_anonymous_calls_get_401_and_roles_without_the_right_get_403(
    live_api: LiveApi, method: str, path: str, permission: Permission
) -> None:
    anonymous = httpx.request(method, f"{live_api.url}{path}")
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"]["code"] == "not_authenticated"

    for role in Role:
        answer = httpx.request(method, f"{live_api.url}{path}", headers=live_api.headers(role))
        if permission in permissions_of(role):
            assert answer.status_code not in {401, 403}, (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.json()["error"]["details"]["needs"] == permission.value


def test_sales_associates_see_the_client_360_but_neither_exports_nor_subject_requests() -> None:
    associate = permissions_of(Role.SALES_ASSOCIATE)

    assert Permission.READ_PROFILES in associate
    assert Permission.EXPORT not in associate
    assert Permission.HANDLE_SUBJECT_REQUESTS not in associate
    assert Permission.FILE_SUBJECT_REQUESTS not in associate
    assert [r for r in Role if Permission.HANDLE_SUBJECT_REQUESTS in permissions_of(r)] == [
        Role.DPO
    ]
