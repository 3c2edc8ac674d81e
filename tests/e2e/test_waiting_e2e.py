"""Order waiters and the poll scheduler against a time-scaled sandbox (D27-D32)."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal

import pytest
from support import FAST_RETRY

from octopus_async import (
    InvalidRequestError,
    OctopusClient,
    OrderFailedError,
    OrderWaiter,
    OrderWaitTimeout,
    PollPolicy,
    Quota,
    RateLimits,
    WaitEnded,
    WaitStarted,
)
from octopus_async.models import TopupOrderStatus, VoucherOrderStatus
from octopus_async.sandbox import Fault

SCALE = 0.01  # a simulated minute lasts 0.6 s
POLL = PollPolicy().scaled(SCALE)
PLAYER = {"player_id": "5123456789"}
TOPUP_ORDERS = "/api/v1/topups/orders"


@pytest.fixture
async def sandbox(make_sandbox):
    return await make_sandbox(time_scale=SCALE, topup_slow_share=0.0, topup_get_only_share=0.0)


@pytest.fixture
def client(sandbox, make_client):
    return make_client(sandbox, poll=POLL)


def polls(sandbox, path_prefix=TOPUP_ORDERS):
    return [r for r in sandbox.requests if r.method == "GET" and r.path.startswith(path_prefix)]


async def no_new_tasks(before: set[asyncio.Task], within: float = 1.0) -> bool:
    """Whether every task started since `before` ends within `within` seconds."""
    for _ in range(int(within / 0.01)):
        if other_tasks() <= before:
            return True
        await asyncio.sleep(0.01)
    return other_tasks() <= before


def other_tasks() -> set[asyncio.Task]:
    """The client's tasks (not this test's, not the sandbox server's connection handlers)."""
    return {
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task()
        and "web_protocol" not in task.get_coro().cr_code.co_filename
    }


async def test_create_and_wait_returns_the_delivered_order(client, sandbox):
    order = await client.topups.orders.create_and_wait(4218, Decimal("4.99"), input_data=PLAYER)
    assert order.status == TopupOrderStatus.DELIVERED
    assert order.amount == Decimal("4.7405")
    assert order.completed_at is not None
    assert len(polls(sandbox)) >= 1


async def test_each_wait_says_what_showed_its_outcome(client, sandbox):
    instant = client.vouchers.orders.submit(123, "10.00", 1)
    delivered = await instant
    assert instant.settled_by == "create"  # delivered in the create's answer
    given = client.vouchers.orders.wait(delivered)
    await given
    assert given.settled_by == "given"

    polled = client.topups.orders.submit(4218, "0.99", input_data=PLAYER)
    assert polled.settled_by is None  # not yet
    await polled
    assert polled.settled_by == "poll"  # one pending order: single GETs

    failed = client.topups.orders.submit(4218, "0.99", input_data={"player_id": "0000000000"})
    with pytest.raises(OrderFailedError):
        await failed
    assert failed.settled_by in {"create", "poll"}

    timed_out = client.topups.orders.submit(4218, "0.99", input_data=PLAYER, timeout=0.001)
    with pytest.raises(OrderWaitTimeout):
        await timed_out
    assert timed_out.settled_by is None


