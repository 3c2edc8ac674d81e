"""Durable orders on Temporal: a fleet of `octopus-async worker` processes, its throughput
with one and with two workers, and the time it takes to resume after a worker is killed.

Every round runs against one Temporal dev server and one redis-server, each in its own
process on loopback (started once for the run), and a fresh sandbox in this process (so
that its request log counts that round alone). Every worker is an `octopus-async worker`
child process with `--redis-url`: the fleet shares its tokens and its quotas in Redis.
Redis is emptied (FLUSHDB) before each round, since every round has a new sandbox whose
tokens the previous round's would not be: each round's fleet must log in exactly once.
Each round uses its own task queue and client references. Orders are started with
`start_orders` (up to 10,000 starts a second, 32 at once) and awaited with
`handle.result()`, each as soon as it is started. The machine (2 cores, shared) also runs
the Temporal server, the sandbox and this process: the figures are those of a small box.

Throughput: the sandbox has no rate limits and the workers run with `--rate-limits off`
(no create rate either). Two kinds of voucher orders:

- instant: 500 orders of one voucher, delivered in the create's answer, so a workflow is
  one create activity between two workflow tasks;
- polled: 300 orders of 8 vouchers, which the sandbox settles 2 seconds after the create
  (time scale 1); poll scale 0.2 makes the workflow check on a durable timer about once a
  second (1 s +- 20%), so each takes about three checks.

Each kind runs on a fleet of one worker, then of two. Measured: orders/s from the first
start to the last result, the ratio two workers / one, the time until the last start was
accepted, and, counted by the sandbox, logins (target 1), 429s (target 0), creates (must
equal the orders) and GETs per order. Also the CPU seconds per 100 orders of the workers,
of the Temporal server and of this process (sandbox, starter, result waits): where the
time goes when the box is saturated.

Recovery: 200 orders of 8 vouchers that never settle on their own, two workers, the
sandbox with the production quotas at time scale 0.01 (a minute lasts 0.6 s; an access
token 36 s) and the workers with `--rate-limits production --time-scale 0.01`. Poll scale
0.4: a check every 2 s (+- 20%) while an order is under 24 s old, then every 12 s. Once
every order was created and checked once, one worker is SIGKILLed and a replacement
started at once. Measured, from the moment the killed worker was reaped: (a) until every
order has been checked again (each order's first check after the kill is noted: median,
90th percentile, and the last one, which is (a)); (b) from settling every order in the
sandbox then until every result is in. Also: when the replacement was ready, how many
workflows the killed worker had run tasks of (from their histories), and, counted by the
sandbox, logins (target 1), refreshes, 429s (target 0) and creates (must equal the orders:
no create ran twice). Two settings:

- defaults: Temporal's: `--sticky-timeout 10`, workflow task timeout 10 s, activity
  heartbeat timeout 10 s (`OrderInput`'s default);
- tuned: `--sticky-timeout 1`, `task_timeout=2 s` given to `start_orders`, heartbeat
  timeout 2 s.

A workflow the killed worker held waits for Temporal to give up on that worker: its next
workflow task (a timer fired) sits on the dead worker's sticky queue until the sticky
timeout, a task it had started until the task timeout, and a fetch it was running until
the heartbeat timeout; then another worker replays its history and carries on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from temporalio.client import Client, WorkflowHandle

from octopus_async import RateLimits
from octopus_async.batch import VoucherOrderRequest
from octopus_async.integrations.temporal import OrderResult, order_input, start_orders
from octopus_async.sandbox import Sandbox, SandboxConfig
from octopus_async.sandbox.state import RequestRecord

from ._harness import (
    LocalServer,
    cpu_seconds,
    redis_server,
    save,
    stop_process,
    table,
    temporal_dev_server,
)

PRODUCT = 123
DENOMINATION = "10.00"
WALLETS = {"USD": Decimal(10_000_000)}
ORDERS_PATH = "/api/v1/orders"
START_RATE = 10_000.0  # starts a second: not the limit
START_CONCURRENCY = 32
ROOT = Path(__file__).resolve().parent.parent

# Throughput: (kind, orders, vouchers per order); the polled kind settles after a delay.
KINDS = (("instant", 500, 1), ("polled", 300, 8))
FLEETS = (1, 2)
FULFILMENT_DELAY = (2.0, 2.0)  # simulated seconds, time scale 1
THROUGHPUT_POLL_SCALE = 0.2

# Recovery.
RECOVERY_ORDERS = 200
RECOVERY_SCALE = 0.01
RECOVERY_POLL_SCALE = 0.4
SETTINGS = {
    "defaults": {"sticky_timeout": 10.0, "task_timeout": None, "heartbeat_timeout": 10.0},
    "tuned": {"sticky_timeout": 1.0, "task_timeout": 2.0, "heartbeat_timeout": 2.0},
}
WAIT_LIMIT = 180.0  # seconds any one phase may take before the benchmark gives up

_rounds = iter(range(1_000_000))


def task_queue() -> str:
    """A task queue of its own for a round (its orders' references are made from it)."""
    return f"bench-{os.getpid()}-{next(_rounds)}"


# --- the fleet ---------------------------------------------------------------------


class Fleet:
    """`octopus-async worker` processes for one sandbox, Temporal, Redis and task queue."""

    def __init__(
        self, sandbox: Sandbox, temporal: str, redis_url: str, queue: str, *options: str
    ) -> None:
        self.command = [
            *(sys.executable, "-m", "octopus_async.cli", "worker", "--task-queue", queue),
            *("--temporal-address", temporal, "--redis-url", redis_url, *options),
        ]
        self.env = {
            **os.environ,
            "OCTOPUS_BASE_URL": sandbox.url,
            "OCTOPUS_API_KEY": sandbox.api_key,
            "OCTOPUS_API_SECRET": sandbox.api_secret,
        }
        self.processes: list[asyncio.subprocess.Process] = []
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds, noted when it was stopped

    async def start(self, count: int = 1) -> list[asyncio.subprocess.Process]:
        """`count` more workers, started together, once each says it is ready."""
        return list(await asyncio.gather(*(self._start_one() for _ in range(count))))

    async def _start_one(self) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *self.command, stdout=asyncio.subprocess.PIPE, cwd=ROOT, env=self.env
        )
        self.processes.append(process)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if not line.startswith(f"worker {process.pid} ready".encode()):
            raise RuntimeError(f"a worker did not start: {line!r}")
        return process

    async def kill(self, process: asyncio.subprocess.Process) -> None:
        self.cpu[process.pid] = cpu_seconds(process.pid) or 0.0
        process.kill()
        await process.wait()

    async def stop(self) -> None:
        """SIGTERM every worker still running; each must exit 0 (a clean stop)."""
        running = [p for p in self.processes if p.returncode is None]
        for process in running:
            self.cpu[process.pid] = cpu_seconds(process.pid) or 0.0
        statuses = await asyncio.gather(*(stop_process(p) for p in running))
        if any(statuses):
            raise RuntimeError(f"workers exited with {statuses} on SIGTERM")

    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


