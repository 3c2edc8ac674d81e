"""PollScheduler: one per client; finds out when pending orders settle, inside the read budget.

Every order being waited for is a watch. Its status is due for a check on the D30 cadence.
While a vertical has few watches, due checks become single GETs. Once it has
`PollPolicy.sweep_threshold` or more, a due check starts a sweep instead: list pages,
newest first and as large as allowed, until every watched order of the vertical has been
seen, so one request learns up to a page of statuses (D31). Verticals whose single GET
refreshes state the list shows late (topups, eSIM install state) also get a refreshing GET
per order every `refresh_interval`. Sweeps and GETs each have their share of the poll
budget, itself a share of the client's read quota; GETs a webhook asked for go first,
then those for orders a sweep missed, and refreshing GETs get every other turn.

This module holds the front door the resources use, and the loop with its supervision. The
parts are beside it: `waiter` (one wait's future, deadline and create), `watches` (waits
merged per order), `agenda` (what is due when), `probes` (the requests), `tracker` (what
the probes find, and what it makes due next).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, TypeVar

from ..clock import Clock
from ..config import PollPolicy, Quota
from ..errors import (
    InvalidRequestError,
    OrderOutcomeUnknownError,
    PollingStoppedError,
)
from ..resources._orders import OrderSource
from .events import WaitEnded, WaitEvent, WaitHook, WaitStarted
from .policy import VerticalPolicy
from .probes import PollStats, Probes
from .tracker import Tracker
from .waiter import OrderWaiter, ResumeToken
from .watches import Vertical, Watch

__all__ = ["PollScheduler", "PollStats"]

logger = logging.getLogger("octopus_async.waiting")

O = TypeVar("O")  # noqa: E741

_SHORTEST_SLEEP = 1e-6


class PollScheduler:
    """Polls for every waiter of one client; see the module docstring.

    If its loop fails, the failure is logged at ERROR and the loop restarts with every
    pending wait checked at once; a second failure within `PollPolicy.fast_period` ends
    every pending wait with `PollingStoppedError`, which carries its resume token.
    """

    def __init__(
        self,
        policy: PollPolicy,
        read_quota: Quota | None,
        *,
        max_hold: float = 60.0,
        clock: Clock | None = None,
        hooks: Sequence[WaitHook] = (),
    ) -> None:
        self.policy = policy
        self._hooks = tuple(hooks)
        self._clock = clock if clock is not None else Clock()
        self.stats = PollStats()
        self._verticals: dict[str, Vertical] = {}
        self._tracker = Tracker(
            policy,
            self._verticals,
            clock=self._clock,
            stats=self.stats,
            max_hold=max_hold,
            wake=self._poke,
        )
        self._watches = self._tracker.watches
        self._agenda = self._tracker.agenda
        self._probes = Probes(policy, read_quota, self._tracker, self._clock, self.stats)
        self._creating: set[OrderWaiter[Any]] = set()  # waiters whose create is running
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._in_flight = 0
        self._last_failure = -math.inf
        self._closed = False

    # --- what the resources and the client ask for --------------------------------------

    @property
    def pending(self) -> int:
        """How many orders are being waited for."""
        return len(self._watches)

    @property
    def agenda_size(self) -> int:
        """How many entries the scheduler's queues hold: it follows `pending`."""
        return self._agenda.size

    def register(self, policy: VerticalPolicy, source: OrderSource[Any]) -> None:
        """Poll the orders of `policy.name` through `source`."""
        self._verticals[policy.name] = Vertical(policy, source)

    def watch(
        self,
        vertical: str,
        *,
        order: O | None,
        order_id: int | None,
        client_reference: str | None,
        timeout: float | None,
        accept_partial: bool,
        created_at: datetime | None = None,
        deadline: datetime | None = None,
    ) -> OrderWaiter[O]:
        """A waiter for an order that exists (or, with only a reference, may exist)."""
        if not self._verticals[vertical].policy.install_phase:
            created_at = getattr(order, "created_at", None) or created_at
        waiter: OrderWaiter[O] = self._new_waiter(
            vertical,
            order,
            order_id,
            client_reference,
            created_at,
            timeout,
            deadline,
            accept_partial,
        )
        if order is None or not self._tracker.settle(waiter, order, "given"):
            self._attach(waiter, check_now=order is None)
        return waiter

    def submit(
        self,
        vertical: str,
        create: Callable[[bool], Awaitable[O]],
        *,
        client_reference: str,
        timeout: float | None,
        accept_partial: bool,
    ) -> OrderWaiter[O]:
        """A waiter that creates its order first, racing the create against its deadline.

        `create(may_exist)` creates the order. While its outcome is unknown
        (`OrderOutcomeUnknownError`), it is called again every check interval with
        `may_exist=True`, which looks the reference up and sends the create again only if
        no order shows (D25).
        """
        waiter: OrderWaiter[O] = self._new_waiter(
            vertical, None, None, client_reference, None, timeout, None, accept_partial
        )
        self._creating.add(waiter)
        waiter.start(self._created(waiter, create))
        return waiter

    def resume(self, token: str, timeout: float | None) -> OrderWaiter[Any]:
        """Continue a wait from `OrderWaiter.resume_token()`."""
        parsed = ResumeToken.decode(token)
        if parsed.vertical not in self._verticals:
            raise InvalidRequestError(f"unknown vertical {parsed.vertical!r}", param="token")
        # A token from a wait that timed out is past its deadline: resuming it means
        # waiting again, for `timeout` or the default, not failing at once.
        deadline = parsed.deadline if timeout is None and parsed.deadline > _utcnow() else None
        return self.watch(
            parsed.vertical,
            order=None,
            order_id=parsed.order_id,
            client_reference=parsed.client_reference,
            timeout=timeout,
            accept_partial=parsed.accept_partial,
            created_at=parsed.created_at,
            deadline=deadline,
        )

    def nudge(
        self, vertical: str, *, order_id: int | None = None, client_reference: str | None = None
    ) -> bool:
        """Fetch this order at once if it is being waited for (a webhook said it changed)."""
        watch = self._watches.find(vertical, order_id=order_id, client_reference=client_reference)
        if watch is None:
            return False
        watch.nudged = True
        if not watch.busy:  # else the GET in flight asks for another when it ends
            self._agenda.get_soon([watch], nudged=True)
        self._poke()
        return True

    async def aclose(self) -> None:
        """Stop polling: every pending wait ends with `OrderWaitTimeout` (resume token
        included), and every task of the scheduler stops."""
        self._closed = True
        for waiter in [*self._watches.waiters(), *self._creating]:
            if not waiter.done():
                waiter.expire("the client was closed")
                # Nobody may be awaiting it; the close is no news worth a logged traceback.
                waiter.exception()
        tasks = [*self._tasks, *([self._runner] if self._runner else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- waiters ------------------------------------------------------------------------

    def _new_waiter(
        self,
        vertical: str,
        order: O | None,
        order_id: int | None,
        reference: str | None,
        created_at: datetime | None,
        timeout: float | None,
        deadline: datetime | None,
        accept_partial: bool,
    ) -> OrderWaiter[O]:
        if self._closed:
            raise RuntimeError("this OctopusClient is closed")
        if timeout is not None and not timeout > 0:
            raise InvalidRequestError(f"timeout must be positive, got {timeout!r}", param="timeout")
        now = _utcnow()
        if deadline is None:
            if timeout is None:
                install = self._verticals[vertical].policy.install_phase
                timeout = self.policy.install_timeout if install else self.policy.default_timeout
            deadline = now + timedelta(seconds=timeout)
        waiter: OrderWaiter[O] = OrderWaiter(
            vertical,
            order=order,
            order_id=order_id,
            client_reference=reference,
            created_at=created_at,
            deadline=deadline,
            expires_in=(deadline - now).total_seconds(),
            accept_partial=accept_partial,
            clock=self._clock,
        )
        waiter.add_done_callback(self._detach)
        if self._hooks:
            self._report(WaitStarted(vertical, waiter.order_id, reference))
            waiter.add_done_callback(partial(self._ended, began=self._clock.time()))
        return waiter

    def _ended(self, waiter: OrderWaiter[Any], *, began: float) -> None:
        completed_at = getattr(waiter.order, "completed_at", None)
        detected_after = None
        if waiter.settled_by is not None and isinstance(completed_at, datetime):
            server_now = self._verticals[waiter.vertical].source.server_time()
            detected_after = max(0.0, (server_now - completed_at).total_seconds())
        self._report(
            WaitEnded(
                waiter.vertical,
                waiter.order_id,
                waiter.client_reference,
                waiter.outcome or "error",
                waiter.settled_by,
                self._clock.time() - began,
                detected_after,
            )
        )

    def _report(self, event: WaitEvent) -> None:
        for hook in self._hooks:
            try:
                hook(event)
            except Exception:
                logger.exception("a wait hook raised; the wait goes on")

    async def _created(
        self, waiter: OrderWaiter[O], create: Callable[[bool], Awaitable[O]]
    ) -> None:
        began = self._clock.time()
        unknown = 0
        try:
            while True:
                try:
                    order = await create(unknown > 0)
                    break
                except OrderOutcomeUnknownError as error:
                    # The order may exist, or may never have been made: waiting for it by
                    # reference alone could wait out the deadline for an order that is not
                    # there. Ask again until the deadline ends the wait (D25, D29).
                    age = self._clock.time() - began
                    delay = self.policy.interval(age, rand=self._clock.random)
                    log = logger.warning if unknown == 0 else logger.info
                    log("%s; looking it up again in %.1f s", error, delay)
                    unknown += 1
                    await self._clock.sleep(delay)
        except Exception as error:
            waiter.fail(error)
            return
        finally:
            self._creating.discard(waiter)
        if waiter.done():
            return
        waiter.observe(order)
        waiter.created_at = getattr(order, "created_at", None)
        if not self._tracker.settle(waiter, order, "create"):
            self._attach(waiter, check_now=False)

    def _attach(self, waiter: OrderWaiter[Any], *, check_now: bool) -> None:
        self._tracker.attach(waiter, check_now=check_now)
        self._ensure_running()

    def _detach(self, waiter: OrderWaiter[Any]) -> None:
        self._creating.discard(waiter)
        self._tracker.detach(waiter)

    # --- the loop and its supervision ---------------------------------------------------

    def _ensure_running(self) -> None:
        if self._runner is None and not self._closed:
            # The loop serves every waiter, so it runs in a context of its own: what it
            # sends belongs to no caller's context (a trace's current span, say), not to
            # whichever caller happened to start it.
            create_task = asyncio.get_running_loop().create_task
            self._runner = contextvars.Context().run(create_task, self._supervise())

    def _poke(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _supervise(self) -> None:
        try:
            while True:
                try:
                    await self._loop()
                    return  # nothing left to wait for
                except Exception as failure:
                    if not self._restart(failure):
                        return
        finally:
            self._runner = None
            if not self._watches:
                self._agenda.clear()

    def _restart(self, failure: Exception) -> bool:
        """After the loop failed: plan a check of every watch now and go on, unless it
        failed within the last `fast_period` too; then end every wait (False)."""
        now = self._clock.time()
        if now - self._last_failure < self.policy.fast_period:
            logger.error(
                "the poll loop failed twice within %.0f s; ending every pending wait with "
                "its resume token",
                self.policy.fast_period,
                exc_info=failure,
            )
            for waiter in self._watches.waiters():
                waiter.expire("polling failed twice in a short time", PollingStoppedError)
            return False
        self._last_failure = now
        logger.error("the poll loop failed; restarting it", exc_info=failure)
        self._tracker.replan(now)
        return True

    async def _loop(self) -> None:
        while self._watches:
            now = self._clock.time()
            self._collect(now)
            self._dispatch(now)
            await self._sleep(self._next_wake(now))

    def _collect(self, now: float) -> None:
        # Checks due within the jitter window are taken now, so that orders created
        # around the same time are checked together instead of trickling in one by one.
        horizon = now + self.policy.fast_interval * self.policy.jitter
        due: dict[Vertical, list[Watch]] = {}
        for watch in self._agenda.due_checks(horizon):
            if watch.busy:
                continue  # its GET's answer plans the next check
            if watch.hold_until > now:
                self._agenda.check_at(watch, watch.hold_until)
                continue
            due.setdefault(watch.vertical, []).append(watch)
        for vertical, watches in due.items():
            if vertical.sweeping:
                vertical.parked.update(watches)  # checked when the sweep ends
            elif vertical.policy.sweepable and len(vertical.watches) >= self.policy.sweep_threshold:
                self._spawn(self._probes.sweep(vertical))
                vertical.sweeping = True  # only once the sweep exists: it alone clears this
            else:
                self._agenda.get_soon(watches)
        for watch in self._agenda.due_refreshes(now):
            self._agenda.refresh_soon(watch)

    def _dispatch(self, now: float) -> None:
        while self._in_flight < self.policy.max_in_flight:
            watch = self._agenda.next_get()
            if watch is None:
                return
            if watch.dropped or watch.busy or watch.hold_until > now:
                self._agenda.taken(watch)
                if not watch.dropped and watch.hold_until > now:
                    self._agenda.check_at(watch, watch.hold_until)
                continue
            if not self._probes.may_get():
                return
            self._agenda.taken(watch)
            watch.busy = True
            self._in_flight += 1
            self._spawn(self._get(watch))

    async def _get(self, watch: Watch) -> None:
        try:
            await self._probes.get(watch)
        except Exception:
            # A defect in taking the answer in: the watch must not go silent for it.
            logger.exception("the answer to a poll for a %s order was lost", watch.vertical.name)
            self._tracker.later(watch, None)
        finally:
            watch.busy = False
            self._in_flight -= 1
            if watch.nudged and not watch.dropped:
                self._agenda.get_soon([watch], nudged=True)
            self._poke()

    def _next_wake(self, now: float) -> float:
        moment = self._agenda.next_due()
        if self._agenda.has_gets and self._in_flight < self.policy.max_in_flight:
            moment = min(moment, now + self._probes.get_budget_wait())
        delay = moment - now
        # Float sums leave some moments a hair after the clock's reading: a sleep shorter
        # than the clock can tell would wake at the same reading, over and over.
        return 0.0 if delay <= 0 else max(delay, _SHORTEST_SLEEP)

    async def _sleep(self, delay: float) -> None:
        wakeup: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wakeup = wakeup
        timer = None if math.isinf(delay) else self._clock.call_later(delay, self._poke)
        try:
            await wakeup
        finally:
            self._wakeup = None
            if timer is not None:
                timer.cancel()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)
