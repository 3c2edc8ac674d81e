"""Test your own code against the sandbox: pytest fixtures and the helpers behind them.

Installing the SDK registers a pytest plugin (`octopus_async.testing.plugin`, through the
``pytest11`` entry point, under the name ``octopus_async``). It does nothing until a test
asks for one of its fixtures:

- ``octopus_sandbox``: a `Sandbox` serving on loopback for this test, stopped after it;
  configured by the ``octopus_sandbox`` marker (``SandboxConfig`` settings), time-scaled by
  0.01 unless the marker says otherwise;
- ``octopus_client``: an `OctopusClient` for that sandbox (`client_for`), closed after the test;
- ``octopus_control``: a `SandboxControl` for that sandbox, to force outcomes and faults;
- ``octopus_sandbox_config``: the `SandboxConfig` used; override it in a conftest.py for
  settings of your own.

The sandbox and the client run on the test's event loop: async tests run by pytest-asyncio
(strict or auto mode) or by anyio's pytest plugin on its asyncio backend. ``-p
no:octopus_async`` turns the plugin off.

This package imports the sandbox only when one of its names is used, so that loading the
plugin stays cheap for every pytest run of a project that installs the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .control import SandboxControl, Vertical, client_for, scaled_retry

__all__ = ["SandboxControl", "Vertical", "client_for", "scaled_retry"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import control

        return getattr(control, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
