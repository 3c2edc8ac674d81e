"""A web application that orders topups inside its request handlers, within a time budget.

    python examples/web_app.py

`POST /topups` places the order and waits for it for at most `BUDGET` seconds: an order
that settles in time is answered 200 with the order; one that does not is answered
202 Accepted with a `Location` to poll, `GET /orders/{client_reference}`, which answers 202
while the order is pending and 200 once it has settled. The order's waiter keeps running
after the budget, so the status URL is answered from memory; after a restart (an empty
memory) it is answered by looking the order up by its reference.

`main()` serves the app on 127.0.0.1 (a free port) against an in-process sandbox and drives
it as a browser or a mobile app would: one order delivered within the budget (200), one
that takes minutes upstream (202, then polls until 200), and the same status URL asked of
a restarted server. The sandbox and the poll cadence run 100 times faster than real time,
so it all takes a few seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from octopus_async import (
    BadRequestError,
    InvalidRequestError,
    OctopusClient,
    OrderFailedError,
    OrderWaitTimeout,
    PendingOrder,
    PollPolicy,
)
from octopus_async.models import TopupOrder, TopupOrderStatus
from octopus_async.sandbox import Sandbox, SandboxConfig

SCALE = 0.01  # the sandbox and the poll cadence run 100 times faster than real time
# How long a request may wait for its order, in real seconds: what the user will sit
# through. It is not scaled: it is about the user, not about the sandbox's clock.
BUDGET = 1.0
# How long a settled waiter stays in memory to answer its status URL (10 minutes, scaled
# here like the sandbox); after that, `find` answers.
KEEP_SETTLED = 600.0

CLIENT = web.AppKey("octopus_client", OctopusClient)
WAITERS = web.AppKey("topup_waiters", dict[str, PendingOrder[TopupOrder]])


def make_app(client_settings: Mapping[str, Any]) -> web.Application:
    """The application; `client_settings` are the OctopusClient's arguments (in production,
    leave them out and let OCTOPUS_API_KEY / OCTOPUS_API_SECRET speak)."""
    app = web.Application()
    app[WAITERS] = {}

    async def octopus_client(app: web.Application) -> AsyncIterator[None]:
        # One client per application, opened on startup and closed on cleanup: it holds the
        # connection pool, the login, the rate-limit buckets and the one poll scheduler that
        # every waiter shares. A client per request would log in for each and poll alone.
        async with OctopusClient(**client_settings, poll=PollPolicy().scaled(SCALE)) as client:
            app[CLIENT] = client
            yield
        # Closing ends the waits still pending (each with a resume token); the orders go on
        # upstream, and a restarted app answers their status URLs with `find`.

    app.cleanup_ctx.append(octopus_client)
    app.router.add_post("/topups", create_topup)
    app.router.add_get("/orders/{reference}", order_status, name="order-status")
    return app


async def create_topup(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        product_id, amount, player_id = body["product_id"], body["amount"], body["player_id"]
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "expected product_id, amount, player_id"}, status=400)
    client = request.app[CLIENT]
    try:
        # `submit` returns at once with a waiter that creates the order exactly once (under
        # a client_reference it generates) and then follows it on the shared scheduler.
        # The amount stays a string: the SDK reads it as a Decimal, never as a float.
        waiter = client.topups.orders.submit(
            product_id, amount, input_data={"player_id": player_id}
        )
    except InvalidRequestError as error:  # refused before anything was sent (bad input)
        return web.json_response({"error": str(error)}, status=400)
    reference = waiter.client_reference
    assert reference is not None  # submit always has one
    remember(request.app, reference, waiter)
    if not await settled_within(waiter, BUDGET):
        location = request.app.router["order-status"].url_for(reference=reference)
        return pending(waiter.order, reference, str(location))
    try:
        order = waiter.result()
    except OrderFailedError as failed:
        # Settled, and not delivered: the wallet was refunded; the reason is safe to show.
        return web.json_response(describe(failed.order, failed), status=422)
    except BadRequestError as refused:
        # The server refused the create (an unknown product, an amount no variant takes):
        # nothing was ordered. (Other errors, a 5xx say, end up as this app's 500.)
        return web.json_response({"error": refused.message}, status=400)
    return web.json_response(describe(order), status=200)


async def order_status(request: web.Request) -> web.Response:
    reference = request.match_info["reference"]
    waiter = request.app[WAITERS].get(reference)
    if waiter is not None and not waiter.done():
        return pending(waiter.order, reference)
    if waiter is not None:
        try:
            return web.json_response(describe(waiter.result()))
        except OrderFailedError as failed:
            return web.json_response(describe(failed.order, failed))
        except OrderWaitTimeout:
            pass  # the wait gave up (its deadline, or a shutdown): ask the server below
    # Not in memory: this process restarted since, or forgot a long-settled order. The
    # reference finds the order; then one GET reads its live status (a topup's settled
    # status can show in lists later than to a single GET).
    client = request.app[CLIENT]
    try:
        found = await client.topups.orders.find(reference)
    except InvalidRequestError:  # not a well-formed client_reference
        found = None
    if found is None:
        return web.json_response({"error": "no such order"}, status=404)
    order = await client.topups.orders.get(found.id)
    if order.status == TopupOrderStatus.PENDING:
        return pending(order, reference)
    return web.json_response(describe(order))


async def settled_within(waiter: PendingOrder[TopupOrder], budget: float) -> bool:
    """Whether `waiter` ends within `budget` seconds. The waiter itself is never cancelled:
    it goes on following the order for the status URL, whatever this returns.

    (`asyncio.wait_for(waiter, budget)` would cancel the waiter, and with it the create or
    the polling; `asyncio.shield` or `asyncio.wait` would wrap it in a task whose failure,
    if nobody asks the status URL, is logged as "Task exception was never retrieved".)
    """
    ended = asyncio.Event()
    waiter.add_done_callback(lambda _: ended.set())
    try:
        await asyncio.wait_for(ended.wait(), budget)
    except asyncio.TimeoutError:
        return False
    return True


def remember(app: web.Application, reference: str, waiter: PendingOrder[TopupOrder]) -> None:
    """Keep `waiter` for its status URL until `KEEP_SETTLED` after it settles."""
    waiters = app[WAITERS]
    waiters[reference] = waiter
    loop = asyncio.get_running_loop()

    def settled(waiter: PendingOrder[TopupOrder]) -> None:
        # A failure is an answer for the status URL, which nobody may ask: reading it here
        # keeps asyncio from logging "Future exception was never retrieved" when the
        # waiter is forgotten.
        if not waiter.cancelled():
            waiter.exception()
        loop.call_later(KEEP_SETTLED * SCALE, waiters.pop, reference, None)

    waiter.add_done_callback(settled)


def pending(order: TopupOrder | None, reference: str, location: str | None = None) -> web.Response:
    """202 Accepted: the order is paid and being fulfilled; ask again after Retry-After."""
    headers = {"Retry-After": "1"}
    if location is not None:
        headers["Location"] = location
    document = {
        "client_reference": reference,
        # None only while the create has not answered yet.
        "order_id": None if order is None else order.id,
        "status": "PENDING",
    }
    return web.json_response(document, status=202, headers=headers)


def describe(order: TopupOrder, failed: OrderFailedError | None = None) -> dict[str, Any]:
    """What the app shows of an order (topup orders carry no codes or other secrets)."""
    document: dict[str, Any] = {
        "order_id": order.id,
        "client_reference": order.client_reference,
        "status": str(order.status),
        "status_text": order.status_text,
        "product": f"{order.product_name} {order.variant_name}",
        "charged": f"{order.amount} {order.currency}",
    }
    if failed is not None:
        document["failure_reason"] = failed.failure_reason
        document["user_fixable"] = failed.is_user_fixable
    return document


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()  # port 0: any free port
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def main() -> None:
    config = SandboxConfig(
        time_scale=SCALE,
        # PUBG Mobile UC settles upstream 2.5 to 4 minutes after its create (1.5 to 2.5 s
        # here): longer than the budget. Free Fire Diamonds is delivered within its create.
        topup_settle_delay=(150.0, 250.0),
        topup_slow_share=0.0,
    )
    async with Sandbox(config) as sandbox, aiohttp.ClientSession() as browser:
        settings = dict(sandbox.client_settings())
        runner, url = await serve(make_app(settings))
        print(f"web app at {url}, request budget {BUDGET} s")
        started = time.monotonic()

        def elapsed() -> str:
            return f"{time.monotonic() - started:5.2f} s"

        fast = {"product_id": 4240, "amount": "0.99", "player_id": "5123456789"}
        async with browser.post(f"{url}/topups", json=fast) as response:
            order = await response.json()
            print(f"{elapsed()}  POST /topups (Free Fire) -> {response.status}: {order['status']}")
            print(f"          order {order['order_id']}, {order['product']}, {order['charged']}")

        slow = {"product_id": 4218, "amount": "4.99", "player_id": "5123456789"}
        async with browser.post(f"{url}/topups", json=slow) as response:
            accepted = await response.json()
            location = response.headers["Location"]
            print(f"{elapsed()}  POST /topups (PUBG) -> {response.status}: {accepted['status']}")
            print(f"          Location: {location}")

        # The user's side: poll the status URL, as often as Retry-After asks, until 200.
        while True:
            async with browser.get(url + location) as response:
                status = await response.json()
                print(f"{elapsed()}  GET {location} -> {response.status}: {status['status']}")
                if response.status != 202:
                    break
                await asyncio.sleep(float(response.headers["Retry-After"]))
        print(f"          {status['status_text']}: {status['product']}, {status['charged']}")
        await runner.cleanup()  # closes the app's OctopusClient too

        # A restarted server (a new process, say) knows no waiter: `find` answers.
        runner, url = await serve(make_app(settings))
        async with browser.get(url + location) as response:
            status = await response.json()
            print(f"after a restart: GET {location} -> {response.status}: {status['status']}")
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
