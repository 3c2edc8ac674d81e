"""A client paced like a sandbox, and a remote control for the sandbox: outcomes and faults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs

from ..client import OctopusClient
from ..config import PollPolicy, RateLimits, RetryPolicy
from ..sandbox import Fault, FaultRule, Sandbox
from ..sandbox.limits import format_seconds

if TYPE_CHECKING:
    from ..sandbox.esim import EsimDesk
    from ..sandbox.faults import Phase
    from ..sandbox.topups import TopupDesk
    from ..sandbox.vouchers import VoucherDesk

__all__ = ["SandboxControl", "Vertical", "client_for", "scaled_retry"]

Vertical = Literal["vouchers", "topups", "esim"]


def scaled_retry(policy: RetryPolicy, time_scale: float) -> RetryPolicy:
    """`policy` with its backoff and its longest acceptable `Retry-After` multiplied by
    `time_scale`, so that a time-scaled client retries as often, in simulated time, as a
    real one."""
    return attrs.evolve(
        policy,
        initial_backoff=policy.initial_backoff * time_scale,
        max_backoff=policy.max_backoff * time_scale,
        max_retry_after=policy.max_retry_after * time_scale,
    )


def client_for(sandbox: Sandbox, **options: Any) -> OctopusClient:
    """An `OctopusClient` for `sandbox` that behaves as against the real service, in the
    sandbox's time: its credentials and URL, the poll cadence (`PollPolicy.scaled`) and the
    retry backoff (`scaled_retry`) multiplied by the sandbox's `time_scale`, and the
    sandbox's rate limits, if it has any, as client-side quotas (scaled too), as the client
    keeps production's quotas against production. Timeouts are not scaled.

    `options` are `OctopusClient` arguments that replace these: ``client_for(sandbox,
    retry=RetryPolicy(max_retries=0), hooks=[...])``. Close the client after use (``async
    with``); the ``octopus_client`` fixture is one of these, closed after the test.
    """
    config = sandbox.config
    scale = config.time_scale
    limits = config.rate_limits
    settings: dict[str, Any] = {
        **sandbox.client_settings(),
        "poll": PollPolicy().scaled(scale),
        "retry": scaled_retry(RetryPolicy(), scale),
        "rate_limits": RateLimits.disabled() if limits is None else limits.scaled(scale),
    }
    settings.update(options)
    return OctopusClient(**settings)


class SandboxControl:
    """Force what a running sandbox does next, from a test on the sandbox's event loop.

    Durations are simulated seconds, like every duration of `SandboxConfig`: the sandbox's
    `time_scale` turns them into real ones. Paths are those of the API (glob patterns:
    ``/api/v1/topups/orders``, ``/api/v1/orders/*``); a fault rule counts the matching
    requests it applies to, `times` of them (None: every one until `clear_faults`).
    `sandbox` is there for anything else (``control.sandbox.webhooks.register(...)``).
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    # --- orders -------------------------------------------------------------------------

    def force_outcome(self, vertical: Vertical, client_reference: str, outcome: str) -> None:
        """Settle the order with this `client_reference` as `outcome`, whatever chance would
        say: vouchers DELIVERED, PARTIALLY_DELIVERED, FAILED or CANCELLED; topups and eSIM
        DELIVERED, FAILED or CANCELLED. Call it before the order is placed (or while it is
        pending). An order forced to fail is answered PENDING and settles after the usual
        delay, also where it would have been delivered in the create's answer (voucher
        orders of up to 5, instant topups); a failed order is refunded, and a failed topup
        carries a user-fixable failure reason."""
        self._desk(vertical).force_outcome(client_reference, outcome)

    def settle(self, vertical: Vertical, client_reference: str) -> None:
        """Settle the pending order with this `client_reference` now, without its delay
        (into its forced outcome, if any). An order already settled stays as it is; no
        order with this reference raises LookupError. A topup's new status may show in
        lists only after a single GET, as on the service (`topup_get_only_share`)."""
        desk = self._desk(vertical)
        order = desk.orders.with_reference(client_reference)
        if order is None:
            raise LookupError(f"no {vertical} order has client_reference {client_reference!r}")
        desk.settle(order.id)

    def order_count(self, vertical: Vertical) -> int:
        """How many orders of `vertical` the sandbox holds: one per order placed, however
        many times its create was sent."""
        return len(self._desk(vertical).orders)

    def request_count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests the sandbox received with this `method` and exactly this
        `path` (None matches any), dropped and failed ones included."""
        return self.sandbox.state.count(method, path)

    # --- faults -------------------------------------------------------------------------

    def fail(
        self,
        path: str,
        *,
        status: int = 503,
        times: int | None = 1,
        method: str | None = None,
        phase: Phase = "before",
    ) -> FaultRule:
        """Answer `status` with the documented error body. "before" (the default) the
        request never takes effect; "after" it does (an order is placed) and only its
        answer is replaced."""
        return self._add(Fault.error(status), path, method, times, phase)

    def rate_limit(
        self,
        path: str,
        *,
        retry_after: float = 1.0,
        times: int | None = 1,
        method: str | None = None,
    ) -> FaultRule:
        """Answer 429 with a `Retry-After` of `retry_after` simulated seconds; the request
        does not take effect."""
        seconds = format_seconds(self.sandbox.config.real_seconds(retry_after))
        return self._add(Fault.error(429, retry_after=seconds), path, method, times, "before")

    def drop(
        self,
        path: str,
        *,
        phase: Phase = "before",
        times: int | None = 1,
        method: str | None = None,
    ) -> FaultRule:
        """Close the connection without answering: "before" the request takes effect, or
        "after" it did (the order is placed, its answer lost: the hard case, which the SDK
        settles by looking the order up by its reference)."""
        return self._add(Fault.drop(), path, method, times, phase)

    def delay(
        self,
        path: str,
        seconds: float,
        *,
        times: int | None = 1,
        method: str | None = None,
    ) -> FaultRule:
        """Hold the request `seconds` simulated seconds before handling it."""
        fault = Fault.delay(self.sandbox.config.real_seconds(seconds))
        return self._add(fault, path, method, times, "before")

    def clear_faults(self) -> None:
        """Remove every fault rule and the added latency."""
        self.sandbox.faults.clear()

    # --- auth and shapes ------------------------------------------------------------------

    def revoke_tokens(self) -> None:
        """Invalidate every access and refresh token issued so far, as a logout elsewhere
        would: the next request is answered 401 and the client logs in again."""
        self.sandbox.tokens.revoke_all(self.sandbox.config.client_id)

    def use_shape_variants(self, *names: str) -> None:
        """Answer in these shape variants from now on (`SHAPE_VARIANTS` names them all);
        none: the documented shapes."""
        self.sandbox.state.shape_variants = names

    def _add(
        self, fault: Fault, path: str, method: str | None, times: int | None, phase: Phase
    ) -> FaultRule:
        return self.sandbox.faults.add(fault, phase=phase, method=method, path=path, times=times)

    def _desk(self, vertical: Vertical) -> VoucherDesk | TopupDesk | EsimDesk:
        state = self.sandbox.state
        desks: dict[str, VoucherDesk | TopupDesk | EsimDesk] = {
            "vouchers": state.vouchers,
            "topups": state.topups,
            "esim": state.esim,
        }
        desk = desks.get(vertical)
        if desk is None:
            raise ValueError(f"vertical must be 'vouchers', 'topups' or 'esim', got {vertical!r}")
        return desk
