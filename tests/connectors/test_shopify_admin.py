"""The Admin API client against the stand-in Shopify: rate limits, faults, refusals, the breaker."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from amigo.connectors.models import BreakerState
from amigo.connectors.resilience import CircuitBreaker, PeerUnavailableError, RetryPolicy
from amigo.connectors.shopify import graphql_shape as shape
from amigo.connectors.shopify.admin import AdminClient, ShopifyApiError
from amigo.core.errors import NotAuthenticatedError
from connectors.shopify_standin import (
    SHOP,
    TOKEN,
    Bucket,
    Faults,
    Shop,
    StandIn,
    generate_shop,
    requested_cost,
    serving,
)

FAST = RetryPolicy(attempts=6, base_seconds=0.005, max_seconds=0.02)
PLENTY = Bucket(maximum=100_000, restore_rate=100_000)
VARIABLES = {"first": 249, "after": None, "query": None}


@pytest.fixture(scope="module")
def shop() -> Shop:
    """Return a small generated shop."""
    return generate_shop(300, seed=3)


def client_of(stand_in: StandIn, **options: Any) -> AdminClient:
    """Return a client of the stand-in with quick retries."""
    values: dict[str, Any] = {"policy": FAST, "timeout_seconds": 0.5, "base_url": stand_in.url}
    values.update(options)
    return AdminClient(SHOP, TOKEN, "2026-01", **values)


@pytest.fixture
def stand_in(shop: Shop) -> Iterator[StandIn]:
    """Serve the shop without faults and with a bucket that never runs dry."""
    with serving(shop, bucket=Bucket(PLENTY.maximum, PLENTY.restore_rate)) as running:
        yield running


def test_a_page_of_customers_comes_back_as_data_with_its_cursor(
    stand_in: StandIn, shop: Shop
) -> None:
    with client_of(stand_in) as client:
        data = client.graphql(shape.CUSTOMERS_QUERY, VARIABLES)
        page = data["customers"]
        assert [n["id"] for n in page["nodes"]] == [c["id"] for c in shop.customers[:249]]
        assert page["pageInfo"]["hasNextPage"] is True
        rest = client.graphql(
            shape.CUSTOMERS_QUERY, {**VARIABLES, "after": page["pageInfo"]["endCursor"]}
        )["customers"]
    assert len(rest["nodes"]) == 51
    assert rest["pageInfo"]["hasNextPage"] is False
    assert client.stats.calls == 2
    assert client.stats.points > 0


def test_a_wrong_token_is_a_clear_error_that_never_shows_the_token(
    stand_in: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "shpat_not_the_right_token_0000000000000"
    caplog.set_level(logging.DEBUG)
    with (
        AdminClient(SHOP, wrong, "2026-01", base_url=stand_in.url, policy=FAST) as client,
        pytest.raises(NotAuthenticatedError) as raised,
    ):
        client.graphql(shape.CUSTOMERS_QUERY, VARIABLES)
    assert "HTTP 401" in raised.value.message
    assert "AMIGO_SHOPIFY_ADMIN_ACCESS_TOKEN" in raised.value.message
    assert wrong not in raised.value.message
    assert wrong not in caplog.text
    assert wrong not in repr(client)
    assert stand_in.calls == 0  # refused before any fault was drawn: one HTTP call, no retry


def test_faults_on_half_the_calls_are_ridden_out(shop: Shop) -> None:
    faults = Faults.spread(0.5, seed=5, slow_seconds=1.0)
    with serving(shop, faults=faults, bucket=Bucket(100_000, 100_000)) as stand_in:
        waits: list[float] = []
        with client_of(stand_in, sleep=waits.append) as client:
            for _ in range(8):
                client.graphql(shape.CUSTOMERS_QUERY, VARIABLES)
    assert client.stats.calls == 8
    assert sum(stand_in.fault_counts.values()) == client.stats.retries > 0
    # A 429 waits exactly its Retry-After (0.05 s), other failures a short jittered backoff.
    assert client.stats.throttled == stand_in.fault_counts.get("429", 0)
    assert waits.count(0.05) >= client.stats.throttled


def test_throttled_waits_for_the_bucket_to_refill_then_succeeds(shop: Shop) -> None:
    bucket = Bucket(maximum=1000, restore_rate=2000)
    with serving(shop, bucket=bucket) as stand_in:
        with client_of(stand_in) as first:
            first.graphql(shape.CUSTOMERS_QUERY, VARIABLES)  # the bucket is nearly empty now
        with client_of(stand_in) as second:  # knows nothing of the bucket yet: no pacing
            data = second.graphql(shape.CUSTOMERS_QUERY, VARIABLES)
    assert len(data["customers"]["nodes"]) == 249
    assert stand_in.throttled == 1
    assert second.stats.throttled == 1
    # (requested 998 - available) / 2000 points a second: under half a second.
    assert 0 < second.stats.throttle_wait_seconds < 0.5


def test_the_client_paces_itself_so_that_it_is_not_throttled(shop: Shop) -> None:
    with (
        serving(shop, bucket=Bucket(maximum=1000, restore_rate=4000)) as stand_in,
        client_of(stand_in) as client,
    ):
        for _ in range(4):
            client.graphql(shape.CUSTOMERS_QUERY, VARIABLES)
    assert stand_in.throttled == 0
    assert client.stats.paced >= 3
    assert client.stats.throttled == 0


def test_a_graphql_error_is_not_retried(stand_in: StandIn) -> None:
    with client_of(stand_in) as client, pytest.raises(ShopifyApiError) as raised:
        client.graphql("{ products(first: 1) { nodes { id } } }")
    assert "doesn't exist" in raised.value.message
    assert stand_in.calls == 1


def test_a_query_over_the_single_query_cost_limit_is_refused_clearly(stand_in: StandIn) -> None:
    with client_of(stand_in) as client, pytest.raises(ShopifyApiError) as raised:
        client.graphql(shape.CUSTOMERS_QUERY, {**VARIABLES, "first": 250})
    assert "MAX_COST_EXCEEDED" in raised.value.message
    assert "1002" in raised.value.message


def test_the_breaker_opens_on_a_dead_shop(shop: Shop) -> None:
    stand_in = StandIn(shop)
    stand_in.start()
    stand_in.stop()  # nobody listens any more: every connection is refused
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(
        "Shopify Admin API", failure_threshold=2, on_change=lambda s, _n: changes.append(s)
    )
    with client_of(stand_in, breaker=breaker, sleep=lambda _s: None) as client:
        for _ in range(2):
            with pytest.raises(PeerUnavailableError) as failed:
                client.graphql(shape.CUSTOMERS_QUERY, VARIABLES)
            assert "connection failed" in failed.value.message
        with pytest.raises(PeerUnavailableError) as refused:
            client.graphql(shape.CUSTOMERS_QUERY, VARIABLES)
    assert refused.value.code == "circuit_open"
    assert "circuit breaker is open" in refused.value.message
    assert changes == [BreakerState.OPEN]


@pytest.mark.parametrize(
    ("query", "variables", "node_cost"),
    [
        (shape.CUSTOMERS_QUERY, {"first": 249}, shape.CUSTOMER_NODE_COST),
        (shape.ORDERS_QUERY, {"first": 32, "lines": shape.ORDER_LINES}, shape.ORDER_NODE_COST),
    ],
)
def test_the_queries_cost_what_the_page_sizes_assume(
    query: str, variables: dict[str, int], node_cost: int
) -> None:
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    cost = requested_cost(operation.selection_set, variables)
    assert cost == 2 + variables["first"] * node_cost
    assert cost <= shape.MAX_QUERY_COST
    assert shape.page_size(250, node_cost) == variables["first"]