async def test_wait_hooks_see_each_wait_begin_and_end(sandbox, make_client):
    events = []
    client = make_client(sandbox, poll=POLL, wait_hooks=[events.append])

    instant = client.vouchers.orders.submit(123, "10.00", 1, client_reference="hook-1")
    await instant
    topup = client.topups.orders.submit(4218, "0.99", input_data=PLAYER, client_reference="hook-2")
    await topup
    failed = client.topups.orders.submit(
        4218, "0.99", input_data={"player_id": "0000000000"}, client_reference="hook-3"
    )
    with pytest.raises(OrderFailedError):
        await failed
    slow = client.topups.orders.submit(4218, "0.99", input_data=PLAYER, timeout=0.001)
    with pytest.raises(OrderWaitTimeout):
        await slow
    dropped = client.topups.orders.submit(4218, "0.99", input_data=PLAYER)
    dropped.cancel()
    await asyncio.sleep(0)  # the cancelled wait's end is reported by a done callback

    started = [e for e in events if isinstance(e, WaitStarted)]
    ended = {e.client_reference: e for e in events if isinstance(e, WaitEnded)}
    assert len(started) == len(ended) == 5
    assert started[0] == WaitStarted("vouchers", None, "hook-1")  # before its create
    assert (ended["hook-1"].outcome, ended["hook-1"].settled_by) == ("succeeded", "create")
    assert ended["hook-1"].order_id == instant.order_id
    assert (ended["hook-2"].outcome, ended["hook-2"].settled_by) == ("succeeded", "poll")
    assert ended["hook-2"].detected_after is not None  # topups say when they completed
    assert ended["hook-1"].detected_after is None  # voucher orders do not
    assert ended["hook-3"].outcome == "failed"
    assert ended[slow.client_reference].outcome == "timeout"
    assert ended[slow.client_reference].settled_by is None
    assert ended[dropped.client_reference].outcome == "cancelled"


async def test_a_raising_wait_hook_is_logged_and_the_wait_goes_on(sandbox, make_client, caplog):
    def broken(event) -> None:
        raise RuntimeError("hook bug")

    client = make_client(sandbox, wait_hooks=[broken])
    with caplog.at_level(logging.ERROR, logger="octopus_async.waiting"):
        order = await client.vouchers.orders.submit(123, "10.00", 1)
    assert order.status == VoucherOrderStatus.DELIVERED
    assert [r.exc_info[1].args for r in caplog.records if r.exc_info] == [("hook bug",)] * 2


async def test_a_user_fixable_failure_raises_with_its_reason(client, sandbox):
    with pytest.raises(OrderFailedError) as raised:
        await client.topups.orders.create_and_wait(
            4218, "4.99", input_data={"player_id": "0000000000"}, client_reference="bad-player"
        )
    error = raised.value
    assert error.status == "FAILED"
    assert error.failure_code == "INVALID_PLAYER_ID"
    assert error.is_user_fixable is True
    assert "player ID" in error.failure_reason
    assert error.client_reference == "bad-player"
    assert error.order.status == TopupOrderStatus.FAILED
    refunds = [
        t
        async for t in client.wallets.transactions(wallet_id=1)
        if t.order_id == error.order.id and t.transaction_type == "CREDIT"
    ]
    assert [t.amount for t in refunds] == [Decimal("4.7405")]


async def test_an_order_settled_in_the_answer_makes_no_poll(client, sandbox):
    events = []
    waiter = client.topups.orders.submit(4240, "0.99", input_data=PLAYER)
    waiter.add_done_callback(events.append)
    order = await waiter
    assert order.status == TopupOrderStatus.DELIVERED
    assert polls(sandbox) == []
    assert client.scheduler.stats.requests == 0
    await asyncio.sleep(0)
    assert events == [waiter]


async def test_an_already_settled_order_resolves_without_a_request(client, sandbox):
    order = await client.vouchers.orders.create(123, "10.00", 2)
    before = len(sandbox.requests)
    assert await client.vouchers.orders.wait(order) == order
    assert len(sandbox.requests) == before


async def test_wait_by_id_fetches_then_polls(client, sandbox):
    order = await client.vouchers.orders.create(123, "10.00", 10)
    settled = await client.vouchers.orders.wait(order.id, timeout=5)
    assert settled.status == VoucherOrderStatus.DELIVERED
    assert len(settled.vouchers) == 10


