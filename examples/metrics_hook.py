"""Attach metrics to every HTTP attempt with a hook, and read raw responses.

python examples/metrics_hook.py
"""

from __future__ import annotations

import asyncio
from collections import Counter

from octopus_async import OctopusClient, RequestEvent, ResponseReceived, RetryScheduled
from octopus_async.sandbox import Fault, Sandbox

statuses: Counter[tuple[str, int]] = Counter()
retries: Counter[str] = Counter()


def record(event: RequestEvent) -> None:
    if isinstance(event, ResponseReceived):
        statuses[(event.path, event.status)] += 1
    elif isinstance(event, RetryScheduled):
        retries[event.reason] += 1


async def main() -> None:
    async with (
        Sandbox() as sandbox,
        OctopusClient(**sandbox.client_settings(), hooks=[record]) as client,
    ):
        sandbox.faults.add(Fault.error(500), path="/api/v1/countries", times=1)
        await asyncio.gather(client.data.countries(), client.wallets.list())

        raw = await client.with_raw_response(client.wallets.list())
        print(f"HTTP {raw.status}, request id {raw.request_id}, {len(raw.parsed)} wallets")

    for (path, status), count in sorted(statuses.items()):
        print(f"{count} x {status} {path}")
    print(f"retries: {dict(retries)}")


if __name__ == "__main__":
    asyncio.run(main())
