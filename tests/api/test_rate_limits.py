"""Rate limits per client: 429 with Retry-After past the burst, shared across processes via Redis."""

from __future__ import annotations

import os
import time
import uuid

import httpx
import pytest
import redis
from pydantic import SecretStr
from sqlalchemy import Engine

from amigo.api.app import create_app
from amigo.api.oauth import create_client
from amigo.api.ratelimit import MemoryRateLimiter, RedisRateLimiter, retry_after
from amigo.core.clock import utcnow
from amigo.core.config import ApiSettings, Settings
from amigo.core.db import make_engine, unit_of_work
from api.conftest import TOKEN_KEY
from conftest import DatabaseFactory
from live import served

REDIS_URL = os.environ.get("AMIGO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_problem() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return str(error)
    return None


needs_redis = pytest.mark.skipif(
    os.environ.get("CI") != "true" and _redis_problem() is not None,
    reason=f"Redis unreachable at {REDIS_URL} (CI requires it)",
)


def test_a_bucket_lets_the_burst_through_then_refills_at_the_rate() -> None:
    limiter = MemoryRateLimiter(rate=20, burst=5)

    waits = [limiter.acquire("client:a") for _ in range(6)]
    other = limiter.acquire("client:b")
    time.sleep(0.06)  # a little more than one token at 20/s

    assert waits[:5] == [0.0] * 5
    assert 0 < waits[5] <= 0.05 + 1e-9
    assert other == 0.0
    assert limiter.acquire("client:a") == 0.0
    assert retry_after(0.01) == "1"
    assert retry_after(2.2) == "3"


@needs_redis
def test_two_processes_share_one_bucket_through_redis() -> None:
    prefix = f"amigo-test:{uuid.uuid4().hex}:"
    first = RedisRateLimiter(url=REDIS_URL, rate=1, burst=3, prefix=prefix)
    second = RedisRateLimiter(url=REDIS_URL, rate=1, burst=3, prefix=prefix)

    waits = [first.acquire("client:x"), second.acquire("client:x"), first.acquire("client:x")]
    over = second.acquire("client:x")

    assert waits == [0.0, 0.0, 0.0]
    assert 0 < over <= 1.0
    redis.Redis.from_url(REDIS_URL).delete(f"{prefix}client:x")


def test_an_unreachable_redis_does_not_take_the_api_down() -> None:
    limiter = RedisRateLimiter(url="redis://127.0.0.1:1/0", rate=1, burst=1)

    assert [limiter.acquire("client:y") for _ in range(3)] == [0.0, 0.0, 0.0]


def _app_engine(database_factory: DatabaseFactory) -> Engine:
    return make_engine(database_factory.new_url())


@pytest.mark.parametrize("shared", [False, pytest.param(True, marks=needs_redis)])
def test_a_client_over_its_limit_gets_429_with_retry_after(
    database_factory: DatabaseFactory, shared: bool
) -> None:
    engine = _app_engine(database_factory)
    with unit_of_work(engine) as session:
        created = create_client(session=session, name="busy", role="marketer", now=utcnow())
        client_id, secret = created.client.client_id, created.secret
    settings = Settings(
        api=ApiSettings(token_key=SecretStr(TOKEN_KEY), rate_per_second=0.5, rate_burst=3),
        redis_url=REDIS_URL if shared else None,
    )
    app = create_app(engine=engine, settings=settings)
    if shared:  # a fresh key space, so that earlier runs leave no tokens behind
        app.state.rate_limiter.prefix = f"amigo-test:{uuid.uuid4().hex}:"
    try:
        with served(app) as url:
            token = httpx.post(
                f"{url}/v1/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
            ).json()["access_token"]
            answers = [
                httpx.get(
                    f"{url}/v1/customers",
                    params={"last_name": "Martin"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                for _ in range(4)
            ]
    finally:
        engine.dispose()

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) in {1, 2}
