"""Server-side rate limits: a token bucket per endpoint class that answers 429 (API.md 4.5)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from ..config import EndpointClass, RateLimits

__all__ = ["ServerRateLimits", "format_seconds"]


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class _Bucket:
    def __init__(self, capacity: int, rate: float, clock: Callable[[], float]) -> None:
        self.capacity = float(capacity)
        self.rate = rate
        self._clock = clock
        self._tokens = self.capacity
        self._updated: float | None = None

    def take(self) -> float | None:
        """Take a token; when there is none, return the seconds until there will be."""
        now = self._clock()
        if self._updated is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / self.rate


class ServerRateLimits:
    """The quota of every endpoint class, as a rolling average with bursts up to the quota.

    Periods are seconds of `clock`, by default the event loop's (monotonic, and virtual
    when a test makes the loop's time virtual): pass quotas already scaled for a
    time-scaled sandbox.
    """

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = _loop_time) -> None:
        self._buckets = {
            name: _Bucket(quota.requests, quota.requests / quota.period, clock)
            for name, quota in limits.quotas.items()
        }

    def check(self, endpoint: EndpointClass | None) -> float | None:
        """None when the request may proceed; else the seconds the client must wait."""
        bucket = self._buckets.get(endpoint) if endpoint else None
        if bucket is None:
            return None
        return bucket.take()


def format_seconds(seconds: float) -> str:
    """A Retry-After value: whole seconds from one second up, decimals below.

    Decimals only occur when the sandbox runs time-scaled; the real service sends integers.
    """
    if seconds >= 1:
        return str(math.ceil(seconds))
    return f"{max(seconds, 0.001):.3f}"
