"""A rate limiter in Redis: the account's quotas (D21) kept once for a whole fleet."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Literal

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..._transport.ratelimit import burst_capacity
from ...config import EndpointClass, RateLimits
from ...errors import SharedStateError

__all__ = ["RedisRateLimiter"]

_CONNECTIONS = 16
_TIMEOUT = 5.0

_Operation = Literal["take", "give", "hold"]
_FAILED: dict[_Operation, str] = {
    "take": "checked, so the request was not sent",
    "give": "given a slot back",
    "hold": "paused",
}

# GCRA on one hash per endpoint class, in whole microseconds of Redis's clock (so the
# clocks of the fleet's machines do not matter): `tat` is when the class's bucket would be
# full again, `not_before` the end of the latest 429 pause. ARGV: the operation, the
# emission interval (the quota's period / requests), the burst, and for "hold" the pause.
#   take: reserve the next slot; returns the microseconds until it may be used.
#   give: return an unused slot (never ending a pause early).
#   hold: let no slot start before now + pause.
_GCRA = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tat', 'not_before')
local tat = math.max(tonumber(state[1]) or now, now)
local not_before = tonumber(state[2]) or 0
local wait = 0
if ARGV[1] == 'take' then
    tat = tat + interval
    wait = math.max(0, tat - burst * interval - now)
elseif ARGV[1] == 'give' then
    tat = math.max(tat - interval, now, not_before + (burst - 1) * interval)
else
    not_before = math.max(not_before, now + tonumber(ARGV[4]))
    tat = math.max(tat, not_before + (burst - 1) * interval)
end
-- '%.0f' writes every digit, whatever number format the server's Lua uses.
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat),
    'not_before', string.format('%.0f', not_before))
-- Once `tat` has passed, the class has its whole burst again: the same as no key at all.
redis.call('PEXPIRE', KEYS[1], math.floor((tat - now) / 1000) + 1)
return wait
"""


class RedisRateLimiter:
    """The quotas of `limits`, enforced across every process that uses one Redis.

    ::

        limiter = RedisRateLimiter(redis_url, RateLimits.production())
        client = OctopusClient(api_key, api_secret, rate_limits=limiter)

    Each endpoint class is a GCRA bucket in Redis, at the quota's rate with a burst of the
    quota less its `headroom`, like a client's own buckets. An `acquire` is one atomic
    script call that reserves the class's next slot by Redis's clock; the caller then
    sleeps until its slot, so callers across the fleet are served in order without
    polling. A wait cancelled while it sleeps gives its slot back (one cancelled during
    the script call may cost a slot, never add one). A 429's `Retry-After` (`defer`)
    pauses the class for the whole fleet.

    When Redis cannot be reached or fails, `acquire` raises `SharedStateError` and the
    request is not sent: the limiter never lets one go unchecked. Processes of one API key
    share a `prefix`; other keys need their own. Pass a URL (the limiter opens a pool of
    up to 16 connections, with 5 s timeouts and one retry, and `aclose` closes it) or a
    `redis.asyncio.Redis` (the caller's to configure and close). Needs Redis 5 or later.
    """

    def __init__(
        self, redis: str | Redis, limits: RateLimits, *, prefix: str = "octopus:quota"
    ) -> None:
        self._owned = isinstance(redis, str)
        if isinstance(redis, str):
            # Acquires share a few connections instead of opening one each: a process may
            # have hundreds waiting at once, and a fleet many processes.
            pool = BlockingConnectionPool.from_url(
                redis,
                max_connections=_CONNECTIONS,
                timeout=_TIMEOUT,
                socket_timeout=_TIMEOUT,
                socket_connect_timeout=_TIMEOUT,
                retry=Retry(NoBackoff(), 1),
            )
            redis = Redis.from_pool(pool)
        self._redis = redis
        self._limits = limits
        self._prefix = prefix
        # The interval rounds up to a whole microsecond: the rate never rounds above the quota.
        self._buckets = {
            name: (
                math.ceil(quota.period * 1_000_000 / quota.requests),
                burst_capacity(quota, limits.headroom),
            )
            for name, quota in limits.quotas.items()
        }
        self._gcra = self._redis.register_script(_GCRA)

    @property
    def limits(self) -> RateLimits:
        """The quotas it enforces."""
        return self._limits

    async def reserve(self, endpoint: EndpointClass | None) -> float:
        """Take this class's next slot in the fleet: the seconds to wait before using it."""
        return await self._run("take", endpoint)

    async def acquire(self, endpoint: EndpointClass | None) -> None:
        """Wait for this class's next slot in the fleet; raise `SharedStateError` when
        Redis cannot give one."""
        wait = await self.reserve(endpoint)
        if wait <= 0:
            return
        try:
            await asyncio.sleep(wait)
        except asyncio.CancelledError:
            # A slot that Redis cannot take back is lost: one request fewer, never one more.
            with contextlib.suppress(SharedStateError):
                await self._run("give", endpoint)
            raise

    async def defer(self, endpoint: EndpointClass | None, seconds: float) -> None:
        """Let no request of this class go, in any process, for `seconds`."""
        await self._run("hold", endpoint, math.ceil(seconds * 1_000_000))

    async def _run(
        self, operation: _Operation, endpoint: EndpointClass | None, pause: int = 0
    ) -> float:
        """Seconds until the slot `operation` reserved may be used (0 for the others)."""
        bucket = self._buckets.get(endpoint) if endpoint else None
        if bucket is None:
            return 0.0
        interval, burst = bucket
        try:
            waited = await self._gcra(
                keys=[f"{self._prefix}:{endpoint}"], args=[operation, interval, burst, pause]
            )
        except RedisError as error:
            raise SharedStateError(
                f"the fleet's {endpoint} quota in Redis could not be {_FAILED[operation]}: "
                f"{type(error).__name__}: {error}"
            ) from error
        return int(waited) / 1_000_000

    async def aclose(self) -> None:
        """Close the connection pool, if the limiter opened it."""
        if self._owned:
            await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisRateLimiter(prefix={self._prefix!r})"
