"""Voucher order creation through the SDK against a raw aiohttp POST loop.

2,000 creates of one voucher each at concurrency 64 on each side, against the sandbox in
its own process with rate limits off. The SDK's create does more than a POST (reference
validation, exactly-once bookkeeping, parsing the order); the ratio SDK/raw says what that
costs. Target: at least 0.8.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
from typing import Any

import aiohttp

from octopus_async import OctopusClient

from ._harness import Table, interleaved, publish, sandbox_process

CREATES = 2_000
CONCURRENCY = 64
ROUNDS = 3


async def measure() -> dict[str, Any]:
    serial = itertools.count()
    async with (
        sandbox_process("--rate-limits", "off", "--wallet", "USD=100000000") as url,
        OctopusClient("sandbox-key", "sandbox-secret", base_url=url) as client,
    ):
        tokens = await client.auth.login()
        headers = {"Authorization": f"Bearer {tokens.access_token}"}
        connector = aiohttp.TCPConnector(limit=client.config.max_connections)
        async with aiohttp.ClientSession(url, connector=connector) as session:

            async def raw_create() -> object:
                body = {
                    "product_id": 123,
                    "denomination": 10.00,
                    "quantity": 1,
                    "client_reference": f"raw-{next(serial)}",
                }
                async with session.post("/api/v1/orders", json=body, headers=headers) as response:
                    response.raise_for_status()
                    return json.loads(await response.read())

            async def sdk_create() -> object:
                return await client.vouchers.orders.create(123, "10.00", 1)

            raws, sdks = await interleaved(
                raw_create, sdk_create, CREATES, CONCURRENCY, rounds=ROUNDS, warm_up=200
            )
    raw = statistics.median(r.per_second for r in raws)
    sdk = statistics.median(r.per_second for r in sdks)
    return {
        "creates": CREATES,
        "concurrency": CONCURRENCY,
        "rounds": ROUNDS,
        "raw_per_s": round(raw),
        "sdk_per_s": round(sdk),
        "ratio": round(sdk / raw, 3),
        "raw_cpu_us": round(statistics.median(r.cpu_us_per_call for r in raws)),
        "sdk_cpu_us": round(statistics.median(r.cpu_us_per_call for r in sdks)),
    }


def tables(result: dict[str, Any]) -> list[Table]:
    return [
        Table(
            f"creates: {result['creates']} voucher orders at concurrency "
            f"{result['concurrency']}, sandbox in its own process (median of "
            f"{result['rounds']} interleaved rounds; target SDK/raw >= 0.8)",
            ["raw creates/s", "SDK creates/s", "SDK/raw", "raw CPU µs/call", "SDK CPU µs/call"],
            [
                (
                    result["raw_per_s"],
                    result["sdk_per_s"],
                    result["ratio"],
                    result["raw_cpu_us"],
                    result["sdk_cpu_us"],
                )
            ],
        )
    ]


def main() -> None:
    publish("creates", asyncio.run(measure()), tables)


if __name__ == "__main__":
    main()
