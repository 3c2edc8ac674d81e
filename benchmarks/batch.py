"""The batch runner (`client.batch`): throughput, memory, and use of the create quota.

Throughput: 10,000 voucher orders of one voucher each (delivered in the create's answer),
against the sandbox in its own process with rate limits off, at concurrency 64 on each
side: `client.batch` fed by a generator (streamed input) with a journal in a temporary
file, the same without a journal (so the journal's cost shows), and a raw aiohttp POST
loop. Median of interleaved rounds. Target: batch (with journal) / raw at least 0.8.

Memory: peak RSS (VmHWM) of a fresh process that logs in and runs a journaled batch of
1,000 then, in another fresh process, 10,000 rows against the same sandbox. Rows are
streamed and at most `max_pending` (1,000) are in hand, so the peak must not grow with the
number of rows. Target: flat (the difference is noise, a few MiB at most). The peak is
bounded, not fixed: rows that settle while the journal or the consumer lags wait in hand
with their orders, up to `max_pending` of them, so it varies by some MiB run to run.

Create quota: the sandbox enforces the production quotas (60 voucher creates a minute),
time-scaled so that a minute lasts `60 * QUOTA_SCALE` real seconds, and the client runs
with the same quotas scaled alike. The batch places enough orders for about ten minutes of
quota. Counted with a client hook: 429 answers (target 0) and the time of every created
order. Quota use is orders created per scaled minute / 60:

- whole run: every order over the time from the batch's start to the last create's
  answer. It includes the initial burst (the client's bucket starts full with the quota
  less its 10% headroom, 54 tokens; the server's holds 60), so it may exceed 100%;
- steady state: the orders after that burst, over the time from the first of them to the
  last (n - 1 intervals). Target: at least 95%.

The time of each create's answer, in scaled seconds from the batch's start, is kept as the
run's timeline (the report charts quota use over time from it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from octopus_async import OctopusClient, PollPolicy, RateLimits, RequestEvent, ResponseReceived
from octopus_async.batch import VoucherOrderRequest

from ._harness import Rate, Table, publish, rate, sandbox_process

ORDERS = 10_000
CONCURRENCY = 64
ROUNDS = 3
WARM_UP = 500
RSS_SIZES = (1_000, 10_000)
QUOTA_SCALE = 0.05
QUOTA_ORDERS = 600
PRODUCT = 123
DENOMINATION = "10.00"
CREDENTIALS = ("sandbox-key", "sandbox-secret")
ROOT = Path(__file__).resolve().parent.parent


def voucher_orders(total: int) -> Iterator[VoucherOrderRequest]:
    """The batch's input, made as it is read (as a file reader would)."""
    for _ in range(total):
        yield VoucherOrderRequest(PRODUCT, DENOMINATION, 1)


async def run_batch(client: OctopusClient, total: int, journal: Path | None) -> float:
    """Place `total` orders through `client.batch`; its elapsed seconds. All must deliver."""
    started = time.perf_counter()
    run = client.batch(voucher_orders(total), journal=journal, concurrency=CONCURRENCY)
    async with run:
        async for result in run:
            if result.status != "delivered":
                raise RuntimeError(f"row {result.row} is {result.status}: {result.error!r}")
    elapsed = time.perf_counter() - started
    if run.summary.counts["delivered"] != total or run.summary.created != total:
        raise RuntimeError(f"the batch did not deliver {total} orders: {run.summary}")
    return elapsed


def _rss_kib() -> tuple[int, int]:
    """This process's (current, peak) resident set in KiB.

    On Linux, VmRSS and VmHWM: `ru_maxrss` would not do, since it keeps the peak of the
    process image an exec replaced, here the forked copy of the parent. Elsewhere, the
    peak is `ru_maxrss` for both.
    """
    try:
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = peak // 1024 if sys.platform == "darwin" else peak  # bytes there
        return peak, peak


# --- throughput --------------------------------------------------------------------


