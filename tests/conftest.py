"""Shared fixtures: a sandbox on loopback, clients for it, and aioresponses for wire tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import pytest
from support import API, FAST_RETRY, LOGIN_BODY, CompatAioresponses, virtual_time_loop

from octopus_async import OctopusClient
from octopus_async.sandbox import Sandbox, SandboxConfig


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every test's event loop runs on virtual time (see `virtual_time_loop`), except the
    tests marked `real_time`: those wait for subprocesses or for tokens to expire."""
    if item.get_closest_marker("real_time"):
        return {"real_time": asyncio.new_event_loop}
    return {"virtual_time": virtual_time_loop}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox with default settings (no rate limits, real-time)."""
    async with Sandbox() as running:
        yield running


@pytest.fixture
async def make_sandbox() -> AsyncIterator[Callable[..., Awaitable[Sandbox]]]:
    """Start sandboxes with custom settings: ``sb = await make_sandbox(time_scale=0.01)``."""
    started: list[Sandbox] = []

    async def start(**settings: Any) -> Sandbox:
        running = Sandbox(SandboxConfig(**settings))
        await running.start()
        started.append(running)
        return running

    yield start
    for running in started:
        await running.aclose()


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., OctopusClient]]:
    """Clients for a sandbox, closed after the test: ``make_client(sb, max_connections=10)``."""
    clients: list[OctopusClient] = []

    def create(target: Sandbox, **options: Any) -> OctopusClient:
        options.setdefault("retry", FAST_RETRY)
        created = OctopusClient(**target.client_settings(), **options)
        clients.append(created)
        return created

    yield create
    for created in clients:
        await created.aclose()


@pytest.fixture
async def client(sandbox: Sandbox, make_client: Callable[..., OctopusClient]) -> OctopusClient:
    return make_client(sandbox)


@pytest.fixture
def wire() -> Iterator[CompatAioresponses]:
    """aioresponses, with /auth/login answered, for exact wire sequences against `API`."""
    with CompatAioresponses() as mocked:
        mocked.post(f"{API}/auth/login", payload=LOGIN_BODY, repeat=True)
        yield mocked


@pytest.fixture
async def wire_client() -> AsyncIterator[OctopusClient]:
    """A client for `API` (mocked by the `wire` fixture) with fast retries."""
    async with OctopusClient("key", "secret", base_url=API, retry=FAST_RETRY) as created:
        yield created
