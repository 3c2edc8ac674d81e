"""The README's main job (`octopus-async demo`), the sandbox command, and every example."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from octopus_async import OctopusClient

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_demo_runs_against_the_embedded_sandbox():
    # The README's command, five times faster than its default time scale (0.02).
    result = run("-m", "octopus_async.cli", "demo", "--time-scale", "0.004")
    assert result.returncode == 0, result.stderr
    assert "logged in as client 42" in result.stdout
    assert re.search(r"1\s+USD\s+10000\.00\s+PREPAID", result.stdout)
    assert "Categories:    Gaming" in result.stdout
    assert re.search(
        r"order \d+ \(oc_[0-9a-f]{32}\): DELIVERED, codes in the answer", result.stdout
    )
    assert re.search(r"order \d+ for 10 vouchers: PENDING", result.stdout)
    assert re.search(r"order \d+: DELIVERED after [\d.]+ s, 10 vouchers", result.stdout)
    assert "card_number='***'" in result.stdout
    assert "PUBG Mobile UC (GAMING) takes player_id, server (optional)" in result.stdout
    assert re.search(r"\d+\.\d+ s  PENDING  \(order \d+\)", result.stdout)
    assert re.search(r"\d+\.\d+ s  DELIVERED: Top-up delivered", result.stdout)
    assert re.search(r"order \d+: DELIVERED in the create's answer", result.stdout)
    assert "SM-DP+ smdp.sandbox.octopuscards.io, matching id ****" in result.stdout
    assert "ACTIVE; the server stopped sending the code, the SDK kept it: True" in result.stdout
    # A poll can beat a webhook by a millisecond, rarely: most must be the webhook's.
    assert len(re.findall(r"\(webhooks on \): DELIVERED, settled by webhook", result.stdout)) >= 2
    assert len(re.findall(r"\(webhooks off\): DELIVERED, settled by poll", result.stdout)) == 3
    assert "receiver: 3 events accepted, 0 duplicates, 0 rejected" in result.stdout
    output = result.stdout + result.stderr
    assert "STEAM-" not in output  # no voucher code is ever printed
    assert "LPA:1$" not in output  # nor an activation code
    assert "sandbox-secret" not in output
    # Reference data came from the cache the second time: one request per list.
    assert re.search(r"1 x GET  /api/v1/currencies\s+200", result.stdout)


@pytest.mark.real_time  # another process serves: its time is the wall clock's
@pytest.mark.parametrize(
    "options", [[], ["--shape-variants", "all"]], ids=["documented", "variants"]
)
async def test_sandbox_command_serves_clients(options):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "octopus_async.cli",
        "sandbox",
        "--port",
        "0",
        "--rate-limits",
        "production",
        *options,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        url = re.search(r"(http://\S+)", banner).group(1)
        async with OctopusClient("sandbox-key", "sandbox-secret", base_url=url) as client:
            wallets = await client.wallets.list()
            assert {(w.currency, w.balance) for w in wallets} == {
                ("USD", Decimal("10000.00")),
                ("EUR", Decimal("5000.00")),
                ("GBP", Decimal("2000.00")),
            }
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(example):
    result = run(str(example))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
