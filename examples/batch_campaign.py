"""A voucher and topup campaign placed as a batch with a journal, stopped halfway and resumed.

python examples/batch_campaign.py

The first run stops after 60 results, as a crash would stop it; the second run, with the same
journal, reports the settled rows from it, looks up the creates that were in flight, and
places the rest: one order per row, none twice. The same from a file:
`octopus-async batch campaign.jsonl --journal campaign.db --out results.jsonl`.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

from octopus_async import OctopusClient, PollPolicy
from octopus_async.batch import OrderRequest, TopupOrderRequest, VoucherOrderRequest
from octopus_async.sandbox import Sandbox, SandboxConfig

SCALE = 0.01  # the sandbox and the poll cadence run 100 times faster than real time
ROWS = 200


def campaign() -> Iterator[OrderRequest]:
    """The rows, made as they are read: a batch never holds the whole input."""
    for number in range(1, ROWS + 1):
        if number % 4:
            yield VoucherOrderRequest(product_id=123, denomination="10.00", quantity=1)
        else:
            # Every 40th player id does not exist: those orders fail, refunded.
            player = "0000000000" if number % 40 == 0 else "5123456789"
            yield TopupOrderRequest(4218, "4.99", {"player_id": player})


async def main() -> None:
    config = SandboxConfig(time_scale=SCALE, topup_slow_share=0.0)
    with tempfile.TemporaryDirectory() as directory:
        journal = Path(directory) / "campaign.db"
        async with (
            Sandbox(config) as sandbox,
            OctopusClient(**sandbox.client_settings(), poll=PollPolicy().scaled(SCALE)) as client,
        ):
            # The first run stops early; `async with` stops it cleanly, journal consistent.
            read = 0
            async with client.batch(campaign(), journal=journal) as first:
                async for _ in first:
                    read += 1
                    if read == 60:
                        break
            print(f"first run: stopped after {read} results ({first.summary.total} rows settled)")

            async with client.batch(campaign(), journal=journal) as rerun:
                async for result in rerun:
                    if result.status == "failed":
                        print(f"  row {result.row} ({result.client_reference}): {result.error}")
            summary = rerun.summary
            replayed = summary.total - summary.created
            print(f"rerun: {summary.created} orders created; {replayed} rows were the first run's")
            print(f"results: {summary.counts}")
            print(f"spent: {', '.join(f'{v} {c}' for c, v in summary.spent.items())}")

            held = sum(len(desk.orders) for desk in (sandbox.state.vouchers, sandbox.state.topups))
            print(f"the sandbox holds {held} orders for {ROWS} rows")
            if held != ROWS:
                raise SystemExit("an order was lost or placed twice")


if __name__ == "__main__":
    asyncio.run(main())
