"""Clock: the one source of time and randomness for a client's timing decisions.

Poll cadences, jitter, retry backoff, rate-limit buckets and wait deadlines all read this
clock, so they agree with each other and with the event loop's timers. It reads the
running loop's monotonic clock: a test that makes the loop's time virtual (looptime)
makes every timing decision of the client virtual with it, and a seeded `random.Random`
makes the jitter repeatable.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Callable

__all__ = ["Clock"]


class Clock:
    """Monotonic seconds and timers from the running event loop, and a random source."""

    __slots__ = ("_random",)

    def __init__(self, random: _random.Random | None = None) -> None:
        self._random = random if random is not None else _random.Random()

    def time(self) -> float:
        """Monotonic seconds (the running loop's clock)."""
        return asyncio.get_running_loop().time()

    def call_later(self, delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        """Call `callback` after `delay` seconds of this clock."""
        return asyncio.get_running_loop().call_later(delay, callback)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def random(self) -> float:
        """A float in [0, 1): the source of every jitter."""
        return self._random.random()

    def __repr__(self) -> str:
        return "Clock()"
