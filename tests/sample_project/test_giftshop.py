"""The shop's tests, against the SDK's sandbox through the octopus_* fixtures."""

from __future__ import annotations

from decimal import Decimal

import pytest
from giftshop import check, top_up

from octopus_async import BadRequestError

pytestmark = [
    pytest.mark.asyncio,  # for pytest-asyncio's strict mode; auto mode needs no mark
    pytest.mark.octopus_sandbox(topup_slow_share=0.0),  # no slow tail: every test is quick
]

PLAYER = "5123456789"


async def test_a_top_up_is_delivered(octopus_client):
    receipt = await top_up(octopus_client, PLAYER, "4.99", reference="order-1")
    assert receipt.delivered


async def test_a_failed_top_up_tells_the_customer_why(octopus_client, octopus_control):
    octopus_control.force_outcome("topups", "order-2", "FAILED")
    receipt = await top_up(octopus_client, PLAYER, "4.99", reference="order-2")
    assert receipt.status == "FAILED"
    assert receipt.message == "This plan is not available for this recipient."


async def test_server_errors_are_retried(octopus_client, octopus_control):
    octopus_control.fail("/api/v1/topups/orders", method="POST", status=503, times=2)
    receipt = await top_up(octopus_client, PLAYER, "4.99", reference="order-3")
    assert receipt.delivered
    assert octopus_control.request_count("POST", "/api/v1/topups/orders") == 3


async def test_a_rate_limited_order_waits_and_goes_through(octopus_client, octopus_control):
    octopus_control.rate_limit("/api/v1/topups/orders", method="POST", retry_after=30)
    receipt = await top_up(octopus_client, PLAYER, "4.99", reference="order-4")
    assert receipt.delivered


async def test_a_lost_answer_places_one_order(octopus_client, octopus_control):
    # The order is placed, then the connection drops before the answer arrives.
    octopus_control.drop("/api/v1/topups/orders", method="POST", phase="after")
    receipt = await top_up(octopus_client, PLAYER, "4.99", reference="order-5")
    assert receipt.delivered
    assert octopus_control.order_count("topups") == 1


@pytest.mark.octopus_sandbox(topup_settle_delay=(600.0, 600.0))  # ten minutes, simulated
async def test_a_slow_top_up_is_pending_until_it_settles(octopus_client, octopus_control):
    receipt = await top_up(octopus_client, PLAYER, "4.99", reference="order-6", timeout=0.1)
    assert receipt.status == "PENDING"
    octopus_control.settle("topups", "order-6")
    assert (await check(octopus_client, receipt)).delivered


@pytest.mark.octopus_sandbox(wallets={"USD": Decimal("1.00")})
async def test_an_empty_wallet_refuses_the_order(octopus_client, octopus_control):
    with pytest.raises(BadRequestError, match="Insufficient wallet balance"):
        await top_up(octopus_client, PLAYER, "4.99", reference="order-7")
    assert octopus_control.order_count("topups") == 0
