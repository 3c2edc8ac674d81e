"""Quote and order vouchers, survive a lost answer, and look an order up by its reference.

python examples/voucher_orders.py
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from octopus_async import DuplicateClientReferenceError, OctopusClient
from octopus_async.sandbox import Fault, Sandbox


async def main() -> None:
    async with Sandbox() as sandbox, OctopusClient(**sandbox.client_settings()) as client:
        quote = await client.vouchers.charges(123, Decimal("50.00"), 3, wallet_id=2)
        print(
            f"3 x 50.00 USD paid from the EUR wallet: {quote.total_payable} EUR "
            f"at {quote.charges_details.forex_rate}"
        )

        # The sandbox commits the next order, then drops the connection before answering.
        sandbox.faults.add(
            Fault.drop(), method="POST", path="/api/v1/orders", phase="after", times=1
        )
        order = await client.vouchers.orders.create(
            123, Decimal("50.00"), 3, client_reference="gift-2026-0001", wallet_id=2
        )
        print(f"order {order.id}: {order.status}, recovered by lookup: {order.recovered}")
        for voucher in order.vouchers:
            print(f"  expires {voucher.expires_at:%Y-%m-%d}: {voucher!r}")

        try:
            await client.vouchers.orders.create(
                123, Decimal("50.00"), 3, client_reference="gift-2026-0001"
            )
        except DuplicateClientReferenceError as error:
            print(f"reference in use already: {error}; existing order {error.order.id}")

        found = await client.vouchers.orders.find("gift-2026-0001")
        print(f"find('gift-2026-0001') -> order {found.id}, {len(found.vouchers)} vouchers")


if __name__ == "__main__":
    asyncio.run(main())