async def test_deadline_raises_with_a_token_that_resumes_elsewhere(sandbox, make_client):
    client = make_client(sandbox, poll=POLL)
    waiter = client.topups.orders.submit(4218, "4.99", input_data=PLAYER, client_reference="slow-1")
    with pytest.raises(OrderWaitTimeout) as raised:
        await client.topups.orders.wait(await _created(client, "slow-1"), timeout=0.01)
    timeout = raised.value
    assert timeout.order.status == TopupOrderStatus.PENDING
    assert timeout.client_reference == "slow-1"
    token = json.loads(timeout.resume_token)
    assert token["vertical"] == "topups"
    assert token["client_reference"] == "slow-1"
    assert token["order_id"] == timeout.order.id
    assert set(token) == {
        "v",
        "vertical",
        "order_id",
        "client_reference",
        "created_at",
        "deadline",
        "accept_partial",
    }
    assert token["accept_partial"] is False
    waiter.cancel()

    fresh = make_client(sandbox, poll=POLL)  # another process, as far as the SDK knows
    resumed = fresh.resume(timeout.resume_token, timeout=5)
    assert isinstance(resumed, OrderWaiter)
    order = await resumed
    assert order.status == TopupOrderStatus.DELIVERED
    assert order.client_reference == "slow-1"


async def _created(client, reference):
    for _ in range(100):
        order = await client.topups.orders.find(reference)
        if order is not None:
            return order
        await asyncio.sleep(0.01)
    raise AssertionError("the order was not created")


async def test_submit_deadline_gives_a_token_even_before_the_create_answered(sandbox, make_client):
    # The server commits the order, then takes a second to answer.
    sandbox.faults.add(Fault.delay(1.0), method="POST", path=TOPUP_ORDERS, phase="after", times=1)
    client = make_client(sandbox, poll=POLL)
    with pytest.raises(OrderWaitTimeout) as raised:
        await client.topups.orders.submit(
            4218, "4.99", input_data=PLAYER, client_reference="held-1", timeout=0.2
        )
    assert raised.value.order is None
    token = json.loads(raised.value.resume_token)
    assert (token["order_id"], token["client_reference"]) == (None, "held-1")
    # The create the deadline cut short had landed: the token finds it by reference.
    order = await client.resume(raised.value.resume_token, timeout=5)
    assert order.client_reference == "held-1"
    assert len(sandbox.state.topups.orders) == 1


async def test_cancel_stops_polling_and_leaves_no_task(client, sandbox):
    before = other_tasks()
    waiter = client.topups.orders.submit(4218, "4.99", input_data=PLAYER, client_reference="gone-1")
    await asyncio.sleep(0.02)
    assert waiter.cancel()
    assert waiter.cancelled()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await no_new_tasks(before)
    seen = len(sandbox.requests)
    await asyncio.sleep(0.3)
    assert len(sandbox.requests) == seen  # nothing polls for it any more
    assert client.scheduler.pending == 0


async def test_cancelling_the_awaiting_task_stops_the_wait(client, sandbox):
    before = other_tasks()
    task = asyncio.create_task(
        client.topups.orders.create_and_wait(4218, "4.99", input_data=PLAYER)
    )
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await no_new_tasks(before)
    assert client.scheduler.pending == 0


async def test_closing_the_client_ends_waits_with_a_resume_token(sandbox, make_client):
    before = other_tasks()
    client = OctopusClient(**sandbox.client_settings(), poll=POLL)
    orders = [await client.topups.orders.create(4218, "4.99", input_data=PLAYER) for _ in range(5)]
    waiters = [client.topups.orders.wait(order) for order in orders]  # all five exist
    await client.aclose()
    for waiter in waiters:
        with pytest.raises(OrderWaitTimeout, match="the client was closed") as caught:
            await waiter
        assert caught.value.resume_token == waiter.resume_token()
    assert await no_new_tasks(before)

    # Another client picks the waits up from their tokens and sees them through.
    async with OctopusClient(**sandbox.client_settings(), poll=POLL) as other:
        tokens = [waiter.resume_token() for waiter in waiters]
        settled = await asyncio.gather(*(other.resume(token) for token in tokens))
    assert {order.status for order in settled} == {TopupOrderStatus.DELIVERED}
    assert len({order.id for order in settled}) == 5


