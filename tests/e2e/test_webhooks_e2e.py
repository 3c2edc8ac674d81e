"""Webhooks end to end: the sandbox signs and delivers; a real receiver verifies, wakes waiters."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest
from aiohttp import web

from octopus_async import PollPolicy
from octopus_async.models import EsimEvent, OrderEvent, TopupEvent, WalletEvent
from octopus_async.webhooks import verify_webhook

SECRET = "whsec_e2e"
SCALE = 0.01
# Polls so slow that only a webhook can settle an order within the test.
SLOW_POLLS = PollPolicy(fast_interval=30.0, slow_interval=30.0)


@pytest.fixture
async def serve():
    """Serve an aiohttp handler on loopback; returns its URL."""
    runners: list[web.AppRunner] = []

    async def start(handler, path="/webhooks"):
        app = web.Application()
        app.router.add_post(path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}{path}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_webhooks_settle_waiters_long_before_the_next_poll(make_sandbox, make_client, serve):
    sandbox = await make_sandbox(time_scale=SCALE)
    client = make_client(sandbox, poll=SLOW_POLLS)
    events = []
    receiver = client.webhooks.handler(secret=SECRET, on_event=events.append)
    sandbox.webhooks.register(await serve(receiver.handle), SECRET)

    started = asyncio.get_running_loop().time()
    waiters = [client.vouchers.orders.submit(123, "10.00", 10, timeout=10) for _ in range(10)]
    orders = await asyncio.gather(*waiters)
    elapsed = asyncio.get_running_loop().time() - started
    assert all(order.status == "DELIVERED" and len(order.vouchers) == 10 for order in orders)
    assert elapsed < 3  # fulfilment takes 0.1-0.6 s; the first poll would come at ~24 s
    assert client.scheduler.stats.settled_after_webhook == 10
    assert {waiter.settled_by for waiter in waiters} == {"webhook"}
    delivered = [e for e in events if isinstance(e, OrderEvent)]
    assert {e.order.id for e in delivered} == {o.id for o in orders}
    assert {e.type for e in events} >= {"order.delivered", "wallet.debited"}


async def test_deliveries_carry_the_documented_signed_headers(make_sandbox, make_client, serve):
    sandbox = await make_sandbox(time_scale=SCALE)
    seen: list[tuple[bytes, dict[str, str]]] = []

    async def capture(request: web.Request) -> web.Response:
        seen.append((await request.read(), dict(request.headers)))
        return web.Response(status=204)

    sandbox.webhooks.register(await serve(capture), SECRET, events={"order.delivered"})
    order = await make_client(sandbox).vouchers.orders.create(123, "10.00", 2)
    await _eventually(lambda: seen)
    body, headers = seen[0]
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "octopusrewards.com/webhook-agent"
    assert headers["X-Webhook-ID"].startswith("wh_")
    assert headers["X-OCTOPUS-WEBHOOK-TOKEN"] == SECRET
    assert abs(int(headers["X-Timestamp"]) - time.time()) < 5
    event = verify_webhook(body, headers, SECRET)
    assert isinstance(event, OrderEvent)
    assert (event.type, event.id) == ("order.delivered", headers["X-Event-ID"])
    assert (event.order.id, event.order.status, event.order.delivered_quantity) == (
        order.id,
        "DELIVERED",
        2,
    )
    assert event.order.reference_code == order.client_reference
    assert b"STEAM-" not in body  # payloads carry no codes


async def test_duplicated_and_reordered_deliveries_are_processed_once(
    make_sandbox, make_client, serve
):
    sandbox = await make_sandbox(time_scale=SCALE, webhook_duplicate_rate=1.0, webhook_jitter=30.0)
    client = make_client(sandbox, poll=SLOW_POLLS)
    processed: list[str] = []
    receiver = client.webhooks.handler(secret=SECRET, on_event=lambda e: processed.append(e.id))
    sandbox.webhooks.register(await serve(receiver.handle), SECRET)
    orders = await asyncio.gather(
        *(client.vouchers.orders.submit(123, "10.00", 8, timeout=10) for _ in range(6))
    )
    assert len(orders) == 6
    sent = {event["id"] for event in sandbox.webhooks.events}
    await _eventually(lambda: len(sandbox.webhooks.deliveries) >= 2 * len(sent))
    await receiver.aclose()
    assert sorted(processed) == sorted(sent)  # each event once, though each came twice
    assert receiver.stats.duplicates == len(sent)


async def test_failed_deliveries_are_retried_with_backoff(make_sandbox, make_client, serve):
    sandbox = await make_sandbox(time_scale=SCALE, webhook_backoff=20.0)  # 0.2 s, then 0.4 s
    answers = [500, 503]

    async def flaky(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=answers.pop(0) if answers else 200)

    sandbox.webhooks.register(await serve(flaky), SECRET, events={"order.delivered"})
    await make_client(sandbox).vouchers.orders.create(123, "10.00", 1)
    await _eventually(lambda: [d for d in sandbox.webhooks.deliveries if d.status == 200], 5)
    attempts = sandbox.webhooks.deliveries
    assert [(d.attempt, d.status) for d in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert attempts[1].at - attempts[0].at >= 0.2 - 1e-6  # the loop clock both read
    assert attempts[2].at - attempts[1].at >= 0.4 - 1e-6  # doubled


async def test_a_receiver_that_is_too_slow_is_retried(make_sandbox, make_client, serve):
    sandbox = await make_sandbox(time_scale=SCALE, webhook_timeout=10.0, webhook_backoff=1.0)
    calls = 0

    async def slow_once(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.5)  # the sandbox gives up after 0.1 s
        return web.Response(status=200)

    sandbox.webhooks.register(await serve(slow_once), SECRET, events={"order.delivered"})
    await make_client(sandbox).vouchers.orders.create(123, "10.00", 1)
    await _eventually(lambda: [d for d in sandbox.webhooks.deliveries if d.status == 200], 5)
    assert [d.status for d in sandbox.webhooks.deliveries] == [None, 200]


async def test_a_receiver_with_the_wrong_secret_refuses_every_attempt(
    make_sandbox, make_client, serve
):
    sandbox = await make_sandbox(time_scale=SCALE, webhook_backoff=1.0, webhook_max_attempts=3)
    client = make_client(sandbox)
    processed = []
    receiver = client.webhooks.handler(secret="another-secret", on_event=processed.append)
    sandbox.webhooks.register(await serve(receiver.handle), SECRET, events={"order.delivered"})
    await client.vouchers.orders.create(123, "10.00", 1)
    await _eventually(lambda: len(sandbox.webhooks.deliveries) == 3, 5)
    assert [d.status for d in sandbox.webhooks.deliveries] == [401, 401, 401]
    assert processed == []
    assert receiver.stats.rejected == 3


async def test_wallet_events_follow_the_ledger(make_sandbox, make_client, serve):
    sandbox = await make_sandbox(time_scale=SCALE)
    client = make_client(sandbox)
    events = []
    receiver = client.webhooks.handler(secret=SECRET, on_event=events.append)
    sandbox.webhooks.register(await serve(receiver.handle), SECRET, events={"wallet.debited"})
    order = await client.vouchers.orders.create(123, "10.00", 1)
    await _eventually(lambda: events)
    event = events[0]
    assert isinstance(event, WalletEvent)
    assert (event.wallet.wallet_id, event.wallet.amount) == (1, Decimal("9.65"))
    assert event.wallet.balance == Decimal("10000.00") - Decimal("9.65")
    assert f"Order #{order.id}" in event.wallet.remarks


async def test_unreleased_topup_events_are_typed_and_settle_their_waiters(
    make_sandbox, make_client, serve
):
    sandbox = await make_sandbox(
        time_scale=SCALE,
        topup_slow_share=0.0,
        topup_get_only_share=1.0,  # the list alone would never show it settled
        webhook_unreleased_events=True,
    )
    client = make_client(sandbox, poll=SLOW_POLLS)
    events = []
    receiver = client.webhooks.handler(secret=SECRET, on_event=events.append)
    sandbox.webhooks.register(await serve(receiver), SECRET)  # the receiver is the handler
    order = await client.topups.orders.create_and_wait(
        4218, "0.99", input_data={"player_id": "5123456789"}, timeout=5
    )
    assert order.status == "DELIVERED"
    topup_events = [e for e in events if e.type.startswith("topup.")]
    assert topup_events
    assert all(isinstance(e, TopupEvent) and not e.type.is_known for e in topup_events)
    assert (topup_events[0].data.id, topup_events[0].data.client_reference) == (
        order.id,
        order.client_reference,
    )
    assert client.scheduler.stats.settled_after_webhook == 1


async def test_unreleased_esim_events_wake_an_install_wait(make_sandbox, make_client, serve):
    sandbox = await make_sandbox(
        time_scale=SCALE,
        esim_slow_share=0.0,
        esim_install_delay=(5.0, 10.0),
        webhook_unreleased_events=True,
    )
    client = make_client(sandbox, poll=SLOW_POLLS)
    events = []
    receiver = client.webhooks.handler(secret=SECRET, on_event=events.append)
    sandbox.webhooks.register(await serve(receiver), SECRET)
    order = await client.esim.orders.create_and_wait(712, "4.50", timeout=5)

    installed = await client.esim.orders.wait_installed(order, timeout=5)

    assert installed.installed
    assert installed.activation_code == order.activation_code  # kept after install (D34)
    esim_events = [e for e in events if isinstance(e, EsimEvent)]
    assert {e.type for e in esim_events} >= {"esim.installed"}
    assert all(e.data.id == order.id for e in esim_events)
    assert client.scheduler.stats.settled_after_webhook == 1


async def test_without_the_flag_no_unreleased_events_are_sent(make_sandbox, make_client, serve):
    sandbox = await make_sandbox(time_scale=SCALE, topup_slow_share=0.0)
    client = make_client(sandbox, poll=PollPolicy().scaled(SCALE))
    receiver = client.webhooks.handler(secret=SECRET)
    sandbox.webhooks.register(await serve(receiver.handle), SECRET)
    await client.topups.orders.create_and_wait(4218, "0.99", input_data={"player_id": "5123456789"})
    assert not [e for e in sandbox.webhooks.events if e["type"].startswith("topup.")]


async def _eventually(condition, seconds: float = 2.0):
    """Wait until `condition()` is truthy."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.01)
