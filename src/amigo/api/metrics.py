"""Prometheus metrics of the API: requests by route and status, and their latency."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)


class ApiMetrics:
    """The app's own registry, so that two apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "amigo_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "amigo_http_request_duration_seconds",
            "Time to answer, by method and route template",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )

    def exposition(self) -> Response:
        """Return the metrics in the Prometheus text format."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route_template(request: Request) -> str:
    # The template (/v1/customers/{customer_id}), not the path: one series per route.
    # The router records the route it chose in the scope; none when nothing matched.
    return str(getattr(request.scope.get("route"), "path", "unmatched"))


def install_metrics(app: FastAPI) -> ApiMetrics:
    """Count and time every request; serve the figures at ``/metrics``."""
    metrics = ApiMetrics()

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = _route_template(request)
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def prometheus_metrics() -> Response:
        """Expose the request counts and latencies to Prometheus."""
        return metrics.exposition()

    return metrics
