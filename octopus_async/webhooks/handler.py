"""Receiving webhooks: an aiohttp handler that acknowledges first and processes after (D38)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
from aiohttp import web

from ..errors import InvalidRequestError, WebhookVerificationError
from ..models._convert import FieldWarnings, read_id
from ..models.webhooks import EsimEvent, OrderEvent, TopupEvent, WebhookEvent
from ..waiting.scheduler import PollScheduler
from .dedupe import EventStore, MemoryEventStore
from .verify import Secret, check_delivery, webhook_secrets

__all__ = [
    "EventOrder",
    "ReceiverStats",
    "WebhookReceiver",
    "Webhooks",
    "event_order",
    "receiver_app",
]

logger = logging.getLogger("octopus_async.webhooks")

OnEvent = Callable[[WebhookEvent], Awaitable[None] | None]

# The vertical of each order event type prefix, and the waits an event of a vertical's
# order can speed up.
_ORDER_EVENTS = {"order.": "vouchers", "topup.": "topups", "esim.": "esim"}
_WAITS = {
    "vouchers": ("vouchers",),
    "topups": ("topups",),
    "esim": ("esim", "esim.installed", "esim.activated"),
}


@attrs.frozen
class EventOrder:
    """The order an event is about: its vertical, and the ids the event gives."""

    vertical: str
    order_id: int | None
    client_reference: str | None


def event_order(event: WebhookEvent) -> EventOrder | None:
    """The order an order event (`order.*`, `topup.*`, `esim.*`) is about, None for any
    other event. An order event whose payload could not be typed (an `UnknownEvent`)
    still gives the ids its raw payload carries."""
    vertical = next(
        (name for prefix, name in _ORDER_EVENTS.items() if event.type.startswith(prefix)), None
    )
    if vertical is None:
        return None
    if isinstance(event, (OrderEvent, TopupEvent, EsimEvent)):
        return EventOrder(vertical, event.data.id, event.data.client_reference)
    return EventOrder(vertical, *_ids(event.data))


@attrs.define
class ReceiverStats:
    """What a receiver has done so far; `waiting` and `processing` are what it does now."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    failed: int = 0  # accepted, but processing it (waking waiters, `on_event`) raised
    unrecorded: int = 0  # verified, but the store failed: answered 503 for a redelivery
    waiting: int = 0  # verified deliveries waiting for a processing slot (back-pressure)
    processing: int = 0


