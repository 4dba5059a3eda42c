"""Schemathesis against /openapi.json: generated calls find no 5xx and no schema violation."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation.case import Case
from sqlalchemy import select

from amigo.api.app import create_app
from amigo.api.models import ApiClient
from amigo.api.oauth import issue_token
from amigo.core.clock import utcnow
from amigo.core.config import ApiSettings, Settings
from amigo.core.db import make_engine, unit_of_work
from amigo.core.roles import Role
from amigo.tracking.models import TrackingSource
from api.conftest import TOKEN_KEY, LiveApi

# The document the served app publishes; built here so tests are collected per operation.
_SPEC = create_app(
    engine=make_engine("sqlite://"),
    settings=Settings(api=ApiSettings(token_key=SecretStr(TOKEN_KEY))),
).openapi()
schema = schemathesis.openapi.from_dict(_SPEC)

# One admin client, the same id on every backend, so that one token serves them all.
_CLIENT = ApiClient(
    client_id="amigo-contract-admin",
    name="schemathesis",
    role=Role.ADMIN,
    secret_hash="unused: the token is signed here",  # noqa: S106 - never verified
    created_at=utcnow(),
)
_TOKEN = issue_token(client=_CLIENT, key=TOKEN_KEY, ttl_seconds=3600).token


_TRACKING = r"^/v1/(identify|track|page|screen|group|alias|batch)$"
_WRITE_KEY = "contract-test-write-key-0123456789"


@schema.auth().skip_for(path_regex=_TRACKING)
class _AdminToken:
    """Schemathesis' own auth hook, so that it knows which calls carry a token."""

    def get(self, case: Case[Any], context: object) -> str:
        return _TOKEN

    def set(self, case: Case[Any], data: str, context: object) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


@schema.auth().apply_to(path_regex=_TRACKING)
class _WriteKey:
    """The tracking API authenticates a source's write key (HTTP Basic user name)."""

    def get(self, case: Case[Any], context: object) -> str:
        return base64.b64encode(f"{_WRITE_KEY}:".encode()).decode()

    def set(self, case: Case[Any], data: str, context: object) -> None:
        case.headers["Authorization"] = f"Basic {data}"


@pytest.fixture
def contract_api(live_api: LiveApi) -> LiveApi:
    """Register the contract test's admin client on this backend's database."""
    with unit_of_work(live_api.engine) as session:
        known = session.scalar(select(ApiClient.id).where(ApiClient.client_id == _CLIENT.client_id))
        if known is None:
            session.add(
                ApiClient(
                    client_id=_CLIENT.client_id,
                    name=_CLIENT.name,
                    role=_CLIENT.role,
                    secret_hash=_CLIENT.secret_hash,
                    created_at=_CLIENT.created_at,
                )
            )
        hashed = hashlib.sha256(_WRITE_KEY.encode()).hexdigest()
        if (
            session.scalar(select(TrackingSource.id).where(TrackingSource.write_key_hash == hashed))
            is None
        ):
            session.add(
                TrackingSource(
                    name="contract test",
                    write_key_hash=hashed,
                    write_key_hint=_WRITE_KEY[:6],
                    created_at=utcnow(),
                )
            )
    return live_api


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,  # the same calls on every run: CI fails on a change, not on luck
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_calls_get_documented_answers_never_a_5xx(
    case: Case[Any], contract_api: LiveApi
) -> None:
    case.call_and_validate(
        base_url=contract_api.url,
        # Rules the schema cannot state (a search needs one criterion; only the client
        # credentials grant) answer 400 with a reason; every other check applies.
        excluded_checks=[positive_data_acceptance],
    )
