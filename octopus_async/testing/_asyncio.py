"""The fixtures' pytest-asyncio twins, registered by the plugin when pytest-asyncio is active.

`pytest_asyncio.fixture` makes pytest-asyncio run them in strict mode as in auto mode, on
the loop of ``asyncio_default_fixture_loop_scope`` (the test's own loop by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest_asyncio

if TYPE_CHECKING:
    from octopus_async import OctopusClient
    from octopus_async.sandbox import Sandbox, SandboxConfig


@pytest_asyncio.fixture(name="_octopus_sandbox_asyncio")
async def sandbox_for_asyncio(octopus_sandbox_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    from octopus_async.sandbox import Sandbox

    async with Sandbox(octopus_sandbox_config) as sandbox:
        yield sandbox


@pytest_asyncio.fixture(name="_octopus_client_asyncio")
async def client_for_asyncio(octopus_sandbox: Sandbox) -> AsyncIterator[OctopusClient]:
    from .control import client_for

    async with client_for(octopus_sandbox) as client:
        yield client
