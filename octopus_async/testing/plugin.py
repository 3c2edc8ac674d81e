"""The SDK's pytest plugin: a sandbox, a client and a control for your tests.

Registered through the ``pytest11`` entry point under the name ``octopus_async``: every
pytest run of a project that installs the SDK loads it, and nothing happens until a test
asks for one of its fixtures. It defines no autouse fixture and its only hook registers the
``octopus_sandbox`` marker (and, when pytest-asyncio is active, the fixtures' flavour for
it). ``-p no:octopus_async`` turns it off; with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set,
``-p octopus_async`` turns it on.

Fixtures (function scope):

- ``octopus_sandbox_config``: the `SandboxConfig` of this test: time-scaled by
  `DEFAULT_TIME_SCALE`, and the settings of the ``octopus_sandbox`` markers on the module,
  class and test (the closest wins: ``@pytest.mark.octopus_sandbox(time_scale=0.1,
  topup_slow_share=0.0)``). Override it in a conftest.py to start from settings of your own.
- ``octopus_sandbox``: a `Sandbox` with that configuration, serving on loopback, stopped
  after the test.
- ``octopus_client``: ``client_for(octopus_sandbox)``, closed after the test.
- ``octopus_control``: a `SandboxControl` of ``octopus_sandbox``.

The sandbox and the client live on the test's event loop, so the tests that use them are
async: run by pytest-asyncio, in strict mode (mark them ``@pytest.mark.asyncio``) or auto
mode, on its default function-scoped loops, or by anyio's pytest plugin
(``@pytest.mark.anyio``) on the ``asyncio`` backend, with pytest-asyncio absent or in strict
mode. A sync test that asks for them fails with a message saying so.

The fixtures pick their runner per test: ``octopus_sandbox`` and ``octopus_client`` are
sync fixtures that request an async twin, a `pytest_asyncio.fixture` (strict mode handles
only those) or a plain async fixture that anyio runs on the test's own loop.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from octopus_async import OctopusClient
    from octopus_async.sandbox import Sandbox, SandboxConfig

    from .control import SandboxControl

__all__ = [
    "DEFAULT_TIME_SCALE",
    "octopus_client",
    "octopus_control",
    "octopus_sandbox",
    "octopus_sandbox_config",
]

# Real seconds per simulated second unless a marker says otherwise: a topup settles in
# 0.05-0.3 s (a tenth of them in 0.6-6 s), a large voucher order in 0.1-0.6 s.
DEFAULT_TIME_SCALE = 0.01

_MARKER = "octopus_sandbox"
_ASYNCIO_ACTIVE = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**settings): SandboxConfig settings of the octopus_sandbox fixture "
        "(octopus_async's pytest plugin)",
    )
    asyncio_plugin = sys.modules.get("pytest_asyncio.plugin")
    if asyncio_plugin is not None and config.pluginmanager.is_registered(asyncio_plugin):
        from . import _asyncio

        if not config.pluginmanager.is_registered(_asyncio):
            config.pluginmanager.register(_asyncio, "octopus_async.testing._asyncio")
        config.stash[_ASYNCIO_ACTIVE] = True


@pytest.fixture
def octopus_sandbox_config(request: pytest.FixtureRequest) -> SandboxConfig:
    """The `SandboxConfig` of ``octopus_sandbox``: time-scaled by 0.01, and the settings of
    the ``octopus_sandbox`` markers (module, class, then test: the closest wins)."""
    from octopus_async.sandbox import SandboxConfig

    settings: dict[str, Any] = {"time_scale": DEFAULT_TIME_SCALE}
    for marker in reversed(list(request.node.iter_markers(_MARKER))):
        if marker.args:
            pytest.fail(
                f"@pytest.mark.{_MARKER} takes SandboxConfig settings by name, got {marker.args!r}",
                pytrace=False,
            )
        settings.update(marker.kwargs)
    return SandboxConfig(**settings)


@pytest.fixture
def octopus_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """A sandbox serving on loopback for this test (`octopus_sandbox_config`), stopped
    after it; its `state`, `faults`, `requests` and `webhooks` are there to inspect."""
    return cast("Sandbox", request.getfixturevalue(f"_octopus_sandbox_{_runner(request)}"))


@pytest.fixture
def octopus_client(request: pytest.FixtureRequest) -> OctopusClient:
    """An `OctopusClient` for ``octopus_sandbox``, paced by its time scale
    (`octopus_async.testing.client_for`), closed after the test."""
    return cast("OctopusClient", request.getfixturevalue(f"_octopus_client_{_runner(request)}"))


@pytest.fixture
def octopus_control(octopus_sandbox: Sandbox) -> SandboxControl:
    """A `SandboxControl` of ``octopus_sandbox``: force outcomes, settle orders, add faults."""
    from .control import SandboxControl

    return SandboxControl(octopus_sandbox)


def _runner(request: pytest.FixtureRequest) -> str:
    """Which async twin serves this test: "anyio" or "asyncio" (pytest-asyncio)."""
    function = getattr(request, "function", None)
    function = getattr(getattr(function, "hypothesis", None), "inner_test", function)
    if not inspect.iscoroutinefunction(function):
        pytest.fail(
            f"{request.fixturename} runs on the test's event loop: "
            "ask for it from an async test (async def)",
            pytrace=False,
        )
    if "anyio_backend" in request.fixturenames:
        backend = request.getfixturevalue("anyio_backend")
        name = backend if isinstance(backend, str) else backend[0]
        if name != "asyncio":
            pytest.fail(
                f"{request.fixturename} needs anyio's asyncio backend, not {name!r} "
                "(aiohttp runs on asyncio): return 'asyncio' from an anyio_backend fixture",
                pytrace=False,
            )
        return "anyio"
    if not request.config.stash.get(_ASYNCIO_ACTIVE, False):
        pytest.fail(
            f"{request.fixturename} needs pytest-asyncio, or anyio's pytest plugin "
            "(@pytest.mark.anyio) to run the test",
            pytrace=False,
        )
    return "asyncio"


# The twins anyio runs (it runs any async fixture that an anyio test asks for). Their
# pytest-asyncio twins are in _asyncio.py, imported only when pytest-asyncio is active.


@pytest.fixture(name="_octopus_sandbox_anyio")
async def _sandbox_for_anyio(octopus_sandbox_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    from octopus_async.sandbox import Sandbox

    async with Sandbox(octopus_sandbox_config) as sandbox:
        yield sandbox


@pytest.fixture(name="_octopus_client_anyio")
async def _client_for_anyio(octopus_sandbox: Sandbox) -> AsyncIterator[OctopusClient]:
    from .control import client_for

    async with client_for(octopus_sandbox) as client:
        yield client
