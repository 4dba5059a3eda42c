"""Rate limits per client: a token bucket, in memory or shared through Redis.

Each client may make ``burst`` requests at once and ``rate`` per second
sustained. One API process keeps the buckets in memory; several processes
behind a load balancer share them in Redis (``AMIGO_REDIS_URL``), where one
Lua script reads, refills and takes a token atomically, on the server's clock.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Protocol

import redis

log = logging.getLogger(__name__)


class RateLimiter(Protocol):
    """Decides whether one more request of a caller may go through now."""

    def acquire(self, key: str) -> float:
        """Take a token for the caller.

        Args:
            key: who is calling (a client id, a write key's source).

        Returns:
            0 when the request may go through, else the seconds until it may.
        """
        ...


def retry_after(wait: float) -> str:
    """Return a ``Retry-After`` value: whole seconds, at least one."""
    return str(max(1, math.ceil(wait)))


class MemoryRateLimiter:
    """Token buckets in this process (the embedded mode: one API process)."""

    def __init__(self, *, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        # Sync routes run on Starlette's thread pool: refill and take under one lock.
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take a token, or say how long until one is there."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


_REFILL_AND_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RedisRateLimiter:
    """Token buckets shared in Redis by every API process."""

    def __init__(self, *, url: str, rate: float, burst: int, prefix: str = "amigo:rate:") -> None:
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = self._redis.register_script(_REFILL_AND_TAKE)
        self._warned = False

    def acquire(self, key: str) -> float:
        """Take a token in Redis; with Redis unreachable, let the request through and log it."""
        try:
            wait = self._take(keys=[self.prefix + key], args=[self.rate, self.burst])
        except redis.RedisError as error:
            # An outage of the limiter must not take the API down with it.
            if not self._warned:
                log.warning("rate limits not enforced, Redis unreachable: %s", error)
                self._warned = True
            return 0.0
        self._warned = False
        return float(wait)


def make_rate_limiter(*, redis_url: str | None, rate: float, burst: int) -> RateLimiter:
    """Return the shared limiter when Redis is configured, else the in-memory one."""
    if redis_url:
        return RedisRateLimiter(url=redis_url, rate=rate, burst=burst)
    return MemoryRateLimiter(rate=rate, burst=burst)


__all__ = [
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "make_rate_limiter",
    "retry_after",
]
