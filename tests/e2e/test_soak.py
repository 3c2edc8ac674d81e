"""The soak's short variant (`soak.run`; `nox -s soak` runs it at full size): 400 orders
of every vertical under every fault at once, the batch command SIGKILLed once and resumed,
and every invariant holding."""

from __future__ import annotations

import pytest

from soak import SoakConfig, run_soak

# The batch command runs in another process, on the wall clock.
pytestmark = pytest.mark.real_time


@pytest.mark.timeout(600)
async def test_a_short_soak_keeps_every_invariant(tmp_path):
    report = await run_soak(SoakConfig(batch_orders=300, app_orders=100, kills=1), tmp_path)

    assert report.ok, report.table()
    assert [i.name for i in report.invariants] == [
        "one order per client_reference",
        "every request settled or pending with a token",
        "ledger balanced",
        "no secret leaked",
        "no unclosed session or pending task",
        "RSS flat",
    ]
    figures = report.figures
    assert figures["orders on the server"] == 400
    assert figures["batch runs (exit statuses)"][0] == -9  # killed, then resumed
    answers = figures["answers by status (None: dropped)"]
    assert answers.get(None, 0) > 0  # connections were dropped
    assert answers.get(503, 0) > 0
    assert figures["webhook duplicates"] > 0
