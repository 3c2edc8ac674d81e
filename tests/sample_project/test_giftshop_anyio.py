"""The same fixtures under anyio's pytest plugin, on its asyncio backend."""

from __future__ import annotations

import pytest
from giftshop import top_up

pytestmark = [pytest.mark.anyio, pytest.mark.octopus_sandbox(topup_slow_share=0.0)]


@pytest.fixture
def anyio_backend():
    return "asyncio"  # the sandbox and the client run on asyncio


async def test_a_cancelled_top_up_under_anyio(octopus_client, octopus_control):
    octopus_control.force_outcome("topups", "anyio-1", "CANCELLED")
    receipt = await top_up(octopus_client, "5123456789", "0.99", reference="anyio-1")
    assert receipt.status == "CANCELLED"
    assert octopus_control.order_count("topups") == 1
