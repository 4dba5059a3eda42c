"""A synchronous client of Shopify's GraphQL Admin API that keeps within the shop's rate limit.

``AdminClient.graphql(query, variables)`` POSTs to
``https://{shop}/admin/api/{version}/graphql.json`` with the app's access
token in ``X-Shopify-Access-Token`` and returns the answer's ``data``. It is
generic: the backfill reads customers and orders through it, the outbound
sync will send its consent mutations through it.

Shopify limits GraphQL calls by calculated query cost: each app and shop has
a bucket of points (``throttleStatus.maximumAvailable``) that refills at
``restoreRate`` points a second; a query whose requested cost is more than
what is available is answered with a ``THROTTLED`` error. Every answer says
where the bucket stands (``extensions.cost``), so the client paces itself:
before sending a query it has sent before, it waits until the bucket, refilled
since the last answer, holds that query's requested cost. Throttling then
happens only when another app of the same shop spends the points; the client
waits exactly ``(requested - available) / restoreRate`` and tries again.

What fails transiently (a dropped connection, a timeout, a 5xx, HTTP 429 with
its ``Retry-After``, ``THROTTLED``) is retried by
:func:`~amigo.connectors.resilience.call_with_retries` behind a circuit
breaker. What would fail again (401, 403, another 4xx, a GraphQL error other
than ``THROTTLED``) raises an :class:`~amigo.core.errors.AmigoError` at once.
The access token is a secret: it is sent in its header and nowhere else, never
logged, never in an error message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from amigo.connectors.resilience import (
    CircuitBreaker,
    RetryPolicy,
    TransientError,
    call_with_retries,
)
from amigo.core.config import ShopifySettings
from amigo.core.errors import (
    AmigoError,
    InvalidInputError,
    NotAuthenticatedError,
    PermissionDeniedError,
)

log = logging.getLogger(__name__)
_ERROR_TEXT = 300  # characters of a refusal's body quoted in the error
_MARGIN_POINTS = 1.0


class ThrottledError(TransientError):
    """Shopify asked to wait: HTTP 429, or a GraphQL ``THROTTLED`` error."""


class ShopifyApiError(AmigoError):
    """Shopify refused the call in a way that trying again would not change."""

    code = "shopify_error"
    http_status = 502


@dataclass
class CallStats:
    """What the client's calls cost: for a job's summary and the benchmark."""

    calls: int = 0  # answered calls that returned data
    retries: int = 0  # attempts tried again, throttled ones included
    throttled: int = 0  # 429s and THROTTLED answers
    throttle_wait_seconds: float = 0.0  # waited because Shopify asked to
    paced: int = 0  # calls held back so that the bucket held their cost
    paced_seconds: float = 0.0
    points: float = 0.0  # actual query cost spent


@dataclass
class _Bucket:
    """The shop's cost bucket as last reported."""

    maximum: float
    available: float
    restore_rate: float
    seen_at: float

    def available_at(self, now: float) -> float:
        """Return the points the bucket holds now, refilled since it was seen."""
        return min(self.maximum, self.available + self.restore_rate * max(0.0, now - self.seen_at))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _retry_after(value: str | None) -> float | None:
    """Return Retry-After in seconds (Shopify sends a number such as ``2.0``)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: fall back on the backoff
    return max(0.0, seconds)


class AdminClient:
    """One shop's GraphQL Admin API, called with retries, a breaker and cost pacing."""

    def __init__(
        self,
        shop_domain: str,
        access_token: SecretStr | str,
        api_version: str,
        *,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        timeout_seconds: float = 30.0,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shop_domain = shop_domain
        root = (base_url or f"https://{shop_domain}").rstrip("/")
        self.endpoint = f"{root}/admin/api/{api_version}/graphql.json"
        self.policy = policy or RetryPolicy()
        self.breaker = breaker
        self.timeout_seconds = timeout_seconds
        self.stats = CallStats()
        self._sleep = sleep
        self._clock = clock
        self._bucket: _Bucket | None = None
        # Requested cost of each query sent, by the query's digest: what pacing waits for.
        self._requested: dict[str, float] = {}
        token = (
            access_token.get_secret_value() if isinstance(access_token, SecretStr) else access_token
        )
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            headers={
                "X-Shopify-Access-Token": token,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "AMIgo (Shopify Admin API client)",
            },
        )

    def __repr__(self) -> str:
        return f"AdminClient({self.shop_domain!r}, endpoint={self.endpoint!r})"

    def close(self) -> None:
        """Close the client's connections."""
        self._http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ calls

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a query or mutation and return its ``data``; retried while Shopify fails briefly."""
        digest = hashlib.sha256(query.encode()).hexdigest()
        body = {"query": query, "variables": dict(variables or {})}

        def attempt() -> dict[str, Any]:
            self._pace(digest)
            return self._post(body, digest)

        return call_with_retries(
            attempt,
            what=f"Shopify Admin API of {self.shop_domain}",
            policy=self.policy,
            breaker=self.breaker,
            sleep=self._sleep,
            on_retry=self._retrying,
        )

    def _retrying(self, error: TransientError, delay: float) -> None:
        self.stats.retries += 1
        if isinstance(error, ThrottledError):
            self.stats.throttled += 1
            self.stats.throttle_wait_seconds += delay
        log.info("Shopify Admin API call to try again in %.2f s: %s", delay, error)

    def _pace(self, digest: str) -> None:
        """Wait until the bucket holds what this query cost last time it was asked for."""
        need = self._requested.get(digest)
        bucket = self._bucket
        if need is None or bucket is None or bucket.restore_rate <= 0:
            return
        need = min(need, bucket.maximum)
        # A point less than reported: the bucket is rounded in the answer, and refills on
        # Shopify's clock from before the answer left.
        available = bucket.available_at(self._clock()) - _MARGIN_POINTS
        if available >= need:
            return
        wait = (need - available) / bucket.restore_rate
        self.stats.paced += 1
        self.stats.paced_seconds += wait
        self._sleep(wait)

    def _post(self, body: dict[str, Any], digest: str) -> dict[str, Any]:
        try:
            response = self._http.post(self.endpoint, json=body)
        except httpx.TimeoutException as error:
            raise TransientError(
                f"no answer within {self.timeout_seconds:g} s ({type(error).__name__})"
            ) from None
        except httpx.TransportError as error:
            # Refused, reset, or closed without an answer (RemoteProtocolError).
            raise TransientError(f"connection failed ({type(error).__name__})") from None
        status = response.status_code
        if status == 429:
            raise ThrottledError(
                "HTTP 429 Too Many Requests",
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise TransientError(f"HTTP {status} from Shopify")
        if status >= 400:
            raise self._refusal(response)
        try:
            answer = response.json()
        except ValueError:
            # A 200 whose body is not JSON: a proxy's page or a truncated answer.
            raise TransientError("an answer that is not JSON") from None
        if not isinstance(answer, dict):
            raise TransientError("an answer that is not a JSON object")
        requested = self._read_cost(answer, digest)
        errors = answer.get("errors")
        if errors:
            self._raise_errors(errors, requested)
        data = answer.get("data")
        if not isinstance(data, dict):
            raise ShopifyApiError("Shopify answered without data and without an error")
        self.stats.calls += 1
        return data

    def _read_cost(self, answer: dict[str, Any], digest: str) -> float | None:
        """Remember the bucket and the query's requested cost; return that cost."""
        extensions = answer.get("extensions")
        cost = extensions.get("cost") if isinstance(extensions, dict) else None
        if not isinstance(cost, dict):
            return None
        requested = _number(cost.get("requestedQueryCost"))
        actual = _number(cost.get("actualQueryCost"))
        if requested is not None:
            self._requested[digest] = requested
        if actual is not None:
            self.stats.points += actual
        status = cost.get("throttleStatus")
        if isinstance(status, dict):
            maximum = _number(status.get("maximumAvailable"))
            available = _number(status.get("currentlyAvailable"))
            rate = _number(status.get("restoreRate"))
            if maximum is not None and available is not None and rate is not None:
                self._bucket = _Bucket(maximum, available, rate, self._clock())
        return requested

    def _raise_errors(self, errors: Any, requested: float | None) -> None:
        """Raise ThrottledError for THROTTLED, else a ShopifyApiError naming the errors."""
        items = errors if isinstance(errors, list) else [errors]
        codes = []
        messages = []
        for item in items:
            if isinstance(item, dict):
                extensions = item.get("extensions")
                code = extensions.get("code") if isinstance(extensions, dict) else None
                codes.append(str(code) if code else "")
                messages.append(str(item.get("message", ""))[:_ERROR_TEXT])
            else:
                codes.append("")
                messages.append(str(item)[:_ERROR_TEXT])
        if "THROTTLED" in codes or any(m.lower() == "throttled" for m in messages):
            raise ThrottledError("THROTTLED", retry_after=self._throttle_wait(requested))
        named = "; ".join(
            f"{message} ({code})" if code else message
            for code, message in zip(codes, messages, strict=False)
        )
        raise ShopifyApiError(
            f"Shopify refused the query: {named}",
            code="shopify_graphql_error",
            details={"codes": [code for code in codes if code]},
        )

    def _throttle_wait(self, requested: float | None) -> float | None:
        """Return how long until the bucket refills to the requested cost."""
        bucket = self._bucket
        if bucket is None or requested is None or bucket.restore_rate <= 0:
            return None
        return max(0.0, (min(requested, bucket.maximum) - bucket.available) / bucket.restore_rate)

    def _refusal(self, response: httpx.Response) -> AmigoError:
        status = response.status_code
        if status == 401:
            return NotAuthenticatedError(
                f"Shopify refused the Admin API access token of {self.shop_domain} (HTTP 401): "
                "check AMIGO_SHOPIFY_ADMIN_ACCESS_TOKEN (the app's Admin API access token, "
                "shpat_...)",
                code="shopify_unauthorized",
            )
        if status == 403:
            return PermissionDeniedError(
                f"Shopify denied the call (HTTP 403): the app installed on {self.shop_domain} "
                "needs the read_customers and read_orders scopes (read_all_orders for orders "
                "older than 60 days)",
                code="shopify_forbidden",
            )
        if status == 404:
            return ShopifyApiError(
                f"no Admin API at {self.endpoint} (HTTP 404): check the shop domain and "
                "AMIGO_SHOPIFY_API_VERSION",
                code="shopify_not_found",
            )
        return ShopifyApiError(
            f"Shopify refused the call (HTTP {status}): {_quote(response)}",
            code="shopify_refused",
        )


