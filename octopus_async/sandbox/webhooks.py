"""Signed webhook deliveries from the sandbox, with retries and delivery faults (API.md 11).

Voucher orders and wallet movements emit the documented events to every registered
endpoint subscribed to them; with `webhook_unreleased_events` topups and eSIM emit
`topup.*` and `esim.*` events too (not yet live on the real service), which exercises a
receiver's handling of unknown types. Each delivery carries the documented headers, is
signed with the endpoint's secret, and is retried with exponential backoff on a non-2xx
answer or a timeout. `webhook_duplicate_rate`, `webhook_delay` and `webhook_jitter` send
some events twice, late, or out of order.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import logging
import secrets
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs

from ._http import rfc3339
from ._json import encode_json

if TYPE_CHECKING:
    from .state import SandboxState

__all__ = ["Delivery", "WebhookDispatcher", "WebhookEndpoint"]

logger = logging.getLogger("octopus_async.sandbox.webhooks")

USER_AGENT = "octopusrewards.com/webhook-agent"


@attrs.frozen
class WebhookEndpoint:
    id: str
    url: str
    secret: str = attrs.field(repr=False)
    events: frozenset[str] | None = None  # None: every event

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events


@attrs.frozen
class Delivery:
    """One delivery attempt; `status` is None when no answer came (refused, timed out).

    `at` is the event loop's clock (monotonic seconds), like `RequestRecord.received_at`."""

    event_id: str
    event_type: str
    endpoint_id: str
    attempt: int
    status: int | None
    at: float


class WebhookDispatcher:
    """Registered endpoints, the events sent to them, and every delivery attempt."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self.endpoints: list[WebhookEndpoint] = []
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def register(
        self, url: str, secret: str, events: Iterable[str] | None = None
    ) -> WebhookEndpoint:
        """Deliver events (all, or only `events`) to `url`, signed with `secret`."""
        endpoint = WebhookEndpoint(
            f"wh_{next(self._ids)}", url, secret, None if events is None else frozenset(events)
        )
        self.endpoints.append(endpoint)
        return endpoint

    def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Send an event to every endpoint that wants it (fire and forget)."""
        if event_type.startswith(("topup.", "esim.")) and not (
            self._state.config.webhook_unreleased_events
        ):
            return
        targets = [endpoint for endpoint in self.endpoints if endpoint.wants(event_type)]
        if not targets:
            return
        envelope = {
            "id": f"evt_{secrets.token_hex(8)}",
            "type": event_type,
            "created_at": rfc3339(time.time()),
            "data": data,
        }
        self.events.append(envelope)
        config = self._state.config
        rng = self._state.rng
        for endpoint in targets:
            copies = 2 if rng.random() < config.webhook_duplicate_rate else 1
            for _ in range(copies):
                delay = config.webhook_delay + rng.uniform(0, config.webhook_jitter)
                task = asyncio.get_running_loop().create_task(
                    self._deliver(endpoint, envelope, config.real_seconds(delay))
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _deliver(
        self, endpoint: WebhookEndpoint, envelope: dict[str, Any], delay: float
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        config = self._state.config
        body = encode_json(envelope)
        signature = hmac.new(endpoint.secret.encode(), body, hashlib.sha256).hexdigest()
        if self._session is None:
            self._session = aiohttp.ClientSession()
        backoff = config.webhook_backoff
        for attempt in range(1, config.webhook_max_attempts + 1):
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-OCTOPUS-WEBHOOK-TOKEN": endpoint.secret,
                "X-Webhook-ID": endpoint.id,
                "X-Event-ID": envelope["id"],
                "X-Event-Type": envelope["type"],
                "X-Timestamp": str(int(time.time())),
                "X-Signature": signature,
            }
            status = await self._post(endpoint.url, body, headers)
            self.deliveries.append(
                Delivery(
                    envelope["id"],
                    envelope["type"],
                    endpoint.id,
                    attempt,
                    status,
                    asyncio.get_running_loop().time(),
                )
            )
            if status is not None and 200 <= status < 300:
                return
            await asyncio.sleep(config.real_seconds(backoff))
            backoff *= 2
        logger.warning("gave up delivering %s to %s", envelope["id"], endpoint.url)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int | None:
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(
            total=self._state.config.real_seconds(self._state.config.webhook_timeout)
        )
        try:
            async with self._session.post(
                url, data=body, headers=headers, timeout=timeout
            ) as answer:
                await answer.read()
                return answer.status
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return None
