"""Durable orders on Temporal end to end: a local dev server, an in-process worker and a
sandbox. Every test runs on the wall clock: Temporal's timers are the server's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import anyio
import attrs
import pytest
from aiohttp import web
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from octopus_async import (
    InvalidRequestError,
    PollPolicy,
    RequestEvent,
    RequestStarted,
    ResponseReceived,
)
from octopus_async.batch import EsimOrderRequest, TopupOrderRequest, VoucherOrderRequest
from octopus_async.integrations.temporal import (
    ORDER_UPDATE,
    OrderFailure,
    OrderWorkflow,
    forward_to_workflows,
    order_input,
    order_workers,
    order_workflow_id,
    start_order,
    start_orders,
)
from octopus_async.models import VoucherOrderStatus
from octopus_async.sandbox import Fault

pytestmark = pytest.mark.real_time

SECRET = "whsec_bridge"
SCALE = 0.01  # the sandbox's time and the poll cadence: 5 s between checks become 50 ms


@pytest.fixture
async def temporal(temporal_address) -> Client:
    """A client of the session's Temporal dev server."""
    return await Client.connect(temporal_address)


@pytest.fixture
def task_queue() -> str:
    return f"orders-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def sandbox(make_sandbox):
    return await make_sandbox(time_scale=SCALE, topup_slow_share=0.0, topup_get_only_share=0.0)


