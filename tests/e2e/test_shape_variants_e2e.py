"""The main flows of every area against a sandbox that answers in other plausible shapes (D40).

The sandbox runs with every shape variant on (`SHAPE_VARIANTS`): bare and `success`
envelopes, numbers (ids included) as strings, other ISO 8601 forms (dates alone among
them), nulls and missing fields, PINs and ICCIDs as numbers, another wallet naming,
lower-case statuses, unknown fields. Each test checks what a user depends on against what
the sandbox itself holds, not against what it wrote: the amounts, the codes, the ids.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from octopus_async import PollPolicy
from octopus_async.models import (
    EsimOrderStatus,
    TopupOrderStatus,
    TransactionType,
    VoucherOrderStatus,
)
from octopus_async.sandbox import SHAPE_VARIANTS, Fault

SCALE = 0.01
PLAYER = {"player_id": "5123456789"}


@pytest.fixture
async def sandbox(make_sandbox):
    return await make_sandbox(
        shape_variants=SHAPE_VARIANTS,
        time_scale=SCALE,
        topup_slow_share=0.0,
        esim_slow_share=0.0,
        esim_install_delay=(5.0, 10.0),
    )


@pytest.fixture
def client(sandbox, make_client):
    return make_client(sandbox, poll=PollPolicy().scaled(SCALE))


def held(sandbox, desk: str, reference: str):
    """The sandbox's own records of the orders with this reference."""
    orders = getattr(sandbox.state, desk).orders.by_id.values()
    return [order for order in orders if order.client_reference == reference]


# --- reference data, wallets, the ledger ----------------------------------------------------


async def test_reference_data_is_read_whole(client):
    countries = await client.data.countries()
    assert len(countries) > 1
    us = await client.data.country_by_code("us")
    assert (us.name, us.alpha_3) == ("United States", "USA")
    assert us.dialing_prefix is None  # null on the wire: one country no longer sinks the list

    currencies = await client.data.currencies()
    usd = await client.data.currency_by_code("USD")
    assert usd.precision == 2  # sent as "2"
    assert usd.name is None  # left out on the wire
    assert len({c.id for c in currencies}) == len(currencies)

    categories = await client.data.categories()
    assert "Gaming" in {c.name for c in categories}
    assert (await client.data.category(categories[0].id)) == categories[0]


async def test_wallets_are_read_under_another_naming(client, sandbox):
    wallets = await client.wallets.list()

    held_wallets = sandbox.ledger.wallets
    assert {w.id for w in wallets} == set(held_wallets)
    for wallet in wallets:
        record = held_wallets[wallet.id]
        assert (wallet.currency, wallet.balance) == (record.currency, record.balance)
        assert wallet.type is None  # left out on the wire: not guessed
    assert (await client.wallets.by_currency("eur")).id == sandbox.ledger.wallet_for("EUR").id


async def test_the_ledger_walk_reads_every_transaction(client, sandbox):
    await client.vouchers.orders.create(123, "10.00", 2)
    walked = [t async for t in client.wallets.transactions(page_size=2)]

    assert [t.id for t in walked] == [t.id for t in sandbox.ledger.newest_first()]
    for transaction in walked:
        record = sandbox.ledger.transactions[transaction.id]
        assert transaction.amount == record.amount
        assert transaction.transaction_type == TransactionType(record.transaction_type)
        assert transaction.remarks is None  # null on the wire: the walk goes on
        assert transaction.created_at is not None
    for wallet in await client.wallets.list():
        signed = [t.signed_amount for t in walked if t.wallet_id == wallet.id]
        assert sum(signed, Decimal(0)) == wallet.balance


# --- vouchers -------------------------------------------------------------------------------


async def test_voucher_catalogue_and_quote(client):
    products = [
        p async for p in client.vouchers.products.list(category="Gaming", sort_by="id", page_size=1)
    ]
    assert [p.id for p in products] == [123, 124]
    steam = await client.vouchers.products.get(123)
    assert Decimal("50.00") in [d.min_value for d in steam.available_denominations]

    quote = await client.vouchers.charges(123, "50.00", 2)
    assert quote.non_discounted_total == Decimal("100.00")
    assert quote.total_payable == Decimal("96.50")
    assert quote.destination_currency == "USD"
    assert (await client.vouchers.products.availability(123, "50.00", 2)).is_available is True


