"""Tracking: what is known of each awaited order, and what that makes due next.

The tracker puts waiters on watches and takes them off, takes in what the probes find
(it is their `Findings`), settles waiters when an order's state ends their wait, and plans
each watch's next check on the agenda. It makes no request and runs no loop: the
scheduler does, and the tracker wakes it when the agenda changes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..clock import Clock
from ..config import PollPolicy
from ..errors import OctopusError
from .agenda import Agenda
from .probes import PollStats
from .waiter import OrderWaiter, SettledBy
from .watches import Vertical, Watch, WatchRegistry

__all__ = ["Tracker"]

logger = logging.getLogger("octopus_async.waiting")


class Tracker:
    """The watches of one scheduler and their agenda; see the module docstring."""

    def __init__(
        self,
        policy: PollPolicy,
        verticals: dict[str, Vertical],
        *,
        clock: Clock,
        stats: PollStats,
        max_hold: float,
        wake: Callable[[], None],
    ) -> None:
        self.policy = policy
        self.watches = WatchRegistry()
        self.agenda = Agenda()
        self._verticals = verticals
        self._clock = clock
        self.stats = stats
        # The longest a server's Retry-After holds a watch back, as for every other call.
        self._max_hold = max_hold
        self._wake = wake

    def settle(self, waiter: OrderWaiter[Any], order: Any, by: SettledBy) -> bool:
        """End `waiter` if `order`, which `by` showed, ends its wait; tell whether it has
        ended."""
        outcome = self._verticals[waiter.vertical].policy.outcome(order, waiter.accept_partial)
        if outcome is None or waiter.done():
            return waiter.done()
        self.stats.settled += 1
        if outcome:
            waiter.resolve(order, by)
        else:
            waiter.fail_order(order, by)
        return True

    def attach(self, waiter: OrderWaiter[Any], *, check_now: bool) -> None:
        """Poll for `waiter`'s order: at once, or on its cadence."""
        vertical = self._verticals[waiter.vertical]
        now = self._clock.time()
        watch, created = self.watches.attach(
            waiter, vertical, born=now - self._age(vertical, waiter.created_at)
        )
        if created:
            watch.order = waiter.order
            if vertical.policy.refresh_by_get:
                self.agenda.refresh_at(watch, now + self.policy.refresh_interval)
        self.agenda.check_by(watch, now if check_now else now + self._interval(watch, now))
        self._wake()

    def detach(self, waiter: OrderWaiter[Any]) -> None:
        """A wait ended: stop polling for its order once nobody waits for it."""
        dropped = self.watches.detach(waiter)
        if dropped is not None:
            self.agenda.forget(dropped)
            self._wake()  # the loop ends when nothing is left to watch

    def replan(self, now: float) -> None:
        """Check every watch at once (after the loop failed, a plan may have been lost)."""
        for vertical in self._verticals.values():
            for watch in vertical.watches:
                if not watch.busy:
                    self.agenda.check_at(watch, now)

    @staticmethod
    def _age(vertical: Vertical, created_at: datetime | None) -> float:
        """How old an order is, by the server's clock: the client's may be off."""
        if created_at is None:
            return 0.0
        return max(0.0, (vertical.source.server_time() - created_at).total_seconds())

    def _interval(self, watch: Watch, now: float) -> float:
        install = watch.vertical.policy.install_phase
        return self.policy.interval(now - watch.born, install=install, rand=self._clock.random)

    # --- what the probes find (`probes.Findings`) -------------------------------------

    def seen(
        self, watch: Watch, order: Any, sequence: int, *, refreshed: bool, nudged: bool
    ) -> None:
        if watch.dropped:
            return
        if watch.order_id is None:
            merged = self.watches.identify(watch, order.id)
            if merged is not watch:
                self.agenda.forget(watch)
                watch = merged
        if not watch.take(order, sequence):
            return  # a newer answer is already in, and it planned the next check
        by: SettledBy = "webhook" if nudged else "poll" if refreshed else "sweep"
        for waiter in list(watch.waiters):
            waiter.observe(order)
            if self.settle(waiter, order, by) and nudged:
                self.stats.settled_after_webhook += 1
        if watch.dropped or all(waiter.done() for waiter in watch.waiters):
            return
        now = self._clock.time()
        self.agenda.check_at(watch, now + self._interval(watch, now))
        if refreshed and watch.vertical.policy.refresh_by_get:
            self.agenda.refresh_at(watch, now + self.policy.refresh_interval)

    def get_needed(self, watch: Watch) -> None:
        if not watch.dropped:
            self.agenda.get_soon([watch])
            self._wake()

    def later(self, watch: Watch, error: OctopusError | None) -> None:
        if watch.dropped:
            return
        now = self._clock.time()
        delay = self._interval(watch, now)
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            retry_after = min(retry_after, self._max_hold)
            delay = max(delay, retry_after)  # the server's Retry-After wins (D30)
            watch.hold_until = now + retry_after
        if error is not None:
            logger.debug(
                "poll for %s order failed (%s); next in %.1f s", watch.vertical.name, error, delay
            )
        self.agenda.check_at(watch, now + delay)
        # A refresh leaves the agenda when it falls due, and a GET's answer plans the next:
        # this GET may have been it, so the next is planned here, or an order whose lists
        # show its state late would be left to sweeps that never show it.
        refresh = watch.next_refresh
        if watch.vertical.policy.refresh_by_get and (math.isinf(refresh) or refresh < now + delay):
            self.agenda.refresh_at(watch, now + delay)

    def stop(self, watch: Watch, error: OctopusError) -> None:
        for waiter in list(watch.waiters):
            waiter.fail(error)

    def swept(self, vertical: Vertical, missed: list[Watch], *, complete: bool) -> None:
        vertical.sweeping = False
        now = self._clock.time()
        for watch in missed:
            # A watch known by reference only, not due yet, keeps its own turn.
            if watch.dropped or (watch.order_id is None and not math.isinf(watch.next_check)):
                continue
            if complete:
                self.agenda.get_soon([watch])  # not in the list: ask for it alone
            else:
                self.agenda.check_at(watch, now + self._interval(watch, now))
        for watch in vertical.parked:  # fell due during the sweep without being part of it
            if math.isinf(watch.next_check) and not watch.busy:
                self.agenda.check_at(watch, now)
        vertical.parked.clear()
        self._wake()
