"""Everything a sandbox knows, shared by its handlers; tests read and change it directly."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import time
from collections.abc import Callable, Iterable

import attrs
from aiohttp import web

from ..config import EndpointClass
from .config import SandboxConfig
from .esim import EsimDesk
from .faults import FaultPlan
from .ledger import Ledger, TransactionRecord, WalletRecord
from .limits import ServerRateLimits
from .shapes import ShapePresenter
from .tokens import TokenAuthority
from .topups import TopupDesk
from .vouchers import VoucherDesk
from .webhooks import WebhookDispatcher

__all__ = ["CLIENT_ID", "DROPPED", "STATE", "RequestRecord", "SandboxState", "state_of"]


@attrs.frozen
class RequestRecord:
    """One request the sandbox received; `status` is None when the connection was dropped.

    `received_at` is the event loop's clock (monotonic seconds), the clock of every timer
    in the sandbox and the client."""

    method: str
    path: str
    query: str
    endpoint: EndpointClass | None
    request_id: str
    status: int | None
    received_at: float


class SandboxState:
    """The account, its ledger and tokens, the fault plan, and the log of requests."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.ledger = Ledger(config.wallets, clock)
        self.tokens = TokenAuthority(
            config.jwt_secret,
            access_ttl=config.real_seconds(config.access_token_ttl),
            refresh_ttl=config.real_seconds(config.refresh_token_ttl),
            clock=clock,
        )
        self.rng = random.Random(config.seed)
        self.faults = FaultPlan(self.rng)
        self.limits = (
            ServerRateLimits(config.rate_limits.scaled(config.time_scale))
            if config.rate_limits is not None
            else None
        )
        self.allowed_networks = [ipaddress.ip_network(n) for n in config.allowed_networks]
        self.features = set(config.features)
        self.pagination_headers = config.pagination_headers
        self.shapes = ShapePresenter(config.shape_variants)
        self.fx_per_usd = dict(config.fx_per_usd)
        self.requests: list[RequestRecord] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self.webhooks = WebhookDispatcher(self)
        self.ledger.on_entry = self._announce_entry
        self.vouchers = VoucherDesk(self)
        self.topups = TopupDesk(self)
        self.esim = EsimDesk(self)

    @property
    def shape_variants(self) -> frozenset[str]:
        """The shape variants in force (`shapes.SHAPE_VARIANTS`); set it to switch them."""
        return self.shapes.variants

    @shape_variants.setter
    def shape_variants(self, names: Iterable[str]) -> None:
        self.shapes.variants = names

    def schedule(self, simulated_delay: float, action: Callable[[], None]) -> None:
        """Run `action` after `simulated_delay` simulated seconds (until the sandbox stops)."""

        def fire() -> None:
            self._timers.discard(timer)
            action()

        timer = asyncio.get_running_loop().call_later(
            self.config.real_seconds(simulated_delay), fire
        )
        self._timers.add(timer)

    def stop(self) -> None:
        """Drop everything scheduled: a stopped sandbox settles nothing more."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _announce_entry(self, record: TransactionRecord, wallet: WalletRecord) -> None:
        kind = "wallet.credited" if record.transaction_type == "CREDIT" else "wallet.debited"
        self.webhooks.emit(
            kind,
            {
                "wallet_id": wallet.id,
                "transaction_id": record.id,
                "amount": record.amount,
                "currency": wallet.currency,
                "balance": wallet.balance,
                "remarks": record.remarks,
            },
        )

    def ip_allowed(self, address: str | None) -> bool:
        if not self.allowed_networks:
            return True
        if address is None:
            return False
        ip = ipaddress.ip_address(address)
        return any(ip in network for network in self.allowed_networks)

    def log_request(self, record: RequestRecord) -> None:
        """Keep `record`, dropping the oldest records past `request_log_limit`."""
        self.requests.append(record)
        limit = self.config.request_log_limit
        # Trimmed in batches of a tenth: deleting from the front on every request is O(n).
        if len(self.requests) > limit + limit // 10:
            del self.requests[: len(self.requests) - limit]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many of the requests still logged (`request_log_limit`) matched `method`
        and exactly `path` (None matches any)."""
        return sum(
            1
            for record in self.requests
            if (method is None or record.method == method) and (path is None or record.path == path)
        )


STATE = web.AppKey("octopus_sandbox_state", SandboxState)
CLIENT_ID = web.RequestKey("octopus_sandbox_client_id", int)
DROPPED = web.RequestKey("octopus_sandbox_dropped", bool)


def state_of(request: web.Request) -> SandboxState:
    return request.app[STATE]
