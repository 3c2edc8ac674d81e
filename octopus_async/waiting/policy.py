"""What ends a wait, per vertical and goal (D27); the cadence is `config.PollPolicy` (D30)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

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
    failed: frozenset[str] = frozenset({"FAILED", "CANCELLED"})
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
            done = order.activated_at is not None or order.activation_status == "EXPIRED"
            return True if done else None
        if status in self.succeeded or (accept_partial and status in self.partial):
            return True
        return None


VOUCHERS = VerticalPolicy(
    "vouchers",
    succeeded=frozenset({"DELIVERED"}),
    partial=frozenset({"PARTIALLY_DELIVERED"}),
)
TOPUPS = VerticalPolicy(
    "topups",
    succeeded=frozenset({"DELIVERED", "RECHARGED"}),
    refresh_by_get=True,
)
ESIM = VerticalPolicy("esim", succeeded=frozenset({"DELIVERED"}))
ESIM_INSTALLED = VerticalPolicy("esim.installed", sweepable=False, goal="installed")
ESIM_ACTIVATED = VerticalPolicy("esim.activated", sweepable=False, goal="activated")
