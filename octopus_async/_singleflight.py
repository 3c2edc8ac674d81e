"""Single-flight: concurrent callers of the same operation share one execution."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar, cast

__all__ = ["SingleFlight"]

T = TypeVar("T")

# Result a leader hands its followers when it was cancelled: someone else must lead.
_LEADER_CANCELLED = object()


class SingleFlight(Generic[T]):
    """Runs an operation once for everyone who asks while it is in flight.

    The first caller (the leader) runs the operation itself, in the caller's task; callers
    arriving meanwhile await the same outcome, result or exception. A cancelled follower
    leaves without disturbing the others; a cancelled leader hands over to one of the
    followers. No task is created, so nothing outlives its callers.
    """

    def __init__(self) -> None:
        self._flight: asyncio.Future[object] | None = None

    @property
    def in_flight(self) -> bool:
        return self._flight is not None

    async def run(self, operation: Callable[[], Awaitable[T]]) -> T:
        while True:
            flight = self._flight
            if flight is None:
                return await self._lead(operation)
            # shield: a follower's own cancellation must not cancel the shared future.
            outcome = await asyncio.shield(flight)
            if outcome is not _LEADER_CANCELLED:
                return cast(T, outcome)

    async def _lead(self, operation: Callable[[], Awaitable[T]]) -> T:
        flight: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._flight = flight
        try:
            result = await operation()
        except asyncio.CancelledError:
            flight.set_result(_LEADER_CANCELLED)
            raise
        except BaseException as exc:
            flight.set_exception(exc)
            # Followers may be gone; mark the exception retrieved so asyncio stays quiet.
            flight.exception()
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            self._flight = None
