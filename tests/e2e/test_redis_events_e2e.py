"""Webhook de-duplication across receivers through Redis (`RedisEventStore`)."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
import redis.asyncio
from aiohttp import web

from octopus_async.integrations.redis import RedisEventStore

SECRET = "whsec_fleet"
SCALE = 0.01

# Redis keeps time on the wall clock, and so do the sandbox's deliveries to other sockets.
pytestmark = pytest.mark.real_time


@pytest.fixture
async def serve():
    """Serve a handler on loopback; returns its URL and an event set after `count` answers."""
    runners: list[web.AppRunner] = []

    async def start(handler, count):
        answered = asyncio.Event()
        statuses: list[int] = []

        async def counted(request):
            response = await handler(request)
            statuses.append(response.status)
            if len(statuses) >= count:
                answered.set()
            return response

        app = web.Application()
        app.router.add_post("/webhooks", counted)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks", answered, statuses

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_two_receivers_sharing_redis_process_each_event_once(
    make_sandbox, make_client, serve, redis_url
):
    # Deliveries are given 10 real seconds: a receiver slowed by a busy machine is not
    # taken for a failed one, whose retry would count as one more answer.
    sandbox = await make_sandbox(time_scale=SCALE, webhook_timeout=1000.0)
    client = make_client(sandbox)
    stores = [RedisEventStore(redis_url), RedisEventStore(redis_url)]  # one per "process"
    processed = []
    receivers = [
        client.webhooks.handler(secret=SECRET, store=store, on_event=processed.append)
        for store in stores
    ]
    orders = 6
    answered = []
    for receiver in receivers:
        url, done, _ = await serve(receiver.handle, orders)
        sandbox.webhooks.register(url, SECRET, events={"order.delivered"})
        answered.append(done)

    for _ in range(orders):  # fulfilled in the background: one order.delivered event each
        await client.vouchers.orders.create(123, "10.00", 8)
    await asyncio.gather(*(done.wait() for done in answered))
    for receiver in receivers:
        await receiver.aclose()

    # Every event went to both receivers, once; the shared store let one of them process it.
    assert not [d for d in sandbox.webhooks.deliveries if d.status != 200]
    assert sum(r.stats.accepted for r in receivers) == orders
    assert sum(r.stats.duplicates for r in receivers) == orders
    assert len({event.id for event in processed}) == len(processed) == orders
    for store in stores:
        await store.aclose()


async def test_concurrent_adds_of_one_id_let_exactly_one_through(redis_url):
    first, second = RedisEventStore(redis_url), RedisEventStore(redis_url)
    ids = [f"evt_{n}" for n in range(100)]
    results = await asyncio.gather(
        *(store.add(event_id) for event_id in ids for store in (first, second))
    )
    assert sum(results) == len(ids)
    assert not await first.add("evt_7")
    await first.aclose()
    await second.aclose()


async def test_ids_are_kept_for_the_ttl_under_the_prefix(redis_url):
    connection = redis.asyncio.Redis.from_url(redis_url)
    store = RedisEventStore(connection, ttl=60, prefix="shop:events")
    assert await store.add("evt_1")
    remaining = await connection.pttl("shop:events:evt_1")
    assert 0 < remaining <= 60_000
    await store.aclose()  # the caller's connection stays open
    assert await connection.ping()
    await connection.aclose()


async def test_an_unreachable_redis_gets_a_503_and_the_event_a_redelivery(
    make_sandbox, make_client, serve, caplog
):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    sandbox = await make_sandbox(time_scale=SCALE, webhook_backoff=1.0)
    client = make_client(sandbox)
    processed = []
    store = RedisEventStore(f"redis://127.0.0.1:{closed}/0")
    receiver = client.webhooks.handler(secret=SECRET, store=store, on_event=processed.append)
    url, answered, statuses = await serve(receiver.handle, 2)
    sandbox.webhooks.register(url, SECRET, events={"order.delivered"})

    await client.vouchers.orders.create(123, "10.00", 8)
    with caplog.at_level(logging.ERROR, logger="octopus_async.webhooks"):
        await answered.wait()  # the first delivery and its retry

    assert statuses == [503, 503]
    assert receiver.stats.unrecorded == 2
    assert processed == []  # nothing processed that was not recorded
    assert "answered 503" in caplog.text
    await store.aclose()