class WebhookReceiver:
    """An aiohttp request handler for webhook deliveries.

    Each delivery is verified (signature, timestamp, event id), de-duplicated by event id,
    and acknowledged with 200 before anything else happens; then waiters of the order are
    woken and `on_event` runs. Bad signatures, missing headers and stale timestamps get
    401, unreadable bodies 400, bodies over `max_body_size` 413, duplicates 200 without
    processing. At most `max_concurrency` events are processed at once; a delivery beyond
    that waits for a slot before it is accepted, so a flood slows the sender down instead
    of piling up work here. The receiver is the handler: mount it with
    ``app.router.add_post("/webhooks", receiver)`` (or `receiver.handle`), or use
    `receiver_app`. `aclose` waits for processing still running.
    """

    def __init__(
        self,
        *,
        secret: Secret | Sequence[Secret],
        on_event: OnEvent | None = None,
        store: EventStore | None = None,
        tolerance: float = 300.0,
        max_body_size: int = 1 << 20,
        max_concurrency: int = 64,
        route: Callable[[WebhookEvent], object] | None = None,
        field_warnings: FieldWarnings | None = None,
    ) -> None:
        if isinstance(max_concurrency, bool) or not (
            isinstance(max_concurrency, int) and max_concurrency >= 1
        ):
            raise InvalidRequestError(
                f"max_concurrency must be a positive integer, got {max_concurrency!r}",
                param="max_concurrency",
            )
        self._secrets = webhook_secrets(secret)
        self._on_event = on_event
        self._store = store if store is not None else MemoryEventStore()
        self._tolerance = tolerance
        self._max_body_size = max_body_size
        self._slots = asyncio.Semaphore(max_concurrency)
        self._route = route
        self._field_warnings = field_warnings if field_warnings is not None else FieldWarnings()
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = ReceiverStats()
        # aiohttp mounts only what it sees as a coroutine function; say that this is one.
        if sys.version_info >= (3, 12):
            inspect.markcoroutinefunction(self)
        else:
            self._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return (
            f"<WebhookReceiver accepted={self.stats.accepted} duplicates={self.stats.duplicates}>"
        )

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        return await self.handle(request)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler: verify, de-duplicate, acknowledge, then process."""
        body = await self._read(request)
        if body is None:
            self.stats.rejected += 1
            return _answer(413, "too_large", "the body is larger than this receiver accepts")
        try:
            event = check_delivery(
                body, request.headers, self._secrets, self._tolerance, None, self._field_warnings
            )
        except WebhookVerificationError as error:
            self.stats.rejected += 1
            logger.warning("webhook rejected: %s", error)
            return _answer(error.http_status, error.reason, error.message)
        # A slot first, the event id after: a sender that gives up while this waits has
        # not had its event recorded, so its redelivery is processed.
        self.stats.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.stats.waiting -= 1
        try:
            fresh = await self._store.add(event.id)
        except Exception as error:
            self._slots.release()
            self.stats.unrecorded += 1
            # Not recorded, so not processed: the sender's redelivery will be.
            logger.error("webhook store failed (%r); answered 503 for a redelivery", error)
            return _answer(503, "store_unavailable", "the event could not be recorded; retry")
        except BaseException:
            self._slots.release()
            raise
        if not fresh:
            self._slots.release()
            self.stats.duplicates += 1
            return web.json_response({"status": "duplicate"})
        self.stats.accepted += 1
        # Acknowledged before processing: slow work here would make the sender retry.
        response = web.json_response({"status": "accepted"})
        try:
            await response.prepare(request)
            await response.write_eof()
        finally:
            # Processed even if the acknowledgement was lost: the event is recorded as
            # seen, so its redelivery will be refused as a duplicate.
            task = asyncio.get_running_loop().create_task(self._process(event))
            self._tasks.add(task)
            self.stats.processing += 1
            task.add_done_callback(self._finished)
        return response

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.stats.processing -= 1
        self._slots.release()

    async def aclose(self) -> None:
        """Wait for the processing of accepted events to finish."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _read(self, request: web.Request) -> bytes | None:
        limit = self._max_body_size
        if request.content_length is not None and request.content_length > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _process(self, event: WebhookEvent) -> None:
        try:
            if self._route is not None:
                self._route(event)
            if self._on_event is not None:
                outcome = self._on_event(event)
                if inspect.isawaitable(outcome):
                    await outcome
        except Exception:
            self.stats.failed += 1
            logger.exception("processing webhook event %s failed", event.id)


def _answer(status: int, reason: str, message: str) -> web.Response:
    return web.json_response({"error": reason, "message": message}, status=status)


def receiver_app(receiver: WebhookReceiver, path: str = "/webhooks") -> web.Application:
    """A standalone aiohttp application that serves `receiver` at `path`."""
    app = web.Application()
    app.router.add_post(path, receiver)

    async def finish(_: web.Application) -> None:
        await receiver.aclose()

    app.on_cleanup.append(finish)
    return app


class Webhooks:
    """`client.webhooks`: receivers whose verified order events wake this client's waiters."""

    def __init__(self, scheduler: PollScheduler, field_warnings: FieldWarnings) -> None:
        self._scheduler = scheduler
        self._field_warnings = field_warnings

    def handler(
        self,
        *,
        secret: Secret | Sequence[Secret],
        on_event: OnEvent | None = None,
        store: EventStore | None = None,
        tolerance: float = 300.0,
        max_body_size: int = 1 << 20,
        max_concurrency: int = 64,
    ) -> WebhookReceiver:
        """A receiver for this client, to mount as an aiohttp handler. A verified event for
        an order being waited for (matched by order id, then by `client_reference`, D35)
        makes the waiter fetch the order at once; the event itself never decides the
        outcome. Order events of every vertical (`order.*`, `topup.*`, `esim.*`) route."""
        return WebhookReceiver(
            secret=secret,
            on_event=on_event,
            store=store,
            tolerance=tolerance,
            max_body_size=max_body_size,
            max_concurrency=max_concurrency,
            route=self._wake,
            field_warnings=self._field_warnings,
        )

    def app(self, *, path: str = "/webhooks", **handler: Any) -> web.Application:
        """A standalone receiver application (see `handler` for the arguments)."""
        return receiver_app(self.handler(**handler), path)

    def _wake(self, event: WebhookEvent) -> bool:
        """Nudge the waiters of the order the event is about; True when there was one."""
        order = event_order(event)
        if order is None:
            return False
        woken = [
            self._scheduler.nudge(
                wait, order_id=order.order_id, client_reference=order.client_reference
            )
            for wait in _WAITS[order.vertical]
        ]
        return any(woken)


def _ids(data: Any) -> tuple[int | None, str | None]:
    reference = data.get("reference_code") or data.get("client_reference")
    return read_id(data.get("id")), reference if isinstance(reference, str) else None
