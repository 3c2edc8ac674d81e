"""PollScheduler against a scripted vertical: which requests it makes, and when waits end.

The vertical's orders live in `Vertical.server`; each request the scheduler makes is
recorded in `Vertical.calls`. Time is virtual (looptime): a test waits for the outcome,
never for a number of seconds. The end-to-end tests cover the same machinery against the
sandbox; these pin down the cases a server cannot be made to produce on cue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from support import api_response

from octopus_async import (
    APIConnectionError,
    Clock,
    OrderOutcomeUnknownError,
    OrderWaitTimeout,
    PollingStoppedError,
    PollPolicy,
    RateLimitError,
)
from octopus_async.pagination import Page
from octopus_async.waiting.agenda import Agenda
from octopus_async.waiting.policy import VerticalPolicy
from octopus_async.waiting.scheduler import PollScheduler
from octopus_async.waiting.tracker import Tracker
from octopus_async.waiting.watches import Vertical as WatchedVertical
from octopus_async.waiting.watches import Watch

# Checks every 20 ms, no jitter, sweeps only when a test asks for them.
QUICK = PollPolicy(
    fast_interval=0.02, slow_interval=0.02, jitter=0.0, refresh_interval=30, sweep_threshold=100
)
LISTS_TELL_ALL = VerticalPolicy("things", succeeded=frozenset({"DELIVERED"}))
GET_REFRESHES = VerticalPolicy("things", succeeded=frozenset({"DELIVERED"}), refresh_by_get=True)


@attrs.define
class Order:
    id: int
    status: str = "PENDING"
    client_reference: str | None = None
    codes: bool = True  # False: a delivery listed without its codes
    listed: bool = True  # False: only its GET shows it
    listed_as: str | None = None  # the status lists show, when only its GET shows the new one
    created_at: datetime | None = None
    installed: bool = False


class Vertical:
    """The orders endpoints of one vertical, scripted: an `OrderSource`."""

    def __init__(self) -> None:
        self.server: dict[int, Order] = {}
        self.calls: list[tuple[str, object]] = []
        self.gate = asyncio.Event()  # GETs answer only while it is set
        self.gate.set()
        self.page_gate = asyncio.Event()  # so do list pages
        self.page_gate.set()
        self.page_delay = 0.0  # seconds each list page takes
        self.failures: list[BaseException] = []  # raised by the next GETs, in turn
        self.endless = False  # every page is the first, and says more follow
        self.junk: list[dict[str, Any]] = []  # rows on every page whose ids cannot be read
        self.clock_offset = timedelta(0)  # the server's clock minus the client's
        self.progress = asyncio.Event()  # set when a request arrives and when it is answered

    def add(self, order_id: int, status: str = "PENDING", **fields: Any) -> Order:
        self.server[order_id] = Order(order_id, status, **fields)
        return self.server[order_id]

    async def get(self, order_id: int) -> Order:
        self._arrived("get", order_id)
        answer = attrs.evolve(self.server[order_id])  # the state when the GET arrived
        await self.gate.wait()
        self.progress.set()
        if self.failures:
            raise self.failures.pop(0)
        return answer

    async def find(self, client_reference: str) -> Order | None:
        self._arrived("find", client_reference)
        found = [o for o in self.server.values() if o.client_reference == client_reference]
        return attrs.evolve(found[0]) if found else None

    async def sweep_page(self, number: int) -> Page[Mapping[str, Any]]:
        self._arrived("page", number)
        listed = (o for o in sorted(self.server.values(), key=lambda o: -o.id) if o.listed)
        rows = (*(_row(o) for o in listed), *self.junk)  # the state when it arrived
        if self.page_delay:
            await asyncio.sleep(self.page_delay)
        await self.page_gate.wait()
        self.progress.set()
        headers = {"X-Has-More": "true"} if self.endless else {}
        return Page(rows, number, 500, api_response([], headers))

    def read_row(self, page: Page[Mapping[str, Any]], index: int) -> Order:
        return Order(**page.items[index])

    def lacks_detail(self, order: Order) -> bool:
        return order.status == "DELIVERED" and not order.codes

    def server_time(self) -> datetime:
        return datetime.now(timezone.utc) + self.clock_offset

    def _arrived(self, kind: str, target: object) -> None:
        self.calls.append((kind, target))
        self.progress.set()

    def requests(self, kind: str) -> list[object]:
        return [target for made, target in self.calls if made == kind]


def _row(order: Order) -> dict[str, Any]:
    row = attrs.asdict(order)
    if order.listed_as is not None:
        row["status"] = order.listed_as
    return row


@pytest.fixture
async def scheduler():
    created = PollScheduler(QUICK, None, max_hold=0.05)
    yield created
    await created.aclose()


async def until(vertical: Vertical, condition: Any) -> None:
    """Wait until `condition()` holds, looking again whenever a request reaches `vertical`
    or is answered: the scheduler takes an answer in before it next yields."""
    while not condition():
        vertical.progress.clear()
        await vertical.progress.wait()


def wait(scheduler: PollScheduler, **target: Any):
    target.setdefault("order_id", None)
    target.setdefault("client_reference", None)
    target.setdefault("timeout", 5)
    return scheduler.watch("things", order=None, accept_partial=False, **target)


def rate_limited(retry_after: float | None) -> RateLimitError:
    """A 429 as the transport raises it once its retries are spent."""
    limited = RateLimitError(
        status=429,
        code="TOO_MANY_REQUESTS",
        name=None,
        message="slow down",
        request_id="r",
        headers={},
        body="",
    )
    limited.retry_after = retry_after
    return limited


async def test_a_webhook_during_a_get_asks_for_another_at_once():
    slow = attrs.evolve(QUICK, fast_interval=30.0, slow_interval=30.0)
    scheduler = PollScheduler(slow, None)
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    vertical.add(1)
    vertical.gate.clear()
    waiter = wait(scheduler, order_id=1)
    await until(vertical, lambda: vertical.calls)  # the first GET is in flight, holding PENDING

    vertical.server[1].status = "DELIVERED"
    assert scheduler.nudge("things", order_id=1)
    vertical.gate.set()

    # Without the second GET the wait would go on for the next check, 30 s away.
    order = await asyncio.wait_for(waiter, 1)
    assert order.status == "DELIVERED"
    assert vertical.requests("get") == [1, 1]
    assert scheduler.stats.settled_after_webhook == 1
    await scheduler.aclose()


async def test_a_poll_that_fails_unexpectedly_is_logged_and_tried_again(scheduler, caplog):
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    vertical.add(1, "DELIVERED")
    vertical.failures.append(RuntimeError("a bug in a hook"))

    order = await asyncio.wait_for(wait(scheduler, order_id=1), 1)

    assert order.status == "DELIVERED"
    assert vertical.requests("get") == [1, 1]
    [record] = [r for r in caplog.records if r.name == "octopus_async.waiting"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


async def test_a_retry_after_holds_a_wait_back_no_longer_than_the_client_allows(scheduler):
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    vertical.add(1, "DELIVERED")
    vertical.failures.append(rate_limited(3600.0))

    order = await asyncio.wait_for(wait(scheduler, order_id=1), 1)  # held 0.05 s, not an hour

    assert order.status == "DELIVERED"


@pytest.mark.parametrize(
    ("policy", "requests"),
    [(LISTS_TELL_ALL, [("find", "ref-7")]), (GET_REFRESHES, [("find", "ref-7"), ("get", 7)])],
    ids=["the-list-row-tells-all", "only-a-get-tells"],
)
async def test_an_order_known_by_reference_is_found_then_fetched_only_if_needed(
    scheduler, policy, requests
):
    vertical = Vertical()
    scheduler.register(policy, vertical)
    vertical.add(7, "DELIVERED", client_reference="ref-7")

    order = await asyncio.wait_for(wait(scheduler, client_reference="ref-7"), 1)

    assert order.id == 7
    assert vertical.calls == requests
    assert scheduler.stats.gets == len(requests)


async def test_a_listed_delivery_without_codes_is_fetched_whole(scheduler):
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    vertical.add(7, "DELIVERED", client_reference="ref-7", codes=False)

    await asyncio.wait_for(wait(scheduler, client_reference="ref-7"), 1)

    assert vertical.calls == [("find", "ref-7"), ("get", 7)]


async def test_waits_by_reference_and_by_id_for_one_order_become_one_watch(scheduler):
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    vertical.add(7, client_reference="ref-7")
    by_id = wait(scheduler, order_id=7)
    by_reference = wait(scheduler, client_reference="ref-7")
    assert scheduler.pending == 2

    await until(vertical, lambda: by_reference.order_id == 7)  # a lookup told the reference's id
    assert scheduler.pending == 1
    calls_before = len(vertical.calls)
    vertical.server[7].status = "DELIVERED"

    first, second = await asyncio.wait_for(asyncio.gather(by_id, by_reference), 1)
    assert first == second
    assert vertical.calls[calls_before:] == [("get", 7)]  # one GET serves both


async def test_a_sweep_reads_every_watch_from_one_page():
    sweeping = PollScheduler(attrs.evolve(QUICK, sweep_threshold=2), None)
    vertical = Vertical()
    sweeping.register(LISTS_TELL_ALL, vertical)
    vertical.add(1, "DELIVERED")
    vertical.add(2, "DELIVERED", codes=False)
    vertical.add(3, "DELIVERED", client_reference="ref-3")
    waits = [wait(sweeping, order_id=1), wait(sweeping, order_id=2)]
    waits.append(wait(sweeping, client_reference="ref-3"))

    orders = await asyncio.wait_for(asyncio.gather(*waits), 1)

    assert [order.id for order in orders] == [1, 2, 3]
    assert vertical.requests("page") == [1]
    assert vertical.requests("get") == [2]  # listed without its codes
    assert vertical.requests("find") == []  # matched in the page by its reference
    await sweeping.aclose()


async def test_a_create_of_unknown_outcome_is_asked_again_until_it_answers(scheduler, caplog):
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    asked: list[bool] = []

    async def create(may_exist: bool) -> Order:
        asked.append(may_exist)
        if len(asked) < 3:  # the answer lost, then a lookup that failed
            raise OrderOutcomeUnknownError(
                "its answer was lost", client_reference="ref-5", last_error=None
            )
        return vertical.add(5, "DELIVERED", client_reference="ref-5")

    waiter = scheduler.submit(
        "things", create, client_reference="ref-5", timeout=60, accept_partial=False
    )

    order = await asyncio.wait_for(waiter, 30)
    assert order.id == 5
    assert waiter.settled_by == "create"
    assert asked == [False, True, True]  # again with a lookup first, never blindly
    assert "looking it up again" in caplog.text


async def test_a_create_unknown_to_the_end_ends_the_wait_with_its_reference(scheduler):
    asked: list[bool] = []

    async def create(may_exist: bool) -> Order:
        asked.append(may_exist)
        raise OrderOutcomeUnknownError("lookups fail", client_reference="ref-6", last_error=None)

    waiter = scheduler.submit(
        "things", create, client_reference="ref-6", timeout=2, accept_partial=False
    )

    with pytest.raises(OrderWaitTimeout, match="ref-6 was not seen") as caught:
        await waiter
    assert caught.value.order is None
    assert caught.value.client_reference == "ref-6"
    assert asked[0] is False
    assert len(asked) > 1
    assert all(asked[1:])


async def test_closing_ends_every_wait_with_a_resume_token(scheduler):
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    vertical.add(1)
    waiter = wait(scheduler, order_id=1)

    await scheduler.aclose()

    with pytest.raises(OrderWaitTimeout, match="the client was closed") as caught:
        await waiter
    assert caught.value.resume_token == waiter.resume_token()


@pytest.mark.parametrize("junk", [[], [{"id": "not-a-number"}, {"id": None}]], ids=["", "junk"])
async def test_a_sweep_of_a_list_that_ignores_the_page_number_ends(caplog, junk):
    sweeping = PollScheduler(attrs.evolve(QUICK, sweep_threshold=2), None)
    vertical = Vertical()
    vertical.endless = True
    vertical.junk = junk  # rows without a readable id repeat too, and still end it
    sweeping.register(LISTS_TELL_ALL, vertical)
    vertical.add(1, "DELIVERED")
    vertical.add(2, "DELIVERED", listed=False)  # a sweep that went on would never see it

    orders = await asyncio.wait_for(
        asyncio.gather(wait(sweeping, order_id=1), wait(sweeping, order_id=2)), 1
    )

    assert [order.id for order in orders] == [1, 2]
    assert vertical.requests("page") == [1, 2]  # page 2 repeats page 1: the sweep ends
    assert vertical.requests("get") == [2]  # what no page showed gets a GET of its own
    assert "brought no item not seen earlier" in caplog.text
    await sweeping.aclose()


def failing(times: int, original: Any) -> Any:
    """`original`, raising RuntimeError on its first `times` calls."""
    calls = {"n": 0}

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise RuntimeError("injected defect")
        return original(self, *args, **kwargs)

    return method


async def test_a_loop_failure_is_logged_and_every_wait_still_settles(monkeypatch, caplog):
    scheduler = PollScheduler(QUICK, None)
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    for order_id in (1, 2, 3):
        vertical.add(order_id, "DELIVERED")
    monkeypatch.setattr(Agenda, "due_checks", failing(1, Agenda.due_checks))

    orders = await asyncio.wait_for(
        asyncio.gather(*(wait(scheduler, order_id=order_id) for order_id in (1, 2, 3))), 1
    )

    assert [order.id for order in orders] == [1, 2, 3]
    [record] = [r for r in caplog.records if "poll loop failed" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "injected defect" in str(record.exc_info[1])
    await scheduler.aclose()


async def test_a_second_loop_failure_soon_after_ends_every_wait_with_its_token(monkeypatch):
    scheduler = PollScheduler(QUICK, None)
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    vertical.add(1)
    vertical.add(2, client_reference="ref-2")
    monkeypatch.setattr(Agenda, "due_checks", failing(2, Agenda.due_checks))
    waits = [wait(scheduler, order_id=1), wait(scheduler, client_reference="ref-2")]

    for waiter in waits:
        with pytest.raises(PollingStoppedError) as caught:
            await asyncio.wait_for(waiter, 1)
        assert isinstance(caught.value, OrderWaitTimeout)  # handled like any ended wait
        assert caught.value.resume_token == waiter.resume_token()
    await asyncio.sleep(0)  # the waits' done callbacks take them off their watches
    assert scheduler.pending == 0

    # The scheduler goes on serving new waits.
    vertical.server[1].status = "DELIVERED"
    assert (await asyncio.wait_for(wait(scheduler, order_id=1), 1)).id == 1
    await scheduler.aclose()


@pytest.fixture
async def two_pending():
    """A scheduler that sweeps from two waits on, and a vertical with two pending orders."""
    sweeping = PollScheduler(attrs.evolve(QUICK, sweep_threshold=2), None)
    vertical = Vertical()
    sweeping.register(LISTS_TELL_ALL, vertical)
    vertical.add(1, "PENDING")
    vertical.add(2, "PENDING")
    yield sweeping, vertical
    await sweeping.aclose()


async def test_an_older_answer_never_replaces_a_newer_one(two_pending):
    sweeping, vertical = two_pending
    vertical.page_gate.clear()
    first, _ = wait(sweeping, order_id=1), wait(sweeping, order_id=2)
    await until(
        vertical, lambda: vertical.requests("page")
    )  # a sweep read PENDING, not answered yet

    vertical.server[1].status = "PROCESSING"
    assert sweeping.nudge("things", order_id=1)  # a GET starts after the page did...
    await until(vertical, lambda: first.order is not None)  # ...and answers first
    assert first.order.status == "PROCESSING"
    vertical.page_gate.set()  # the page, older, arrives last
    await until(vertical, lambda: sweeping.stats.sweep_pages == 1)  # its rows are read with it

    assert first.order.status == "PROCESSING"


async def test_a_sweep_leaves_an_order_to_its_get_in_flight(two_pending):
    sweeping, vertical = two_pending
    vertical.gate.clear()  # GETs hang
    first, second = wait(sweeping, order_id=1), wait(sweeping, order_id=2)
    assert sweeping.nudge("things", order_id=1)
    await until(vertical, lambda: vertical.requests("get") == [1])  # order 1's GET is in flight
    vertical.server[1].status = vertical.server[2].status = "DELIVERED"

    assert (await asyncio.wait_for(second, 1)).id == 2  # a sweep told order 2...
    assert first.order is None  # ...and left order 1 to its GET
    assert vertical.requests("get") == [1]
    vertical.gate.set()
    assert (await asyncio.wait_for(first, 1)).status == "DELIVERED"


@pytest.mark.parametrize(
    "failure",
    [
        APIConnectionError("connection reset", method="GET", path="/things/1", request_id="r"),
        rate_limited(3600.0),
    ],
    ids=["dropped", "retry-after"],
)
async def test_a_refreshing_get_that_failed_is_planned_again(failure):
    # Three waits, so checks are sweeps, and lists show order 1 PENDING: only a refreshing
    # GET tells its delivery. The first fails; without another, the wait lasts to its deadline.
    policy = attrs.evolve(QUICK, sweep_threshold=2, refresh_interval=1.0)
    sweeping = PollScheduler(policy, None, max_hold=0.05)
    vertical = Vertical()
    sweeping.register(GET_REFRESHES, vertical)
    vertical.add(1, "DELIVERED", listed_as="PENDING")
    vertical.add(2)
    vertical.add(3)
    vertical.failures.append(failure)  # the first GET: order 1's first refresh
    delivered = wait(sweeping, order_id=1, timeout=30)
    others = [wait(sweeping, order_id=2, timeout=30), wait(sweeping, order_id=3, timeout=30)]

    order = await asyncio.wait_for(delivered, 5)

    assert order.status == "DELIVERED"
    assert delivered.settled_by == "poll"
    assert vertical.requests("get")[:4] == [1, 2, 3, 1]  # refreshed, failed, refreshed again
    assert all(not other.done() for other in others)  # sweeps went on meanwhile
    await sweeping.aclose()


def test_a_final_state_is_never_replaced_by_one_that_is_not():
    watch = Watch(WatchedVertical(LISTS_TELL_ALL, Vertical()), 1, None, born=0.0)

    assert watch.take(Order(1, "PENDING"), sequence=1)
    assert not watch.take(Order(1, "PROCESSING"), sequence=0)  # older
    assert watch.take(Order(1, "DELIVERED"), sequence=2)
    assert not watch.take(Order(1, "PENDING"), sequence=3)  # newer, but not final
    assert watch.order.status == "DELIVERED"


async def test_ten_thousand_waits_with_slow_sweeps_keep_the_agenda_bounded():
    policy = PollPolicy(fast_interval=0.5, slow_interval=0.5, jitter=0.1, sweep_threshold=4)
    scheduler = PollScheduler(policy, None, clock=Clock(random.Random(7)))
    vertical = Vertical()
    vertical.page_delay = 3.0  # a sweep of 20 pages takes a minute: checks fall due meanwhile
    scheduler.register(LISTS_TELL_ALL, vertical)
    count = 10_000
    for order_id in range(1, count + 1):
        vertical.add(order_id)
    waits = [wait(scheduler, order_id=i, timeout=3600) for i in range(1, count + 1)]
    largest = 0
    for _ in range(30):  # half a minute of virtual time, looked at every second
        await asyncio.sleep(1.0)
        largest = max(largest, scheduler.agenda_size)
    assert scheduler.stats.sweeps >= 4  # checks fell due during every one of them
    assert scheduler.pending == count
    assert largest <= 2 * count + 64  # each watch at most once per heap, plus the slack

    for order in vertical.server.values():
        order.status = "DELIVERED"
    settled = await asyncio.wait_for(asyncio.gather(*waits), 600)
    assert len(settled) == count
    assert scheduler.pending == 0
    await scheduler.aclose()


def test_rescheduling_one_watch_again_and_again_keeps_the_agenda_small():
    agenda = Agenda()
    watch = Watch(WatchedVertical(LISTS_TELL_ALL, Vertical()), 1, None, born=0.0)
    for due in range(10_000):
        agenda.check_at(watch, float(due))
    assert agenda.size <= 2 + 64
    assert agenda.due_checks(10_000.0) == [watch]


async def test_order_age_is_read_on_the_servers_clock():
    policy = PollPolicy(fast_interval=1.0, fast_period=60.0, slow_interval=50.0, jitter=0.0)
    scheduler = PollScheduler(policy, None)
    vertical = Vertical()
    vertical.clock_offset = -timedelta(hours=1)  # the server's clock is an hour behind
    scheduler.register(LISTS_TELL_ALL, vertical)
    created = vertical.server_time() - timedelta(seconds=10)  # 10 s old, by the server
    order = vertical.add(1, created_at=created)
    loop = asyncio.get_running_loop()
    started = loop.time()

    waiter = scheduler.watch(
        "things",
        order=attrs.evolve(order),
        order_id=1,
        client_reference=None,
        timeout=600,
        accept_partial=False,
    )
    await until(vertical, lambda: vertical.requests("get"))

    # On the fast cadence: by the client's clock the order would be an hour old (50 s).
    assert loop.time() - started == pytest.approx(1.0, abs=0.01)
    waiter.cancel()
    await scheduler.aclose()


async def test_a_defect_in_taking_an_answer_in_is_logged_and_the_wait_goes_on(
    scheduler, monkeypatch, caplog
):
    vertical = Vertical()
    scheduler.register(LISTS_TELL_ALL, vertical)
    vertical.add(1, "DELIVERED")
    original = Tracker.seen
    monkeypatch.setattr(Tracker, "seen", failing(1, original))

    order = await asyncio.wait_for(wait(scheduler, order_id=1), 1)

    assert order.status == "DELIVERED"
    assert vertical.requests("get") == [1, 1]  # the lost answer was asked for again
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


async def test_an_install_wait_counts_its_age_from_its_start_even_after_a_poll(scheduler):
    # The install cadence runs from when the wait began, not from the order's creation:
    # what the order says of its creation must not reach the wait, nor its resume token.
    installs = VerticalPolicy("things.installed", sweepable=False, goal="installed")
    vertical = Vertical()
    scheduler.register(installs, vertical)
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    vertical.add(1, "DELIVERED", created_at=an_hour_ago)
    waiter = scheduler.watch(
        "things.installed",
        order=None,
        order_id=1,
        client_reference=None,
        timeout=600,
        accept_partial=False,
    )

    await until(vertical, lambda: waiter.order is not None)

    assert waiter.created_at is None
    assert json.loads(waiter.resume_token())["created_at"] is None
    waiter.cancel()