async def test_partial_delivery_ends_the_wait_only_when_accepted(client, sandbox):
    for reference in ("partial-a", "partial-b"):
        sandbox.state.vouchers.force_outcome(reference, "PARTIALLY_DELIVERED")
    order = await client.vouchers.orders.create_and_wait(
        123, "10.00", 10, client_reference="partial-a", accept_partial=True, timeout=5
    )
    assert order.status == VoucherOrderStatus.PARTIALLY_DELIVERED
    with pytest.raises(OrderWaitTimeout) as raised:
        await client.vouchers.orders.create_and_wait(
            123, "10.00", 10, client_reference="partial-b", timeout=1.0
        )
    assert raised.value.order.status == VoucherOrderStatus.PARTIALLY_DELIVERED
    assert len(raised.value.order.vouchers) == 5


async def test_a_resumed_wait_still_accepts_a_partial_delivery(sandbox, make_client):
    sandbox.state.vouchers.force_outcome("partial-r", "PARTIALLY_DELIVERED")
    client = make_client(sandbox, poll=POLL)
    created = await client.vouchers.orders.create(123, "10.00", 10, client_reference="partial-r")
    waiter = client.vouchers.orders.wait(created, accept_partial=True)
    token = waiter.resume_token()  # taken before anything settled
    waiter.cancel()

    other = make_client(sandbox, poll=POLL)
    order = await other.resume(token, timeout=5)
    assert order.status == VoucherOrderStatus.PARTIALLY_DELIVERED


async def test_a_failed_voucher_order_raises(client, sandbox):
    sandbox.state.vouchers.force_outcome("v-fail", "FAILED")
    with pytest.raises(OrderFailedError) as raised:
        await client.vouchers.orders.create_and_wait(
            123, "10.00", 10, client_reference="v-fail", timeout=5
        )
    assert raised.value.status == "FAILED"
    assert raised.value.is_user_fixable is None


async def test_many_pending_orders_are_learnt_from_list_sweeps(sandbox, make_client):
    client = make_client(sandbox, poll=POLL)
    waiters = [client.topups.orders.submit(4218, "0.99", input_data=PLAYER) for _ in range(60)]
    orders = await asyncio.gather(*waiters)
    assert {o.status for o in orders} == {TopupOrderStatus.DELIVERED}
    assert "sweep" in {w.settled_by for w in waiters}
    assert {w.settled_by for w in waiters} <= {"sweep", "poll"}
    stats = client.scheduler.stats
    sweep_requests = [r for r in polls(sandbox) if r.path == TOPUP_ORDERS]
    assert stats.sweeps > 0
    assert len(sweep_requests) == stats.sweep_pages
    assert all("per_page=500" in r.query for r in sweep_requests)
    # Far fewer requests than one GET per order per check.
    assert stats.requests < len(orders)


async def test_orders_only_a_get_reveals_are_still_found(make_sandbox, make_client):
    sandbox = await make_sandbox(time_scale=SCALE, topup_slow_share=0.0, topup_get_only_share=1.0)
    client = make_client(sandbox, poll=POLL)
    orders = await asyncio.gather(
        *(
            client.topups.orders.submit(4218, "0.99", input_data=PLAYER, timeout=10)
            for _ in range(20)
        )
    )
    assert {o.status for o in orders} == {TopupOrderStatus.DELIVERED}
    assert client.scheduler.stats.gets >= 20  # each needed its own refreshing GET


