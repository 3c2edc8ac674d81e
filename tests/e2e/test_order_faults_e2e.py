"""Exactly one order per client_reference while the network loses answers (D23-D25).

The sandbox drops 30% of create answers after committing the order and answers 503 to 10%
before committing. Whatever happens, the server must end with one order per reference,
every call must return its order or an error naming its reference, and the ledger must
balance.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

from octopus_async import OctopusError
from octopus_async.models import VoucherOrder
from octopus_async.sandbox import Fault

ORDERS = "/api/v1/orders"


async def test_200_concurrent_creates_through_lost_answers(make_sandbox, make_client):
    sandbox = await make_sandbox(
        seed=7,
        time_scale=0.005,
        wallets={"USD": Decimal("1000000.00")},
        voucher_outcomes={"DELIVERED": 0.6, "PARTIALLY_DELIVERED": 0.2, "FAILED": 0.2},
    )
    sandbox.faults.add(Fault.drop(), method="POST", path=ORDERS, phase="after", rate=0.3)
    sandbox.faults.add(Fault.error(503), method="POST", path=ORDERS, rate=0.1)
    client = make_client(sandbox)
    await client.auth.login()

    references = [f"fault-{n:03d}" for n in range(200)]
    quantities = [1 + n % 8 for n in range(200)]  # 6-8 vouchers settle later, some fail

    async def create(reference: str, quantity: int) -> VoucherOrder | OctopusError:
        try:
            return await client.vouchers.orders.create(
                123, "10.00", quantity, client_reference=reference
            )
        except OctopusError as error:
            return error

    results = await asyncio.gather(*map(create, references, quantities))

    # Every call returned its own order, or an error that names its reference.
    for reference, result in zip(references, results, strict=True):
        assert result.client_reference == reference
    returned = [r for r in results if isinstance(r, VoucherOrder)]
    assert len(returned) == 200, [r for r in results if not isinstance(r, VoucherOrder)]
    recovered = sum(order.recovered for order in returned)
    dropped = sum(1 for r in sandbox.requests if r.path == ORDERS and r.status is None)
    assert recovered == dropped > 20  # each dropped answer settled by one lookup

    # The server holds exactly one order per reference, and they are the ones returned.
    book = sandbox.state.vouchers.orders
    per_reference = Counter(order.client_reference for order in book.by_id.values())
    assert per_reference == Counter(references)
    assert {order.id for order in returned} == set(book.by_id)

    # Settle the larger orders now instead of waiting for them, then reconcile the ledger.
    for order in list(book.by_id.values()):
        sandbox.state.vouchers.settle(order.id)
    assert all(order.status != "PENDING" for order in book.by_id.values())
    transactions = [t async for t in client.wallets.transactions(wallet_id=1, page_size=1000)]
    debits = sum(t.amount for t in transactions if t.transaction_type == "DEBIT")
    refunds = sum(t.amount for t in transactions if t.transaction_type == "CREDIT") - Decimal(
        "1000000.00"
    )
    kept = sum(o.quote.total_payable - o.refunded for o in book.by_id.values())
    assert debits - refunds == kept
    assert refunds > 0  # failures and partial deliveries were refunded
    wallet = await client.wallets.get(1)
    assert wallet.balance == Decimal("1000000.00") - kept
