"""Log in, read balances and reference data, page through the ledger.

Runs against a sandbox started in this process, so it needs no credentials:
    python examples/quickstart.py
Point it at the hosted sandbox instead by setting OCTOPUS_API_KEY / OCTOPUS_API_SECRET and
replacing the `Sandbox` block with a plain `OctopusClient()`.
"""

from __future__ import annotations

import asyncio

from octopus_async import OctopusClient
from octopus_async.sandbox import Sandbox


async def main() -> None:
    async with Sandbox() as sandbox, OctopusClient(**sandbox.client_settings()) as client:
        for wallet in await client.wallets.list():
            print(f"wallet {wallet.id}: {wallet.balance} {wallet.currency} ({wallet.type})")

        usd = await client.data.currency_by_code("USD")
        us = await client.data.country_by_code("US")
        print(f"USD is currency {usd.id} with {usd.precision} decimals; US is country {us.id}")

        async for transaction in client.wallets.transactions(wallet_id=1):
            print(
                f"{transaction.created_at:%Y-%m-%d} {transaction.signed_amount:>10} "
                f"{transaction.remarks}"
            )


if __name__ == "__main__":
    asyncio.run(main())
