"""PollScheduler: one per client; finds out when pending orders settle, inside the read budget.

Every order being waited for is a small record (a watch). Its status is due for a check on
the D30 cadence. While a vertical has few watches, due checks become single GETs. Once it
has `PollPolicy.sweep_threshold` or more, a due check starts a sweep instead: list pages,
newest first and as large as allowed, until every watched order of the vertical has been
seen, so one request learns up to a page of statuses (D31). Verticals whose single GET
refreshes state the list shows late (topups, eSIM install state) also get a refreshing GET
per order every `refresh_interval`. Sweeps and GETs each have their share of the poll
budget, itself a share of the client's read quota; GETs for orders a sweep missed or a
webhook named come before refreshing GETs, which still get every other turn.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from .._transport.ratelimit import TokenBucket
from ..config import PollPolicy, Quota
from ..errors import (
    APIConnectionError,
    InvalidRequestError,
    OctopusError,
    OrderFailedError,
    OrderOutcomeUnknownError,
    OrderWaitTimeout,
    RateLimitError,
    ServerError,
)
from ..models._convert import read_id
from ..pagination import Walk
from ..resources._orders import Orders
from .policy import VerticalPolicy
from .waiter import OrderWaiter, ResumeToken

__all__ = ["PollScheduler", "PollStats"]

logger = logging.getLogger("octopus_async.waiting")

_TRANSIENT = (APIConnectionError, ServerError, RateLimitError)


@attrs.define
class PollStats:
    """What polling has cost so far: requests made and orders settled."""

    gets: int = 0
    sweeps: int = 0
    sweep_pages: int = 0
    settled: int = 0
    settled_after_webhook: int = 0  # by the fetch a webhook asked for

    @property
    def requests(self) -> int:
        return self.gets + self.sweep_pages


class _Vertical:
    __slots__ = ("name", "orders", "policy", "sweeping", "watches")

    def __init__(self, policy: VerticalPolicy, orders: Orders[Any]) -> None:
        self.name = policy.name
        self.policy = policy
        self.orders = orders
        self.sweeping = False
        self.watches: set[_Watch] = set()


class _Watch:
    """One order being waited for, by one or more waiters."""

    __slots__ = (
        "born",
        "busy",
        "client_reference",
        "dropped",
        "hold_until",
        "next_check",
        "next_refresh",
        "nudged",
        "order",
        "order_id",
        "queued",
        "vertical",
        "waiters",
    )

    def __init__(
        self, vertical: _Vertical, order_id: int | None, reference: str | None, born: float
    ) -> None:
        self.vertical = vertical
        self.order_id = order_id
        self.client_reference = reference
        self.born = born
        self.order: Any = None
        self.next_check = math.inf
        self.next_refresh = math.inf
        self.busy = False
        self.hold_until = 0.0  # no request before this (a server's Retry-After)
        self.nudged = False  # a webhook asked for the next fetch
        self.queued = False
        self.dropped = False
        self.waiters: list[OrderWaiter[Any]] = []


class PollScheduler:
    """Polls for every waiter of one client; see the module docstring."""

    def __init__(
        self, policy: PollPolicy, read_quota: Quota | None, *, max_hold: float = 60.0
    ) -> None:
        self.policy = policy
        # The longest a server's Retry-After holds a watch back, as for every other call.
        self._max_hold = max_hold
        self.stats = PollStats()
        self._verticals: dict[str, _Vertical] = {}
        self._by_id: dict[tuple[str, int], _Watch] = {}
        self._by_reference: dict[tuple[str, str], _Watch] = {}
        self._checks: list[tuple[float, int, _Watch]] = []
        self._refreshes: list[tuple[float, int, _Watch]] = []
        self._sequence = itertools.count()
        self._urgent: deque[_Watch] = deque()
        self._lazy: deque[_Watch] = deque()
        self._polls = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._creating: set[OrderWaiter[Any]] = set()  # waiters whose create is running
        self._closed = False
        self._lazy_turn = False
        # How long a check waits for a running sweep (never zero: that would spin).
        self._defer = policy.fast_interval * max(policy.jitter, 0.1)
        self._get_budget = _share(read_quota, policy.budget_share * (1 - policy.sweep_share))
        self._sweep_budget = _share(read_quota, policy.budget_share * policy.sweep_share)

    # --- what the resources ask for ---------------------------------------------------------

    def register(self, policy: VerticalPolicy, orders: Orders[Any]) -> None:
        self._verticals[policy.name] = _Vertical(policy, orders)

    @property
    def pending(self) -> int:
        """How many orders are being waited for."""
        return sum(len(vertical.watches) for vertical in self._verticals.values())

    def watch(
        self,
        vertical: str,
        *,
        order: Any,
        order_id: int | None,
        client_reference: str | None,
        timeout: float | None,
        accept_partial: bool,
        created_at: datetime | None = None,
        deadline: datetime | None = None,
    ) -> OrderWaiter[Any]:
        """A waiter for an order that exists (or, with only a reference, may exist)."""
        if not self._verticals[vertical].policy.install_phase:
            created_at = getattr(order, "created_at", None) or created_at
        waiter = self._new_waiter(
            vertical,
            order,
            order_id,
            client_reference,
            created_at,
            timeout,
            deadline,
            accept_partial,
        )
        if order is None or not self._finish(waiter, order):
            self._attach(waiter, check_now=order is None)
        return waiter

    def submit(
        self,
        vertical: str,
        create: Callable[[], Coroutine[Any, Any, Any]],
        *,
        client_reference: str,
        timeout: float | None,
        accept_partial: bool,
    ) -> OrderWaiter[Any]:
        """A waiter that creates its order first, racing the create against its deadline."""
        waiter = self._new_waiter(
            vertical, None, None, client_reference, _utcnow(), timeout, None, accept_partial
        )
        waiter._create = self._spawn(self._created(waiter, create()))
        self._creating.add(waiter)
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
        watch = None
        if order_id is not None:
            watch = self._by_id.get((vertical, order_id))
        if watch is None and client_reference is not None:
            watch = self._by_reference.get((vertical, client_reference))
        if watch is None:
            return False
        watch.nudged = True
        if not watch.queued:
            watch.queued = True
            self._urgent.appendleft(watch)
        self._poke()
        return True

    async def aclose(self) -> None:
        """Stop polling: every pending wait ends with `OrderWaitTimeout` (resume token
        included), and every task of the scheduler stops."""
        self._closed = True
        waiters = [
            w for v in self._verticals.values() for watch in v.watches for w in watch.waiters
        ]
        for waiter in [*waiters, *self._creating]:
            if not waiter.done():
                self._expire(waiter, "the client was closed")
                # Nobody may be awaiting it; the close is no news worth a logged traceback.
                waiter._future.exception()
        tasks = [*self._tasks, *([self._runner] if self._runner else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- waiters ----------------------------------------------------------------------------

    def _new_waiter(
        self,
        vertical: str,
        order: Any,
        order_id: int | None,
        reference: str | None,
        created_at: datetime | None,
        timeout: float | None,
        deadline: datetime | None,
        accept_partial: bool,
    ) -> OrderWaiter[Any]:
        if self._closed:
            raise RuntimeError("this OctopusClient is closed")
        if timeout is not None and not timeout > 0:
            raise InvalidRequestError(f"timeout must be positive, got {timeout!r}", param="timeout")
        if deadline is None:
            if timeout is None:
                install = self._verticals[vertical].policy.install_phase
                timeout = self.policy.install_timeout if install else self.policy.default_timeout
            deadline = _utcnow() + timedelta(seconds=timeout)
        waiter: OrderWaiter[Any] = OrderWaiter(
            self,
            vertical,
            order=order,
            order_id=order_id,
            client_reference=reference,
            created_at=created_at,
            deadline=deadline,
            accept_partial=accept_partial,
        )
        remaining = max(0.0, (deadline - _utcnow()).total_seconds())
        waiter._deadline_timer = asyncio.get_running_loop().call_later(
            remaining, self._expire, waiter
        )
        waiter._future.add_done_callback(lambda _: self._detach(waiter))
        return waiter

    async def _created(self, waiter: OrderWaiter[Any], create: Coroutine[Any, Any, Any]) -> None:
        try:
            order = await create
        except asyncio.CancelledError:
            raise
        except OrderOutcomeUnknownError as error:
            # The order may exist: waiting for it by reference until the deadline is the
            # answer the caller would otherwise have to build (D29).
            logger.warning("%s; waiting for it by reference", error)
            if not waiter.done():
                self._attach(waiter, check_now=False)
            return
        except Exception as error:
            if not waiter.done():
                waiter._future.set_exception(error)
            return
        finally:
            self._creating.discard(waiter)
        if waiter.done():
            return
        waiter.order = order
        waiter.order_id = order.id
        waiter.created_at = getattr(order, "created_at", None) or waiter.created_at
        if not self._finish(waiter, order):
            self._attach(waiter, check_now=False)

    def _finish(self, waiter: OrderWaiter[Any], order: Any) -> bool:
        """Resolve `waiter` if `order` ends its wait; tell whether it did."""
        vertical = self._verticals[waiter.vertical].policy
        outcome = vertical.outcome(order, waiter.accept_partial)
        if outcome is None or waiter.done():
            return waiter.done()
        self.stats.settled += 1
        if outcome:
            waiter._future.set_result(order)
        else:
            waiter._future.set_exception(
                OrderFailedError(
                    order,
                    status=str(order.status),
                    failure_code=getattr(order, "failure_code", None),
                    failure_reason=getattr(order, "failure_reason", None),
                    is_user_fixable=getattr(order, "is_user_fixable", None),
                )
            )
        return True

    def _expire(self, waiter: OrderWaiter[Any], why: str = "the deadline passed") -> None:
        if waiter.done():
            return
        if waiter.order_id is None:
            message = (
                f"order {waiter.client_reference} was not seen: {why}; "
                "if it was created, its client_reference finds it"
            )
        elif waiter.order is None:
            message = f"order {waiter.order_id} was not fetched yet: {why}"
        else:
            message = (
                f"order {waiter.order_id} is still {waiter.order.status}: {why}; "
                "it goes on being fulfilled"
            )
        error = OrderWaitTimeout(message, order=waiter.order, resume_token=waiter.resume_token())
        error.client_reference = waiter.client_reference
        waiter._future.set_exception(error)

    def _detach(self, waiter: OrderWaiter[Any]) -> None:
        """A wait ended: stop its timer and create, and stop polling once nobody waits."""
        if waiter._deadline_timer is not None:
            waiter._deadline_timer.cancel()
        if waiter._create is not None and not waiter._create.done():
            waiter._create.cancel()
        watch = waiter._watch
        if watch is None:
            return
        waiter._watch = None
        if waiter in watch.waiters:
            watch.waiters.remove(waiter)
        if not watch.waiters:
            self._drop(watch)

    # --- watches ----------------------------------------------------------------------------

    def _attach(self, waiter: OrderWaiter[Any], *, check_now: bool) -> None:
        vertical = self._verticals[waiter.vertical]
        watch = None
        if waiter.order_id is not None:
            watch = self._by_id.get((vertical.name, waiter.order_id))
        if watch is None and waiter.client_reference is not None:
            watch = self._by_reference.get((vertical.name, waiter.client_reference))
        now = asyncio.get_running_loop().time()
        if watch is None:
            age = 0.0
            if waiter.created_at is not None:
                age = max(0.0, (_utcnow() - waiter.created_at).total_seconds())
            watch = _Watch(vertical, waiter.order_id, waiter.client_reference, now - age)
            watch.order = waiter.order
            vertical.watches.add(watch)
            self._index(watch)
            if vertical.policy.refresh_by_get:
                self._set_refresh(watch, now + self.policy.refresh_interval)
        watch.waiters.append(waiter)
        waiter._watch = watch
        due = now if check_now else now + self._interval(watch, now)
        if due < watch.next_check:
            self._set_check(watch, due)
        self._ensure_running()

    def _index(self, watch: _Watch) -> None:
        name = watch.vertical.name
        if watch.order_id is not None:
            self._by_id[(name, watch.order_id)] = watch
        if watch.client_reference is not None:
            self._by_reference[(name, watch.client_reference)] = watch

    def _drop(self, watch: _Watch) -> None:
        watch.dropped = True
        watch.vertical.watches.discard(watch)
        self._poke()  # the loop ends when nothing is left to watch
        name = watch.vertical.name
        if watch.order_id is not None and self._by_id.get((name, watch.order_id)) is watch:
            del self._by_id[(name, watch.order_id)]
        reference = watch.client_reference
        if reference is not None and self._by_reference.get((name, reference)) is watch:
            del self._by_reference[(name, reference)]

    def _set_check(self, watch: _Watch, due: float) -> None:
        watch.next_check = due
        heapq.heappush(self._checks, (due, next(self._sequence), watch))
        self._poke()

    def _set_refresh(self, watch: _Watch, due: float) -> None:
        watch.next_refresh = due
        heapq.heappush(self._refreshes, (due, next(self._sequence), watch))

    def _observe(self, watch: _Watch, order: Any, *, refreshed: bool, nudged: bool = False) -> None:
        """Take in the order's latest state, from a GET (`refreshed`) or a sweep; `nudged`
        when a webhook asked for that GET."""
        if watch.dropped:
            return
        if watch.order_id is None:
            watch = self._identify(watch, order.id)
        watch.order = order
        for waiter in list(watch.waiters):
            waiter.order = order
            waiter.order_id = order.id
            if self._finish(waiter, order) and nudged:
                self.stats.settled_after_webhook += 1
        if all(waiter.done() for waiter in watch.waiters):
            return  # the waiters detach as their futures call back
        now = asyncio.get_running_loop().time()
        self._set_check(watch, now + self._interval(watch, now))
        if refreshed and watch.vertical.policy.refresh_by_get:
            self._set_refresh(watch, now + self.policy.refresh_interval)

    def _identify(self, watch: _Watch, order_id: int) -> _Watch:
        """Give a watch known by reference its order id; if another watch has that id
        already (a wait by id for the same order), the two become one."""
        other = self._by_id.get((watch.vertical.name, order_id))
        if other is None or other.dropped:
            watch.order_id = order_id
            self._index(watch)
            return watch
        for waiter in watch.waiters:
            waiter._watch = other
            other.waiters.append(waiter)
        watch.waiters = []
        self._drop(watch)
        if other.client_reference is None:
            other.client_reference = watch.client_reference
            self._index(other)
        return other

    def _interval(self, watch: _Watch, now: float) -> float:
        install = watch.vertical.policy.install_phase
        return self.policy.interval(now - watch.born, install=install)

    def _fail(self, watch: _Watch, error: OctopusError) -> None:
        for waiter in list(watch.waiters):
            if not waiter.done():
                waiter._future.set_exception(error)

    # --- the loop ---------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._runner is None and not self._closed:
            self._runner = asyncio.get_running_loop().create_task(self._run())

    def _poke(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                now = loop.time()
                self._collect(now)
                self._dispatch(now)
                await self._sleep(self._next_wake(now))
        finally:
            self._runner = None
            self._checks.clear()
            self._refreshes.clear()
            self._urgent.clear()
            self._lazy.clear()

    def _collect(self, now: float) -> None:
        # Checks due within the jitter window are taken now, so that orders created
        # around the same time are checked together instead of trickling in one by one.
        horizon = now + self.policy.fast_interval * self.policy.jitter
        due: dict[str, list[_Watch]] = {}
        while self._checks and self._checks[0][0] <= horizon:
            at, _, watch = heapq.heappop(self._checks)
            if watch.dropped or at != watch.next_check or watch.busy:
                continue
            if watch.hold_until > now:
                self._set_check(watch, watch.hold_until)
                continue
            due.setdefault(watch.vertical.name, []).append(watch)
        for name, watches in due.items():
            vertical = self._verticals[name]
            if vertical.sweeping:
                for watch in watches:  # the running sweep will see them
                    self._set_check(watch, now + self._defer)
            elif vertical.policy.sweepable and len(vertical.watches) >= self.policy.sweep_threshold:
                vertical.sweeping = True
                self._spawn(self._sweep(vertical))
            else:
                self._queue(self._urgent, watches)
        while self._refreshes and self._refreshes[0][0] <= now:
            at, _, watch = heapq.heappop(self._refreshes)
            if not watch.dropped and at == watch.next_refresh:
                self._queue(self._lazy, [watch])

    def _queue(self, queue: deque[_Watch], watches: list[_Watch]) -> None:
        for watch in watches:
            if not watch.queued:
                watch.queued = True
                queue.append(watch)

    def _dispatch(self, now: float) -> None:
        while self._polls < self.policy.max_in_flight:
            # Urgent GETs first, but refreshing GETs get every other turn.
            self._lazy_turn = not self._lazy_turn
            if self._urgent and (not self._lazy or not self._lazy_turn):
                queue = self._urgent
            elif self._lazy:
                queue = self._lazy
            else:
                return
            watch = queue[0]
            if watch.dropped or watch.busy or watch.hold_until > now:
                queue.popleft()
                watch.queued = False
                if not watch.dropped and watch.hold_until > now:
                    self._set_check(watch, watch.hold_until)
                continue
            if self._get_budget is not None and not self._get_budget.try_take():
                return
            queue.popleft()
            watch.queued = False
            watch.busy = True
            self._polls += 1
            self._spawn(self._poll(watch))

    def _next_wake(self, now: float) -> float:
        moments = [math.inf]
        if self._checks:
            moments.append(self._checks[0][0])
        if self._refreshes:
            moments.append(self._refreshes[0][0])
        if (self._urgent or self._lazy) and self._polls < self.policy.max_in_flight:
            budget = self._get_budget
            moments.append(now + (budget.wait() if budget else 0.0))
        return max(0.0, min(moments) - now)

    async def _sleep(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        wakeup: asyncio.Future[None] = loop.create_future()
        self._wakeup = wakeup
        timer = None if math.isinf(delay) else loop.call_later(delay, _set_done, wakeup)
        try:
            await wakeup
        finally:
            self._wakeup = None
            if timer is not None:
                timer.cancel()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- the requests -----------------------------------------------------------------------

    async def _poll(self, watch: _Watch) -> None:
        orders = watch.vertical.orders
        # A webhook that arrives while this GET is in flight asks for another one after it.
        nudged, watch.nudged = watch.nudged, False
        try:
            if watch.order_id is not None:
                self.stats.gets += 1
                order = await orders.get(watch.order_id)
            else:
                assert watch.client_reference is not None
                self.stats.gets += 1
                order = await orders.find(watch.client_reference)
                if order is not None and not self._row_suffices(watch.vertical, order):
                    if self._get_budget is not None:  # a second request, paid for
                        await self._get_budget.take()
                    self.stats.gets += 1
                    order = await orders.get(order.id)
        except _TRANSIENT as error:
            self._back_off(watch, error)
        except OctopusError as error:
            logger.warning("stopped waiting for %s order: %s", watch.vertical.name, error)
            self._fail(watch, error)
        except Exception:
            logger.exception("poll for a %s order failed", watch.vertical.name)
            self._back_off(watch, None)
        else:
            if order is None:  # created elsewhere and not visible yet: look again later
                self._back_off(watch, None)
            else:
                self._observe(watch, order, refreshed=True, nudged=nudged)
        finally:
            watch.busy = False
            self._polls -= 1
            if watch.nudged and not watch.dropped:
                self._queue(self._urgent, [watch])
            self._poke()

    @staticmethod
    def _row_suffices(vertical: _Vertical, order: Any) -> bool:
        """Whether a list's copy of `order` tells all that a GET would."""
        policy = vertical.policy
        return (
            policy.sweepable
            and not policy.refresh_by_get
            and not vertical.orders._incomplete(order)
        )

    def _back_off(self, watch: _Watch, error: OctopusError | None) -> None:
        if watch.dropped:
            return
        now = asyncio.get_running_loop().time()
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
        self._set_check(watch, now + delay)
        if watch.next_refresh < now + delay:
            self._set_refresh(watch, now + delay)

    async def _sweep(self, vertical: _Vertical) -> None:
        """Learn the statuses of all watched orders of a vertical from list pages (D31).

        Pages are newest first, so the sweep ends at the page that reaches back past the
        oldest watched order. Orders a complete sweep did not find get a single GET.
        """
        self.stats.sweeps += 1
        name = vertical.name
        unseen: dict[int, _Watch] = {}
        by_reference: dict[str, _Watch] = {}  # known by reference only: matched if listed
        for watch in vertical.watches:
            if watch.order_id is not None:
                unseen[watch.order_id] = watch
            elif watch.client_reference is not None:
                by_reference[watch.client_reference] = watch
        oldest = min(unseen, default=0)
        complete = False
        walk: Walk[Mapping[str, Any]] = Walk(_row_key)
        try:
            number = 1
            while unseen:
                if self._sweep_budget is not None:
                    await self._sweep_budget.take()
                page = await vertical.orders._sweep_page(number)
                self.stats.sweep_pages += 1
                if walk.new(page.items, page.response.path) is None:
                    break  # the server repeats itself: what is unseen gets a GET
                for index, row in enumerate(page.items):
                    row_id, reference = read_id(row.get("id")), row.get("client_reference")
                    listed = unseen.get(row_id) if row_id is not None else None
                    if listed is None and isinstance(reference, str):
                        listed = by_reference.get(reference)
                    if listed is None or listed.dropped:
                        continue
                    try:
                        order = vertical.orders._read_row(page, index)
                    except OctopusError as error:
                        logger.debug("unreadable %s order in a sweep: %s", name, error)
                        continue  # left unseen: it gets a GET of its own
                    if listed.order_id is None:
                        by_reference.pop(reference, None)  # type: ignore[arg-type]
                    else:
                        unseen.pop(listed.order_id, None)
                    if vertical.orders._incomplete(order):
                        self._queue(self._urgent, [listed])  # the list row is not enough
                    else:
                        self._observe(listed, order, refreshed=False)
                last = read_id(page.items[-1].get("id")) if page.items else None
                if not page.has_next or (last is not None and last < oldest):
                    break
                number += 1
            complete = True
        except OctopusError as error:
            logger.debug("sweep of %s orders failed: %s", name, error)
        except Exception:
            logger.exception("sweep of %s orders failed", name)
        finally:
            vertical.sweeping = False
            now = asyncio.get_running_loop().time()
            # Reference-only watches that were not due keep their own turn.
            due = [w for w in by_reference.values() if w.next_check <= now]
            for watch in [*unseen.values(), *due]:
                if watch.dropped:
                    continue
                if complete:
                    self._queue(self._urgent, [watch])  # not in the list: ask for it alone
                else:
                    self._set_check(watch, now + self._interval(watch, now))
            self._poke()


def _row_key(row: Mapping[str, Any]) -> object:
    """What tells a listed row from the others: its id, or the whole row when the id
    cannot be read (a page that repeats such rows must still end the sweep)."""
    row_id = read_id(row.get("id"))
    return row_id if row_id is not None else repr(row)


def _share(quota: Quota | None, share: float) -> TokenBucket | None:
    """A bucket for `share` of `quota`, or None when there is no quota to keep to."""
    if quota is None:
        return None
    return TokenBucket(Quota(max(1, round(quota.requests * share)), quota.period), headroom=0.0)


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)
