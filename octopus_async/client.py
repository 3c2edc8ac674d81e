"""OctopusClient: configuration, lifecycle and the API namespaces."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Awaitable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs
from yarl import URL

from ._transport.events import Hook
from ._transport.http import Transport
from ._transport.ratelimit import Limiter, RateLimiter
from ._transport.stores import MemoryTokenStore, TokenStore
from .clock import Clock
from .config import (
    AuthPolicy,
    ClientConfig,
    PollPolicy,
    RateLimits,
    RequestOptions,
    RetryPolicy,
    Timeouts,
)
from .errors import InvalidRequestError
from .resources._base import RawResponse, Requester, capture_responses
from .resources._orders import Orders
from .resources.auth import Auth
from .resources.data import ReferenceData, ReferenceDataCache
from .resources.esim import ActivationCodes, Esim
from .resources.topups import KnownInputFields, Topups
from .resources.vouchers import Vouchers
from .resources.wallets import Wallets
from .waiting.events import WaitHook
from .waiting.policy import ESIM, ESIM_ACTIVATED, ESIM_INSTALLED, TOPUPS, VOUCHERS
from .waiting.scheduler import PollScheduler
from .waiting.waiter import OrderWaiter
from .webhooks.handler import Webhooks

if TYPE_CHECKING:
    from .batch.inputs import InputRow
    from .batch.requests import OrderRequest
    from .batch.runner import BatchRun

__all__ = ["OctopusClient"]

T = TypeVar("T")


@attrs.frozen
class _Shared:
    """What a client and its `with_options` views hold in common, besides the transport."""

    reference_data: ReferenceDataCache
    input_fields: KnownInputFields
    activation_codes: ActivationCodes
    scheduler: PollScheduler
    clock: Clock


class OctopusClient:
    """An async client for the Octopus Cards API.

    ::

        async with OctopusClient(api_key=..., api_secret=...) as client:
            wallets = await client.wallets.list()

    Arguments left out come from ``OCTOPUS_API_KEY``, ``OCTOPUS_API_SECRET``,
    ``OCTOPUS_ENVIRONMENT`` and ``OCTOPUS_BASE_URL``; the environment defaults to the
    sandbox. The HTTP session opens on the first request and belongs to the event loop that
    made it. Close the client with ``async with`` or `aclose`; it never logs out on close.
    `clock` is the source of time and jitter for polling, retries, rate limits and
    deadlines (the event loop's clock; seed its random source for repeatable jitter).
    `rate_limits` takes quotas (`RateLimits`; "auto" picks the host's) or a limiter that
    a fleet shares (`integrations.redis.RedisRateLimiter`), which is used as it is and
    not closed with the client. `hooks` see every HTTP attempt and call (`RequestEvent`),
    `wait_hooks` every order wait begin and end (`WaitEvent`): telemetry attaches there
    (`integrations.otel.OctopusTelemetry`).
    """

    config: ClientConfig
    auth: Auth
    data: ReferenceData
    wallets: Wallets
    vouchers: Vouchers
    topups: Topups
    esim: Esim
    webhooks: Webhooks

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        environment: Literal["sandbox", "production"] | None = None,
        base_url: str | URL | None = None,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        rate_limits: RateLimits | Literal["auto"] | Limiter = "auto",
        auth: AuthPolicy = AuthPolicy(),
        poll: PollPolicy = PollPolicy(),
        token_store: TokenStore | None = None,
        hooks: Sequence[Hook] = (),
        wait_hooks: Sequence[WaitHook] = (),
        reference_data_ttl: float = 86400.0,
        max_connections: int = 100,
        clock: Clock | None = None,
    ) -> None:
        shared: Limiter | None = None
        if isinstance(rate_limits, Limiter):
            shared, rate_limits = rate_limits, rate_limits.limits
        config = ClientConfig.resolve(
            api_key=api_key,
            api_secret=api_secret,
            environment=environment,
            base_url=base_url,
            rate_limits=rate_limits,
            timeouts=timeouts,
            retry=retry,
            auth=auth,
            poll=poll,
            reference_data_ttl=reference_data_ttl,
            max_connections=max_connections,
        )
        clock = clock if clock is not None else Clock()
        transport = Transport(
            config,
            token_store=token_store or MemoryTokenStore(),
            limiter=shared or RateLimiter(config.rate_limits, clock.time),
            hooks=hooks,
            clock=clock,
        )
        scheduler = PollScheduler(
            config.poll,
            config.rate_limits.quotas.get("read"),
            max_hold=config.retry.max_retry_after,
            clock=clock,
            hooks=wait_hooks,
        )
        self._bind(
            config,
            transport,
            _Shared(
                ReferenceDataCache(config.reference_data_ttl, clock.time),
                KnownInputFields(),
                ActivationCodes(),
                scheduler,
                clock,
            ),
            RequestOptions(config.timeouts, config.retry),
        )
        # Polls retry once: the poll cadence is their retry.
        polling = self.with_options(max_retries=min(1, config.retry.max_retries))
        scheduler.register(VOUCHERS, polling.vouchers.orders)
        scheduler.register(TOPUPS, polling.topups.orders)
        for vertical in (ESIM, ESIM_INSTALLED, ESIM_ACTIVATED):
            scheduler.register(vertical, polling.esim.orders)

    def _bind(
        self,
        config: ClientConfig,
        transport: Transport,
        shared: _Shared,
        options: RequestOptions,
    ) -> None:
        self.config = config
        self._transport = transport
        self._shared = shared
        self._scheduler = shared.scheduler
        self._options = options
        requester = Requester(transport, options)
        self.auth = Auth(requester)
        self.data = ReferenceData(requester, shared.reference_data)
        self.wallets = Wallets(requester)
        self.vouchers = Vouchers(requester, shared.scheduler)
        self.topups = Topups(requester, shared.scheduler, shared.input_fields)
        self.esim = Esim(requester, shared.scheduler, shared.activation_codes)
        self.webhooks = Webhooks(shared.scheduler, transport.field_warnings)

    def with_options(
        self, *, timeout: float | Timeouts | None = None, max_retries: int | None = None
    ) -> OctopusClient:
        """A view of this client with other per-call settings.

        It shares the session, tokens, rate limits and caches; closing either closes both.
        A float `timeout` replaces the read timeout, not `esim_create_read` (the eSIM
        create's hold); pass a `Timeouts` to change that too. ::

            await client.with_options(max_retries=0).wallets.list()
        """
        timeouts = self._options.timeouts
        if isinstance(timeout, Timeouts):
            timeouts = timeout
        elif timeout is not None:
            timeouts = attrs.evolve(timeouts, read=timeout)
        retry = self._options.retry
        if max_retries is not None:
            retry = attrs.evolve(retry, max_retries=max_retries)
        view = object.__new__(OctopusClient)
        view._bind(self.config, self._transport, self._shared, RequestOptions(timeouts, retry))
        return view

    async def with_raw_response(self, call: Awaitable[T]) -> RawResponse[T]:
        """Await an SDK call and return its result with the HTTP response behind it. ::

        raw = await client.with_raw_response(client.wallets.list())
        raw.parsed, raw.status, raw.request_id, raw.headers
        """
        return await capture_responses(call)

    def resume(self, token: str, *, timeout: float | None = None) -> OrderWaiter[Any]:
        """Continue a wait from `OrderWaiter.resume_token()`, in this process or another.

        The wait keeps the token's deadline unless `timeout` gives a new one; a deadline
        already past (the token of a wait that timed out) becomes the default timeout.
        """
        return self._scheduler.resume(token, timeout)

    def orders_of(self, vertical: str) -> Orders[Any]:
        """The `orders` of a vertical by its name: "vouchers", "topups" or "esim"."""
        if vertical not in ("vouchers", "topups", "esim"):
            raise InvalidRequestError(
                f"vertical must be vouchers, topups or esim, got {vertical!r}", param="vertical"
            )
        orders: Orders[Any] = getattr(self, vertical).orders
        return orders

    def batch(
        self,
        requests: Iterable[OrderRequest | InputRow] | AsyncIterable[OrderRequest | InputRow],
        *,
        journal: str | os.PathLike[str] | None = None,
        concurrency: int = 32,
        max_pending: int = 1000,
        wait: bool = True,
        timeout: float | None = None,
        input_id: str | None = None,
    ) -> BatchRun:
        """Place an order for each of `requests` and wait for them: an async iterator of
        `BatchResult`, with a `summary`. ::

            run = client.batch([VoucherOrderRequest(123, "10.00", 1)] * 100, journal="c.db")
            async for result in run:
                print(result.row, result.status)

        At most `concurrency` creates are in flight, inside the client's create quota,
        and at most `max_pending` rows are in hand, so `requests` (an iterable or async
        iterable) is read as the batch goes. With a `journal` (a SQLite file) a rerun with
        the same journal skips settled rows, looks up the creates in flight when the last
        run stopped, resumes pending waits, and creates no order twice; a row without a
        `client_reference` gets one made of the journal's run id and its row number.
        `input_id` names the input (the command passes the file's SHA-256): a journal
        made for another input is refused. `wait=False` reports unsettled orders as
        pending with their resume token; `timeout` bounds each order's wait
        (`PollPolicy.default_timeout` if None).
        """
        # Imported here: anyio and sqlite3 are the batch's, not every client's, to load.
        from .batch.runner import BatchRun

        return BatchRun(
            self,
            requests,
            journal=journal,
            concurrency=concurrency,
            max_pending=max_pending,
            wait=wait,
            timeout=timeout,
            input_id=input_id,
        )

    @property
    def clock(self) -> Clock:
        """The source of time and jitter of everything this client times."""
        return self._shared.clock

    @property
    def scheduler(self) -> PollScheduler:
        """The poll scheduler all waits of this client share (`stats`, `pending`)."""
        return self._scheduler

    @property
    def closed(self) -> bool:
        return self._transport.closed

    async def aclose(self) -> None:
        """End pending waits with `OrderWaitTimeout` (resumable by its token) and close the
        HTTP session.

        Tokens stay valid: closing never logs out (D15).
        """
        await self._scheduler.aclose()
        await self._transport.aclose()

    async def __aenter__(self) -> OctopusClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"OctopusClient(base_url={str(self.config.base_url)!r})"
