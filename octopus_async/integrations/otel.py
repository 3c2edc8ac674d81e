"""OpenTelemetry spans and metrics for the SDK (`pip install 'octopus-async[otel]'`).

::

    telemetry = OctopusTelemetry(rate_limits=RateLimits.production())
    client = OctopusClient(hooks=[telemetry.on_request], wait_hooks=[telemetry.on_wait])

Built on the client's hooks, so it sees what they see: methods, paths without their
query, request ids, statuses, timings, and order ids and references; never a header, a
body, a token, a code or a PIN. Spans and instruments come from the global providers
unless others are given (an SDK must be configured for anything to be exported).
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import attrs
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from yarl import URL

from .._transport.events import (
    RequestEvent,
    RequestFailed,
    RequestFinished,
    RequestStarted,
    ResponseReceived,
    RetryScheduled,
)
from .._transport.ratelimit import endpoint_class
from .._version import __version__
from ..config import EndpointClass, RateLimits
from ..waiting.events import WaitEnded, WaitEvent, WaitStarted

__all__ = ["OctopusTelemetry"]

_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")
_UNSETTLED = frozenset({"failed", "timeout", "error"})


def _url_template(path: str) -> str:
    """`path` with its numeric segments as ``{id}``: a route, not one order's URL."""
    return _ID_SEGMENT.sub("/{id}", path)


@attrs.define
class _Retry:
    at_ns: int
    attempt: int
    delay: float
    reason: str


