"""A fleet of `octopus-async worker` processes on Temporal and Redis, against a sandbox with
the production quotas (time-scaled): orders started in bulk complete once each, a worker
killed mid-wait is replaced without any create running again, no request meets a 429,
and the whole fleet logs in once."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sys
from datetime import timedelta
from decimal import Decimal

import anyio
import pytest
from temporalio.client import Client

from octopus_async import RateLimits
from octopus_async.batch import VoucherOrderRequest
from octopus_async.integrations.temporal import order_input, start_orders
from octopus_async.models import VoucherOrderStatus

pytestmark = pytest.mark.real_time

SCALE = 0.01  # a production minute of the sandbox and of the quotas lasts 0.6 s
POLL_SCALE = 0.4  # a check every 2 s: 200 waits read about 100 times a second, of 450
ORDERS = 200
ORDERS_PATH = "/api/v1/orders"


async def start_worker(sandbox, temporal_address, redis_url, task_queue, *args: str):
    """An `octopus-async worker` process for the sandbox, once it says it is ready."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "octopus_async.cli",
        "worker",
        "--task-queue",
        task_queue,
        "--temporal-address",
        temporal_address,
        "--redis-url",
        redis_url,
        "--rate-limits",
        "production",
        "--time-scale",
        str(SCALE),
        "--sticky-timeout",
        "1",
        *args,
        stdout=asyncio.subprocess.PIPE,
        env={
            **os.environ,
            "OCTOPUS_BASE_URL": sandbox.url,
            "OCTOPUS_API_KEY": sandbox.api_key,
            "OCTOPUS_API_SECRET": sandbox.api_secret,
        },
    )
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    assert line.startswith(f"worker {process.pid} ready".encode()), line
    return process


class Checks:
    """The sandbox's answers to order GETs, watched as they are logged."""

    def __init__(self, sandbox, monkeypatch) -> None:
        self.after: dict[str, float] = {}  # path -> when the latest GET of it was received
        self._changed = asyncio.Condition()
        log = sandbox.state.log_request

        def log_and_watch(record) -> None:
            log(record)
            if record.method == "GET" and record.path.startswith(f"{ORDERS_PATH}/"):
                self.after[record.path] = record.received_at
                asyncio.get_running_loop().create_task(self._notify())

        monkeypatch.setattr(sandbox.state, "log_request", log_and_watch)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def all_since(self, order_ids, since: float) -> bool:
        """Whether every order of `order_ids` was fetched at or after `since`."""
        return all(self.after.get(f"{ORDERS_PATH}/{id_}", -1.0) >= since for id_ in order_ids)

    async def until(self, condition) -> None:
        """Return once `condition()` holds, checked after each order GET (60 s at most)."""
        with anyio.fail_after(60):
            async with self._changed:
                await self._changed.wait_for(condition)


async def worker_identities(handle) -> list[str]:
    """The workers that completed the workflow's tasks, in order."""
    history = await handle.fetch_history()
    return [
        event.workflow_task_completed_event_attributes.identity
        for event in history.events
        if event.HasField("workflow_task_completed_event_attributes")
    ]


async def stop(process) -> int:
    """SIGTERM `process` and return its exit status."""
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.communicate(), 60)
    return process.returncode


async def test_a_fleet_completes_every_order_once_through_a_worker_crash(
    make_sandbox, temporal_address, redis_url, monkeypatch
):
    sandbox = await make_sandbox(
        rate_limits=RateLimits.production(),
        time_scale=SCALE,
        voucher_fulfilment_delay=(1e9, 1e9),  # pending until settled below
        wallets={"USD": Decimal(100_000)},
    )
    checks = Checks(sandbox, monkeypatch)
    temporal = await Client.connect(temporal_address)
    task_queue = f"fleet-{os.getpid()}-{id(sandbox):x}"
    first, second = [
        await start_worker(sandbox, temporal_address, redis_url, task_queue) for _ in range(2)
    ]
    workers = [first, second]
    try:
        orders = (
            dataclasses.replace(
                order_input(
                    VoucherOrderRequest(123, "10.00", 8, client_reference=f"{task_queue}-{n}"),
                    poll_scale=POLL_SCALE,
                ),
                heartbeat_timeout=2.0,
            )
            for n in range(ORDERS)
        )
        started = [
            s
            async for s in start_orders(
                temporal,
                orders,
                task_queue=task_queue,
                per_second=400,
                concurrency=16,
                task_timeout=timedelta(seconds=2),  # a task lost with its worker
            )
        ]
        assert len(started) == ORDERS
        assert all(s.new for s in started)

        # Every order is created and waited for: each has been checked once.
        created = sandbox.state.vouchers.orders.by_id
        await checks.until(lambda: len(created) == ORDERS and checks.all_since(created, 0.0))
        ids = list(created)

        first.kill()
        await first.wait()
        killed_at = asyncio.get_running_loop().time()
        replacement = await start_worker(sandbox, temporal_address, redis_url, task_queue)
        workers.append(replacement)
        await checks.until(lambda: checks.all_since(ids, killed_at))  # every wait goes on
        for order_id in ids:
            sandbox.state.vouchers.settle(order_id)
        with anyio.fail_after(120):
            results = await asyncio.gather(*(s.handle.result() for s in started))

        assert [await stop(worker) for worker in (second, replacement)] == [0, 0]
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()

    assert first.returncode == -signal.SIGKILL
    assert {r.status for r in results} == {VoucherOrderStatus.DELIVERED}
    by_reference = {o.client_reference: o.id for o in sandbox.state.vouchers.orders.by_id.values()}
    assert {r.client_reference: r.order_id for r in results} == by_reference
    assert len(by_reference) == ORDERS  # one order per reference
    assert sandbox.state.count("POST", ORDERS_PATH) == ORDERS  # no create ran twice
    assert {r.status for r in sandbox.requests} <= {200, 201}  # not one 429
    assert sandbox.state.count("POST", "/auth/login") == 1  # one login for three processes

    # The killed worker held some of the workflows; the others carried them to the end.
    killed = f"{first.pid}@"
    taken_over = 0
    for order in started:
        identities = await worker_identities(order.handle)
        if any(identity.startswith(killed) for identity in identities):
            taken_over += 1
            assert not identities[-1].startswith(killed)
    assert taken_over > 0


async def run_worker_command(sandbox, *args: str, secret: str | None = None):
    """`octopus-async worker ARGS` for the sandbox: its exit status and stderr."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "octopus_async.cli", "worker", *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            **os.environ,
            "OCTOPUS_BASE_URL": sandbox.url,
            "OCTOPUS_API_KEY": sandbox.api_key,
            "OCTOPUS_API_SECRET": secret or sandbox.api_secret,
        },
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stderr.decode()


async def test_a_worker_with_refused_credentials_stops_with_one_line(sandbox, temporal_address):
    status, stderr = await run_worker_command(
        sandbox, "--temporal-address", temporal_address, secret="wrong"
    )
    assert status == 2
    assert stderr.count("\n") == 1
    assert "refused the credentials in OCTOPUS_API_KEY and OCTOPUS_API_SECRET" in stderr
    assert "wrong" not in stderr


async def test_a_worker_that_cannot_reach_temporal_stops_with_one_line(sandbox):
    with socket.socket() as closed:  # a port nothing listens on once the probe is closed
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
    status, stderr = await run_worker_command(sandbox, "--temporal-address", address)
    assert status == 1
    assert stderr.startswith(f"octopus-async: error: cannot reach Temporal at {address}")
    assert stderr.count("\n") == 1
    assert sandbox.requests == []  # nothing sent to the API either
