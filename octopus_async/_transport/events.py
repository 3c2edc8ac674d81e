"""Events the transport reports to hooks, one per step of each HTTP attempt.

A hook is a plain callable taking an event; attach metrics or tracing with it::

    def count(event: RequestEvent) -> None:
        if isinstance(event, ResponseReceived):
            latency.labels(event.path, event.status).observe(event.elapsed)

    OctopusClient(..., hooks=[count])

Each attempt is `RequestStarted`, then `ResponseReceived` or `RequestFailed`, and
`RetryScheduled` when another attempt follows; `RequestFinished` ends the call, once,
however it ends. Hooks run inline on the event loop, so they must be quick and must not
block. An exception raised by a hook is logged and otherwise ignored. Events carry no
headers, no query and no bodies, so no secret can reach a hook.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = [
    "Hook",
    "RequestEvent",
    "RequestFailed",
    "RequestFinished",
    "RequestStarted",
    "ResponseReceived",
    "RetryScheduled",
]


@attrs.frozen
class RequestEvent:
    """One attempt of one call. `request_id` is the X-Request-Id the client sent, the
    same for every attempt; `url` is the base URL and the path, without the query."""

    method: str
    path: str
    request_id: str
    attempt: int
    url: str = attrs.field(kw_only=True)


@attrs.frozen
class RequestStarted(RequestEvent):
    """An attempt is about to be sent."""


@attrs.frozen
class ResponseReceived(RequestEvent):
    """An attempt got an HTTP response (any status); `elapsed` is in seconds."""

    status: int
    elapsed: float


@attrs.frozen
class RequestFailed(RequestEvent):
    """An attempt got no response; `error` names the exception class."""

    error: str
    elapsed: float


@attrs.frozen
class RetryScheduled(RequestEvent):
    """The call will be retried after `delay` seconds; `reason` is e.g. "HTTP 503"."""

    delay: float
    reason: str


@attrs.frozen
class RequestFinished(RequestEvent):
    """The call is over after `attempt` attempts and `elapsed` seconds (waits between
    attempts included). `status` is the last response's (None without one); `error` names
    the exception the call raised, None when it returned."""

    status: int | None
    error: str | None
    elapsed: float


Hook = Callable[[RequestEvent], None]
