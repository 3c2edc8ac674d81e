"""Many pending orders settling at random times: the sweeping scheduler against a naive loop.

N topup orders (1,000 and 10,000) are placed in an in-process sandbox that enforces the
production read quota (300 reads a minute), time-scaled: a simulated minute lasts
`SCALE * 60` real seconds, and the client's quotas and poll cadence are scaled the same
way. Most orders settle within 5-30 simulated seconds, a tenth within minutes, and for a
tenth the new status shows only to a single GET. Then either

- `sweeping`: one `orders.wait(id)` per order, all sharing the client's PollScheduler, or
- `naive`: workers that GET each pending order in turn (one request per order per pass),

runs until every order is detected. Reported: memory per waiter (tracemalloc, waiters
only: no order has been fetched yet when it is taken), requests per settled order,
detection latency after the server settled (simulated seconds, p50/p99, and every
percentile for the report's chart), and 429s.

The webhooks lines wait for 1,000 voucher orders (fulfilled after 1-10 simulated minutes)
three ways: the naive loop, the scheduler alone (polls only), and the scheduler with the
sandbox delivering signed `order.delivered` webhooks to the client's receiver on loopback:
detection latency after fulfilment (p50/p99 and every percentile), and requests per order.
(Topups and eSIM have no documented webhook events, D39.)

The eSIM line submits 1,000 eSIM orders at once (one connection each, so every create can
be held): the server holds each create up to 60 simulated seconds, and most are fulfilled
within the hold. Reported: the share resolved by the create's answer, with no poll at all,
and the requests it took in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from octopus_async import OctopusClient, PollPolicy, Quota, RateLimits, Timeouts
from octopus_async.sandbox import Sandbox, SandboxConfig

from ._harness import Table, publish

# Requests are counted from the sandbox's log by position: it must keep all of them.
LOG_EVERY_REQUEST = 10_000_000
SCALE = 0.05
SIZES = (1_000, 10_000)
NAIVE_WORKERS = 32
PLAYER = {"player_id": "5123456789"}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency_figures(latencies: list[float], digits: int) -> dict[str, Any]:
    """p50, p99 and every percentile (0 to 100) of `latencies`, in simulated seconds."""
    return {
        "p50_s": round(percentile(latencies, 0.5), digits),
        "p99_s": round(percentile(latencies, 0.99), digits),
        "percentiles_s": [round(percentile(latencies, q / 100), 3) for q in range(101)],
    }


@contextlib.asynccontextmanager
async def webhook_receiver(
    client: OctopusClient, sandbox: Sandbox, events: set[str]
) -> AsyncIterator[None]:
    """The client's webhook handler on a loopback port, registered with the sandbox for
    `events`, until the block ends."""
    app = web.Application()
    app.router.add_post("/webhooks", client.webhooks.handler(secret="whsec_bench").handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks"
        sandbox.webhooks.register(url, "whsec_bench", events=events)
        yield
    finally:
        await runner.cleanup()


async def run(size: int, mode: str) -> dict[str, Any]:
    config = SandboxConfig(
        time_scale=SCALE,
        rate_limits=RateLimits({"read": Quota(300)}),
        request_log_limit=LOG_EVERY_REQUEST,
        wallets={"USD": Decimal("100000000")},
        topup_slow_share=0.1,
        topup_get_only_share=0.1,
        seed=size,
    )
    async with Sandbox(config) as sandbox:
        client = OctopusClient(
            **sandbox.client_settings(),
            rate_limits=RateLimits.production().scaled(SCALE),
            poll=PollPolicy().scaled(SCALE),
        )
        async with client:
            await client.auth.login()
            desk = sandbox.state.topups
            ids = [
                desk.create(4218, Decimal("0.99"), PLAYER, None, None, None).id for _ in range(size)
            ]
            first_request = len(sandbox.requests)
            detected: dict[int, float] = {}
            memory_per_waiter = None
            if mode == "naive":
                await naive_loop(
                    client.with_options(max_retries=1).topups.orders.get, ids, detected
                )
            else:
                memory_per_waiter = await wait_all(client.topups.orders.wait, ids, detected)
            requests = [r for r in sandbox.requests[first_request:] if r.method == "GET"]
            latencies = [
                (detected[order_id] - desk.orders.by_id[order_id].settled_at) / SCALE
                for order_id in ids
            ]
    return {
        "orders": size,
        "mode": mode,
        "bytes_per_waiter": None if memory_per_waiter is None else round(memory_per_waiter),
        "requests_per_order": round(len(requests) / size, 2),
        **latency_figures(latencies, 1),
        "http_429": sum(1 for r in requests if r.status == 429),
    }


async def wait_all(
    wait: Callable[..., Awaitable[Any]], ids: list[int], detected: dict[int, float]
) -> float:
    """Wait for every order through the client's scheduler (`wait` is a vertical's
    `orders.wait`), noting when each is detected; the memory a waiter took, in bytes."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    waiters = [wait(i, timeout=3600 * SCALE * 10) for i in ids]
    memory_per_waiter = (tracemalloc.get_traced_memory()[0] - before) / len(ids)
    tracemalloc.stop()
    for order_id, waiter in zip(ids, waiters, strict=True):
        waiter.add_done_callback(
            lambda _, order_id=order_id: detected.__setitem__(order_id, time.time())
        )
    await asyncio.gather(*waiters, return_exceptions=True)
    return memory_per_waiter


