"""Vouchers end to end against the sandbox: catalogue, quotes, orders, fulfilment, refunds."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import anyio
import pytest

from octopus_async import (
    BadRequestError,
    DuplicateClientReferenceError,
    InvalidRequestError,
    NotFoundError,
)
from octopus_async.models import TransactionType, VoucherOrder, VoucherOrderStatus
from octopus_async.sandbox import Fault

ORDERS = "/api/v1/orders"
FAST_FULFILMENT = {"time_scale": 0.01}  # 10-60 simulated seconds: 0.1-0.6 s


async def settled(client, order_id: int, seconds: float = 5.0) -> VoucherOrder:
    """Poll until the order leaves PENDING (the waiter of a later issue does this for real)."""
    with anyio.fail_after(seconds):
        while True:
            order = await client.vouchers.orders.get(order_id)
            if order.status != VoucherOrderStatus.PENDING:
                return order
            await asyncio.sleep(0.05)


async def order_transactions(client, order_id: int):
    return [t async for t in client.wallets.transactions() if t.order_id == order_id]


def server_orders(sandbox, reference: str):
    return [
        o for o in sandbox.state.vouchers.orders.by_id.values() if o.client_reference == reference
    ]


# --- catalogue ----------------------------------------------------------------------------


async def test_catalogue_lists_products_in_stock(client):
    names = [p.name async for p in client.vouchers.products.list()]
    assert names == sorted(names)
    assert "Xbox Gift Card" not in names  # out of stock: hidden from the list
    gaming = [p async for p in client.vouchers.products.list(category="Gaming", sort_by="id")]
    assert [p.id for p in gaming] == [123, 124]
    steam = gaming[0]
    assert steam.currency_code == "USD"
    assert [d.min_value for d in steam.available_denominations] == [
        Decimal("10.00"),
        Decimal("20.00"),
        Decimal("50.00"),
        Decimal("100.00"),
    ]
    assert steam.denomination_for(Decimal("50")).discount == Decimal("3.5")
    assert steam.denomination_for(Decimal("30")) is None


async def test_catalogue_filters_by_country_currency_and_name(client):
    async def ids(**filters):
        return [p.id async for p in client.vouchers.products.list(sort_by="id", **filters)]

    assert await ids(currency_id=2) == [150]  # EUR: Uber Eats
    assert await ids(country_id=2) == [140]  # GB: Netflix
    assert await ids(search="GIFT") == [124, 130, 140, 160]
    assert await ids(sort_dir="desc") == [160, 150, 140, 130, 124, 123]


async def test_catalogue_pages(client, sandbox):
    pages = [p async for p in client.vouchers.products.list(page_size=4).pages()]
    assert [len(p.items) for p in pages] == [4, 2]
    assert pages[0].total_count == 6
    assert [r.query for r in sandbox.requests if r.path == "/api/v1/products"] == [
        "page=1&limit=4",
        "page=2&limit=4",
    ]


async def test_product_by_id_and_availability(client):
    xbox = await client.vouchers.products.get(125)
    assert xbox.name == "Xbox Gift Card"
    assert (await client.vouchers.products.availability(125, "15.00", 1)).is_available is False
    assert (await client.vouchers.products.availability(123, "50.00", 3)).is_available is True
    assert (await client.vouchers.products.availability(130, "37.25", 1)).is_available is True
    with pytest.raises(NotFoundError):
        await client.vouchers.products.get(999)
    with pytest.raises(BadRequestError) as raised:
        await client.vouchers.products.availability(999, "10", 1)
    assert raised.value.message == "Invalid product ID"


async def test_charges_in_the_product_currency(client):
    quote = await client.vouchers.charges(123, Decimal("50.00"), 5)
    assert quote.non_discounted_total == Decimal("250.00")
    assert quote.discount == Decimal("3.5")
    assert quote.discount_amount == Decimal("8.75")
    assert quote.total_amount == Decimal("241.25")
    assert quote.total_payable == quote.net_amount == Decimal("241.25")
    assert quote.max_quantity == 5000
    assert quote.charges_details.forex_rate is None
    assert not quote.is_cross_currency


async def test_charges_across_currencies(client):
    quote = await client.vouchers.charges(123, Decimal("50.00"), 5, wallet_id=2)
    assert (quote.source_currency, quote.destination_currency) == ("USD", "EUR")
    assert quote.charges_details.forex_rate == Decimal("0.9200")
    assert quote.charges_details.conversion_fee == Decimal("0.0")
    assert quote.total_amount == Decimal("241.25")  # source side unchanged
    assert quote.net_amount == quote.total_payable == Decimal("221.95")
    assert quote.is_cross_currency


async def test_charges_are_cached_for_five_minutes(make_sandbox, make_client):
    sandbox = await make_sandbox(time_scale=0.002)  # 5 simulated minutes = 0.6 s
    client = make_client(sandbox)
    first = await client.vouchers.charges(123, "50.00", 2, wallet_id=2)
    sandbox.state.fx_per_usd["EUR"] = Decimal("0.95")
    assert await client.vouchers.charges(123, "50.00", 2, wallet_id=2) == first
    await asyncio.sleep(0.7)
    later = await client.vouchers.charges(123, "50.00", 2, wallet_id=2)
    assert later.charges_details.forex_rate == Decimal("0.9500")


# --- orders ---------------------------------------------------------------------------------


async def test_a_small_order_is_delivered_in_the_answer(client):
    order = await client.vouchers.orders.create(123, Decimal("50.00"), 2, email="ann@example.com")
    assert order.status == VoucherOrderStatus.DELIVERED
    assert (order.amount, order.discount) == (Decimal("100.00"), Decimal("3.50"))
    assert order.client_reference.startswith("oc_")
    assert order.email == "ann@example.com"
    assert len(order.vouchers) == 2
    assert all(v.card_number.startswith("STEAM-") and len(v.pin_code) == 4 for v in order.vouchers)
    assert order.vouchers[0].card_number not in repr(order)
    assert not order.recovered
    wallet = await client.wallets.get(1)
    assert wallet.balance == Decimal("10000.00") - Decimal("96.50")
    debit = await order_transactions(client, order.id)
    assert [(t.transaction_type, t.amount) for t in debit] == [
        (TransactionType.DEBIT, Decimal("96.50"))
    ]


async def test_a_large_order_is_delivered_later(make_sandbox, make_client):
    sandbox = await make_sandbox(**FAST_FULFILMENT)
    client = make_client(sandbox)
    order = await client.vouchers.orders.create(123, "10.00", 10, client_reference="bulk-0001")
    assert order.status == VoucherOrderStatus.PENDING
    assert order.vouchers == ()
    done = await settled(client, order.id)
    assert done.status == VoucherOrderStatus.DELIVERED
    assert len(done.vouchers) == 10
    assert len({v.card_number for v in done.vouchers}) == 10
    assert (await client.vouchers.orders.find("bulk-0001")).id == order.id


async def test_partial_delivery_refunds_what_was_not_delivered(make_sandbox, make_client):
    sandbox = await make_sandbox(**FAST_FULFILMENT)
    client = make_client(sandbox)
    sandbox.state.vouchers.force_outcome("partial-1", "PARTIALLY_DELIVERED")
    order = await client.vouchers.orders.create(123, "10.00", 10, client_reference="partial-1")
    done = await settled(client, order.id)
    assert done.status == VoucherOrderStatus.PARTIALLY_DELIVERED
    assert len(done.vouchers) == 5
    entries = await order_transactions(client, order.id)
    assert sorted((t.transaction_type, t.amount) for t in entries) == [
        (TransactionType.CREDIT, Decimal("48.25")),
        (TransactionType.DEBIT, Decimal("96.50")),
    ]


async def test_failure_is_refunded_as_a_separate_transaction(make_sandbox, make_client):
    sandbox = await make_sandbox(**FAST_FULFILMENT)
    client = make_client(sandbox)
    sandbox.state.vouchers.force_outcome("doomed-1", "FAILED")
    order = await client.vouchers.orders.create(124, "25.00", 8, client_reference="doomed-1")
    done = await settled(client, order.id)
    assert done.status == VoucherOrderStatus.FAILED
    assert done.vouchers == ()
    entries = await order_transactions(client, order.id)
    assert sorted((t.transaction_type, t.amount) for t in entries) == [
        (TransactionType.CREDIT, Decimal("196.00")),
        (TransactionType.DEBIT, Decimal("196.00")),
    ]
    assert (await client.wallets.get(1)).balance == Decimal("10000.00")


async def test_insufficient_balance_is_refused_and_nothing_is_debited(client, sandbox):
    with pytest.raises(BadRequestError) as raised:
        await client.vouchers.orders.create(123, "100.00", 5000, client_reference="too-big")
    assert raised.value.message == "Insufficient wallet balance"
    assert raised.value.client_reference == "too-big"
    assert server_orders(sandbox, "too-big") == []
    assert (await client.wallets.get(1)).balance == Decimal("10000.00")


async def test_duplicate_reference_on_the_first_attempt(client, sandbox):
    first = await client.vouchers.orders.create(123, "10.00", 1, client_reference="dup-1")
    with pytest.raises(DuplicateClientReferenceError) as raised:
        await client.vouchers.orders.create(123, "20.00", 1, client_reference="dup-1")
    assert raised.value.client_reference == "dup-1"
    assert raised.value.order.id == first.id
    assert raised.value.order.denomination == Decimal("10.00")
    assert len(server_orders(sandbox, "dup-1")) == 1
    assert (await client.wallets.get(1)).balance == Decimal("10000.00") - Decimal("9.65")


async def test_concurrent_creates_with_one_reference_make_one_order(client, sandbox):
    results = await asyncio.gather(
        *(
            client.vouchers.orders.create(123, "10.00", 1, client_reference="race-1")
            for _ in range(20)
        ),
        return_exceptions=True,
    )
    orders = [r for r in results if isinstance(r, VoucherOrder)]
    duplicates = [r for r in results if isinstance(r, DuplicateClientReferenceError)]
    assert len(orders) == 1
    assert len(duplicates) == 19
    assert {d.order.id for d in duplicates} == {orders[0].id}
    assert len(server_orders(sandbox, "race-1")) == 1


async def test_order_paid_from_another_currency(client):
    order = await client.vouchers.orders.create(123, "50.00", 2, wallet_id=2)
    assert (order.base_currency, order.deduction_currency, order.wallet_id) == ("USD", "EUR", 2)
    assert (await client.wallets.get(2)).balance == Decimal("5000.00") - Decimal("88.78")


async def test_url_products_deliver_claim_urls(client):
    order = await client.vouchers.orders.create(140, "25.00", 1)
    voucher = order.vouchers[0]
    assert voucher.card_number is None
    assert voucher.claim_url.startswith("https://")
    assert voucher.claim_url not in repr(order)


async def test_orders_list_newest_first(client):
    created = [await client.vouchers.orders.create(123, "10.00", 1) for _ in range(3)]
    listed = [o.id async for o in client.vouchers.orders.list(page_size=2)]
    assert listed == [o.id for o in reversed(created)]
    assert await client.vouchers.orders.find("never-used") is None


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"quantity": 5001}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"denomination": 50.0}, "denomination"),
        ({"denomination": "-1"}, "denomination"),
        ({"client_reference": "x" * 256}, "client_reference"),
        ({"client_reference": "naïve"}, "client_reference"),
        ({"email": "nobody"}, "email"),
    ],
)
async def test_invalid_orders_are_refused_before_sending(client, sandbox, arguments, param):
    order = {"product_id": 123, "denomination": "10.00", "quantity": 1, **arguments}
    with pytest.raises(InvalidRequestError) as raised:
        await client.vouchers.orders.create(**order)
    assert raised.value.param == param
    assert sandbox.requests == []


# --- lost answers ---------------------------------------------------------------------------


def creates(sandbox):
    return [r.status for r in sandbox.requests if r.method == "POST" and r.path == ORDERS]


async def test_an_answer_dropped_after_commit_is_recovered_by_lookup(client, sandbox):
    sandbox.faults.add(Fault.drop(), method="POST", path=ORDERS, phase="after", times=1)
    order = await client.vouchers.orders.create(123, "10.00", 2, client_reference="lost-1")
    assert order.recovered
    assert order.status == VoucherOrderStatus.DELIVERED
    assert len(order.vouchers) == 2
    assert creates(sandbox) == [None]  # one POST, never re-sent
    assert len(server_orders(sandbox, "lost-1")) == 1


async def test_a_5xx_after_commit_is_recovered_by_lookup(client, sandbox):
    sandbox.faults.add(Fault.error(503), method="POST", path=ORDERS, phase="after", times=1)
    order = await client.vouchers.orders.create(123, "10.00", 1, client_reference="late-503")
    assert order.recovered
    assert creates(sandbox) == [503]
    assert len(server_orders(sandbox, "late-503")) == 1


async def test_a_5xx_before_commit_is_sent_again(client, sandbox):
    sandbox.faults.add(Fault.error(503), method="POST", path=ORDERS, times=1)
    order = await client.vouchers.orders.create(123, "10.00", 1, client_reference="early-503")
    assert not order.recovered
    assert creates(sandbox) == [503, 201]
    assert len(server_orders(sandbox, "early-503")) == 1
