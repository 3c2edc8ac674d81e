"""`octopus_async.testing`: the pytest plugin as a user's project meets it, and its helpers.

The plugin runs in subprocesses, on tests/sample_project (a user's project with its own
pytest configuration) and on small projects written here: pytest-asyncio in strict and in
auto mode, anyio's plugin, plugin autoloading off, the plugin turned off, and pytest with
neither pytest-asyncio nor anyio. The helpers (`client_for`, `SandboxControl`) run in
process, on this suite's virtual time.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from octopus_async import OrderFailedError, PollPolicy, RateLimits, RetryPolicy
from octopus_async.models import TopupOrderStatus, VoucherOrderStatus
from octopus_async.testing import SandboxControl, client_for, scaled_retry

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "tests" / "sample_project"
PLAYER = {"player_id": "5123456789"}

# --- the plugin, run as a user's project runs it ------------------------------------------

# Off in every run: looptime's pytest plugins, installed for this suite but no part of a
# user's project (they leave a loop unclosed for sync tests: see the SDK's pyproject.toml),
# and the cache, which would write into the project.
FOREIGN = ("-p", "no:looptime_plugin", "-p", "no:looptime_chronometers")
FOREIGN += ("-p", "no:looptime_timeproxies", "-p", "no:cacheprovider")


def run_pytest(
    project: Path,
    *args: str,
    env: dict[str, str] | None = None,
    runner: tuple[str, ...] = ("-m", "pytest"),
) -> subprocess.CompletedProcess[str]:
    """pytest on `project`, with the configuration of `project/pyproject.toml` only;
    `runner` is what runs pytest (`python -m pytest`)."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    }
    environ.update(PYTHONDONTWRITEBYTECODE="1", **(env or {}))
    command = [sys.executable, *runner, "-c", str(project / "pyproject.toml")]
    command += ["--rootdir", str(project), *FOREIGN, "-q", *args]
    return subprocess.run(
        command, cwd=project, env=environ, capture_output=True, text=True, timeout=100
    )


def outcome(result: subprocess.CompletedProcess[str]) -> str:
    """The summary line's counts: "9 passed", "2 passed, 3 errors"."""
    found = re.findall(r"^=*\s*((?:\d+ \w+(?:, )?)+) in [\d.]+s", result.stdout, re.MULTILINE)
    return found[-1] if found else f"no summary:\n{result.stdout}\n{result.stderr}"


@pytest.mark.real_time  # a subprocess on the wall clock
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param(("-o", "asyncio_mode=strict"), "9 passed", id="strict"),
        # pytest-asyncio's auto mode also takes over the fixtures of anyio's tests, whoever
        # provides them: anyio's tests need pytest-asyncio in strict mode or absent.
        pytest.param(
            ("-o", "asyncio_mode=auto", "--ignore", "test_giftshop_anyio.py"),
            "8 passed",
            id="auto",
        ),
    ],
)
def test_the_sample_project_passes_under_pytest_asyncio(options, expected):
    result = run_pytest(SAMPLE, *options, "-rA")
    assert result.returncode == 0, result.stdout + result.stderr
    assert outcome(result) == expected
    # The plain sync test ran as usual.
    assert "PASSED test_receipt.py::test_a_receipt_knows_whether_it_was_delivered" in result.stdout


def test_the_readme_shows_the_sample_project():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Testing your own code\n", 1)[1].split("\n## ", 1)[0]
    shown = section.split("```python\n", 1)[1].split("```", 1)[0]
    sample = (SAMPLE / "test_giftshop.py").read_text()
    for part in shown.removeprefix("# test_giftshop.py\n").split("\n\n"):
        assert part.strip() in sample, part


