"""SDK GET throughput against a raw aiohttp GET + JSON decode, at several concurrencies.

Two typed GETs, one transaction and the list of wallets: for each, both sides fetch the
same URL over connection pools of the same size, after one login, from a server in its own
process: first a minimal aiohttp server (the client is the bottleneck, so this shows the
SDK's own cost), then the sandbox (a realistic server). The ratio SDK/raw is the figure to
read; absolute rates depend on the machine.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp

from octopus_async import OctopusClient

from ._harness import (
    Rate,
    Table,
    interleaved,
    minimal_server_process,
    publish,
    sandbox_process,
)

CONCURRENCY = (1, 64, 256)
CALLS = {1: 1000, 64: 4000, 256: 4000}
ROUNDS = 3
TARGETS: dict[str, Callable[[], AbstractAsyncContextManager[str]]] = {
    "minimal": minimal_server_process,
    "sandbox": lambda: sandbox_process("--rate-limits", "off"),
}
TRANSACTION_ID = 1001

Get = Callable[[], Awaitable[object]]


async def measure(target: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async with (
        TARGETS[target]() as url,
        OctopusClient("sandbox-key", "sandbox-secret", base_url=url) as client,
    ):
        tokens = await client.auth.login()
        headers = {"Authorization": f"Bearer {tokens.access_token}"}
        connector = aiohttp.TCPConnector(limit=client.config.max_connections)
        async with aiohttp.ClientSession(url, connector=connector) as session:

            def raw(path: str) -> Get:
                async def get() -> object:
                    async with session.get(path, headers=headers) as response:
                        response.raise_for_status()
                        return json.loads(await response.read())

                return get

            # Each SDK call against a raw GET of the same URL.
            calls: dict[str, tuple[Get, Get]] = {
                "wallets.transaction(id)": (
                    raw(f"/api/v1/transactions/{TRANSACTION_ID}"),
                    lambda: client.wallets.transaction(TRANSACTION_ID),
                ),
                "wallets.list()": (raw("/api/v1/wallets"), client.wallets.list),
            }
            for call, (raw_get, sdk_get) in calls.items():
                for concurrency in CONCURRENCY:
                    count = CALLS[concurrency]
                    raws, sdks = await interleaved(
                        raw_get, sdk_get, count, concurrency, rounds=ROUNDS, warm_up=500
                    )
                    rows.append(_row(target, call, concurrency, count, raws, sdks))
    return rows


def _row(
    target: str, call: str, concurrency: int, count: int, raws: list[Rate], sdks: list[Rate]
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "server": target,
        "call": call,
        "concurrency": concurrency,
        "calls": count,
        "raw_per_s": round(statistics.median(r.per_second for r in raws)),
        "sdk_per_s": round(statistics.median(r.per_second for r in sdks)),
        "raw_cpu_us": round(statistics.median(r.cpu_us_per_call for r in raws)),
        "sdk_cpu_us": round(statistics.median(r.cpu_us_per_call for r in sdks)),
    }
    row["ratio"] = round(row["sdk_per_s"] / row["raw_per_s"], 3)
    row["sdk_extra_cpu_us"] = row["sdk_cpu_us"] - row["raw_cpu_us"]
    return row


COLUMNS = {
    "server": "server",
    "call": "call",
    "concurrency": "concurrency",
    "raw_per_s": "raw req/s",
    "sdk_per_s": "SDK req/s",
    "ratio": "SDK/raw",
    "raw_cpu_us": "raw CPU µs/call",
    "sdk_cpu_us": "SDK CPU µs/call",
    "sdk_extra_cpu_us": "SDK extra µs",
}


def tables(result: dict[str, Any]) -> list[Table]:
    return [
        Table(
            "overhead: client.wallets.transaction(id) and .list() vs raw aiohttp GET + json.loads "
            f"(median of {ROUNDS} interleaved rounds; CPU is the client process's own; "
            "target SDK/raw >= 0.85 at concurrency 64 against the minimal server)",
            list(COLUMNS.values()),
            [[row[key] for key in COLUMNS] for row in result["rows"]],
        )
    ]


def main() -> None:
    rows = [row for target in TARGETS for row in asyncio.run(measure(target))]
    publish("overhead", {"rows": rows}, tables)


if __name__ == "__main__":
    main()
