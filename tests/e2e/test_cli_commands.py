"""The `octopus-async` command: help, mistakes, and the account commands against a sandbox."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from asyncio.subprocess import Process
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest

from octopus_async import OctopusClient, __version__
from octopus_async.cli import build_parser, main
from octopus_async.sandbox import Sandbox

ROOT = Path(__file__).parents[2]


def one_line_error(err: str) -> str:
    """The single line a user mistake prints on stderr."""
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert err.startswith("octopus-async"), err
    return err


def test_bare_command_prints_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: octopus-async")
    for command in ("demo", "sandbox", "wallets", "products", "orders"):
        assert re.search(rf"\n    {command}\s", out)
    assert "2 a usage mistake" in out  # the exit statuses are documented


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"octopus-async {__version__}\n"


def test_every_option_shows_its_default():
    def parsers(parser: argparse.ArgumentParser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from parsers(sub)

    checked = 0
    for parser in parsers(build_parser()):
        for action in parser._actions:
            if action.required or action.nargs == 0 or not action.option_strings:
                continue  # required options, flags and positionals have no default to show
            assert action.default or "default:" in action.help, (parser.prog, action.dest)
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["sandbox", "--port", "70000"], "expected a port number from 0 to 65535, got '70000'"),
        (["sandbox", "--port", "abc"], "expected a port number"),
        (["sandbox", "--wallet", "USD=-5"], "expected an amount of 0 or more, got 'USD=-5'"),
        (["sandbox", "--wallet", "USD=lots"], "expected an amount of 0 or more"),
        (["sandbox", "--wallet", "XYZ=5"], "CUR one of USD"),
        (["sandbox", "--time-scale", "-1"], "expected a number above 0, got '-1'"),
        (["sandbox", "--time-scale", "0"], "expected a number above 0, got '0'"),
        (["demo", "--time-scale", "nan"], "expected a number above 0"),
        (["orders", "get", "vouchers", "0"], "expected a whole number above 0"),
        (["orders", "get", "gift-cards", "1"], "invalid choice: 'gift-cards'"),
        (["orders", "wait", "esim", "1", "--timeout", "-3"], "expected a number above 0"),
        (["products", "vouchers", "--limit", "0"], "expected a whole number above 0"),
        (["products"], "required: KIND"),
        (["refund"], "invalid choice: 'refund'"),
    ],
)
def test_argument_mistakes_are_one_line_and_status_2(capsys, argv, says):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert says in one_line_error(captured.err)
    assert captured.out == ""


def test_port_in_use_is_one_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert f"port {port} is in use on 127.0.0.1; choose another with --port" in err


def test_missing_credentials_are_one_line(capsys, monkeypatch):
    monkeypatch.delenv("OCTOPUS_API_KEY", raising=False)
    monkeypatch.setenv("OCTOPUS_API_SECRET", "secret")
    assert main(["wallets"]) == 2
    assert "OCTOPUS_API_KEY" in one_line_error(capsys.readouterr().err)


def test_bad_environment_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("OCTOPUS_API_KEY", "key")
    monkeypatch.setenv("OCTOPUS_API_SECRET", "secret")
    monkeypatch.delenv("OCTOPUS_BASE_URL", raising=False)
    monkeypatch.setenv("OCTOPUS_ENVIRONMENT", "staging")
    assert main(["wallets"]) == 2
    assert "'staging'" in one_line_error(capsys.readouterr().err)


def test_unreachable_api_is_one_line_and_status_1(capsys, monkeypatch):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("OCTOPUS_API_KEY", "key")
    monkeypatch.setenv("OCTOPUS_API_SECRET", "secret")
    monkeypatch.setenv("OCTOPUS_BASE_URL", f"http://127.0.0.1:{port}")
    assert main(["orders", "get", "topups", "7"]) == 1
    err = one_line_error(capsys.readouterr().err)
    assert f"cannot reach http://127.0.0.1:{port}" in err
    assert "secret" not in err


@pytest.mark.parametrize("optional", ["rich", "redis", "temporalio"])
def test_importing_the_sdk_does_not_import_optional_packages(optional):
    code = f"import sys, octopus_async; sys.exit({optional!r} in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# --- against a sandbox, from another process -----------------------------------------------


class Result(NamedTuple):
    status: int
    out: str
    err: str


@pytest.fixture
async def served(make_sandbox):
    # eSIMs are delivered at once; voucher orders of more than 5 and topups stay PENDING
    # for the whole test (their delays are 10 s and more).
    return await make_sandbox(esim_fulfilment_delay=(0.0, 0.0), esim_slow_share=0.0)


async def start(sandbox: Sandbox, *args: str, secret: str | None = None) -> Process:
    """Start `octopus-async ARGS` in another process, configured for `sandbox`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTOPUS_")}
    env |= {
        "OCTOPUS_BASE_URL": sandbox.url,
        "OCTOPUS_API_KEY": sandbox.api_key,
        "OCTOPUS_API_SECRET": secret or sandbox.api_secret,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        # Ctrl-C raises KeyboardInterrupt even where the test runner's parent ignores SIGINT.
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from octopus_async.cli import main; sys.exit(main(sys.argv[1:]))",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )


async def cli(sandbox: Sandbox, *args: str, secret: str | None = None) -> Result:
    """Run `octopus-async ARGS` in another process, configured for `sandbox`; check that
    its output holds no traceback, escape code, secret or token."""
    process = await start(sandbox, *args, secret=secret)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    result = Result(process.returncode, out.decode(), err.decode())
    for text in (result.out, result.err):
        assert "Traceback" not in text
        assert "\x1b[" not in text  # no colour into a pipe
        assert sandbox.api_secret not in text
        assert "eyJ" not in text  # no token (a JWT)
    return result


@pytest.mark.real_time  # another process talks to the sandbox: its time is the wall clock's
async def test_wallets(served):
    table, as_json = await asyncio.gather(cli(served, "wallets"), cli(served, "wallets", "--json"))
    assert table.status == 0, table.err
    assert re.search(r"\n1\s+USD\s+10000\.00\s+PREPAID *\n", table.out)
    assert re.search(r"\n2\s+EUR\s+5000\.00\s+PREPAID *\n", table.out)
    assert as_json.status == 0, as_json.err
    wallets = json.loads(as_json.out)
    assert [(w["currency"], Decimal(w["balance"])) for w in wallets] == [
        ("USD", Decimal("10000.00")),
        ("EUR", Decimal("5000.00")),
        ("GBP", Decimal("2000.00")),
    ]


@pytest.mark.real_time
async def test_products(served):
    vouchers, india, japan, first, unknown = await asyncio.gather(
        cli(served, "products", "vouchers", "--category", "Gaming"),
        cli(served, "products", "topups", "--country", "IN", "--json"),
        cli(served, "products", "esim", "--country", "jp"),
        cli(served, "products", "vouchers", "--limit", "1", "--json"),
        cli(served, "products", "esim", "--country", "XX"),
    )
    assert vouchers.status == 0, vouchers.err
    assert re.search(
        r"\n123\s+Steam Wallet Card\s+Gaming\s+US\s+USD\s+10\.00, 20\.00", vouchers.out
    )
    assert "Netflix" not in vouchers.out
    assert india.status == 0, india.err
    assert {p["country_code"] for p in json.loads(india.out)} == {"IND"}
    assert japan.status == 0, japan.err
    assert re.search(r"\n712\s+Japan eSIM\s+JPN\s+USD *\n", japan.out)
    assert "USA" not in japan.out
    assert first.status == 0, first.err
    assert len(json.loads(first.out)) == 1
    assert unknown.status == 2
    assert "unknown country code 'XX'" in one_line_error(unknown.err)


@pytest.mark.real_time
async def test_orders_get_and_find_mask_codes_in_tables(served):
    async with OctopusClient(**served.client_settings()) as client:
        voucher = await client.vouchers.orders.create(123, Decimal("50.00"), 2)
        topup = await client.topups.orders.create(
            4218, Decimal("4.99"), input_data={"player_id": "5123456789"}
        )
        esim = await client.esim.orders.create(712, Decimal("4.50"))
    # 4-digit PINs turn up by chance in any text with numbers (the SBX references): the
    # server's copies get PINs that cannot.
    held = served.state.vouchers.orders.by_id[voucher.id].vouchers
    for n, copy in enumerate(held):
        copy["pin_code"] = f"PIN-{n}-5f0c2a9e"
    codes = [v.card_number for v in voucher.vouchers] + [copy["pin_code"] for copy in held]
    assert all(codes)
    assert esim.activation_code

    got, found, as_json, esim_table, esim_json = await asyncio.gather(
        cli(served, "orders", "get", "vouchers", str(voucher.id)),
        cli(served, "orders", "find", "topups", topup.client_reference),
        cli(served, "orders", "get", "vouchers", str(voucher.id), "--json"),
        cli(served, "orders", "get", "esim", str(esim.id)),
        cli(served, "orders", "get", "esim", str(esim.id), "--json"),
    )
    assert got.status == 0, got.err
    assert re.search(r"status\s+DELIVERED *\n", got.out)
    assert re.search(rf"client reference\s+{voucher.client_reference} *\n", got.out)
    assert len(re.findall(r"SBX\d+\s+\d{4}-\d\d-\d\d\s+\*\*\*\s+\*\*\*", got.out)) == 2
    assert not any(code in got.out for code in codes)
    assert found.status == 0, found.err
    assert re.search(rf"id\s+{topup.id} *\n", found.out)
    assert re.search(r"status\s+PENDING *\n", found.out)
    assert re.search(r"charged\s+4\.74 USD *\n", found.out)  # 4.7405 at USD's precision
    assert esim_table.status == 0, esim_table.err
    assert re.search(r"activation code\s+\*\*\* *\n", esim_table.out)
    assert esim.activation_code not in esim_table.out
    # --json prints the order as the API returned it, codes included (the help says so).
    assert as_json.status == 0, as_json.err
    body = json.loads(as_json.out)
    assert body["id"] == voucher.id
    assert sorted(v["card_number"] for v in body["vouchers"]) == sorted(codes[:2])
    assert json.loads(esim_json.out)["activation_code"] == esim.activation_code


@pytest.mark.real_time
async def test_orders_that_are_not_there(served):
    missing, unknown_reference = await asyncio.gather(
        cli(served, "orders", "get", "vouchers", "999999"),
        cli(served, "orders", "find", "esim", "oc_nothing_by_this_name"),
    )
    assert missing.status == 1
    assert "404" in one_line_error(missing.err)
    assert unknown_reference.status == 1
    assert "no esim order has the client reference" in one_line_error(unknown_reference.err)


@pytest.mark.real_time
async def test_wrong_secret_is_a_usage_mistake(served):
    result = await cli(served, "wallets", secret="not-the-secret")
    assert result.status == 2
    err = one_line_error(result.err)
    assert "refused the credentials in OCTOPUS_API_KEY and OCTOPUS_API_SECRET" in err
    assert "not-the-secret" not in err


@pytest.mark.real_time
async def test_orders_wait(served):
    async with OctopusClient(**served.client_settings()) as client:
        settled = await client.vouchers.orders.create(123, Decimal("10.00"), 1)
        pending = await client.vouchers.orders.create(123, Decimal("10.00"), 10)
    done, waited_out = await asyncio.gather(
        cli(served, "orders", "wait", "vouchers", str(settled.id), "--json"),
        cli(served, "orders", "wait", "vouchers", str(pending.id), "--timeout", "0.5"),
    )
    assert done.status == 0, done.err
    assert json.loads(done.out)["status"] == "DELIVERED"
    # The live status goes to stderr (one line per change off a terminal), stdout stays JSON.
    assert re.search(rf"s  order {settled.id}: DELIVERED\n", done.err)
    assert waited_out.status == 1
    progress, error = waited_out.err.splitlines(keepends=True)[-2:]
    assert re.search(rf"s  order {pending.id}: PENDING\n", progress)
    assert f"order {pending.id} is still PENDING" in one_line_error(error)
    assert waited_out.out == ""


@pytest.mark.real_time
async def test_interrupted_wait_exits_130(served):
    async with OctopusClient(**served.client_settings()) as client:
        pending = await client.vouchers.orders.create(123, Decimal("10.00"), 10)
    process = await start(served, "orders", "wait", "vouchers", str(pending.id))
    assert process.stderr is not None
    line = b""
    while b"PENDING" not in line:  # the wait is under way
        line = await asyncio.wait_for(process.stderr.readline(), 30)
        assert line, "the command ended before it showed the order PENDING"
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 130
    assert b"Traceback" not in err
    assert out == b""