@asynccontextmanager
async def fleet(
    sandbox: Sandbox, servers: Servers, queue: str, *options: str
) -> AsyncIterator[Fleet]:
    """A fleet (no worker yet) whose workers are stopped when the block ends."""
    workers = Fleet(sandbox, servers.temporal.address, servers.redis.address, queue, *options)
    try:
        yield workers
    finally:
        await workers.stop()


@dataclasses.dataclass
class Servers:
    """What every round shares: Temporal (server and client) and Redis."""

    temporal: LocalServer
    redis: LocalServer
    client: Client
    store: Redis

    async def fresh_round(self) -> tuple[float, float]:
        """Empty Redis for a new round; the CPU seconds of Temporal and of this process."""
        await self.store.flushdb()
        return cpu_seconds(self.temporal.pid) or 0.0, time.process_time()


def orders_of(queue: str, total: int, quantity: int, poll_scale: float, **fields: Any) -> Any:
    """The inputs of `total` voucher orders, references made from `queue`."""
    for n in range(total):
        request = VoucherOrderRequest(
            PRODUCT, DENOMINATION, quantity, client_reference=f"{queue}-{n}"
        )
        yield dataclasses.replace(order_input(request, poll_scale=poll_scale), **fields)


async def start_and_await(
    servers: Servers, orders: Any, queue: str, **options: Any
) -> tuple[list[WorkflowHandle[Any, OrderResult]], list[asyncio.Task[OrderResult]], float]:
    """Start `orders`, awaiting each result from its start on: the handles, the result
    tasks, and when the last start was accepted (loop time)."""
    handles, results = [], []
    async for started in start_orders(
        servers.client,
        orders,
        task_queue=queue,
        per_second=START_RATE,
        concurrency=START_CONCURRENCY,
        **options,
    ):
        if not started.new:
            raise RuntimeError(f"{started.order.client_reference} was started before")
        handles.append(started.handle)
        results.append(asyncio.create_task(started.handle.result()))
    return handles, results, asyncio.get_running_loop().time()


