"""What ends a wait, per vertical and goal (D27); the cadence is `config.PollPolicy` (D30)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from ..models.esim import ActivationStatus, EsimOrderStatus
from ..models.topups import TopupOrderStatus
from ..models.vouchers import VoucherOrderStatus

__all__ = ["ESIM", "ESIM_ACTIVATED", "ESIM_INSTALLED", "TOPUPS", "VOUCHERS", "VerticalPolicy"]


@attrs.frozen
class VerticalPolicy:
    """Which order states end a wait for one vertical.

    `goal` "settled" waits for fulfilment: `succeeded` statuses resolve, `partial` ones only
    for waits that accept partial results. "installed" and "activated" wait for an eSIM's
    second lifecycle: the profile on a device, then its first use (or expiry). `failed`
    statuses raise whatever the goal. `refresh_by_get` marks verticals whose single GET
    refreshes state that lists show late or never; `sweepable` is False where lists cannot
    tell at all (eSIM install state), so every check is a single GET.
    """

    name: str
    succeeded: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    partial: frozenset[str] = frozenset()
    refresh_by_get: bool = False
    sweepable: bool = True
    goal: Literal["settled", "installed", "activated"] = "settled"

    @property
    def install_phase(self) -> bool:
        return self.goal != "settled"

    def outcome(self, order: Any, accept_partial: bool) -> bool | None:
        """True when `order` ends the wait with it, False with a failure, None to go on."""
        status = str(order.status)
        if status in self.failed:
            return False
        if self.goal == "installed":
            return True if order.installed else None
        if self.goal == "activated":
            expired = order.activation_status == ActivationStatus.EXPIRED
            return True if order.activated_at is not None or expired else None
        if status in self.succeeded or (accept_partial and status in self.partial):
            return True
        return None

    def final(self, order: Any) -> bool:
        """Whether `order` is in a state no later answer may take back (a partial
        delivery may still become whole)."""
        return self.outcome(order, accept_partial=False) is not None


_ESIM_FAILED = frozenset({EsimOrderStatus.FAILED, EsimOrderStatus.CANCELLED})

VOUCHERS = VerticalPolicy(
    "vouchers",
    succeeded=frozenset({VoucherOrderStatus.DELIVERED}),
    failed=frozenset({VoucherOrderStatus.FAILED, VoucherOrderStatus.CANCELLED}),
    partial=frozenset({VoucherOrderStatus.PARTIALLY_DELIVERED}),
)
TOPUPS = VerticalPolicy(
    "topups",
    succeeded=frozenset({TopupOrderStatus.DELIVERED, TopupOrderStatus.RECHARGED}),
    failed=frozenset({TopupOrderStatus.FAILED, TopupOrderStatus.CANCELLED}),
    refresh_by_get=True,
)
ESIM = VerticalPolicy("esim", succeeded=frozenset({EsimOrderStatus.DELIVERED}), failed=_ESIM_FAILED)
ESIM_INSTALLED = VerticalPolicy(
    "esim.installed", failed=_ESIM_FAILED, sweepable=False, goal="installed"
)
ESIM_ACTIVATED = VerticalPolicy(
    "esim.activated", failed=_ESIM_FAILED, sweepable=False, goal="activated"
)
