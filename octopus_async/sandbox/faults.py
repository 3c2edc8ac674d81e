"""Fault injection: errors, dropped connections, delays and rewritten answers.

A fault "before" the handler means the request never took effect; "after" means it did
(an order was committed, a token rotated) and only the response is lost or replaced,
which is the case an SDK must survive without duplicating anything. A reshape always lets
the request take effect and rewrites the answer, so that an SDK meets bodies the docs do
not promise.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable
from typing import Any, Literal

import attrs

from ._http import ERROR_NAMES, error_body

__all__ = ["Fault", "FaultPlan", "FaultRule", "Phase", "Rewrite"]

Phase = Literal["before", "after"]

# The answer's JSON document (or None) -> a new document, or bytes or str sent verbatim.
Rewrite = Callable[[Any], Any]

_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


@attrs.frozen
class Fault:
    """What goes wrong: an error response, a dropped connection, a delay (real seconds), or
    a rewritten answer."""

    kind: Literal["error", "drop", "delay", "reshape"]
    status: int = 503
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    rewrite: Rewrite | None = None

    @classmethod
    def error(
        cls, status: int = 503, *, message: str | None = None, retry_after: str | None = None
    ) -> Fault:
        """An error with the documented JSON body; `retry_after` also sets the header."""
        name, code = ERROR_NAMES.get(status, ("ServiceUnavailableError", "SERVICE_UNAVAILABLE"))
        if message is None:
            message = (
                f"Rate limit exceeded. Retry after {retry_after or 1} seconds."
                if status == 429
                else "Service temporarily unavailable"
            )
        headers = (("Retry-After", retry_after),) if retry_after is not None else ()
        return cls("error", status, error_body(name, code, message), headers=headers)

    @classmethod
    def gateway_page(cls, status: int = 502) -> Fault:
        """An HTML error page, as a gateway in front of the API sends it."""
        return cls("error", status, _GATEWAY_PAGE, content_type="text/html")

    @classmethod
    def empty(cls, status: int = 502) -> Fault:
        """An error status with an empty body."""
        return cls("error", status, b"", content_type="text/plain")

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait, then carry on normally."""
        return cls("delay", seconds=seconds)

    @classmethod
    def reshape(cls, rewrite: Rewrite) -> Fault:
        """Let the handler answer, then send what `rewrite` makes of its answer.

        `rewrite` gets the answer's JSON document, decoded afresh (fractions as Decimal),
        or None when the answer is empty or not JSON. It returns a new document, sent as
        JSON with the answer's status and headers, or bytes or str, sent verbatim as the
        body (invalid JSON, invalid UTF-8, deep nesting, huge numbers). Whichever phase
        the rule names, the request takes effect. Errors the handler raises are sent as
        they are; shape variants are applied before the rewrite.
        """
        return cls("reshape", rewrite=rewrite)


@attrs.define
class FaultRule:
    """Apply `fault` to matching requests, with probability `rate`, at most `times` times."""

    fault: Fault
    phase: Phase = "before"
    method: str | None = None
    path: str | None = None
    rate: float = 1.0
    times: int | None = None

    def matches(self, method: str, path: str, phase: Phase) -> bool:
        return (
            self.phase == phase
            and (self.method is None or self.method == method)
            and (self.path is None or fnmatch.fnmatchcase(path, self.path))
        )


class FaultPlan:
    """The faults a sandbox injects; change it at any time, also while requests run.

    `latency` (real seconds, plus up to `latency_jitter`) is added to every request.
    Rules are tried in the order they were added; the first that fires wins.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.rules: list[FaultRule] = []
        self.latency = 0.0
        self.latency_jitter = 0.0

    def add(
        self,
        fault: Fault,
        *,
        phase: Phase = "before",
        method: str | None = None,
        path: str | None = None,
        rate: float = 1.0,
        times: int | None = None,
    ) -> FaultRule:
        """Inject `fault` into requests matching `method` and `path` (a glob pattern)."""
        rule = FaultRule(fault, phase, method, path, rate, times)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()
        self.latency = self.latency_jitter = 0.0

    def pick(self, method: str, path: str, phase: Phase) -> Fault | None:
        for rule in self.rules:
            if not rule.matches(method, path, phase):
                continue
            if rule.rate < 1.0 and self._rng.random() >= rule.rate:
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
            return rule.fault
        return None

    def added_latency(self) -> float:
        if not self.latency_jitter:
            return self.latency
        return self.latency + self._rng.uniform(0, self.latency_jitter)