async def results_of(tasks: list[asyncio.Task[OrderResult]]) -> list[OrderResult]:
    try:
        return await asyncio.wait_for(asyncio.gather(*tasks), WAIT_LIMIT)
    finally:
        for task in tasks:
            task.cancel()


def sandbox_counts(sandbox: Sandbox) -> dict[str, int]:
    """What the sandbox counted: logins, refreshes, creates, order GETs and 429s."""
    state = sandbox.state
    return {
        "logins": state.count("POST", "/auth/login"),
        "refreshes": state.count("POST", "/auth/refresh"),
        "creates": state.count("POST", ORDERS_PATH),
        "gets": sum(
            1 for r in state.requests if r.method == "GET" and r.path.startswith(f"{ORDERS_PATH}/")
        ),
        "answers_429": sum(1 for r in state.requests if r.status == 429),
        "other_errors": sum(
            1 for r in state.requests if r.status is None or (r.status >= 400 and r.status != 429)
        ),
    }


def check_delivered(sandbox: Sandbox, results: list[OrderResult], total: int) -> None:
    """Every order delivered, one order per reference, no create run twice."""
    statuses = {r.status for r in results}
    if statuses != {"DELIVERED"} or len(results) != total:
        raise RuntimeError(f"not every order was delivered: {len(results)} x {statuses}")
    references = {o.client_reference for o in sandbox.state.vouchers.orders.by_id.values()}
    if len(references) != total or len(sandbox.state.vouchers.orders.by_id) != total:
        raise RuntimeError("an order was created twice")


# --- throughput --------------------------------------------------------------------


async def throughput_round(servers: Servers, kind: str, total: int, quantity: int, workers: int):
    queue = task_queue()
    temporal_cpu, own_cpu = await servers.fresh_round()
    config = SandboxConfig(wallets=WALLETS, voucher_fulfilment_delay=FULFILMENT_DELAY)
    async with (
        Sandbox(config) as sandbox,
        fleet(sandbox, servers, queue, "--rate-limits", "off") as running,
    ):
        await running.start(workers)
        loop = asyncio.get_running_loop()
        began = loop.time()
        orders = orders_of(queue, total, quantity, THROUGHPUT_POLL_SCALE)
        _, tasks, last_start = await start_and_await(servers, orders, queue)
        results = await results_of(tasks)
        elapsed = loop.time() - began
        await running.stop()
        check_delivered(sandbox, results, total)
        counts = sandbox_counts(sandbox)
    temporal_cpu = (cpu_seconds(servers.temporal.pid) or 0.0) - temporal_cpu
    own_cpu = time.process_time() - own_cpu
    per_100 = 100 / total
    return {
        "kind": kind,
        "orders": total,
        "quantity": quantity,
        "workers": workers,
        "seconds": round(elapsed, 2),
        "per_s": round(total / elapsed, 1),
        "last_start_s": round(last_start - began, 2),
        **counts,
        "gets_per_order": round(counts["gets"] / total, 2),
        "cpu_s_per_100": {
            "workers": round(running.cpu_seconds() * per_100, 2),
            "temporal": round(temporal_cpu * per_100, 2),
            "benchmark": round(own_cpu * per_100, 2),
        },
    }


async def throughput(servers: Servers) -> dict[str, Any]:
    rounds = [
        await throughput_round(servers, kind, total, quantity, workers)
        for kind, total, quantity in KINDS
        for workers in FLEETS
    ]
    ratios = {}
    for kind, _, _ in KINDS:
        one, two = (
            next(r for r in rounds if (r["kind"], r["workers"]) == (kind, n)) for n in FLEETS
        )
        ratios[kind] = round(two["per_s"] / one["per_s"], 2)
    return {
        "start_rate": START_RATE,
        "start_concurrency": START_CONCURRENCY,
        "fulfilment_delay": list(FULFILMENT_DELAY),
        "poll_scale": THROUGHPUT_POLL_SCALE,
        "rounds": rounds,
        "two_over_one": ratios,
    }


