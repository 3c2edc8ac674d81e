"""A token store in Redis: one login for a fleet, and one refresh per expiry across it."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ...errors import InvalidRequestError
from ...models.auth import TokenSet

__all__ = ["RedisTokenStore"]

logger = logging.getLogger("octopus_async.auth")

# Keeps the stored tokens unless the offered ones expire no earlier (ARGV[2]; empty when
# unknown, and then they replace whatever is there).
_SAVE_NEWEST = """
local stored = tonumber(redis.call('HGET', KEYS[1], 'expires_at'))
local offered = tonumber(ARGV[2])
if stored and offered and offered < stored then
    return 0
end
redis.call('DEL', KEYS[1])
if offered then
    redis.call('HSET', KEYS[1], 'tokens', ARGV[1], 'expires_at', ARGV[2])
else
    redis.call('HSET', KEYS[1], 'tokens', ARGV[1])
end
return 1
"""

# Deletes the lock only while it is still ours: once it expired, another process holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

_FIRST_POLL = 0.02
_LAST_POLL = 0.2


class RedisTokenStore:
    """Tokens in Redis under `key`, shared by every client of one account given the store.

    ::

        store = RedisTokenStore(redis_url)
        client = OctopusClient(api_key, api_secret, token_store=store)

    The fleet logs in once and refreshes once per expiry: a client renews holding
    `renewal_lock()` (``SET NX PX`` with an owner token, released by compare-and-delete), so
    the others wait for the lock, then adopt the tokens it saved. A holder that dies keeps
    the lock at most `lock_timeout` seconds, which should exceed a refresh with its retries.
    `save` keeps whichever tokens expire last, so a late save never brings back a
    rotated-out refresh token.

    Clients of different accounts or environments need different keys. When Redis cannot
    be reached the store's methods raise and a client works around them: it logs a warning
    and logs in or refreshes on its own. Pass a URL (the store opens its pool, with 2 s
    timeouts and one retry unless the URL says otherwise, and `aclose` closes it) or a
    `redis.asyncio.Redis` (the caller's to configure and close). Token values are never
    logged.
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        key: str = "octopus:tokens",
        lock_timeout: float = 10.0,
    ) -> None:
        if not lock_timeout > 0:
            raise InvalidRequestError("lock_timeout must be positive", param="lock_timeout")
        self._owned = isinstance(redis, str)
        self._redis = (
            Redis.from_url(
                redis,
                # A token store is on the request path: an unreachable Redis should cost
                # seconds before the client works around it, not a default's minute.
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
                retry=Retry(NoBackoff(), 1),
            )
            if isinstance(redis, str)
            else redis
        )
        self._key = key
        self._lock_key = f"{key}:lock"
        self._lock_ms = max(1, round(lock_timeout * 1000))
        self._save = self._redis.register_script(_SAVE_NEWEST)
        self._release = self._redis.register_script(_RELEASE)

    async def load(self) -> TokenSet | None:
        """The newest tokens saved, or None (also when what is stored cannot be read)."""
        text = await self._redis.hget(self._key, "tokens")
        if text is None:
            return None
        try:
            return TokenSet.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring unreadable tokens in Redis key %s", self._key)
            return None

    async def save(self, tokens: TokenSet) -> None:
        """Keep `tokens`, unless the stored ones expire later."""
        expires = tokens.access_expires_at
        await self._save(
            keys=[self._key],
            args=[
                json.dumps(tokens.to_dict()),
                "" if expires is None else repr(expires.timestamp()),
            ],
        )

    async def clear(self) -> None:
        await self._redis.delete(self._key)

    @asynccontextmanager
    async def renewal_lock(self) -> AsyncIterator[None]:
        """Hold the fleet's renewal lock, waiting for it with polls 20 to 200 ms apart."""
        owner = secrets.token_hex(16)
        try:
            await self._acquire(owner)
        except asyncio.CancelledError:
            # The SET may have taken effect before its reply was lost.
            await self._release(keys=[self._lock_key], args=[owner])
            raise
        try:
            yield
        finally:
            await self._release(keys=[self._lock_key], args=[owner])

    async def _acquire(self, owner: str) -> None:
        pause = _FIRST_POLL
        while not await self._redis.set(self._lock_key, owner, nx=True, px=self._lock_ms):
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LAST_POLL)

    async def aclose(self) -> None:
        """Close the connection pool, if the store opened it."""
        if self._owned:
            await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self._key!r})"