async def naive_loop(
    get: Callable[[int], Awaitable[Any]], ids: list[int], detected: dict[int, float]
) -> None:
    """One GET per pending order (`get` is a vertical's `orders.get`), round robin, inside
    the client's read quota."""
    queue = asyncio.Queue[int]()
    for order_id in ids:
        queue.put_nowait(order_id)

    all_detected = asyncio.Event()

    async def worker() -> None:
        while True:
            order_id = await queue.get()
            order = await get(order_id)
            if order.status == "PENDING":
                queue.put_nowait(order_id)
                continue
            detected[order_id] = time.time()
            if len(detected) == len(ids):
                all_detected.set()

    workers = [asyncio.create_task(worker()) for _ in range(NAIVE_WORKERS)]
    await all_detected.wait()
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)


VOUCHER_MODES = {
    "naive": "vouchers, naive loop",
    "sweeping": "vouchers, polls only",
    "webhooks": "vouchers, webhooks",
}


async def run_vouchers(size: int, mode: str) -> dict[str, Any]:
    config = SandboxConfig(
        time_scale=SCALE,
        rate_limits=RateLimits({"read": Quota(300)}),
        request_log_limit=LOG_EVERY_REQUEST,
        wallets={"USD": Decimal("100000000")},
        voucher_fulfilment_delay=(60.0, 600.0),
        seed=size,
    )
    async with Sandbox(config) as sandbox:
        client = OctopusClient(
            **sandbox.client_settings(),
            rate_limits=RateLimits.production().scaled(SCALE),
            poll=PollPolicy().scaled(SCALE),
        )
        async with client, contextlib.AsyncExitStack() as stack:
            if mode == "webhooks":
                events = {"order.delivered"}
                await stack.enter_async_context(webhook_receiver(client, sandbox, events))
            await client.auth.login()
            desk = sandbox.state.vouchers
            ids = [desk.create(123, Decimal("10.00"), 10, None, None, None).id for _ in range(size)]
            first = len(sandbox.requests)
            detected: dict[int, float] = {}
            if mode == "naive":
                await naive_loop(
                    client.with_options(max_retries=1).vouchers.orders.get, ids, detected
                )
            else:
                await wait_all(client.vouchers.orders.wait, ids, detected)
            requests = len(sandbox.requests) - first
            latencies = [
                (detected[i] - desk.orders.by_id[i].settled_at) / SCALE
                for i in ids  # type: ignore[operator]
            ]
    return {
        "orders": size,
        "mode": VOUCHER_MODES[mode],
        "requests_per_order": round(requests / size, 2),
        **latency_figures(latencies, 2),
        "http_429": sum(1 for r in sandbox.requests if r.status == 429),
    }