class Answers:
    """The requests the workers' SDK client got answers to, as "METHOD path", and those it
    began to send, as "> METHOD path"."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._changed = asyncio.Condition()
        self._notifying: set[asyncio.Task[None]] = set()

    def hook(self, event: RequestEvent) -> None:
        if isinstance(event, (RequestStarted, ResponseReceived)):
            sent = "> " if isinstance(event, RequestStarted) else ""
            self.seen.append(f"{sent}{event.method} {event.path}")
            task = asyncio.get_running_loop().create_task(self._notify())
            self._notifying.add(task)
            task.add_done_callback(self._notifying.discard)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def count(self, answer: str, at_least: int) -> None:
        """Return once `answer` was seen `at_least` times (30 s at most)."""
        with anyio.fail_after(30):
            async with self._changed:
                await self._changed.wait_for(lambda: self.seen.count(answer) >= at_least)


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
async def workers(temporal, task_queue, sandbox, make_client, answers) -> AsyncIterator[None]:
    client = make_client(sandbox, poll=PollPolicy().scaled(SCALE), hooks=[answers.hook])
    async with order_workers(
        temporal,
        task_queue=task_queue,
        client=client,
        create_rate_per_second=50,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    ):
        yield


def server_orders(sandbox, reference: str):
    return [
        o for o in sandbox.state.vouchers.orders.by_id.values() if o.client_reference == reference
    ]


def order_gets(sandbox, order_id: int) -> int:
    return sandbox.state.count("GET", f"/api/v1/orders/{order_id}")


def reference() -> str:
    return f"wf-{uuid.uuid4().hex[:12]}"


@pytest.mark.usefixtures("workers")
async def test_a_voucher_delivered_at_once_settles_with_one_order(temporal, task_queue, sandbox):
    ref = reference()
    request = VoucherOrderRequest(123, Decimal("10.00"), 1, client_reference=ref)
    handle = await start_order(
        temporal, order_input(request, poll_scale=SCALE), task_queue=task_queue
    )
    assert handle.id == order_workflow_id("vouchers", ref) == f"octopus-order:vouchers:{ref}"
    result = await handle.result()
    assert result.status == VoucherOrderStatus.DELIVERED
    assert result.client_reference == ref
    [created] = server_orders(sandbox, ref)
    assert result.order_id == created.id
    data = result.data()
    assert data["client_reference"] == ref
    assert isinstance(data["amount"], Decimal)  # money never became a float
    [voucher] = data["vouchers"]
    assert voucher["card_number"] not in repr(result)  # codes stay out of reprs
    assert voucher["pin_code"] not in repr(result)
    assert order_gets(sandbox, created.id) == 0  # settled in the create's answer


@pytest.mark.usefixtures("workers")
async def test_an_async_voucher_order_settles_by_polling_across_runs(
    temporal, task_queue, sandbox, answers
):
    sandbox.state.config = attrs.evolve(sandbox.state.config, voucher_fulfilment_delay=(1e6, 1e6))
    ref = reference()
    request = VoucherOrderRequest(123, "10.00", 8, client_reference=ref)
    order = order_input(request, poll_scale=SCALE)
    order.polls_per_run = 1  # continue as new after every check
    handle = await start_order(temporal, order, task_queue=task_queue)
    await answers.count("POST /api/v1/orders", 1)
    [pending] = server_orders(sandbox, ref)
    await answers.count(f"GET /api/v1/orders/{pending.id}", 2)  # a second run checked it
    sandbox.state.vouchers.settle(pending.id)
    result = await handle.result()
    assert result.status == VoucherOrderStatus.DELIVERED
    [created] = server_orders(sandbox, ref)
    assert result.order_id == created.id
    assert order_gets(sandbox, created.id) >= 1
    assert len(result.data()["vouchers"]) == 8
    assert sandbox.state.count("POST", "/api/v1/orders") == 1  # no run created it again
    first_run = temporal.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    history = await first_run.fetch_history()
    assert any(
        event.HasField("workflow_execution_continued_as_new_event_attributes")
        for event in history.events
    )


@pytest.mark.usefixtures("workers")
async def test_the_same_order_is_started_once(temporal, task_queue, sandbox):
    ref = reference()
    request = VoucherOrderRequest(123, "10.00", 1, client_reference=ref)
    handle = await start_order(temporal, request, task_queue=task_queue)
    with pytest.raises(WorkflowAlreadyStartedError):
        await start_order(temporal, request, task_queue=task_queue)
    await handle.result()
    with pytest.raises(WorkflowAlreadyStartedError):  # nor again once it has finished
        await start_order(temporal, request, task_queue=task_queue)
    assert len(server_orders(sandbox, ref)) == 1


@pytest.mark.usefixtures("workers")
async def test_a_signal_checks_the_order_before_the_next_timer(
    temporal, task_queue, sandbox, answers
):
    # Fulfilment is far off: the order is settled by hand below.
    sandbox.state.config = attrs.evolve(sandbox.state.config, voucher_fulfilment_delay=(1e6, 1e6))
    ref = reference()
    request = VoucherOrderRequest(123, "10.00", 8, client_reference=ref)
    handle = await start_order(
        temporal, order_input(request, poll_scale=100.0), task_queue=task_queue
    )  # the first check would come after 500 s
    await answers.count("POST /api/v1/orders", 1)
    [order] = server_orders(sandbox, ref)
    sandbox.state.vouchers.settle(order.id)
    assert order_gets(sandbox, order.id) == 0
    await handle.signal(ORDER_UPDATE, {"type": "order.updated"})
    result = await handle.result()
    assert result.status == VoucherOrderStatus.DELIVERED
    assert order_gets(sandbox, order.id) == 1


@pytest.mark.usefixtures("workers")
async def test_a_signal_during_the_last_check_of_a_run_is_acted_on_by_the_next_run(
    temporal, task_queue, sandbox, answers, monkeypatch
):
    sandbox.state.config = attrs.evolve(sandbox.state.config, voucher_fulfilment_delay=(1e6, 1e6))
    ref = reference()
    order = order_input(
        VoucherOrderRequest(123, "10.00", 8, client_reference=ref), poll_scale=100.0
    )
    order.polls_per_run = 1  # each run waits once (500 s, or a signal), checks, continues as new
    handle = await start_order(temporal, order, task_queue=task_queue)
    await answers.count("POST /api/v1/orders", 1)
    [created] = server_orders(sandbox, ref)
    check = f"GET /api/v1/orders/{created.id}"
    sandbox.faults.add(Fault.delay(1.0), path=f"/api/v1/orders/{created.id}", times=1)
    log = sandbox.state.log_request

    def log_and_settle(record) -> None:  # settled once the first check has answered PENDING
        log(record)
        if f"{record.method} {record.path}" == check:
            sandbox.state.vouchers.settle(created.id)

    monkeypatch.setattr(sandbox.state, "log_request", log_and_settle)

    await handle.signal(ORDER_UPDATE)  # ends the first run's wait: its check begins
    await answers.count(f"> {check}", 1)
    await handle.signal(ORDER_UPDATE)  # arrives while that check is under way
    with anyio.fail_after(30):  # the next run checks at once, not 500 s later
        result = await handle.result()

    assert result.status == VoucherOrderStatus.DELIVERED
    assert order_gets(sandbox, created.id) == 2


@pytest.mark.usefixtures("workers")
async def test_a_webhook_wakes_the_orders_workflow(temporal, task_queue, sandbox, make_client):
    client = make_client(sandbox)
    delivered = asyncio.Event()

    async def receive(request: web.Request) -> web.StreamResponse:
        response = await receiver.handle(request)
        delivered.set()
        return response

    receiver = client.webhooks.handler(secret=SECRET, on_event=forward_to_workflows(temporal))
    app = web.Application()
    app.router.add_post("/webhooks", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks"
        sandbox.webhooks.register(url, SECRET, events={"order.delivered"})
        # An order without a workflow: its event is passed over, not an error.
        await client.vouchers.orders.create(123, "10.00", 8)
        await delivered.wait()
        ref = reference()
        request = VoucherOrderRequest(123, "10.00", 8, client_reference=ref)
        handle = await start_order(
            temporal, order_input(request, poll_scale=100.0), task_queue=task_queue
        )  # the first check would come after 500 s: only the webhook can settle it soon
        result = await handle.result()
        await receiver.aclose()
    finally:
        await runner.cleanup()

    assert result.status == VoucherOrderStatus.DELIVERED
    [order] = server_orders(sandbox, ref)
    assert order_gets(sandbox, order.id) == 1  # the check the signal asked for
    assert receiver.stats.accepted == 2
    assert receiver.stats.failed == 0


@pytest.mark.usefixtures("workers")
async def test_a_failed_topup_ends_with_a_typed_failure(temporal, task_queue, sandbox):
    ref = reference()
    request = TopupOrderRequest(
        4218, "0.99", input_data={"player_id": "0000000000"}, client_reference=ref
    )
    handle = await start_order(
        temporal, order_input(request, poll_scale=SCALE), task_queue=task_queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "OrderFailedError"
    assert cause.non_retryable
    failure = OrderFailure.from_details(cause.details[0])
    assert failure.status == "FAILED"
    assert failure.client_reference == ref
    assert failure.failure_code == "INVALID_PLAYER_ID"
    assert failure.is_user_fixable is True


@pytest.mark.usefixtures("workers")
async def test_a_refused_create_fails_without_retries(temporal, task_queue, sandbox):
    ref = reference()
    request = VoucherOrderRequest(999999, "10.00", 1, client_reference=ref)
    handle = await start_order(temporal, request, task_queue=task_queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.non_retryable
    assert cause.type in {"NotFoundError", "ValidationError", "BadRequestError"}
    assert server_orders(sandbox, ref) == []


@pytest.mark.usefixtures("workers")
async def test_a_wait_past_its_deadline_fails_as_a_timeout(temporal, task_queue, sandbox):
    sandbox.state.config = attrs.evolve(sandbox.state.config, voucher_fulfilment_delay=(1e6, 1e6))
    ref = reference()
    request = VoucherOrderRequest(123, "10.00", 8, client_reference=ref)
    order = order_input(request, poll_scale=SCALE, timeout=0.3)
    handle = await start_order(temporal, order, task_queue=task_queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "OrderWaitTimeout"
    [created] = server_orders(sandbox, ref)
    assert cause.details[0] == {"order_id": created.id, "client_reference": ref}

    # A failed workflow may be started again: it takes over the order the first one made.
    again = await start_order(
        temporal, order_input(request, poll_scale=SCALE), task_queue=task_queue
    )
    sandbox.state.vouchers.settle(created.id)
    result = await again.result()
    assert result.order_id == created.id
    assert server_orders(sandbox, ref) == [created]


@pytest.mark.usefixtures("workers")
async def test_many_orders_start_once_and_a_rerun_of_the_starter_resumes(
    temporal, task_queue, sandbox
):
    refs = [reference() for _ in range(12)]
    requests = [VoucherOrderRequest(123, "10.00", 1, client_reference=ref) for ref in refs]

    # A starter stopped after five orders (a crash, say), then run again over all of them.
    first_run = start_orders(temporal, requests, task_queue=task_queue, concurrency=2)
    stopped = [await anext(first_run) for _ in range(5)]
    await first_run.aclose()
    rerun = [s async for s in start_orders(temporal, iter(requests), task_queue=task_queue)]

    assert all(s.new for s in stopped)
    assert sorted(s.order.client_reference for s in rerun) == sorted(refs)
    again = {s.order.client_reference for s in rerun if not s.new}
    assert {s.order.client_reference for s in stopped} <= again  # not started twice
    results = await asyncio.gather(*(s.handle.result() for s in rerun))
    assert {r.client_reference for r in results} == set(refs)
    assert all(len(server_orders(sandbox, ref)) == 1 for ref in refs)


async def test_the_starter_refuses_bad_settings_before_starting_anything(temporal, task_queue):
    requests = [VoucherOrderRequest(123, "10.00", 1, client_reference=reference())]
    with pytest.raises(InvalidRequestError, match="per_second must be positive"):
        await anext(start_orders(temporal, requests, task_queue=task_queue, per_second=0))
    with pytest.raises(InvalidRequestError, match="concurrency must be at least 1"):
        await anext(start_orders(temporal, requests, task_queue=task_queue, concurrency=0))
    unreferenced = [VoucherOrderRequest(123, "10.00", 1)]
    with pytest.raises(InvalidRequestError, match="needs a client_reference"):
        await anext(start_orders(temporal, unreferenced, task_queue=task_queue))
    ids = [order_workflow_id("vouchers", r.client_reference or "") for r in requests]
    with pytest.raises(RPCError):  # nothing was started
        await temporal.get_workflow_handle(ids[0]).describe()


@pytest.mark.usefixtures("workers")
async def test_an_esim_wait_for_its_installation_keeps_the_activation_code(
    temporal, task_queue, sandbox, answers
):
    # The device installs the profile only when the test says so.
    sandbox.state.config = attrs.evolve(sandbox.state.config, esim_install_delay=(1e9, 1e9))
    ref = reference()
    request = EsimOrderRequest(712, "4.50", client_reference=ref)
    order = order_input(request, poll_scale=SCALE, goal="installed")
    order.polls_per_run = 2  # the install phase goes on across runs
    handle = await start_order(temporal, order, task_queue=task_queue)
    await answers.count("POST /api/v1/esim/orders", 1)
    [created] = [o for o in sandbox.state.esim.orders.by_id.values() if o.client_reference == ref]
    sandbox.state.esim.settle(created.id)  # delivered now, if its create answered PENDING
    checks = f"GET /api/v1/esim/orders/{created.id}"
    # Checks are one at a time: once a second one after the delivery is answered, the
    # workflow has taken in the first (the delivered eSIM, not installed).
    await answers.count(checks, answers.seen.count(checks) + 2)

    latest = await handle.query(OrderWorkflow.latest_order)
    assert latest is not None
    assert (latest.order_id, latest.status, latest.outcome) == (created.id, "DELIVERED", "pending")
    assert latest.activation_code
    assert latest.activation_code not in repr(latest)
    sandbox.state.esim.install_now(created.id)
    result = await handle.result()

    assert result.status == "DELIVERED"
    data = result.data()
    assert data["is_installed"] is True
    assert "activation_code" not in data  # the server no longer sends it
    assert result.activation_code == latest.activation_code  # the workflow kept it (D34)
    assert result.activation_code not in repr(result)
    assert sandbox.state.count("POST", "/api/v1/esim/orders") == 1


def test_only_esim_orders_wait_past_their_delivery():
    request = VoucherOrderRequest(123, "10.00", 1, client_reference=reference())
    with pytest.raises(InvalidRequestError, match="goal must be 'settled'"):
        order_input(request, goal="installed")
    with pytest.raises(InvalidRequestError, match="got 'landed' for esim"):
        order_input(EsimOrderRequest(712, "4.50", client_reference="e-1"), goal="landed")


@pytest.mark.usefixtures("workers")
async def test_the_starter_refuses_a_reference_reused_for_another_order(temporal, task_queue):
    ref = reference()
    ordered = VoucherOrderRequest(123, "10.00", 1, client_reference=ref)
    [first] = [s async for s in start_orders(temporal, [ordered], task_queue=task_queue)]
    await first.handle.result()

    [same] = [s async for s in start_orders(temporal, [ordered], task_queue=task_queue)]
    assert (same.new, same.handle.id) == (False, first.handle.id)
    other = VoucherOrderRequest(123, "25.00", 1, client_reference=ref)
    with pytest.raises(InvalidRequestError, match=r"started with another denomination$"):
        [s async for s in start_orders(temporal, [other], task_queue=task_queue)]