async def test_a_synchronous_voucher_order_gives_its_codes(client, sandbox):
    order = await client.vouchers.orders.create(123, "50.00", 2, client_reference="shapes-sync")

    [record] = held(sandbox, "vouchers", "shapes-sync")
    assert (order.id, order.status) == (record.id, VoucherOrderStatus.DELIVERED)
    assert order.amount == Decimal("100.00")
    assert [(v.card_number, v.pin_code) for v in order.vouchers] == [
        (v["card_number"], v["pin_code"]) for v in record.vouchers
    ]
    assert all(v.expires_at is not None for v in order.vouchers)


async def test_an_asynchronous_voucher_order_is_waited_for_and_found(client, sandbox):
    order = await client.vouchers.orders.create_and_wait(
        123, "10.00", 8, client_reference="shapes-async", timeout=10
    )

    [record] = held(sandbox, "vouchers", "shapes-async")
    assert (order.id, order.status, len(order.vouchers)) == (
        record.id,
        VoucherOrderStatus.DELIVERED,
        8,
    )
    assert {v.card_number for v in order.vouchers} == {v["card_number"] for v in record.vouchers}
    found = await client.vouchers.orders.find("shapes-async")
    assert (found.id, found.status) == (order.id, order.status)
    listed = [o async for o in client.vouchers.orders.list(page_size=1)]
    assert order.id in [o.id for o in listed]
    assert len(listed) == len({o.id for o in listed}) == len(sandbox.state.vouchers.orders)


@pytest.mark.parametrize(
    ("desk", "create"),
    [
        (
            "vouchers",
            lambda c, ref: c.vouchers.orders.create(123, "10.00", 2, client_reference=ref),
        ),
        (
            "topups",
            lambda c, ref: c.topups.orders.create(
                4218, "0.99", input_data=PLAYER, client_reference=ref
            ),
        ),
        ("esim", lambda c, ref: c.esim.orders.create(712, "4.50", client_reference=ref)),
    ],
    ids=["vouchers", "topups", "esim"],
)
async def test_a_lost_create_answer_is_recovered_once(client, sandbox, desk, create):
    path = {"vouchers": "/api/v1/orders"}.get(desk, f"/api/v1/{desk}/orders")
    sandbox.faults.add(Fault.drop(), method="POST", path=path, phase="after", times=1)

    order = await create(client, f"shapes-lost-{desk}")

    [record] = held(sandbox, desk, f"shapes-lost-{desk}")  # committed once, never twice
    assert (order.id, order.recovered) == (record.id, True)


# --- topups ---------------------------------------------------------------------------------


async def test_a_topup_is_waited_for_listed_and_found(client, sandbox):
    product = await client.topups.products.get(4218)
    assert "player_id" in {f.name for f in product.input_fields}
    quote = await client.topups.charges(4218, "0.99")
    assert quote.total_payable is not None

    order = await client.topups.orders.create_and_wait(
        4218, "0.99", input_data=PLAYER, client_reference="shapes-topup", timeout=10
    )

    [record] = held(sandbox, "topups", "shapes-topup")
    assert (order.id, order.status) == (record.id, TopupOrderStatus.DELIVERED)
    assert order.amount == record.quote.total_payable
    found = await client.topups.orders.find("shapes-topup")
    assert found.id == order.id
    delivered = [o async for o in client.topups.orders.list(status="delivered")]
    assert order.id in {o.id for o in delivered}


# --- eSIM -----------------------------------------------------------------------------------


async def test_an_esim_is_delivered_with_its_code_then_installed(client, sandbox):
    japan = await client.esim.products.get(712)
    plan = japan.variants[0]
    assert plan.amount == Decimal("4.50")

    order = await client.esim.orders.create_and_wait(
        712, plan.amount, client_reference="shapes-esim", timeout=10
    )

    [record] = held(sandbox, "esim", "shapes-esim")
    assert (order.id, order.status) == (record.id, EsimOrderStatus.DELIVERED)
    assert (order.activation_code, order.iccid) == (record.activation_code, record.iccid)
    assert order.lpa is not None
    found = await client.esim.orders.find("shapes-esim")
    assert (found.id, found.activation_code) == (order.id, record.activation_code)
    delivered = [o async for o in client.esim.orders.list(status="delivered", page_size=1)]
    assert [o.id for o in delivered] == [order.id]

    installed = await client.esim.orders.wait_installed(order, timeout=10)
    assert installed.installed
    assert installed.activation_code == record.activation_code  # kept after install (D34)
