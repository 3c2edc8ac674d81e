"""eSIM end to end against a time-scaled sandbox: the held create, recovery, installing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from octopus_async import (
    BadRequestError,
    InvalidRequestError,
    OrderFailedError,
    OrderWaitTimeout,
    PollPolicy,
    Timeouts,
)
from octopus_async.models import ActivationStatus, EsimOrderStatus

SCALE = 0.01  # the 60 s hold lasts 0.6 s
POLL = PollPolicy().scaled(SCALE)
TIMEOUTS = Timeouts(esim_create_read=75 * SCALE)
ORDERS = "/api/v1/esim/orders"


def esim_sandbox(make_sandbox, **settings):
    defaults = {
        "time_scale": SCALE,
        "esim_fulfilment_delay": (2.0, 10.0),
        "esim_slow_share": 0.0,
        "esim_install_delay": (30.0, 60.0),
        "esim_activation_delay": (30.0, 60.0),
    }
    return make_sandbox(**{**defaults, **settings})


@pytest.fixture
async def sandbox(make_sandbox):
    return await esim_sandbox(make_sandbox)


@pytest.fixture
def client(sandbox, make_client):
    return make_client(sandbox, poll=POLL, timeouts=TIMEOUTS)


def requests(sandbox, method, path_prefix=ORDERS):
    return [r for r in sandbox.requests if r.method == method and r.path.startswith(path_prefix)]


async def test_catalogue_and_charges(client):
    assert [p.country_code async for p in client.esim.products.list()] == ["JPN", "USA", "GLO"]
    assert [p.name async for p in client.esim.products.list(country_code="JPN")] == ["Japan eSIM"]
    japan = await client.esim.products.get(712)
    assert [v.amount for v in japan.variants] == [Decimal("4.50"), Decimal("16.00")]
    assert (await client.esim.products.variants(712))[0].validity_days == 7
    assert (await client.esim.variants.get(5521)).data_amount_gb == Decimal("3.0")
    quote = await client.esim.charges(712, "4.50")
    assert (quote.discount_amount, quote.total_payable) == (Decimal("0.225"), Decimal("4.275"))
    eur = await client.esim.charges(712, "4.50", wallet_id=2)
    assert eur.total_payable == Decimal("3.93")


async def test_a_create_delivered_within_the_hold_needs_no_poll(client, sandbox):
    order = await client.esim.orders.create_and_wait(
        712, Decimal("4.50"), client_reference="trip-1"
    )
    assert order.status == EsimOrderStatus.DELIVERED
    assert order.activation_status == ActivationStatus.NOT_INSTALLED
    assert order.amount == Decimal("4.275")
    assert order.lpa.smdp_address == "smdp.sandbox.octopuscards.io"
    assert order.iccid.startswith("8981")
    assert order.activation_code not in repr(order)
    assert requests(sandbox, "GET") == []
    assert [r.status for r in requests(sandbox, "POST")] == [200]


async def test_a_create_answered_pending_is_followed_by_polls(make_sandbox, make_client):
    sandbox = await esim_sandbox(make_sandbox, esim_slow_share=1.0, esim_slow_delay=(70.0, 90.0))
    client = make_client(sandbox, poll=POLL, timeouts=TIMEOUTS)
    created = await client.esim.orders.create(712, "4.50", client_reference="slow-1")
    assert created.status == EsimOrderStatus.PENDING
    assert created.activation_code is None
    order = await client.esim.orders.wait(created, timeout=5)
    assert order.status == EsimOrderStatus.DELIVERED
    assert order.activation_code.startswith("LPA:1$")
    assert requests(sandbox, "GET")


async def test_a_read_timeout_during_the_hold_is_settled_by_reference(make_sandbox, make_client):
    sandbox = await esim_sandbox(make_sandbox, esim_slow_share=1.0, esim_slow_delay=(70.0, 90.0))
    # The client gives up reading after 0.2 s; the server holds for 0.6 s.
    client = make_client(sandbox, poll=POLL, timeouts=Timeouts(esim_create_read=0.2))
    order = await client.esim.orders.create_and_wait(
        712, "4.50", client_reference="held-1", timeout=5
    )
    assert order.status == EsimOrderStatus.DELIVERED
    assert order.client_reference == "held-1"
    assert len(requests(sandbox, "POST")) == 1  # settled by lookup, never sent again
    lookups = [r for r in requests(sandbox, "GET") if "client_reference=held-1" in r.query]
    assert lookups
    assert [o.client_reference for o in sandbox.state.esim.orders.by_id.values()] == ["held-1"]


async def test_a_deadline_inside_the_hold_leaves_a_token_that_finds_the_order(
    make_sandbox, make_client
):
    sandbox = await esim_sandbox(make_sandbox, esim_slow_share=1.0, esim_slow_delay=(70.0, 90.0))
    client = make_client(sandbox, poll=POLL, timeouts=TIMEOUTS)
    with pytest.raises(OrderWaitTimeout) as raised:
        await client.esim.orders.create_and_wait(
            712, "4.50", client_reference="race-1", timeout=0.2
        )
    token = json.loads(raised.value.resume_token)
    assert (token["vertical"], token["order_id"], token["client_reference"]) == (
        "esim",
        None,
        "race-1",
    )
    order = await client.resume(raised.value.resume_token, timeout=5)
    assert order.status == EsimOrderStatus.DELIVERED
    assert len(sandbox.state.esim.orders) == 1


async def test_a_failed_order_is_refunded(client, sandbox):
    sandbox.state.esim.force_outcome("fail-1", "FAILED")
    with pytest.raises(OrderFailedError) as raised:
        await client.esim.orders.create_and_wait(712, "4.50", client_reference="fail-1")
    error = raised.value
    assert error.failure_code == "PLAN_UNAVAILABLE"
    assert error.is_user_fixable is True
    entries = [
        t async for t in client.wallets.transactions(wallet_id=1) if t.order_id == error.order.id
    ]
    assert sorted((t.transaction_type, t.amount) for t in entries) == [
        ("CREDIT", Decimal("4.275")),
        ("DEBIT", Decimal("4.275")),
    ]


async def test_install_then_activation(client, sandbox):
    order = await client.esim.orders.create_and_wait(712, "4.50", client_reference="device-1")
    code = order.activation_code
    installed = await client.esim.orders.wait_installed(order, timeout=5)
    assert installed.activation_status == ActivationStatus.ACTIVE
    assert installed.is_installed is True
    assert installed.installed_at is not None
    # The server no longer sends the code; the SDK kept it (D34).
    assert "activation_code" not in installed.raw
    assert installed.activation_code == code
    assert (await client.esim.orders.get(order.id)).activation_code == code
    # Only single GETs refresh install state: the wait never used the list.
    assert [r for r in requests(sandbox, "GET") if r.path == ORDERS] == []

    active = await client.esim.orders.wait_active(order.id, timeout=5)
    assert active.activated_at is not None
    assert active.activation_code == code


async def test_lists_show_stored_state_without_codes(client, sandbox):
    order = await client.esim.orders.create_and_wait(712, "4.50", client_reference="list-1")
    sandbox.state.esim.install_now(order.id)
    listed = await client.esim.orders.find("list-1")
    assert "activation_code" not in listed.raw
    assert listed.activation_status == ActivationStatus.NOT_INSTALLED  # not refreshed
    assert (await client.esim.orders.get(order.id)).activation_status == ActivationStatus.ACTIVE
    assert (await client.esim.orders.find("list-1")).is_installed is True
    assert [o.client_reference async for o in client.esim.orders.list(status="DELIVERED")] == [
        "list-1"
    ]


async def test_more_than_one_esim_is_refused_before_sending(client, sandbox):
    with pytest.raises(InvalidRequestError) as raised:
        await client.esim.orders.create(712, "4.50", quantity=2)
    assert raised.value.param == "quantity"
    with pytest.raises(InvalidRequestError):
        client.esim.orders.submit(712, "4.50", quantity=2)
    assert sandbox.requests == []


async def test_an_unknown_plan_amount_is_refused(client):
    with pytest.raises(BadRequestError) as raised:
        await client.esim.orders.create(712, "5.00")
    assert raised.value.message == "No plan of this product has this amount"