async def throughput(url: str, directory: Path) -> dict[str, Any]:
    serial = itertools.count()
    journals = (directory / f"journal-{n}.db" for n in itertools.count())
    async with OctopusClient(*CREDENTIALS, base_url=url) as client:
        tokens = await client.auth.login()
        headers = {"Authorization": f"Bearer {tokens.access_token}"}
        connector = aiohttp.TCPConnector(limit=client.config.max_connections)
        async with aiohttp.ClientSession(url, connector=connector) as session:

            async def raw_create() -> None:
                body = {
                    "product_id": PRODUCT,
                    "denomination": float(DENOMINATION),
                    "quantity": 1,
                    "client_reference": f"raw-{next(serial)}",
                }
                async with session.post("/api/v1/orders", json=body, headers=headers) as response:
                    response.raise_for_status()
                    json.loads(await response.read())

            async def raw(total: int) -> Rate:
                return await rate(raw_create, total, CONCURRENCY)

            async def batch(total: int, journaled: bool) -> Rate:
                cpu = time.process_time()  # every thread's: the journal's writer included
                elapsed = await run_batch(client, total, next(journals) if journaled else None)
                return Rate(total / elapsed, (time.process_time() - cpu) / total * 1e6)

            await raw(WARM_UP)
            await batch(WARM_UP, journaled=True)
            await batch(WARM_UP, journaled=False)
            rates: dict[str, list[Rate]] = {"raw": [], "journal": [], "no_journal": []}
            for _ in range(ROUNDS):
                rates["raw"].append(await raw(ORDERS))
                rates["journal"].append(await batch(ORDERS, journaled=True))
                rates["no_journal"].append(await batch(ORDERS, journaled=False))
    per_s = {side: statistics.median(r.per_second for r in rs) for side, rs in rates.items()}
    cpu = {side: statistics.median(r.cpu_us_per_call for r in rs) for side, rs in rates.items()}
    return {
        "orders": ORDERS,
        "concurrency": CONCURRENCY,
        "rounds": ROUNDS,
        "raw_per_s": round(per_s["raw"]),
        "batch_per_s": round(per_s["journal"]),
        "batch_no_journal_per_s": round(per_s["no_journal"]),
        "ratio": round(per_s["journal"] / per_s["raw"], 3),
        "ratio_no_journal": round(per_s["no_journal"] / per_s["raw"], 3),
        "raw_cpu_us": round(cpu["raw"]),
        "batch_cpu_us": round(cpu["journal"]),
        "batch_no_journal_cpu_us": round(cpu["no_journal"]),
    }


# --- memory ------------------------------------------------------------------------


def rss_child(url: str, rows: int) -> None:
    """The child process of the memory measurement: prints its figures as JSON."""
    print(json.dumps(asyncio.run(_rss(url, rows))))


async def _rss(url: str, rows: int) -> dict[str, Any]:
    async with OctopusClient(*CREDENTIALS, base_url=url) as client:
        await client.auth.login()
        before, _ = _rss_kib()
        with tempfile.TemporaryDirectory() as directory:
            elapsed = await run_batch(client, rows, Path(directory) / "journal.db")
        _, peak = _rss_kib()
    return {"rows": rows, "before_kib": before, "peak_kib": peak, "seconds": round(elapsed, 2)}


async def memory(url: str) -> dict[str, Any]:
    sizes = []
    for rows in RSS_SIZES:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; from benchmarks.batch import rss_child; "
            "rss_child(sys.argv[1], int(sys.argv[2]))",
            url,
            str(rows),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        output, _ = await child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"the {rows}-row child failed ({child.returncode})")
        sizes.append(json.loads(output.decode().splitlines()[-1]))
    small, large = sizes
    return {
        "sizes": sizes,
        "peak_growth_kib": large["peak_kib"] - small["peak_kib"],
    }


# --- create quota ------------------------------------------------------------------