# --- recovery ----------------------------------------------------------------------


class Checks:
    """When the sandbox received each order's GETs, noted as its requests are logged."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.times: dict[str, list[float]] = {}  # order path -> when each GET was received
        self._goal: Callable[[RequestRecord], bool] = lambda record: False
        self._reached = asyncio.Event()
        self._reached_at = 0.0
        log = sandbox.state.log_request

        def log_and_watch(record: RequestRecord) -> None:
            log(record)
            if record.method == "GET" and record.path.startswith(f"{ORDERS_PATH}/"):
                self.times.setdefault(record.path, []).append(record.received_at)
                if not self._reached.is_set() and self._goal(record):
                    self._reached_at = record.received_at
                    self._reached.set()

        sandbox.state.log_request = log_and_watch  # type: ignore[method-assign]

    async def _until(self, goal: Callable[[RequestRecord], bool]) -> float:
        """When the order GET after which `goal` held was received."""
        self._goal = goal
        self._reached = asyncio.Event()
        await asyncio.wait_for(self._reached.wait(), WAIT_LIMIT)
        return self._reached_at

    async def until_each_checked(self, total: int) -> float:
        """Wait until `total` orders have been fetched (each created and checked once)."""
        if len(self.times) >= total:
            return max(times[0] for times in self.times.values())
        return await self._until(lambda record: len(self.times) >= total)

    async def until_all_checked_since(self, since: float) -> float:
        """Wait until every order fetched so far has been fetched again at or after `since`."""
        waiting = {path for path, times in self.times.items() if times[-1] < since}

        def goal(record: RequestRecord) -> bool:
            waiting.discard(record.path)
            return not waiting

        if not waiting:
            return since
        return await self._until(goal)

    def first_checks_since(self, since: float) -> list[float]:
        """Each order's first check at or after `since`, in seconds after it."""
        return [min(t for t in times if t >= since) - since for times in self.times.values()]


async def workflows_run_by(handles: list[WorkflowHandle[Any, Any]], pid: int) -> int:
    """How many of the workflows had a workflow task completed by the worker `pid`."""
    identity = f"{pid}@"
    limit = asyncio.Semaphore(16)

    async def ran(handle: WorkflowHandle[Any, Any]) -> bool:
        async with limit:
            history = await handle.fetch_history()
        return any(
            event.workflow_task_completed_event_attributes.identity.startswith(identity)
            for event in history.events
            if event.HasField("workflow_task_completed_event_attributes")
        )

    return sum(await asyncio.gather(*(ran(h) for h in handles)))


async def recovery_round(servers: Servers, setting: str) -> dict[str, Any]:
    sticky, task_timeout, heartbeat = SETTINGS[setting].values()
    queue = task_queue()
    await servers.fresh_round()
    config = SandboxConfig(
        wallets=WALLETS,
        rate_limits=RateLimits.production(),
        time_scale=RECOVERY_SCALE,
        voucher_fulfilment_delay=(1e9, 1e9),  # pending until settled below
    )
    options = (
        *("--rate-limits", "production", "--time-scale", str(RECOVERY_SCALE)),
        *("--sticky-timeout", str(sticky)),
    )
    loop = asyncio.get_running_loop()
    async with Sandbox(config) as sandbox, fleet(sandbox, servers, queue, *options) as running:
        checks = Checks(sandbox)
        first, _ = await running.start(2)
        began = loop.time()
        orders = orders_of(
            queue, RECOVERY_ORDERS, 8, RECOVERY_POLL_SCALE, heartbeat_timeout=heartbeat
        )
        start_options = (
            {} if task_timeout is None else {"task_timeout": timedelta(seconds=task_timeout)}
        )
        handles, tasks, last_start = await start_and_await(servers, orders, queue, **start_options)
        try:
            checked_once = await checks.until_each_checked(RECOVERY_ORDERS)
            await running.kill(first)
            killed_at = loop.time()
            await running.start()
            replaced = loop.time()
            resumed = await checks.until_all_checked_since(killed_at)
            delays = sorted(checks.first_checks_since(killed_at))
            settled_at = loop.time()
            for order_id in list(sandbox.state.vouchers.orders.by_id):
                sandbox.state.vouchers.settle(order_id)
            results = await results_of(tasks)
            done = loop.time()
        finally:
            for task in tasks:
                task.cancel()
        await running.stop()
        check_delivered(sandbox, results, RECOVERY_ORDERS)
        counts = sandbox_counts(sandbox)
    return {
        "setting": setting,
        "sticky_timeout_s": sticky,
        "task_timeout_s": task_timeout or 10.0,
        "heartbeat_timeout_s": heartbeat,
        "orders": RECOVERY_ORDERS,
        "last_start_s": round(last_start - began, 2),
        "checked_once_s": round(checked_once - began, 2),
        "replacement_ready_s": round(replaced - killed_at, 2),
        "resumed_s": round(resumed - killed_at, 2),
        "first_check_p50_s": round(statistics.median(delays), 2),
        "first_check_p90_s": round(delays[int(len(delays) * 0.9)], 2),
        "settled_to_results_s": round(done - settled_at, 2),
        "held_by_killed_worker": await workflows_run_by(handles, first.pid),
        **counts,
    }