async def run_esim(size: int) -> dict[str, Any]:
    config = SandboxConfig(
        time_scale=SCALE,
        rate_limits=RateLimits({"read": Quota(300)}),
        request_log_limit=LOG_EVERY_REQUEST,
        wallets={"USD": Decimal("100000000")},
        seed=size,
    )
    async with Sandbox(config) as sandbox:
        desk = sandbox.state.esim
        answered: dict[int, str] = {}
        hold = desk.held

        async def held_and_noted(order: Any) -> Any:
            answer = await hold(order)
            answered[answer.id] = answer.status
            return answer

        desk.held = held_and_noted  # type: ignore[method-assign]
        client = OctopusClient(
            **sandbox.client_settings(),
            rate_limits=RateLimits({"read": Quota(300)}).scaled(SCALE),
            poll=PollPolicy().scaled(SCALE),
            timeouts=Timeouts(esim_create_read=75 * SCALE),
            max_connections=size,
        )
        async with client:
            await client.auth.login()
            first = len(sandbox.requests)
            waiters = [
                client.esim.orders.submit(712, "4.50", timeout=3600 * SCALE) for _ in range(size)
            ]
            orders = await asyncio.gather(*waiters)
            requests = len(sandbox.requests) - first
    inline = sum(1 for order in orders if answered.get(order.id) == "DELIVERED")
    return {
        "orders": size,
        "mode": "esim held create",
        "resolved_without_poll": round(inline / size, 3),
        "requests": requests,
        "requests_per_order": round(requests / size, 2),
        "http_429": sum(1 for r in sandbox.requests if r.status == 429),
    }


def tables(result: dict[str, Any]) -> list[Table]:
    esim = result["esim"]
    return [
        Table(
            "waiters: pending topups settling at random times, production read quota "
            f"(300/min) time-scaled x{result['time_scale']}; latencies in simulated seconds "
            "(targets: <= 2 KB a waiter, p50 at least 20x the naive loop's at 10,000, 0 x 429)",
            [
                "orders",
                "mode",
                "bytes/waiter",
                "requests/order",
                "p50 s",
                "p99 s",
                "429s",
                "p50 speedup",
            ],
            [
                (
                    r["orders"],
                    r["mode"],
                    r["bytes_per_waiter"] if r["bytes_per_waiter"] is not None else "-",
                    r["requests_per_order"],
                    r["p50_s"],
                    r["p99_s"],
                    r["http_429"],
                    r.get("p50_speedup_vs_naive", "-"),
                )
                for r in result["rows"]
            ],
        ),
        Table(
            "webhooks: 1,000 voucher orders fulfilled after 1-10 simulated minutes; "
            "detection latency after fulfilment, simulated seconds",
            ["orders", "mode", "requests/order", "p50 s", "p99 s", "429s"],
            [
                (
                    r["orders"],
                    r["mode"],
                    r["requests_per_order"],
                    r["p50_s"],
                    r["p99_s"],
                    r["http_429"],
                )
                for r in result["webhooks"]
            ],
        ),
        Table(
            "esim: 1,000 orders submitted at once, each create held up to 60 simulated seconds",
            [
                "orders",
                "resolved by the create's answer",
                "requests in all",
                "requests/order",
                "429s",
            ],
            [
                (
                    esim["orders"],
                    f"{esim['resolved_without_poll']:.1%}",
                    esim["requests"],
                    esim["requests_per_order"],
                    esim["http_429"],
                )
            ],
        ),
    ]


def main() -> None:
    rows = []
    for size in SIZES:
        for mode in ("sweeping", "naive"):
            rows.append(asyncio.run(run(size, mode)))
            print(f"  measured {size} {mode}", flush=True)
    hooks = [asyncio.run(run_vouchers(1_000, mode)) for mode in VOUCHER_MODES]
    esim = asyncio.run(run_esim(1_000))
    for size in SIZES:
        naive = next(r for r in rows if r["orders"] == size and r["mode"] == "naive")
        for row in rows:
            if row["orders"] == size and row is not naive:
                row["p50_speedup_vs_naive"] = round(naive["p50_s"] / max(row["p50_s"], 0.1), 1)
    result = {"time_scale": SCALE, "rows": rows, "webhooks": hooks, "esim": esim}
    publish("waiters", result, tables)


if __name__ == "__main__":
    main()
