"""A fleet's shared state in Redis: what the shared quota costs each request.

`client.wallets.transaction(id)` against the minimal aiohttp server in its own process (the
client is the bottleneck there, so the limiter's cost shows), at concurrency 1 and 64: one
client with its own token buckets (`RateLimiter`), the other with a `RedisRateLimiter` and
a `RedisTokenStore` on a redis-server on loopback. Both have the production quotas with the
read quota raised so far that no request waits for a slot: the figures are the cost of
asking, one Lua script call per request. Median of 3 interleaved rounds: requests/s, the
ratio Redis/local, and client CPU µs per call. Also a `RedisRateLimiter.acquire` alone,
one after another: the round trip a request pays before it is sent.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from octopus_async import OctopusClient, Quota, RateLimits
from octopus_async.integrations.redis import RedisRateLimiter, RedisTokenStore

from ._harness import Rate, Table, interleaved, minimal_server_process, publish, redis_server

CONCURRENCY = (1, 64)
CALLS = {1: 1000, 64: 4000}
ROUNDS = 3
ACQUIRES = 2000
TRANSACTION_ID = 1001
LIMITS = RateLimits.production().with_quota("read", Quota(10**9))


async def measure() -> dict[str, Any]:
    async with minimal_server_process() as url, redis_server() as redis:
        redis_url = redis.address
        limiter = RedisRateLimiter(redis_url, LIMITS)
        tokens = RedisTokenStore(redis_url)
        credentials = {"api_key": "sandbox-key", "api_secret": "sandbox-secret", "base_url": url}
        try:
            async with (
                OctopusClient(**credentials, rate_limits=LIMITS) as local,
                OctopusClient(**credentials, rate_limits=limiter, token_store=tokens) as shared,
            ):
                rows = []
                for concurrency in CONCURRENCY:
                    locals_, shareds = await interleaved(
                        lambda: local.wallets.transaction(TRANSACTION_ID),
                        lambda: shared.wallets.transaction(TRANSACTION_ID),
                        CALLS[concurrency],
                        concurrency,
                        rounds=ROUNDS,
                        warm_up=200,
                    )
                    rows.append(_row(concurrency, locals_, shareds))
            acquire_us = await _acquire_cost(limiter)
        finally:
            await limiter.aclose()
            await tokens.aclose()
    return {"limits": "production, read quota 1e9/min", "rows": rows, "acquire_us": acquire_us}


async def _acquire_cost(limiter: RedisRateLimiter) -> float:
    """Median µs of one `acquire`, over rounds of `ACQUIRES` calls made one at a time."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(ACQUIRES):
            await limiter.acquire("read")
        rounds.append((time.perf_counter() - started) / ACQUIRES * 1e6)
    return round(statistics.median(rounds), 1)


def _row(concurrency: int, locals_: list[Rate], shareds: list[Rate]) -> dict[str, Any]:
    local = statistics.median(r.per_second for r in locals_)
    shared = statistics.median(r.per_second for r in shareds)
    return {
        "concurrency": concurrency,
        "calls": CALLS[concurrency],
        "local_per_s": round(local),
        "redis_per_s": round(shared),
        "ratio": round(shared / local, 3),
        "local_cpu_us": round(statistics.median(r.cpu_us_per_call for r in locals_)),
        "redis_cpu_us": round(statistics.median(r.cpu_us_per_call for r in shareds)),
    }


def tables(result: dict[str, Any]) -> list[Table]:
    return [
        Table(
            "fleet: wallets.transaction(id), local token buckets vs Redis",
            ["concurrency", "local/s", "redis/s", "redis÷local", "CPU µs local", "CPU µs redis"],
            [
                [
                    r["concurrency"],
                    r["local_per_s"],
                    r["redis_per_s"],
                    r["ratio"],
                    r["local_cpu_us"],
                    r["redis_cpu_us"],
                ]
                for r in result["rows"]
            ],
            [f"RedisRateLimiter.acquire alone, one at a time: {result['acquire_us']} µs"],
        )
    ]


def main() -> None:
    publish("fleet", asyncio.run(measure()), tables)