async def recovery(servers: Servers) -> dict[str, Any]:
    return {
        "orders": RECOVERY_ORDERS,
        "time_scale": RECOVERY_SCALE,
        "poll_scale": RECOVERY_POLL_SCALE,
        "rounds": [await recovery_round(servers, setting) for setting in SETTINGS],
    }


async def measure() -> dict[str, Any]:
    async with temporal_dev_server() as temporal, redis_server() as redis:
        store = Redis.from_url(redis.address)
        try:
            servers = Servers(temporal, redis, await Client.connect(temporal.address), store)
            return {"throughput": await throughput(servers), "recovery": await recovery(servers)}
        finally:
            await store.aclose()


def main() -> None:
    result = asyncio.run(measure())
    speed, resume = result["throughput"], result["recovery"]
    print(
        table(
            "temporal throughput: voucher orders through `octopus-async worker` processes, "
            "no rate limits, one Redis; orders/s from the first start to the last result "
            "(instant: delivered in the create's answer; polled: settles 2 s after, checks "
            "every ~1 s)",
            [
                "kind",
                "orders",
                "workers",
                "seconds",
                "orders/s",
                "two/one",
                "last start s",
                "logins",
                "429s",
                "creates",
                "GETs/order",
                "CPU s/100: workers",
                "Temporal",
                "bench",
            ],
            [
                (
                    r["kind"],
                    r["orders"],
                    r["workers"],
                    r["seconds"],
                    r["per_s"],
                    speed["two_over_one"][r["kind"]] if r["workers"] == 2 else "",
                    r["last_start_s"],
                    r["logins"],
                    r["answers_429"],
                    r["creates"],
                    r["gets_per_order"],
                    r["cpu_s_per_100"]["workers"],
                    r["cpu_s_per_100"]["temporal"],
                    r["cpu_s_per_100"]["benchmark"],
                )
                for r in speed["rounds"]
            ],
        )
    )
    print("CPU s/100: CPU seconds per 100 orders; bench = sandbox, starter and result waits")
    print()
    print(
        table(
            f"temporal recovery: {resume['orders']} pending orders on two workers, production "
            f"quotas at time scale {resume['time_scale']}, checks every ~2 s; one worker "
            "SIGKILLed once each order was checked, a replacement started; seconds after the "
            "kill",
            [
                "setting",
                "sticky s",
                "task s",
                "heartbeat s",
                "replacement ready",
                "first check p50",
                "p90",
                "all checked (a)",
                "settled->results (b)",
                "held by killed",
                "logins",
                "refreshes",
                "429s",
                "creates",
            ],
            [
                (
                    r["setting"],
                    r["sticky_timeout_s"],
                    r["task_timeout_s"],
                    r["heartbeat_timeout_s"],
                    r["replacement_ready_s"],
                    r["first_check_p50_s"],
                    r["first_check_p90_s"],
                    r["resumed_s"],
                    r["settled_to_results_s"],
                    r["held_by_killed_worker"],
                    r["logins"],
                    r["refreshes"],
                    r["answers_429"],
                    r["creates"],
                )
                for r in resume["rounds"]
            ],
        )
    )
    print(
        "(b) runs from settling every order in the sandbox to the last result; held by "
        "killed: workflows with a workflow task completed by the killed worker"
    )
    print(f"written to {save('temporal', result)}\n")


if __name__ == "__main__":
    main()
