"""Events the poll scheduler reports to wait hooks: a wait began, a wait ended.

A wait hook is a plain callable taking a `WaitEvent`, given to the client with
``OctopusClient(..., wait_hooks=[hook])``. Hooks run inline on the event loop, so they
must be quick; an exception a hook raises is logged and otherwise ignored. Events carry
no order body, so no code or PIN can reach a hook.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = ["WaitEnded", "WaitEvent", "WaitHook", "WaitStarted"]


@attrs.frozen
class WaitEvent:
    """One wait for one order of `vertical`, with its id and reference as known then."""

    vertical: str
    order_id: int | None
    client_reference: str | None


@attrs.frozen
class WaitStarted(WaitEvent):
    """A wait began (`submit`, `wait`, `resume`)."""


@attrs.frozen
class WaitEnded(WaitEvent):
    """A wait ended after `elapsed` seconds.

    `outcome` is "succeeded", "failed" (the order failed or was cancelled), "timeout" (the
    deadline passed, or the client closed or stopped polling), "cancelled" (by its caller)
    or "error" (its create was refused). `settled_by` says what showed a succeeded or
    failed outcome (see `OrderWaiter.settled_by`). `detected_after` is how long after the
    order completed, by the server's clock, the wait saw it: known only for orders that
    say when they completed (topups' `completed_at`), else None.
    """

    outcome: str
    settled_by: str | None
    elapsed: float
    detected_after: float | None


WaitHook = Callable[[WaitEvent], None]
