"""What every benchmark shares: servers in their own processes, tables, and JSON results."""

from __future__ import annotations

import asyncio
import json
import platform
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import attrs

RESULTS = Path(__file__).parent / "results"


def sandbox_process(*args: str) -> AbstractAsyncContextManager[str]:
    """`octopus-async sandbox` in a child process (its own CPU); yields its base URL."""
    return server_process("-m", "octopus_async.cli", "sandbox", "--port", "0", *args)


def minimal_server_process() -> AbstractAsyncContextManager[str]:
    """`benchmarks._minimal_server` in a child process; yields its base URL."""
    return server_process("-m", "benchmarks._minimal_server")


@asynccontextmanager
async def server_process(*args: str) -> AsyncIterator[str]:
    """Run `python <args>` until the block ends; it must print its URL on its first line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    match = re.search(r"(http://\S+)", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    try:
        yield match.group(1)
    finally:
        process.terminate()
        await process.wait()


@attrs.frozen
class Rate:
    """Throughput of a run and the client's own CPU time per call (less noisy on a shared box)."""

    per_second: float
    cpu_us_per_call: float


async def rate(operation: Callable[[], Awaitable[object]], total: int, concurrency: int) -> Rate:
    """Run `operation` `total` times with `concurrency` calls in flight."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await operation()

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return Rate(total / elapsed, (time.process_time() - cpu) / total * 1e6)


async def interleaved(
    raw: Callable[[], Awaitable[object]],
    sdk: Callable[[], Awaitable[object]],
    total: int,
    concurrency: int,
    *,
    rounds: int,
    warm_up: int,
) -> tuple[list[Rate], list[Rate]]:
    """Warm both pools, then measure raw and SDK in alternating rounds, so that load from
    elsewhere hits both sides alike; the rates of each side, in order."""
    await rate(raw, warm_up, concurrency)
    await rate(sdk, warm_up, concurrency)
    raws, sdks = [], []
    for _ in range(rounds):
        raws.append(await rate(raw, total, concurrency))
        sdks.append(await rate(sdk, total, concurrency))
    return raws, sdks


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, header)), *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.rjust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines)


def save(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        **results,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