@pytest.mark.real_time
def test_the_sample_project_passes_under_anyio_alone():
    # pytest-asyncio off: its ini option in the sample's configuration is unknown then.
    warning = ("-W", "ignore::pytest.PytestConfigWarning")
    files = ("test_giftshop_anyio.py", "test_receipt.py")
    result = run_pytest(SAMPLE, "-p", "no:asyncio", *warning, *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outcome(result) == "2 passed"


@pytest.mark.real_time
def test_with_autoloading_off_the_plugin_loads_by_its_name():
    # pytest-asyncio's plugin is named "asyncio", like the module it needs: load it first.
    plugins = ("-p", "asyncio", "-p", "anyio", "-p", "octopus_async")
    result = run_pytest(SAMPLE, *plugins, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert outcome(result) == "9 passed"


@pytest.mark.real_time
def test_p_no_octopus_async_turns_the_plugin_off():
    listed = run_pytest(SAMPLE, "--fixtures", "test_receipt.py")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for name in ("octopus_sandbox", "octopus_client", "octopus_control", "octopus_sandbox_config"):
        assert f"\n{name} -- " in listed.stdout or f"\n{name}\n" in listed.stdout, name
    assert "_octopus_sandbox_asyncio" not in listed.stdout  # private twins stay hidden

    off = run_pytest(SAMPLE, "-p", "no:octopus_async", "--fixtures", "test_receipt.py")
    assert off.returncode == 0, off.stdout + off.stderr
    assert "octopus_" not in off.stdout
    plain = run_pytest(SAMPLE, "-p", "no:octopus_async", "test_receipt.py")
    assert outcome(plain) == "1 passed"
    shop = run_pytest(SAMPLE, "-p", "no:octopus_async", "test_giftshop.py")
    assert shop.returncode != 0
    assert "'octopus_sandbox' not found" in shop.stdout  # the marker is the plugin's too


WITHOUT_ASYNC_PLUGINS = """
import sys


class NotInstalled:  # as if pytest-asyncio and anyio were not installed
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("pytest_asyncio", "anyio"):
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, NotInstalled())
if sys.argv[1:] == ["import"]:
    import octopus_async.testing.plugin

    # Loading the plugin leaves the sandbox, the helpers and pytest-asyncio unimported.
    for name in ("octopus_async.sandbox", "octopus_async.testing.control", "pytest_asyncio"):
        assert name not in sys.modules, name
else:
    import pytest

    sys.exit(pytest.main(sys.argv[1:]))
"""


@pytest.mark.real_time
def test_the_plugin_loads_with_pytest_alone(tmp_path):
    imported = subprocess.run(
        [sys.executable, "-c", WITHOUT_ASYNC_PLUGINS, "import"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr

    write_project(
        tmp_path,
        {
            "test_plain.py": """
                def test_plain():
                    assert True


                async def test_asks_for_the_client(octopus_client):
                    pass
            """,
        },
    )
    # pytest-asyncio's ini option in this project's configuration is unknown without it.
    options = ("-p", "no:asyncio", "-p", "no:anyio", "-W", "ignore::pytest.PytestConfigWarning")
    result = run_pytest(tmp_path, *options, runner=("-c", WITHOUT_ASYNC_PLUGINS))
    assert outcome(result) == "1 passed, 1 error", result.stdout + result.stderr
    assert "octopus_client needs pytest-asyncio, or anyio's pytest plugin" in result.stdout


@pytest.mark.real_time
def test_markers_overrides_and_mistakes(tmp_path):
    write_project(
        tmp_path,
        {
            "test_markers.py": """
                import pytest

                from octopus_async import PollPolicy

                pytestmark = [
                    pytest.mark.asyncio,
                    pytest.mark.octopus_sandbox(time_scale=0.5, seed=1),
                ]


                @pytest.mark.octopus_sandbox(time_scale=0.02)
                class TestMerged:
                    @pytest.mark.octopus_sandbox(seed=7)
                    async def test_the_closest_marker_wins(self, octopus_sandbox, octopus_client):
                        assert octopus_sandbox.config.time_scale == 0.02
                        assert octopus_sandbox.config.seed == 7
                        assert octopus_client.config.poll == PollPolicy().scaled(0.02)
                        assert len(await octopus_client.wallets.list()) == 3


                async def test_the_module_marker(octopus_sandbox_config):
                    assert (octopus_sandbox_config.time_scale, octopus_sandbox_config.seed) == (
                        0.5,
                        1,
                    )
            """,
            "test_defaults.py": """
                import pytest


                @pytest.mark.asyncio
                async def test_defaults(octopus_sandbox, octopus_client, octopus_control):
                    assert octopus_sandbox.config.time_scale == 0.01
                    assert octopus_control.sandbox is octopus_sandbox
                    assert str(octopus_client.config.base_url) == octopus_sandbox.url
                    await octopus_client.wallets.list()
                    assert octopus_control.request_count("GET", "/api/v1/wallets") == 1
            """,
            "test_mistakes.py": """
                import pytest


                def test_sync_test(octopus_sandbox):
                    pass


                @pytest.mark.asyncio
                @pytest.mark.octopus_sandbox({"time_scale": 1.0})
                async def test_positional_marker(octopus_sandbox):
                    pass


                @pytest.mark.anyio
                @pytest.mark.parametrize("anyio_backend", ["trio"])
                async def test_trio(octopus_client):
                    pass
            """,
            "shop/conftest.py": """
                from decimal import Decimal

                import attrs
                import pytest


                @pytest.fixture
                def octopus_sandbox_config(octopus_sandbox_config):
                    return attrs.evolve(
                        octopus_sandbox_config, api_key="shop-key", wallets={"USD": Decimal("5")}
                    )
            """,
            "shop/test_override.py": """
                from decimal import Decimal

                import pytest


                @pytest.mark.asyncio
                @pytest.mark.octopus_sandbox(time_scale=0.05)
                async def test_a_conftest_override(octopus_sandbox, octopus_client):
                    assert octopus_sandbox.config.time_scale == 0.05  # the marker still counts
                    assert octopus_client.config.api_key == "shop-key"
                    [wallet] = await octopus_client.wallets.list()
                    assert wallet.balance == Decimal("5")
            """,
        },
    )
    result = run_pytest(tmp_path, "-o", "asyncio_mode=strict")
    assert outcome(result) == "4 passed, 3 errors", result.stdout + result.stderr
    out = result.stdout
    assert "octopus_sandbox runs on the test's event loop: ask for it from an async test" in out
    assert "@pytest.mark.octopus_sandbox takes SandboxConfig settings by name" in out
    assert "octopus_client needs anyio's asyncio backend, not 'trio'" in out


def write_project(root: Path, files: dict[str, str]) -> None:
    """A project of `files` with a pytest configuration as a user's might be."""
    (root / "pyproject.toml").write_text(
        textwrap.dedent("""
            [tool.pytest.ini_options]
            asyncio_default_fixture_loop_scope = "function"
            filterwarnings = ["error"]
            addopts = "-ra --strict-markers"
        """)
    )
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


# --- client_for ---------------------------------------------------------------------------


async def test_client_for_paces_the_client_by_the_sandbox(make_sandbox):
    limited = await make_sandbox(time_scale=0.01, rate_limits=RateLimits.production())
    async with client_for(limited) as client:
        assert client.config.poll == PollPolicy().scaled(0.01)
        assert client.config.retry == scaled_retry(RetryPolicy(), 0.01)
        assert client.config.retry.initial_backoff == pytest.approx(0.002)
        assert client.config.retry.max_retry_after == pytest.approx(0.6)
        assert client.config.rate_limits == RateLimits.production().scaled(0.01)
        assert str(client.config.base_url) == limited.url
        assert len(await client.wallets.list()) == 3

    unlimited = await make_sandbox(time_scale=0.1)
    retry = RetryPolicy(max_retries=0)
    async with client_for(unlimited, retry=retry, api_key=unlimited.api_key) as client:
        assert client.config.rate_limits == RateLimits.disabled()
        assert client.config.retry == retry
        assert client.config.poll == PollPolicy().scaled(0.1)


# --- SandboxControl: outcomes -------------------------------------------------------------


@pytest.fixture
async def sandbox(make_sandbox):
    return await make_sandbox(time_scale=0.01, topup_slow_share=0.0, esim_slow_share=0.0)


@pytest.fixture
def control(sandbox):
    return SandboxControl(sandbox)


@pytest.fixture
async def client(sandbox):
    async with client_for(sandbox) as created:
        yield created


async def test_a_small_voucher_order_forced_to_fail_settles_later(client, control):
    control.force_outcome("vouchers", "v-1", "FAILED")
    order = await client.vouchers.orders.create(123, "10.00", 1, client_reference="v-1")
    assert order.status == VoucherOrderStatus.PENDING  # not delivered in the answer
    with pytest.raises(OrderFailedError) as raised:
        await client.vouchers.orders.wait(order, timeout=5)
    assert raised.value.status == "FAILED"
    assert (await client.wallets.get(1)).balance == Decimal("10000.00")  # refunded

    control.force_outcome("vouchers", "v-2", "DELIVERED")  # what happens anyway
    order = await client.vouchers.orders.create(123, "10.00", 1, client_reference="v-2")
    assert order.status == VoucherOrderStatus.DELIVERED
    assert control.sandbox.state.vouchers.forced_outcomes == {}


async def test_an_instant_topup_forced_to_fail_fails(client, control):
    for reference, outcome in (("t-1", "FAILED"), ("t-2", "CANCELLED")):
        control.force_outcome("topups", reference, outcome)
        with pytest.raises(OrderFailedError) as raised:
            await client.topups.orders.create_and_wait(
                4240, "0.99", input_data=PLAYER, client_reference=reference, timeout=5
            )
        assert raised.value.status == outcome
    order = await client.topups.orders.create_and_wait(
        4240, "0.99", input_data=PLAYER, client_reference="t-3", timeout=5
    )
    assert order.status == TopupOrderStatus.DELIVERED


async def test_forced_esim_and_partial_voucher_outcomes(client, control):
    control.force_outcome("esim", "e-1", "FAILED")
    with pytest.raises(OrderFailedError) as raised:
        await client.esim.orders.create_and_wait(712, "4.50", client_reference="e-1")
    assert raised.value.failure_code == "PLAN_UNAVAILABLE"

    control.force_outcome("vouchers", "v-3", "PARTIALLY_DELIVERED")
    order = await client.vouchers.orders.create_and_wait(
        123, "10.00", 10, client_reference="v-3", accept_partial=True, timeout=5
    )
    assert order.status == VoucherOrderStatus.PARTIALLY_DELIVERED
    assert len(order.vouchers) == 5


async def test_outcomes_and_verticals_are_checked(control):
    with pytest.raises(ValueError, match="outcome must be one of"):
        control.force_outcome("topups", "x", "PARTIALLY_DELIVERED")
    with pytest.raises(ValueError, match="vertical must be"):
        control.force_outcome("gift-cards", "x", "FAILED")  # type: ignore[arg-type]


async def test_settle_skips_the_delay(make_sandbox):
    hours = {"topup_settle_delay": (3600.0, 3600.0), "voucher_fulfilment_delay": (3600.0, 3600.0)}
    sandbox = await make_sandbox(time_scale=0.01, topup_slow_share=0.0, **hours)
    control = SandboxControl(sandbox)
    async with client_for(sandbox) as client:
        topup = await client.topups.orders.create(
            4218, "4.99", input_data=PLAYER, client_reference="s-1"
        )
        vouchers = await client.vouchers.orders.create(123, "10.00", 10, client_reference="s-2")
        control.force_outcome("vouchers", "s-2", "CANCELLED")
        control.settle("topups", "s-1")
        control.settle("vouchers", "s-2")
        control.settle("vouchers", "s-2")  # settled already: nothing changes
        assert (await client.topups.orders.get(topup.id)).status == TopupOrderStatus.DELIVERED
        settled = await client.vouchers.orders.get(vouchers.id)
        assert settled.status == VoucherOrderStatus.CANCELLED
        with pytest.raises(LookupError, match="no esim order has client_reference 's-3'"):
            control.settle("esim", "s-3")
        assert (control.order_count("topups"), control.order_count("vouchers")) == (1, 1)
        assert control.order_count("esim") == 0


# --- SandboxControl: faults, tokens, shapes -----------------------------------------------

WALLETS = "/api/v1/wallets"
TOPUP_ORDERS = "/api/v1/topups/orders"


async def test_a_burst_of_errors_is_retried(client, control):
    rule = control.fail(WALLETS, status=502, times=2)
    assert len(await client.wallets.list()) == 3
    assert control.request_count("GET", WALLETS) == 3
    assert rule not in control.sandbox.faults.rules  # spent


async def test_a_fault_after_the_commit_keeps_the_order(client, control):
    control.fail(TOPUP_ORDERS, method="POST", phase="after")
    order = await client.topups.orders.create(
        4218, "4.99", input_data=PLAYER, client_reference="f-1"
    )
    assert order.recovered  # found by its reference
    assert control.order_count("topups") == 1


async def test_rate_limit_sends_a_scaled_retry_after(client, control):
    control.rate_limit(WALLETS, retry_after=30, times=1)  # 30 simulated seconds: 0.3 s
    async with (
        aiohttp.ClientSession() as session,
        session.get(control.sandbox.url + WALLETS) as answer,
    ):
        assert answer.status == 429
        assert answer.headers["Retry-After"] == "0.300"
    loop = asyncio.get_running_loop()
    control.rate_limit(WALLETS, method="GET", retry_after=30)
    started = loop.time()
    assert len(await client.wallets.list()) == 3  # waited, then went through
    assert loop.time() - started >= 0.3


async def test_dropped_connections_before_and_after_the_commit(client, control):
    control.drop(TOPUP_ORDERS, method="POST")  # never arrives: sent again
    control.drop(TOPUP_ORDERS, method="POST", phase="after")  # placed, answer lost
    order = await client.topups.orders.create(
        4218, "4.99", input_data=PLAYER, client_reference="d-1"
    )
    assert order.client_reference == "d-1"
    assert control.order_count("topups") == 1
    assert control.request_count("POST", TOPUP_ORDERS) == 2


async def test_delay_and_clear_faults(client, control):
    loop = asyncio.get_running_loop()
    control.delay(WALLETS, 50.0)  # 50 simulated seconds: 0.5 s
    started = loop.time()
    await client.wallets.list()
    assert loop.time() - started >= 0.5

    control.fail(WALLETS, times=None)
    control.clear_faults()
    assert control.sandbox.faults.rules == []
    assert len(await client.wallets.list()) == 3


async def test_revoked_tokens_mean_a_new_login(client, control):
    await client.wallets.list()
    control.revoke_tokens()
    assert len(await client.wallets.list()) == 3
    assert control.request_count("POST", "/auth/login") == 2


async def test_shape_variants_switch(client, control):
    control.use_shape_variants("envelope", "nulls")
    assert control.sandbox.state.shape_variants == {"envelope", "nulls"}
    assert len(await client.wallets.list()) == 3
    control.use_shape_variants()
    assert control.sandbox.state.shape_variants == frozenset()