def _quote(response: httpx.Response) -> str:
    """Return the start of a refusal's body: its GraphQL or REST error when it has one."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:_ERROR_TEXT].strip() or "(empty body)"
    if isinstance(body, dict) and "errors" in body:
        return json.dumps(body["errors"], ensure_ascii=False)[:_ERROR_TEXT]
    return json.dumps(body, ensure_ascii=False)[:_ERROR_TEXT]


def client_from_settings(
    settings: ShopifySettings, *, scopes: str, shop: str | None = None
) -> AdminClient:
    """Return the Admin API client the settings describe (``shop`` overrides the domain).

    ``scopes``: what the calling command needs, named in the error when the token is unset.
    """
    domain = (shop or settings.shop_domain or "").strip().lower()
    if not domain:
        raise InvalidInputError(
            "name the shop: set AMIGO_SHOPIFY_SHOP_DOMAIN (ami-paris.myshopify.com), or --shop "
            "where the command has it"
        )
    if settings.admin_access_token is None:
        raise InvalidInputError(
            f"set AMIGO_SHOPIFY_ADMIN_ACCESS_TOKEN to the app's Admin API access token (scopes "
            f"{scopes})"
        )
    return AdminClient(
        domain,
        settings.admin_access_token,
        settings.api_version,
        policy=RetryPolicy(),
        timeout_seconds=settings.admin_timeout_seconds,
        base_url=settings.admin_url,
    )


__all__ = ["AdminClient", "CallStats", "ShopifyApiError", "ThrottledError", "client_from_settings"]
