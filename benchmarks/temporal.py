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

Each round starts 10 s after the previous one ended. Without that pause, a round right
after one with Temporal's 10 s timeouts saw its timers fire up to 12 s late (the dev
server still busy with the previous round's timeout timers, it seems); the recovery
rounds report how late their timers fired.

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
0.4: a check every 2 s (+- 20%) while an order is under 24 s old, then every 12 s (the
SDK's cadence: 5 s for a minute, then 30 s, scaled). 200 orders at 2 s ask for 100 checks
a second, each two workflow tasks and an activity: about what this box keeps up with, so
the median interval between two checks of an order before the kill is reported too.
Once every order was created and checked once, one worker is SIGKILLed and a replacement
started at once. Measured, from the moment the killed worker was reaped:

- (a) until every order has been checked again. Each order's first check after the kill
  is noted, separately for the orders whose workflow the killed worker had run a task of
  (from their histories) and for the others: median and last. A check follows the
  cadence, so an order past 24 s of age at the kill may be checked only 12 s later
  whatever the recovery took; hence also, from the histories, per workflow the longest
  that a task of it (a workflow task, timeouts and retries included, or an activity)
  completed after the kill had waited since it was scheduled: Temporal's recovery alone;
- (b) from settling every order in the sandbox then until every result is in, and until
  the last order's check. (b) depends on the orders' age at that moment, reported as the
  time since the first start: past 24 s the checks come every 12 s.

Also when the replacement was ready, the CPU seconds of the round (workers, Temporal,
this process); counted by the sandbox, logins (target 1), refreshes, 429s (target 0),
creates (must equal the orders: no create ran twice) and GETs; and from the workflows'
histories, workflow tasks that timed out waiting on a sticky queue (schedule-to-start)
or once started (the task timeout), activity attempts after the first, and how late
Temporal fired the timers (99th percentile and worst, seconds after they were due).

Two settings, interleaved, each run twice (the box is shared: a round can be slowed by
other work):

- defaults: Temporal's: `--sticky-timeout 10`, workflow task timeout 10 s, activity
  heartbeat timeout 10 s (`OrderInput`'s default);
- tuned: `--sticky-timeout 1`, `task_timeout=2 s` given to `start_orders`, heartbeat
  timeout 2 s.

A workflow the killed worker held waits for Temporal to give up on that worker: its next
workflow task (a timer fired) sits on the dead worker's sticky queue until the sticky
timeout, a task it had started until the task timeout, and a fetch it was running until
the heartbeat timeout; then another worker replays its history and carries on.

Every worker still running at the end of a round is stopped with SIGTERM; its exit status
is recorded (0 is a clean stop) and the statuses other than 0 are printed. The load
average before and after the run is recorded too: other work on the box shows in it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
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
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import Client, WorkflowHandle

from octopus_async import RateLimits
from octopus_async.batch import VoucherOrderRequest
from octopus_async.integrations.temporal import OrderResult, order_input, start_orders
from octopus_async.sandbox import Sandbox, SandboxConfig
from octopus_async.sandbox.state import RequestRecord

from ._harness import (
    LocalServer,
    Table,
    cpu_seconds,
    publish,
    redis_server,
    stop_process,
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
RECOVERY_REPEATS = 2
# Seconds between rounds: right after a round with 10 s timeouts, the next round's timers
# fired up to 12 s late in trials (Temporal still busy with the previous round's timeout
# timers, it seems); after a 10 s pause, on time.
COOL_DOWN = 10.0
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
        self.exits: list[int] = []  # the exit statuses of the workers stopped by SIGTERM

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
        """SIGTERM every worker still running; their exit statuses go to `exits` (0 is a
        clean stop)."""
        running = [p for p in self.processes if p.returncode is None]
        for process in running:
            self.cpu[process.pid] = cpu_seconds(process.pid) or 0.0
        self.exits += await asyncio.gather(*(stop_process(p) for p in running))

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

    rounds: int = 0

    async def fresh_round(self) -> tuple[float, float]:
        """Pause after the previous round (`COOL_DOWN`) and empty Redis for a new one; the
        CPU seconds of Temporal and of this process so far."""
        if self.rounds:
            await asyncio.sleep(COOL_DOWN)
        self.rounds += 1
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


async def throughput_round(
    servers: Servers, kind: str, total: int, quantity: int, workers: int
) -> dict[str, Any]:
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
        "worker_exits_on_sigterm": running.exits,
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

    def first_checks_since(self, since: float) -> dict[int, float]:
        """Each order's first check at or after `since`, in seconds after it, by order id."""
        return {
            int(path.rsplit("/", 1)[1]): min(t for t in times if t >= since) - since
            for path, times in self.times.items()
        }

    def intervals_before(self, moment: float) -> list[float]:
        """The seconds between consecutive checks of each order, all before `moment`."""
        return [
            later - earlier
            for times in self.times.values()
            for earlier, later in itertools.pairwise(t for t in times if t < moment)
        ]


@dataclasses.dataclass
class Histories:
    """What the workflows' histories tell of a round."""

    held: list[bool]  # per workflow: whether the killed worker completed a task of it
    # Per workflow: the longest a task of it (a workflow task or an activity) waited from
    # being scheduled to being completed, of those completed after the kill.
    longest_wait: list[float]
    # Every timer's lateness: how long after it was due Temporal fired it.
    timer_lateness: list[float] = dataclasses.field(default_factory=list)
    sticky_timeouts: int = 0  # workflow tasks not taken from a sticky queue in time
    task_timeouts: int = 0  # workflow tasks started but not completed in time
    activity_retries: int = 0  # activity attempts after the first (a lost heartbeat, ...)


async def histories(
    handles: list[WorkflowHandle[Any, Any]], killed_pid: int, killed_at: float
) -> Histories:
    """The workflows' histories, read once they completed; `killed_at` is a Unix time."""
    identity = f"{killed_pid}@"
    limit = asyncio.Semaphore(16)
    found = Histories([], [])

    async def read(handle: WorkflowHandle[Any, Any]) -> tuple[bool, float]:
        async with limit:
            history = await handle.fetch_history()
        held, longest = False, 0.0
        task_since: float | None = None  # a workflow task awaited since (timeouts included)
        activities: dict[int, float] = {}  # scheduled event id -> when
        timers: dict[int, float] = {}  # started event id -> when due
        for event in history.events:
            at = event.event_time.ToMicroseconds() / 1e6
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                task_since = at if task_since is None else task_since
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                completed = event.workflow_task_completed_event_attributes
                held = held or completed.identity.startswith(identity)
                if task_since is not None and at >= killed_at:
                    longest = max(longest, at - task_since)
                task_since = None
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                timeout = event.workflow_task_timed_out_event_attributes.timeout_type
                if timeout == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START:
                    found.sticky_timeouts += 1
                else:
                    found.task_timeouts += 1
            elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
                due = event.timer_started_event_attributes.start_to_fire_timeout
                timers[event.event_id] = at + due.ToMicroseconds() / 1e6
            elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
                started = event.timer_fired_event_attributes.started_event_id
                found.timer_lateness.append(at - timers[started])
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                activities[event.event_id] = at
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                found.activity_retries += event.activity_task_started_event_attributes.attempt - 1
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and at >= killed_at:
                scheduled = event.activity_task_completed_event_attributes.scheduled_event_id
                longest = max(longest, at - activities[scheduled])
        return held, longest

    for held, longest in await asyncio.gather(*(read(h) for h in handles)):
        found.held.append(held)
        found.longest_wait.append(longest)
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def spread(values: list[float]) -> dict[str, float | None]:
    """The median and the largest of `values`, in seconds (None for none)."""
    if not values:
        return {"p50_s": None, "max_s": None}
    return {"p50_s": round(statistics.median(values), 2), "max_s": round(max(values), 2)}


async def recovery_round(servers: Servers, setting: str) -> dict[str, Any]:
    sticky, task_timeout, heartbeat = SETTINGS[setting].values()
    queue = task_queue()
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
    temporal_cpu, own_cpu = await servers.fresh_round()
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
            killed_at, killed_unix = loop.time(), time.time()
            await running.start()
            replaced = loop.time()
            resumed = await checks.until_all_checked_since(killed_at)
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
    temporal_cpu = (cpu_seconds(servers.temporal.pid) or 0.0) - temporal_cpu
    own_cpu = time.process_time() - own_cpu
    resumed_after = checks.first_checks_since(killed_at)
    history = await histories(handles, first.pid, killed_unix)
    groups: dict[str, list[float]] = {"killed_workers_orders": [], "other_orders": []}
    waits: dict[str, list[float]] = {"killed_workers_orders": [], "other_orders": []}
    for result, was_held, wait in zip(results, history.held, history.longest_wait, strict=True):
        group = "killed_workers_orders" if was_held else "other_orders"
        groups[group].append(resumed_after[result.order_id])
        waits[group].append(wait)
    intervals = checks.intervals_before(killed_at)
    detected = max(checks.first_checks_since(settled_at).values())
    return {
        "setting": setting,
        "sticky_timeout_s": sticky,
        "task_timeout_s": task_timeout or 10.0,
        "heartbeat_timeout_s": heartbeat,
        "orders": RECOVERY_ORDERS,
        "last_start_s": round(last_start - began, 2),
        "checked_once_s": round(checked_once - began, 2),
        "killed_at_s": round(killed_at - began, 2),
        "check_interval_before_kill_p50_s": round(statistics.median(intervals), 2),
        "replacement_ready_s": round(replaced - killed_at, 2),
        "resumed_s": round(resumed - killed_at, 2),
        "first_check_after_kill": {
            group: {"orders": len(delays), **spread(delays)} for group, delays in groups.items()
        },
        "longest_task_wait_after_kill": {group: spread(w) for group, w in waits.items()},
        "timer_lateness": {
            "timers": len(history.timer_lateness),
            **spread(history.timer_lateness),
            "p99_s": round(percentile(history.timer_lateness, 0.99), 2),
        },
        "sticky_timeouts": history.sticky_timeouts,
        "task_timeouts": history.task_timeouts,
        "activity_retries": history.activity_retries,
        "age_at_settle_s": round(settled_at - began, 2),
        "settled_to_all_checked_s": round(detected, 2),
        "settled_to_results_s": round(done - settled_at, 2),
        **counts,
        "cpu_s": {
            "workers": round(running.cpu_seconds(), 1),
            "temporal": round(temporal_cpu, 1),
            "benchmark": round(own_cpu, 1),
            "wall": round(done - began, 1),
        },
        "worker_exits_on_sigterm": running.exits,
    }


async def recovery(servers: Servers) -> dict[str, Any]:
    return {
        "orders": RECOVERY_ORDERS,
        "time_scale": RECOVERY_SCALE,
        "poll_scale": RECOVERY_POLL_SCALE,
        "rounds": [
            await recovery_round(servers, setting)
            for _ in range(RECOVERY_REPEATS)
            for setting in SETTINGS
        ],
    }


async def measure() -> dict[str, Any]:
    load = [round(n, 2) for n in os.getloadavg()]
    async with temporal_dev_server() as temporal, redis_server() as redis:
        store = Redis.from_url(redis.address)
        try:
            servers = Servers(temporal, redis, await Client.connect(temporal.address), store)
            speed, resume = await throughput(servers), await recovery(servers)
        finally:
            await store.aclose()
    return {
        "load_average_before": load,
        "throughput": speed,
        "recovery": resume,
    }


def tables(result: dict[str, Any]) -> list[Table]:
    speed, resume = result["throughput"], result["recovery"]
    groups = ("killed_workers_orders", "other_orders")
    exits = [
        status
        for part in (speed, resume)
        for r in part["rounds"]
        for status in r["worker_exits_on_sigterm"]
    ]
    unclean = [status for status in exits if status != 0]
    return [
        Table(
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
            ["CPU s/100: CPU seconds per 100 orders; bench = sandbox, starter and result waits"],
        ),
        Table(
            f"temporal recovery: {resume['orders']} pending orders on two workers, production "
            f"quotas at time scale {resume['time_scale']}, a check every ~2 s; one worker "
            "SIGKILLed once every order was checked, a replacement started at once; seconds "
            "after the kill unless said",
            [
                "setting",
                "sticky/task/heartbeat s",
                "interval before kill",
                "killed at",
                "replacement ready",
                "killed's orders",
                "check p50",
                "max",
                "wait p50",
                "max",
                "others",
                "check p50",
                "max",
                "wait p50",
                "max",
                "all checked (a)",
            ],
            [
                (
                    r["setting"],
                    f"{r['sticky_timeout_s']:g}/{r['task_timeout_s']:g}/"
                    f"{r['heartbeat_timeout_s']:g}",
                    r["check_interval_before_kill_p50_s"],
                    r["killed_at_s"],
                    r["replacement_ready_s"],
                    *(
                        value
                        for group in groups
                        for value in (
                            *r["first_check_after_kill"][group].values(),
                            *r["longest_task_wait_after_kill"][group].values(),
                        )
                    ),
                    r["resumed_s"],
                )
                for r in resume["rounds"]
            ],
            [
                "interval before kill: median time between two checks of an order (nominal "
                "2 s); killed at: seconds since the first start (past 24 s of age an order is "
                "checked every 12 s); killed's orders: those whose workflow the killed worker "
                "had run a task of; check: their first check after the kill; wait: per "
                "workflow, the longest a task of it (workflow task or activity) completed "
                "after the kill had waited since it was scheduled"
            ],
        ),
        Table(
            "temporal recovery, then settling every order: seconds from settling to the last "
            "order's check and to the last result; counted by the sandbox for the whole round "
            "(targets: 1 login, 0 x 429, one create per order); read from the histories; CPU "
            "seconds of the round",
            [
                "setting",
                "age at settle",
                "settle->checked",
                "settle->results (b)",
                "logins",
                "refreshes",
                "429s",
                "creates",
                "GETs",
                "sticky timeouts",
                "task timeouts",
                "activity retries",
                "timer late p99",
                "max",
                "wall s",
                "CPU s: workers",
                "Temporal",
                "bench",
            ],
            [
                (
                    r["setting"],
                    r["age_at_settle_s"],
                    r["settled_to_all_checked_s"],
                    r["settled_to_results_s"],
                    r["logins"],
                    r["refreshes"],
                    r["answers_429"],
                    r["creates"],
                    r["gets"],
                    r["sticky_timeouts"],
                    r["task_timeouts"],
                    r["activity_retries"],
                    r["timer_lateness"]["p99_s"],
                    r["timer_lateness"]["max_s"],
                    r["cpu_s"]["wall"],
                    r["cpu_s"]["workers"],
                    r["cpu_s"]["temporal"],
                    r["cpu_s"]["benchmark"],
                )
                for r in resume["rounds"]
            ],
            [
                f"workers stopped by SIGTERM: {len(exits)}, exited other than 0: "
                f"{len(unclean)} {unclean or ''}",
                f"{result['cpus']} CPUs; load average (1, 5, 15 min) before the run "
                f"{result['load_average_before']}, after {result['load_average_after']}",
            ],
        ),
    ]


def main() -> None:
    publish("temporal", asyncio.run(measure()), tables)


if __name__ == "__main__":
    main()
