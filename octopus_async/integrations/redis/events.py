"""A webhook event store in Redis: one de-duplication for every receiver of a fleet."""

from __future__ import annotations

from redis.asyncio import Redis

__all__ = ["RedisEventStore"]


class RedisEventStore:
    """Event ids in Redis, each for `ttl` seconds, shared by every receiver given one.

    ::

        receiver = client.webhooks.handler(secret=..., store=RedisEventStore(redis_url))

    Remembering an id is one atomic ``SET NX PX``, so of two receivers handed the same
    event at the same moment exactly one processes it. When Redis cannot be reached,
    `add` raises and the receiver answers 503: the sender delivers the event again later,
    and nothing is processed twice or dropped. Pass a URL (the store opens and closes its
    connection pool) or a `redis.asyncio.Redis` (the caller's to close).
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        ttl: float = 7 * 86_400.0,
        prefix: str = "octopus:webhook-events",
    ) -> None:
        self._owned = isinstance(redis, str)
        self._redis = Redis.from_url(redis) if isinstance(redis, str) else redis
        self._ttl_ms = max(1, round(ttl * 1000))
        self._prefix = prefix

    async def add(self, event_id: str) -> bool:
        """Remember `event_id`; False when a receiver remembered it already (a duplicate)."""
        created = await self._redis.set(
            f"{self._prefix}:{event_id}", b"1", nx=True, px=self._ttl_ms
        )
        return bool(created)

    async def aclose(self) -> None:
        """Close the connection pool, if the store opened it."""
        if self._owned:
            await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisEventStore(prefix={self._prefix!r})"
