"""What a flaky network looks like from the SDK: retries, then typed errors.

The sandbox injects faults; the client retries 5xx and dropped connections with jittered
backoff and raises a typed exception once the retries are spent. An order whose outcome
cannot be told raises `OrderOutcomeUnknownError`: find it (or wait for it) by its reference.
    python examples/errors_and_retries.py
"""

from __future__ import annotations

import asyncio
import logging

from octopus_async import (
    APIConnectionError,
    OctopusClient,
    OrderOutcomeUnknownError,
    RetryPolicy,
    ServerError,
)
from octopus_async.sandbox import Fault, Sandbox


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    async with Sandbox() as sandbox:
        retry = RetryPolicy(initial_backoff=0.05)
        async with OctopusClient(**sandbox.client_settings(), retry=retry) as client:
            sandbox.faults.add(Fault.error(503), path="/api/v1/wallets", times=2)
            wallets = await client.wallets.list()
            print(f"got {len(wallets)} wallets after two 503s\n")

            sandbox.faults.add(Fault.gateway_page(502), path="/api/v1/wallets")
            try:
                await client.with_options(max_retries=1).wallets.list()
            except ServerError as error:
                print(f"gave up: HTTP {error.status}, request id {error.request_id}")
                print(f"the gateway's page is kept on the error: {error.body[:40]!r}...\n")
            sandbox.faults.clear()

            sandbox.faults.add(Fault.drop(), path="/api/v1/currencies")
            try:
                await client.with_options(max_retries=2).data.currencies()
            except APIConnectionError as error:
                print(f"no response: {error}\n")
            sandbox.faults.clear()

            # The worst case for an order: committed, its answer lost, and the lookups that
            # would tell refused. The SDK says "maybe created", never "refused".
            sandbox.faults.add(Fault.drop(), method="POST", path="/api/v1/orders", phase="after")
            sandbox.faults.add(
                Fault.error(429, retry_after="0"), method="GET", path="/api/v1/orders"
            )
            try:
                await client.vouchers.orders.create(123, "10.00", 1, client_reference="maybe-1")
            except OrderOutcomeUnknownError as error:
                print(f"unknown outcome: {error}")
            sandbox.faults.clear()
            order = await client.vouchers.orders.find("maybe-1")  # later: it was created
            print(f"found it later: order {order.id}, {order.status}")


if __name__ == "__main__":
    asyncio.run(main())