async def quota() -> dict[str, Any]:
    created: list[float] = []
    statuses: dict[int, int] = {}

    def record(event: RequestEvent) -> None:
        if isinstance(event, ResponseReceived):
            statuses[event.status] = statuses.get(event.status, 0) + 1
            if event.method == "POST" and event.path == "/api/v1/orders" and event.status < 300:
                created.append(time.perf_counter())

    limits = RateLimits.production()
    create_quota = limits.quotas["vouchers.create"]
    burst = create_quota.requests - max(1, math.ceil(create_quota.requests * limits.headroom))
    scaled_minute = create_quota.period * QUOTA_SCALE  # real seconds
    async with (
        sandbox_process(
            "--rate-limits",
            "production",
            "--time-scale",
            str(QUOTA_SCALE),
            "--wallet",
            "USD=100000000",
        ) as url,
        OctopusClient(
            *CREDENTIALS,
            base_url=url,
            rate_limits=limits.scaled(QUOTA_SCALE),
            poll=PollPolicy().scaled(QUOTA_SCALE),
            hooks=[record],
        ) as client,
    ):
        await client.auth.login()
        started = time.perf_counter()
        await run_batch(client, QUOTA_ORDERS, None)
    whole = len(created) / ((created[-1] - started) / scaled_minute)
    steady = created[burst:]
    steady_rate = (len(steady) - 1) / ((steady[-1] - steady[0]) / scaled_minute)
    return {
        "orders": QUOTA_ORDERS,
        "time_scale": QUOTA_SCALE,
        "quota_per_minute": create_quota.requests,
        "scaled_minutes": round((created[-1] - started) / scaled_minute, 2),
        "real_seconds": round(created[-1] - started, 2),
        "answers_429": statuses.get(429, 0),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "burst": burst,
        "whole_run_per_minute": round(whole, 1),
        "whole_run_use": round(whole / create_quota.requests, 3),
        "steady_per_minute": round(steady_rate, 1),
        "steady_use": round(steady_rate / create_quota.requests, 3),
        "created_at_scaled_s": [round((t - started) / QUOTA_SCALE, 2) for t in created],
    }


async def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        async with sandbox_process("--rate-limits", "off", "--wallet", "USD=100000000") as url:
            speed = await throughput(url, Path(directory))
            rss = await memory(url)
    return {"throughput": speed, "memory": rss, "quota": await quota()}


def tables(result: dict[str, Any]) -> list[Table]:
    speed, rss, use = result["throughput"], result["memory"], result["quota"]
    small, large = (s["rows"] for s in rss["sizes"])
    return [
        Table(
            f"batch: {speed['orders']} voucher orders at concurrency {speed['concurrency']} "
            f"from a generator, sandbox in its own process (median of {speed['rounds']} "
            "interleaved rounds; target batch/raw >= 0.8)",
            ["side", "orders/s", "/raw", "CPU µs/order"],
            [
                ("raw POST loop", speed["raw_per_s"], 1.0, speed["raw_cpu_us"]),
                ("batch, journal", speed["batch_per_s"], speed["ratio"], speed["batch_cpu_us"]),
                (
                    "batch, no journal",
                    speed["batch_no_journal_per_s"],
                    speed["ratio_no_journal"],
                    speed["batch_no_journal_cpu_us"],
                ),
            ],
        ),
        Table(
            "batch memory: peak RSS of a fresh process per size, journaled "
            "(target: flat in the number of rows)",
            ["rows", "RSS before batch KiB", "peak RSS KiB", "peak - before KiB", "seconds"],
            [
                (
                    s["rows"],
                    s["before_kib"],
                    s["peak_kib"],
                    s["peak_kib"] - s["before_kib"],
                    s["seconds"],
                )
                for s in rss["sizes"]
            ],
            [
                f"peak growth from {small} to {large} rows: {rss['peak_growth_kib']} KiB "
                "(rows in hand are capped at max_pending=1000: the peak is bounded, whatever "
                "the size)"
            ],
        ),
        Table(
            f"batch create quota: {use['orders']} voucher orders, production quotas "
            f"({use['quota_per_minute']}/min) on both sides, time scale {use['time_scale']} "
            "(targets: 0 x 429, steady use >= 95%)",
            [
                "scaled min",
                "real s",
                "429s",
                "whole /min",
                "whole use",
                "steady /min",
                "steady use",
            ],
            [
                (
                    use["scaled_minutes"],
                    use["real_seconds"],
                    use["answers_429"],
                    use["whole_run_per_minute"],
                    f"{use['whole_run_use']:.1%}",
                    use["steady_per_minute"],
                    f"{use['steady_use']:.1%}",
                )
            ],
            [
                "whole run: all orders over batch start -> last create answer; steady: the "
                f"orders after the first {use['burst']} (the client's full bucket), first -> "
                "last of them"
            ],
        ),
    ]


def main() -> None:
    publish("batch", asyncio.run(measure()), tables)


if __name__ == "__main__":
    main()
