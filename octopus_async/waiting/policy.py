"""What ends a wait, per vertical (D27); the cadence itself is `config.PollPolicy` (D30)."""

from __future__ import annotations

import attrs

__all__ = ["ESIM", "TOPUPS", "VOUCHERS", "VerticalPolicy"]


@attrs.frozen
class VerticalPolicy:
    """Which statuses end a wait for one vertical (D27).

    `partial` statuses end it only for waits that accept partial results.
    `refresh_by_get` marks verticals whose single GET refreshes state that lists may show
    late or never (topups' live status, eSIM install state), so sweeps cannot replace it.
    """

    name: str
    succeeded: frozenset[str]
    failed: frozenset[str]
    partial: frozenset[str] = frozenset()
    refresh_by_get: bool = False

    def outcome(self, status: str, accept_partial: bool) -> bool | None:
        """True when `status` ends the wait with the order, False with a failure, else None."""
        if status in self.succeeded or (accept_partial and status in self.partial):
            return True
        if status in self.failed:
            return False
        return None


VOUCHERS = VerticalPolicy(
    "vouchers",
    succeeded=frozenset({"DELIVERED"}),
    failed=frozenset({"FAILED", "CANCELLED"}),
    partial=frozenset({"PARTIALLY_DELIVERED"}),
)
TOPUPS = VerticalPolicy(
    "topups",
    succeeded=frozenset({"DELIVERED", "RECHARGED"}),
    failed=frozenset({"FAILED", "CANCELLED"}),
    refresh_by_get=True,
)
ESIM = VerticalPolicy(
    "esim",
    succeeded=frozenset({"DELIVERED"}),
    failed=frozenset({"FAILED", "CANCELLED"}),
    refresh_by_get=True,
)
