"""What a flaky network looks like from the SDK: retries, then typed errors.

The sandbox injects faults; the client retries 5xx and dropped connections with jittered
backoff and raises a typed exception once the retries are spent.
    python examples/errors_and_retries.py
"""

from __future__ import annotations

import asyncio
import logging

from octopus_async import APIConnectionError, OctopusClient, RetryPolicy, ServerError
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
                print(f"no response: {error}")


if __name__ == "__main__":
    asyncio.run(main())
