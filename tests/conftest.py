"""Shared fixtures: a sandbox on loopback, clients for it, and aioresponses for wire tests."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from support import (
    API,
    FAST_RETRY,
    LOGIN_BODY,
    CompatAioresponses,
    free_port,
    temporal_binary,
    virtual_time_loop,
)

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


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a Redis server on loopback for the fleet tests.

    CI starts one and names it in OCTOPUS_TEST_REDIS_URL; elsewhere one is started here
    from `redis-server` on a free port and stopped at the end. Tests that need it are
    skipped only when redis-server is not installed, and never on CI.
    """
    url = os.environ.get("OCTOPUS_TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide Redis (.ci/run installs and starts it)")
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    process = subprocess.Popen([*command, "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        _wait_for_redis(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def _wait_for_redis(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.02)  # not listening yet: a server start, not a test's timing
    raise RuntimeError(f"redis-server did not answer on port {port}")


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """`redis_server`'s URL, its database emptied for this test."""
    import redis

    with redis.Redis.from_url(redis_server) as connection:
        connection.flushdb()
    return redis_server


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    """The host:port of a Temporal dev server on loopback for the durable-order tests.

    CI starts one and names it in OCTOPUS_TEST_TEMPORAL_ADDRESS; elsewhere one is started
    here (in memory, headless) and stopped at the end. Tests that need it are skipped only
    when the temporal CLI is not installed, and never on CI. Tests share the server, so
    each uses task queues and references of its own.
    """
    address = os.environ.get("OCTOPUS_TEST_TEMPORAL_ADDRESS")
    if address:
        yield address
        return
    binary = temporal_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide the temporal CLI (.ci/run installs the test extra)")
        pytest.skip("the temporal CLI is not installed")
    port = free_port()
    address = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as home:
        process = subprocess.Popen(
            [
                *(binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1"),
                *("--port", str(port), "--http-port", str(free_port())),
                *("--metrics-port", str(free_port()), "--log-level", "warn"),
                *("--dynamic-config-value", "frontend.enableServerVersionCheck=false"),
            ],
            env={**os.environ, "HOME": home},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_temporal(binary, address, process)
            yield address
        finally:
            process.terminate()
            process.wait(30)


def _wait_for_temporal(binary: str, address: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    health = [binary, "operator", "cluster", "health", "--address", address]
    while time.monotonic() < deadline and process.poll() is None:
        checked = subprocess.run(health, capture_output=True, check=False, timeout=30)
        if b"SERVING" in checked.stdout:
            return
        time.sleep(0.1)  # not serving yet: a server start, not a test's timing
    raise RuntimeError(f"the Temporal dev server did not start on {address}")


# --- hypothesis profiles --------------------------------------------------------------------
# "ci" (the default) is deterministic and quick: the same examples on every run and nothing
# written to disk. "fuzz" searches for real: many more random examples, remembered between
# runs in .hypothesis/. HYPOTHESIS_PROFILE picks one (`HYPOTHESIS_PROFILE=fuzz pytest
# tests/unit/test_fuzz.py -W ignore::hypothesis.errors.HypothesisWarning`: the warning about
# a huge failing example would otherwise hide it). Tests that set their own `max_examples`
# keep it in every profile.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=None,
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
