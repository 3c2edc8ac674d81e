"""Client-side rate limiting: one token bucket per endpoint class (D21)."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ..config import EndpointClass, Quota, RateLimits

__all__ = ["Limiter", "RateLimiter", "TokenBucket", "burst_capacity", "endpoint_class"]

_CHARGES = re.compile(r"/api/v1/products/[^/]+/charges")
_POST_CLASSES: dict[str, EndpointClass] = {
    "/auth/login": "login",
    "/auth/refresh": "refresh",
    "/api/v1/orders": "vouchers.create",
    "/api/v1/topups/orders": "topups.create",
    "/api/v1/esim/orders": "esim.create",
    "/api/v1/topups/charges": "topups.charges",
    "/api/v1/esim/charges": "esim.charges",
}


def endpoint_class(method: str, path: str) -> EndpointClass | None:
    """The documented rate-limit class of a request, or None when it has no quota."""
    if method == "GET":
        return "read"
    if method != "POST":
        return None
    if path in _POST_CLASSES:
        return _POST_CLASSES[path]
    if _CHARGES.fullmatch(path):
        return "vouchers.charges"
    return None


def burst_capacity(quota: Quota, headroom: float) -> int:
    """The requests a quota lets go at once: all but `headroom` of it (at least one spare,
    at least one request), so that jitter between our clock and the server's is absorbed."""
    spare = max(1, math.ceil(quota.requests * headroom))
    return max(1, quota.requests - spare)


@runtime_checkable
class Limiter(Protocol):
    """What the transport asks of a rate limiter: a slot before each request, a pause
    after a 429. `RateLimiter` keeps its buckets in the client; a shared limiter (such as
    `integrations.redis.RedisRateLimiter`) keeps them where a whole fleet sees them."""

    @property
    def limits(self) -> RateLimits:
        """The quotas it enforces (the client's `config.rate_limits`)."""
        ...

    async def acquire(self, endpoint: EndpointClass | None) -> None:
        """Wait until a request of this class may be sent; a limiter that cannot tell
        raises instead, and then nothing is sent."""
        ...

    async def defer(self, endpoint: EndpointClass | None, seconds: float) -> None:
        """Let no request of this class go for `seconds` (the server answered 429)."""
        ...


class TokenBucket:
    """A token bucket that hands out reservations instead of polling for tokens.

    Each caller takes a token at once, possibly driving the balance negative, and sleeps
    until its token would have been refilled. Callers are served in arrival order with one
    timer each, however many are waiting.
    """

    def __init__(self, quota: Quota, headroom: float, clock: Callable[[], float]) -> None:
        self.capacity = float(burst_capacity(quota, headroom))
        self.rate = quota.requests / quota.period
        self._clock = clock
        self._tokens = self.capacity
        self._updated: float | None = None  # read on first use: the clock may need a loop

    def _refill(self) -> None:
        now = self._clock()
        if self._updated is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self) -> float:
        """Take one token; return how many seconds to wait before using it."""
        self._refill()
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def take(self) -> None:
        """Take one token, sleeping until it may be used; a cancelled wait gives it back."""
        delay = self.reserve()
        if delay <= 0:
            return
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.refund()
            raise

    def try_take(self) -> bool:
        """Take a token if one is there now; never wait."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def wait(self) -> float:
        """Seconds until a token will be there."""
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)

    def refund(self) -> None:
        """Give back a reserved token that was not used."""
        self._tokens = min(self.capacity, self._tokens + 1)

    def defer(self, seconds: float) -> None:
        """Hand out no token for the next `seconds` (the server asked us to wait)."""
        self._refill()
        # One token becomes available exactly `seconds` from now.
        self._tokens = min(self._tokens, 1 - seconds * self.rate)


class RateLimiter:
    """The buckets of one client, keyed by endpoint class."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._buckets = {
            name: TokenBucket(quota, limits.headroom, clock)
            for name, quota in limits.quotas.items()
        }

    async def acquire(self, endpoint: EndpointClass | None) -> None:
        """Wait until a request of this class may be sent."""
        bucket = self._buckets.get(endpoint) if endpoint else None
        if bucket is not None:
            await bucket.take()

    async def defer(self, endpoint: EndpointClass | None, seconds: float) -> None:
        """Pause a class after the server answered 429 with a `Retry-After`."""
        bucket = self._buckets.get(endpoint) if endpoint else None
        if bucket is not None:
            bucket.defer(seconds)
