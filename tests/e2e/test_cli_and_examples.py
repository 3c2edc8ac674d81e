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
    out = result.stdout
    # It says what it will do first, then does it.
    assert re.search(r"1\. Account: log in.*\n.*\n.*\n.*\n.*\n  6\. Webhooks: six voucher", out)
    assert "logged in as client 42" in out
    assert re.search(r"\n1\s+USD\s+10000\.00\s+PREPAID", out)
    assert "Categories:    Gaming" in out
    assert re.search(r"order \d+ \(oc_[0-9a-f]{32}\): DELIVERED in the answer", out)
    assert re.search(r"order \d+ for 10 vouchers: PENDING", out)
    assert re.search(r"order \d+: DELIVERED after [\d.]+ s, 10 vouchers", out)
    # Vouchers as a table: serial and expiry shown, code and PIN masked; no reprs.
    assert len(re.findall(r"SBX\d+\s+\d{4}-\d\d-\d\d\s+\*\*\*\s+\*\*\*\s+-", out)) == 5
    assert "Voucher(" not in out
    assert "PUBG Mobile UC (GAMING) takes player_id, server (optional)" in out
    # Every wait shows its progress: off a terminal, a line for each change of state.
    assert re.search(r"\d+\.\d\d s  order \d+: PENDING\n.*\d+\.\d\d s  order \d+: DELIVERED", out)
    # Amounts at their currency's precision: the 4.7405 USD charged shows as 4.74.
    assert "Top-up delivered: charged 4.74 USD" in out
    assert re.search(r"order \d+: DELIVERED in the create's answer", out)
    assert "SM-DP+ smdp.sandbox.octopuscards.io, matching id ****" in out
    assert re.search(r"s  order \d+: NOT_INSTALLED\n.*s  order \d+: ACTIVE", out)
    assert "ACTIVE; the server stopped sending the code, the SDK kept it: True" in out
    # A poll can beat a webhook by a millisecond, rarely: most must be the webhook's.
    assert len(re.findall(r"\d+\s+on\s+DELIVERED\s+webhook", out)) >= 2
    assert len(re.findall(r"\d+\s+off\s+DELIVERED\s+poll", out)) == 3
    assert "receiver: 3 events accepted, 0 duplicates, 0 rejected" in out
    output = out + result.stderr
    assert "STEAM-" not in output  # no voucher code is ever printed
    assert "LPA:1$" not in output  # nor an activation code
    assert "sandbox-secret" not in output
    assert "\x1b[" not in output  # plain text into a pipe
    # Reference data came from the cache the second time: one request per list.
    assert re.search(r"1\s+GET\s+/api/v1/currencies\s+200", out)
    assert re.search(r"orders placed\s+10\n", out)
    assert re.search(r"HTTP requests\s+\d+\n", out)
    assert "Next steps" in out
    assert "octopus-async sandbox" in out


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
        exports = [(await process.stdout.readline()).decode() for _ in range(3)]
        assert exports == [
            f"export OCTOPUS_BASE_URL={url}\n",
            "export OCTOPUS_API_KEY=sandbox-key\n",
            "export OCTOPUS_API_SECRET=sandbox-secret\n",
        ]
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
