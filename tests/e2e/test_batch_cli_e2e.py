"""`octopus-async batch` through its real entry point: killed, interrupted, rerun, bad input.

The sandbox serves from the test's process; the command runs in its own, on the wall
clock, which is why every test here is marked `real_time`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import stat
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from octopus_async.batch import Journal, describe_input
from octopus_async.cli import main
from octopus_async.sandbox import Fault

# Another process runs the command: its time is the wall clock's.
pytestmark = pytest.mark.real_time

PLAYER = {"player_id": "5123456789"}
UNKNOWN_PLAYER = {"player_id": "0000000000"}  # the sandbox fails these, user-fixable
FUNDS = Decimal("1000000.00")


@pytest.fixture
async def sandbox(make_sandbox):
    return await make_sandbox(
        time_scale=0.01,
        wallets={"USD": FUNDS},
        topup_slow_share=0.0,
        topup_get_only_share=0.0,
        topup_settle_delay=(5.0, 20.0),
        seed=11,
    )


async def batch(sandbox, *args: str | Path, **variables: str):
    """Start the command with the sandbox's settings (and `variables`) in its environment."""
    environment = {
        **os.environ,
        "OCTOPUS_BASE_URL": sandbox.url,
        "OCTOPUS_API_KEY": sandbox.api_key,
        "OCTOPUS_API_SECRET": sandbox.api_secret,
        **variables,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "octopus_async.cli",
        "batch",
        *map(str, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )


async def finish(process, timeout=120):
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, stdout.decode(), stderr.decode()


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def campaign(size):
    """Vouchers and topups; every 20th row a topup for a player id that does not exist."""
    rows = []
    for number in range(1, size + 1):
        if number % 20 == 0:
            rows.append(
                {
                    "vertical": "topups",
                    "product_id": 4218,
                    "amount": "4.99",
                    "input_data": UNKNOWN_PLAYER,
                }
            )
        elif number % 2:
            rows.append(
                {
                    "vertical": "vouchers",
                    "product_id": 123,
                    "denomination": "10.00",
                    "quantity": 1 + number % 3,
                }
            )
        else:
            rows.append(
                {"vertical": "topups", "product_id": 4218, "amount": "4.99", "input_data": PLAYER}
            )
    return rows


def results(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def server_orders(sandbox):
    state = sandbox.state
    return [
        order
        for desk in (state.vouchers, state.topups, state.esim)
        for order in desk.orders.by_id.values()
    ]


async def test_a_batch_killed_three_times_ends_with_one_order_per_row(sandbox, tmp_path):
    size = 2_000
    source = write_jsonl(tmp_path / "campaign.jsonl", campaign(size))
    journal, out = tmp_path / "campaign.db", tmp_path / "results.jsonl"
    # Some creates take effect but their answers never arrive.
    sandbox.faults.add(
        Fault.drop(), phase="after", method="POST", path="/api/v1/*orders", rate=0.05
    )
    points = random.Random(2026)

    for _ in range(3):
        process = await batch(sandbox, source, "--journal", journal, "--out", out)
        # A random point of the run, not a wait for anything.
        await asyncio.sleep(points.uniform(0.8, 2.5))
        process.send_signal(signal.SIGKILL)
        status, _, _ = await finish(process)
        assert status == -signal.SIGKILL

    status, stdout, stderr = await finish(
        await batch(sandbox, source, "--journal", journal, "--out", out)
    )

    assert status == 1, stderr  # the 5 % of rows for an unknown player failed
    lines = results(out)
    assert sorted(line["row"] for line in lines) == list(range(1, size + 1))
    statuses = {line["row"]: line["status"] for line in lines}
    assert Counter(statuses.values()) == {"delivered": size * 95 // 100, "failed": size // 20}
    assert all(statuses[row] == "failed" for row in range(20, size + 1, 20))
    failed = [line for line in lines if line["status"] == "failed"]
    assert all(line["order"]["is_user_fixable"] is True for line in failed)

    # Exactly one order per row on the server, under the reference the results name.
    orders = server_orders(sandbox)
    assert Counter(order.client_reference for order in orders) == Counter(
        line["client_reference"] for line in lines
    )
    assert len(orders) == size
    assert {line["order"]["id"] for line in lines} == {order.id for order in orders}

    # The ledger: one debit per order, one refund per failed order, and the balance agrees.
    ledger = sandbox.ledger
    debited = Counter(
        int(re.search(r"Order #(\d+)", t.remarks).group(1))
        for t in ledger.transactions.values()
        if t.transaction_type == "DEBIT"
    )
    refunded = Counter(
        int(re.search(r"Refund for Order #(\d+)", t.remarks).group(1))
        for t in ledger.transactions.values()
        if "Refund" in t.remarks
    )
    assert debited == Counter(order.id for order in orders)
    assert refunded == Counter(line["order"]["id"] for line in failed)
    signed = sum(
        t.amount if t.transaction_type == "CREDIT" else -t.amount
        for t in ledger.transactions.values()
    )
    assert ledger.wallet_for("USD").balance == signed < FUNDS

    assert "STEAM-" not in stdout + stderr  # codes go to --out only
    assert re.search(rf"delivered\s+{size * 95 // 100}", stdout)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


async def test_bad_rows_are_reported_and_the_good_ones_processed(sandbox, tmp_path):
    good = {"vertical": "vouchers", "product_id": 123, "denomination": "10.00", "quantity": 1}
    source = tmp_path / "orders.jsonl"
    source.write_text(
        json.dumps(good)
        + "\n"
        + json.dumps({**good, "qty": 1})
        + "\n"  # a wrong column
        + "{not json\n"
        + json.dumps({**good, "vertical": "bikes"})
        + "\n"
        + json.dumps({**good, "quantity": -1})
        + "\n"
        + json.dumps(good)
        + "\n"
    )
    out = tmp_path / "results.jsonl"
    status, stdout, stderr = await finish(
        await batch(sandbox, source, "--journal", tmp_path / "j.db", "--out", out)
    )

    assert status == 1
    assert "row 2: invalid (field qty): unknown column 'qty'" in stdout
    assert "row 3: invalid: not a JSON object" in stdout
    assert "row 4: invalid (field vertical)" in stdout
    assert re.search(r"row 5 \S+: invalid \(field quantity\)", stdout)
    assert {line["row"]: line["status"] for line in results(out)} == {
        1: "delivered",
        2: "invalid",
        3: "invalid",
        4: "invalid",
        5: "invalid",
        6: "delivered",
    }
    assert len(server_orders(sandbox)) == 2
    assert "Traceback" not in stderr


async def test_ctrl_c_exits_130_and_a_rerun_completes(sandbox, tmp_path):
    rows = campaign(600)
    rows.insert(49, {"vertical": "bikes"})  # row 50: its report says the batch is under way
    source = write_jsonl(tmp_path / "campaign.jsonl", rows)
    journal, out = tmp_path / "campaign.db", tmp_path / "results.jsonl"
    process = await batch(sandbox, source, "--journal", journal, "--out", out)
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    assert line.startswith(b"row 50: invalid")
    process.send_signal(signal.SIGINT)
    status, _, stderr = await finish(process)
    assert status == 130, stderr
    assert "Traceback" not in stderr
    assert "the journal is consistent: run the same command again to resume" in stderr

    status, _, stderr = await finish(
        await batch(sandbox, source, "--journal", journal, "--out", out)
    )
    assert status == 1, stderr  # the unknown players' rows failed; every other delivered
    lines = results(out)
    assert sorted(line["row"] for line in lines) == list(range(1, 602))
    statuses = Counter(line["status"] for line in lines)
    assert statuses == {"delivered": 571 - 1, "failed": 30, "invalid": 1}
    assert Counter(o.client_reference for o in server_orders(sandbox)) == Counter(
        line["client_reference"] for line in lines if line["status"] != "invalid"
    )


async def test_a_terminal_gets_a_live_progress_bar(sandbox, tmp_path):
    voucher = {"vertical": "vouchers", "product_id": 123, "denomination": "10.00", "quantity": 1}
    source = write_jsonl(tmp_path / "orders.jsonl", [voucher] * 6)
    # Rich takes FORCE_COLOR as a terminal: the display a user sees, captured.
    status, stdout, _ = await finish(
        await batch(sandbox, source, "--journal", tmp_path / "j.db", FORCE_COLOR="1")
    )

    assert status == 0
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stdout)
    assert re.search(r"batch .*6/6 .*6 delivered 0 failed 0 pending 0 invalid .*rows/min", plain)
    assert "\x1b[32m" in stdout  # in colour


async def test_refused_credentials_are_one_line_and_exit_2(sandbox, tmp_path):
    source = write_jsonl(tmp_path / "campaign.jsonl", campaign(40))
    status, stdout, stderr = await finish(
        await batch(sandbox, source, "--journal", tmp_path / "j.db", OCTOPUS_API_SECRET="wrong")
    )

    assert status == 2
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "refused the credentials" in stderr
    assert "run the same command again to resume" in stderr
    assert "wrong" not in stdout + stderr  # the secret, even a wrong one, is not shown
    assert "failed" not in stdout  # one error, not a failed row each
    assert server_orders(sandbox) == []


async def start_journal(path, input_id):
    journal = await Journal.open(path, input_id=input_id)
    await journal.aclose()


def test_usage_mistakes_exit_2_with_one_line(tmp_path, monkeypatch, capsys):
    # Nothing here reaches a server: each mistake is caught before the first request.
    monkeypatch.setenv("OCTOPUS_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("OCTOPUS_API_KEY", "key")
    monkeypatch.setenv("OCTOPUS_API_SECRET", "secret")
    source = write_jsonl(tmp_path / "a.jsonl", campaign(3))
    journal = tmp_path / "a.db"
    digest, _ = describe_input(source)
    asyncio.run(start_journal(journal, digest))
    other = write_jsonl(tmp_path / "b.jsonl", campaign(4))

    for args in (
        (other, "--journal", journal),  # the journal of another input
        (tmp_path / "missing.jsonl", "--journal", journal),
        (source, "--journal", tmp_path / "no-such-dir" / "j.db"),
        (source, "--journal", source),  # not a journal
        (source, "--journal", journal, "--concurrency", "0"),
        (source, "--journal", journal, "--timeout", "-1"),
        (source,),  # no journal
    ):
        assert main(["batch", *map(str, args)]) == 2, args
        stderr = capsys.readouterr().err
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert "Traceback" not in stderr