async def test_an_order_only_a_get_reveals_is_found_after_its_refresh_failed(
    make_sandbox, make_client
):
    # Five pending topups, so checks are list sweeps. Only the first has settled, and lists
    # go on showing it PENDING; its first refreshing GET fails, retries included.
    sandbox = await make_sandbox(
        time_scale=SCALE,
        topup_get_only_share=1.0,
        topup_slow_share=0.0,
        topup_settle_delay=(1e6, 1e6),  # the others stay pending
    )
    client = make_client(sandbox, poll=POLL)
    orders = [await client.topups.orders.create(4218, "0.99", input_data=PLAYER) for _ in range(5)]
    sandbox.state.topups.settle(orders[0].id)
    attempts = FAST_RETRY.max_retries + 1
    sandbox.faults.add(
        Fault.error(503), method="GET", path=f"{TOPUP_ORDERS}/{orders[0].id}", times=attempts
    )
    waiters = [client.topups.orders.wait(order) for order in orders]

    # Without another refreshing GET, the wait would end at its deadline with it PENDING.
    order = await waiters[0]

    assert order.status == TopupOrderStatus.DELIVERED
    assert waiters[0].settled_by == "poll"
    assert client.scheduler.stats.sweeps > 0
    assert not any(waiter.done() for waiter in waiters[1:])


async def test_polling_stays_inside_the_read_quota(make_sandbox, make_client):
    quota = RateLimits({"read": Quota(300)}).scaled(SCALE)  # 300 per 0.6 s
    sandbox = await make_sandbox(
        time_scale=SCALE, topup_slow_share=0.0, topup_get_only_share=0.2, rate_limits=quota
    )
    client = make_client(sandbox, poll=POLL, rate_limits=quota)
    orders = await asyncio.gather(
        *(
            client.topups.orders.submit(4218, "0.99", input_data=PLAYER, timeout=20)
            for _ in range(150)
        )
    )
    assert len(orders) == 150
    assert not [r for r in sandbox.requests if r.status == 429]


async def test_a_poll_answered_429_waits_the_servers_retry_after(client, sandbox):
    order = await client.topups.orders.create(4218, "4.99", input_data=PLAYER)
    sandbox.faults.add(
        Fault.error(429, retry_after="0.3"), method="GET", path=f"{TOPUP_ORDERS}/*", times=2
    )
    await client.topups.orders.wait(order, timeout=5)
    gets = [r for r in polls(sandbox) if r.path == f"{TOPUP_ORDERS}/{order.id}"]
    assert [r.status for r in gets[:3]] == [429, 429, 200]
    # 0.3 s apart at least (by the loop clock that both sides read)
    assert gets[1].received_at - gets[0].received_at >= 0.299
    assert gets[2].received_at - gets[1].received_at >= 0.299


async def test_two_waits_for_one_order_share_its_polls(client, sandbox):
    order = await client.vouchers.orders.create(123, "10.00", 10)
    first, second = client.vouchers.orders.wait(order), client.vouchers.orders.wait(order.id)
    assert client.scheduler.pending == 1  # one order watched: one poll stream, not two
    results = await asyncio.gather(first, second)
    assert results[0] == results[1]
    assert client.scheduler.pending == 0


async def test_the_waiter_shows_the_latest_order(client, sandbox):
    waiter = client.topups.orders.submit(
        4218, "4.99", input_data=PLAYER, client_reference="watch-1"
    )
    assert waiter.order is None
    assert waiter.client_reference == "watch-1"
    assert not waiter.done()
    order = await waiter
    assert waiter.done()
    assert waiter.order == order
    assert waiter.order_id == order.id
    assert "watch-1" in repr(waiter)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "{}",
        "not json",
        '{"v":2}',
        '{"v":1,"vertical":"x"}',
        '{"v":1,"vertical":"topups","order_id":null,"client_reference":null,"created_at":null,"deadline":"2030-01-01T00:00:00Z"}',
    ],
)
async def test_bad_resume_tokens_are_refused(client, token):
    with pytest.raises(InvalidRequestError):
        client.resume(token)


async def test_invalid_timeouts_are_refused_before_anything_is_sent(client, sandbox):
    with pytest.raises(InvalidRequestError):
        client.topups.orders.submit(4218, "4.99", input_data=PLAYER, timeout=0)
    with pytest.raises(InvalidRequestError):
        client.topups.orders.submit(4218, 4.99, input_data=PLAYER)
    assert sandbox.requests == []
