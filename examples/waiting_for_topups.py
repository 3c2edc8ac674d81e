"""Wait for topups: one in a request handler, a batch in the background, one resumed later.

python examples/waiting_for_topups.py
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from octopus_async import OctopusClient, OrderFailedError, OrderWaitTimeout, PollPolicy
from octopus_async.sandbox import Sandbox, SandboxConfig

SCALE = 0.01  # the sandbox and the poll cadence run 100 times faster than real time


async def main() -> None:
    config = SandboxConfig(time_scale=SCALE, topup_slow_share=0.0)
    async with (
        Sandbox(config) as sandbox,
        OctopusClient(**sandbox.client_settings(), poll=PollPolicy().scaled(SCALE)) as client,
    ):
        # In a request handler: create and wait, with a deadline of our own.
        order = await client.topups.orders.create_and_wait(
            4218, Decimal("4.99"), input_data={"player_id": "5123456789"}, timeout=5
        )
        print(f"order {order.id}: {order.status} ({order.status_text})")

        # A customer typo: the order fails, the wallet is refunded, the reason is shown.
        try:
            await client.topups.orders.create_and_wait(
                4218, "4.99", input_data={"player_id": "0000000000"}
            )
        except OrderFailedError as error:
            print(
                f"failed, fixable by the customer={error.is_user_fixable}: {error.failure_reason}"
            )

        # A batch: submit returns at once; all waiters share one scheduler.
        waiters = [
            client.topups.orders.submit(4218, "0.99", input_data={"player_id": "5123456789"})
            for _ in range(50)
        ]
        orders = await asyncio.gather(*waiters)
        stats = client.scheduler.stats
        print(f"{len(orders)} orders settled: {stats.gets} GETs, {stats.sweep_pages} list pages")

        # A deadline that is too short: keep the token, resume later (or in another process).
        try:
            await client.topups.orders.create_and_wait(
                4218, "9.99", input_data={"player_id": "5123456789"}, timeout=0.05
            )
        except OrderWaitTimeout as timeout:
            print(f"still {timeout.order.status} at the deadline; token {timeout.resume_token}")
            resumed = await client.resume(timeout.resume_token, timeout=5)
            print(f"resumed: order {resumed.id} {resumed.status}")


if __name__ == "__main__":
    asyncio.run(main())
