"""Topups end to end against the sandbox: catalogue, lookup, quotes, orders, filters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from octopus_async import (
    BadRequestError,
    InvalidRequestError,
    NotFoundError,
    PollPolicy,
    ValidationError,
)
from octopus_async.models import TopupOrderStatus, TopupType

PLAYER = {"player_id": "5123456789"}


@pytest.fixture
async def sandbox(make_sandbox):
    return await make_sandbox(time_scale=0.01, topup_slow_share=0.0, topup_get_only_share=0.0)


@pytest.fixture
def client(sandbox, make_client):
    return make_client(sandbox, poll=PollPolicy().scaled(0.01))


async def test_products_by_type_and_name(client):
    gaming = [p async for p in client.topups.products.list(type="GAMING")]
    assert [(p.id, p.topup_type) for p in gaming] == [
        (4218, TopupType.GAMING),
        (4240, TopupType.GAMING),
    ]
    assert [p.name async for p in client.topups.products.list(search="india")] == [
        "Airtel India",
        "Vi (Vodafone Idea) India",
    ]
    pages = [page async for page in client.topups.products.list(page_size=2).pages()]
    assert [len(page.items) for page in pages] == [2, 2, 1]


async def test_product_detail_and_variants(client):
    product = await client.topups.products.get(4218)
    assert [(f.name, f.required) for f in product.input_fields] == [
        ("player_id", True),
        ("server", False),
    ]
    variants = await client.topups.products.variants(4218)
    assert [v.fixed_amounts for v in variants] == [
        (Decimal("0.99"),),
        (Decimal("4.99"),),
        (Decimal("9.99"),),
    ]
    assert variants[1].fields["par_value"] == "325 UC"
    airtime = await client.topups.variants.get(88501)
    assert (airtime.min_amount, airtime.max_amount) == (Decimal("10"), Decimal("5000"))
    assert airtime.accepts(Decimal("200"))
    with pytest.raises(NotFoundError):
        await client.topups.products.get(1)


async def test_lookup_of_a_mobile_number(client):
    matches = await client.topups.lookup("+918879685100")
    assert [(m.product_id, m.identified) for m in matches] == [(4219, True), (4231, False)]
    assert await client.topups.lookup("+4915112345678") == ()


async def test_charges_with_and_without_fx(client):
    quote = await client.topups.charges(4218, Decimal("4.99"))
    assert (quote.non_discounted_total, quote.discount_amount) == (
        Decimal("4.99"),
        Decimal("0.2495"),
    )
    assert quote.total_payable == Decimal("4.7405")
    assert quote.max_quantity is None
    eur = await client.topups.charges(4218, "4.99", wallet_id=2)
    assert eur.charges_details.forex_rate == Decimal("0.9200")
    assert eur.total_payable == Decimal("4.36")


async def test_mobile_airtime_order(client, sandbox):
    order = await client.topups.orders.create_and_wait(
        4219,
        200,
        input_data={"phone_number": "+918879685100"},
        category="Airtime",
        wallet_id=1,
        timeout=5,
    )
    assert order.status == TopupOrderStatus.DELIVERED
    assert (order.amount, order.currency) == (Decimal("194"), "INR")
    assert order.variant_name == "Airtime"
    # An INR product paid from the USD wallet: the debit is the converted amount.
    usd = await client.wallets.get(1)
    assert usd.balance == Decimal("10000.00") - Decimal("2.33")


async def test_list_filters(client):
    first = await client.topups.orders.create(
        4218, "0.99", input_data=PLAYER, client_reference="list-1"
    )
    await client.topups.orders.create(4219, "50", input_data={"phone_number": "+918879685100"})
    await client.topups.orders.wait(first, timeout=5)

    async def references(**filters):
        return [o.client_reference async for o in client.topups.orders.list(**filters)]

    assert len(await references()) == 2
    assert await references(product_id=4218) == ["list-1"]
    assert len(await references(country="IND")) == 1
    assert await references(status="DELIVERED", product_id=4218) == ["list-1"]
    assert await references(client_reference="list-1") == ["list-1"]
    assert (await client.topups.orders.find("list-1")).id == first.id


async def test_notification_email(client, sandbox):
    order = await client.topups.orders.create(4218, "0.99", input_data=PLAYER)
    await client.topups.orders.set_notification_email(order.id, "player@example.com")
    assert sandbox.state.topups.orders.by_id[order.id].notification_email == "player@example.com"


async def test_unknown_input_keys_are_refused_here_once_the_product_is_known(client, sandbox):
    with pytest.raises(ValidationError) as raised:  # not fetched yet: the server refuses
        await client.topups.orders.create(4218, "0.99", input_data={"player": "5123456789"})
    assert raised.value.code == "VALIDATION_FAILURE"
    await client.topups.products.get(4218)
    sent = len(sandbox.requests)
    with pytest.raises(InvalidRequestError) as local:
        await client.topups.orders.create(4218, "0.99", input_data={"player": "5123456789"})
    assert local.value.param == "input_data"
    assert len(sandbox.requests) == sent


async def test_amount_matching_no_variant_is_refused(client):
    with pytest.raises(BadRequestError) as raised:
        await client.topups.orders.create(4218, "3.00", input_data=PLAYER)
    assert raised.value.message == "No variant of this product matches the amount"


async def test_the_single_get_reveals_what_the_list_does_not(make_sandbox, make_client):
    sandbox = await make_sandbox(time_scale=0.01, topup_slow_share=0.0, topup_get_only_share=1.0)
    client = make_client(sandbox)
    order = await client.topups.orders.create(
        4218, "0.99", input_data=PLAYER, client_reference="live-1"
    )
    sandbox.state.topups.settle(order.id)
    listed = await client.topups.orders.find("live-1")
    assert listed.status == TopupOrderStatus.PENDING
    fetched = await client.topups.orders.get(order.id)
    assert fetched.status == TopupOrderStatus.DELIVERED
    assert (await client.topups.orders.find("live-1")).status == TopupOrderStatus.DELIVERED