class OctopusTelemetry:
    """A span per API call and per order wait, and metrics, for the clients it hooks.

    An API call's span (kind CLIENT, named "METHOD route") covers its attempts and the
    pauses between them, with the HTTP client semantic conventions' attributes, the
    request id as `octopus.request_id`, and each retry as a "retry" event (attempt,
    delay, reason). An order wait's span ("octopus.wait VERTICAL") runs from `submit` or
    `wait` to the outcome, with the vertical, the order's id and reference, the outcome
    and what showed it (`settled_by`: create, given, poll, sweep, webhook).

    Metrics: `octopus.client.requests` (calls, by method, route, status or error),
    `http.client.request.duration` (each attempt), `octopus.client.retries` (by reason),
    `octopus.client.rate_limited` (429 answers), `octopus.waits.pending`,
    `octopus.waits.duration` (by vertical, outcome and settled_by),
    `octopus.waits.detection_latency` (seconds from the order's completion to its
    detection, for orders that say when they completed), and, given `rate_limits`,
    `octopus.client.quota.used`: the share of each quota the calls begun in its last
    period took (1.0 is the whole quota).
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self._tracer = trace.get_tracer("octopus_async", __version__, tracer_provider)
        meter = metrics.get_meter("octopus_async", __version__, meter_provider)
        self._requests = meter.create_counter(
            "octopus.client.requests", "{call}", "API calls, once each, however they ended"
        )
        self._duration = meter.create_histogram(
            "http.client.request.duration", "s", "Duration of each HTTP attempt"
        )
        self._retries = meter.create_counter(
            "octopus.client.retries", "{retry}", "Attempts scheduled after a failed one"
        )
        self._rate_limited = meter.create_counter(
            "octopus.client.rate_limited", "{response}", "Answers with status 429"
        )
        self._pending = meter.create_up_down_counter(
            "octopus.waits.pending", "{wait}", "Order waits under way"
        )
        self._wait_duration = meter.create_histogram(
            "octopus.waits.duration", "s", "From a wait's start to its outcome"
        )
        self._detection = meter.create_histogram(
            "octopus.waits.detection_latency",
            "s",
            "From an order's completion (server's clock) to its detection by the wait",
        )
        self._limits = rate_limits
        self._begun: dict[EndpointClass, deque[float]] = {}
        if rate_limits is not None and rate_limits.quotas:
            meter.create_observable_gauge(
                "octopus.client.quota.used",
                [self._quota_used],
                "1",
                "Share of each quota taken by the calls begun in its last period",
            )
        self._retries_of: dict[str, list[_Retry]] = {}

    # --- API calls (`hooks=[telemetry.on_request]`) ------------------------------------

    def on_request(self, event: RequestEvent) -> None:
        """The request hook: give it to the client's `hooks`."""
        if isinstance(event, RequestStarted):
            self._started(event)
        elif isinstance(event, ResponseReceived):
            self._duration.record(event.elapsed, self._attempt_attributes(event, event.status))
            if event.status == 429:
                self._rate_limited.add(1, {"url.template": _url_template(event.path)})
        elif isinstance(event, RequestFailed):
            attributes = self._attempt_attributes(event, None)
            attributes["error.type"] = event.error
            self._duration.record(event.elapsed, attributes)
        elif isinstance(event, RetryScheduled):
            self._retries.add(
                1, {"url.template": _url_template(event.path), "reason": event.reason}
            )
            retry = _Retry(time.time_ns(), event.attempt, event.delay, event.reason)
            self._retries_of.setdefault(event.request_id, []).append(retry)
        elif isinstance(event, RequestFinished):
            self._finished(event)

    def _started(self, event: RequestStarted) -> None:
        if self._limits is None or event.attempt != 1:
            return
        endpoint = endpoint_class(event.method, event.path)
        if endpoint is not None and endpoint in self._limits.quotas:
            now = time.monotonic()
            self._begun_within(endpoint, now).append(now)

    def _finished(self, event: RequestFinished) -> None:
        end_ns = time.time_ns()
        template = _url_template(event.path)
        url = URL(event.url)
        attributes: dict[str, Any] = {
            "http.request.method": event.method,
            "url.full": event.url,
            "url.template": template,
            "server.address": url.host or "",
            "server.port": url.port or 0,
            "octopus.request_id": event.request_id,
        }
        if event.attempt > 1:
            attributes["http.request.resend_count"] = event.attempt - 1
        if event.status is not None:
            attributes["http.response.status_code"] = event.status
        error = event.error or (str(event.status) if (event.status or 0) >= 400 else None)
        if error is not None:
            attributes["error.type"] = error
        span = self._tracer.start_span(
            f"{event.method} {template}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=end_ns - int(event.elapsed * 1e9),
        )
        for retry in self._retries_of.pop(event.request_id, ()):
            span.add_event(
                "retry",
                {"attempt": retry.attempt, "delay": retry.delay, "reason": retry.reason},
                timestamp=retry.at_ns,
            )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=end_ns)
        counted: dict[str, Any] = {"http.request.method": event.method, "url.template": template}
        if event.status is not None:
            counted["http.response.status_code"] = event.status
        if error is not None:
            counted["error.type"] = error
        self._requests.add(1, counted)

    @staticmethod
    def _attempt_attributes(event: RequestEvent, status: int | None) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "http.request.method": event.method,
            "url.template": _url_template(event.path),
            "server.address": URL(event.url).host or "",
        }
        if status is not None:
            attributes["http.response.status_code"] = status
        return attributes

    def _begun_within(self, endpoint: EndpointClass, now: float) -> deque[float]:
        """When the calls of `endpoint` begun in its quota's last period began."""
        begun = self._begun.setdefault(endpoint, deque())
        if self._limits is not None:
            period = self._limits.quotas[endpoint].period
            while begun and begun[0] <= now - period:
                begun.popleft()
        return begun

    def _quota_used(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._limits is None:
            return
        now = time.monotonic()
        for endpoint in list(self._begun):
            used = len(self._begun_within(endpoint, now)) / self._limits.quotas[endpoint].requests
            yield Observation(used, {"octopus.endpoint": endpoint})

    # --- order waits (`wait_hooks=[telemetry.on_wait]`) --------------------------------

    def on_wait(self, event: WaitEvent) -> None:
        """The wait hook: give it to the client's `wait_hooks`."""
        if isinstance(event, WaitStarted):
            self._pending.add(1, {"octopus.vertical": event.vertical})
        elif isinstance(event, WaitEnded):
            self._ended(event)

    def _ended(self, event: WaitEnded) -> None:
        end_ns = time.time_ns()
        self._pending.add(-1, {"octopus.vertical": event.vertical})
        attributes: dict[str, Any] = {
            "octopus.vertical": event.vertical,
            "octopus.wait.outcome": event.outcome,
        }
        if event.settled_by is not None:
            attributes["octopus.wait.settled_by"] = event.settled_by
        self._wait_duration.record(event.elapsed, attributes)
        if event.detected_after is not None:
            detection = {k: v for k, v in attributes.items() if k != "octopus.wait.outcome"}
            self._detection.record(event.detected_after, detection)
            attributes["octopus.wait.detected_after"] = event.detected_after
        if event.order_id is not None:
            attributes["octopus.order.id"] = event.order_id
        if event.client_reference is not None:
            attributes["octopus.order.client_reference"] = event.client_reference
        span = self._tracer.start_span(
            f"octopus.wait {event.vertical}",
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=end_ns - int(event.elapsed * 1e9),
        )
        if event.outcome in _UNSETTLED:
            span.set_status(Status(StatusCode.ERROR, event.outcome))
        span.end(end_time=end_ns)
