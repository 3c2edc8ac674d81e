"""A fleet of processes sharing one login through Redis (`RedisTokenStore`).

One login for the fleet, one refresh per expiry, a renewal lock that a killed holder keeps
no longer than its timeout, the newest tokens kept, and a Redis that cannot be reached.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
import redis
import redis.exceptions

from octopus_async.integrations.redis import RedisTokenStore
from octopus_async.models import TokenSet
from octopus_async.sandbox import Fault, Sandbox
from octopus_async.sandbox.state import RequestRecord

# Redis keeps wall-clock time (lock expiry), and so do the tokens.
pytestmark = pytest.mark.real_time

KEY = "octopus:tokens"
LOCK = f"{KEY}:lock"
LOCK_TIMEOUT = 2.0

# argv: sandbox URL, Redis URL, then "hold" (take the renewal lock and block), a number of
# requests to make after "go" on stdin, or "loop" (make requests from "go" to "stop").
WORKER = textwrap.dedent(
    f"""
    import asyncio, logging, sys
    from octopus_async import OctopusClient
    from octopus_async.integrations.redis import RedisTokenStore

    async def main(url, redis_url, mode):
        store = RedisTokenStore(redis_url, lock_timeout={LOCK_TIMEOUT})
        try:
            if mode == "hold":
                async with store.renewal_lock():
                    print("locked", flush=True)
                    await asyncio.Event().wait()
            async with OctopusClient("sandbox-key", "sandbox-secret", base_url=url,
                                     token_store=store) as client:
                print("ready", flush=True)
                await asyncio.to_thread(sys.stdin.readline)
                stop = asyncio.ensure_future(asyncio.to_thread(sys.stdin.readline))
                made = 0
                while (not stop.done()) if mode == "loop" else made < int(mode):
                    await client.wallets.list()
                    made += 1
                print(made, flush=True)
                await stop
        finally:
            await store.aclose()

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(*sys.argv[1:4]))
    """
)

Spawn = Callable[[Sandbox, str, str], Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def spawn() -> AsyncIterator[Spawn]:
    """Start workers; any still running at the end (a failed test) are killed."""
    started: list[asyncio.subprocess.Process] = []

    async def start(sandbox: Sandbox, redis_url: str, mode: str) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            sandbox.url,
            redis_url,
            mode,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.returncode is None:
            process.kill()
            await process.communicate()


@pytest.fixture
async def make_store() -> AsyncIterator[Callable[[str], RedisTokenStore]]:
    """Stores for a Redis URL, closed after the test."""
    stores: list[RedisTokenStore] = []

    def create(url: str) -> RedisTokenStore:
        stores.append(RedisTokenStore(url))
        return stores[-1]

    yield create
    for store in stores:
        await store.aclose()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        yield client


async def expect_line(process: asyncio.subprocess.Process, line: bytes) -> None:
    assert process.stdout is not None
    assert await process.stdout.readline() == line


async def finish(process: asyncio.subprocess.Process, line: bytes) -> int:
    """Send `line`, wait for the worker to exit cleanly, and return what it printed."""
    out, err = await process.communicate(line)
    assert process.returncode == 0, err.decode()
    assert err == b""  # no warning: the store and its lock worked throughout
    return int(out)


def observe(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, watch: Callable[[RequestRecord], None]
) -> None:
    """Call `watch` with every request the sandbox logs, as it logs it."""
    log = sandbox.state.log_request

    def log_and_watch(record: RequestRecord) -> None:
        log(record)
        watch(record)

    monkeypatch.setattr(sandbox.state, "log_request", log_and_watch)


async def test_a_fleet_started_together_logs_in_once(sandbox, redis_url, spawn, redis_client):
    workers = [await spawn(sandbox, redis_url, "5") for _ in range(8)]
    for worker in workers:
        await expect_line(worker, b"ready\n")

    made = await asyncio.gather(*(finish(worker, b"go\n") for worker in workers))

    assert made == [5] * 8
    assert sandbox.state.count("POST", "/auth/login") == 1
    assert sandbox.state.count("POST", "/auth/refresh") == 0
    assert sandbox.state.count("GET", "/api/v1/wallets") == 40
    assert all(record.status == 200 for record in sandbox.requests)
    assert redis_client.hexists(KEY, "tokens")
    assert not redis_client.exists(LOCK)  # released by its last holder


async def test_the_fleet_refreshes_once_per_expiry(make_sandbox, redis_url, spawn, monkeypatch):
    # A token living 2 s is renewed halfway through its life (up to 0.1 s earlier, spreading
    # the workers out). A refresh answered 0.3 s late keeps every worker renewing at once.
    sandbox = await make_sandbox(access_token_ttl=2.0)
    sandbox.faults.add(Fault.delay(0.3), path="/auth/refresh")
    expiries = 3
    refreshed = asyncio.Event()

    def count_refreshes(record: RequestRecord) -> None:
        if sandbox.state.count("POST", "/auth/refresh") == expiries:
            refreshed.set()

    observe(sandbox, monkeypatch, count_refreshes)
    workers = [await spawn(sandbox, redis_url, "loop") for _ in range(8)]
    for worker in workers:
        await expect_line(worker, b"ready\n")
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")

    # The next renewal is more than half a second away: the workers stop long before it.
    await refreshed.wait()
    made = await asyncio.gather(*(finish(worker, b"stop\n") for worker in workers))

    assert all(count > 0 for count in made)
    assert sandbox.state.count("POST", "/auth/login") == 1
    refreshes = [r.status for r in sandbox.requests if r.path == "/auth/refresh"]
    # One refresh per expiry for the whole fleet: none refused for a refresh token that
    # another worker had already used.
    assert refreshes == [200] * expiries
    assert sandbox.state.count("GET", "/api/v1/wallets") == sum(made)
    assert all(record.status == 200 for record in sandbox.requests)  # no 401 at all


async def test_a_killed_lock_holder_blocks_the_fleet_only_until_the_lock_expires(
    sandbox, redis_url, spawn, redis_client, monkeypatch
):
    workers = [await spawn(sandbox, redis_url, "3") for _ in range(3)]
    for worker in workers:
        await expect_line(worker, b"ready\n")
    holder = await spawn(sandbox, redis_url, "hold")
    await expect_line(holder, b"locked\n")
    holder.kill()
    await holder.wait()
    dead_owner = redis_client.get(LOCK)
    assert dead_owner is not None
    assert redis_client.pttl(LOCK) > 0  # the workers start while the dead holder's lock lives

    owners_at_login: list[str | None] = []

    def note_lock_owner(record: RequestRecord) -> None:
        if record.path == "/auth/login":
            owners_at_login.append(redis_client.get(LOCK))

    observe(sandbox, monkeypatch, note_lock_owner)
    made = await asyncio.gather(*(finish(worker, b"go\n") for worker in workers))

    assert made == [3, 3, 3]
    # The lock expired and a worker took it for the one login; the others adopted its tokens.
    assert len(owners_at_login) == 1
    assert owners_at_login[0] not in (None, dead_owner)
    assert sandbox.state.count("GET", "/api/v1/wallets") == 9
    assert not redis_client.exists(LOCK)


def tokens(name: str, expires_in: float | None) -> TokenSet:
    now = datetime.now(timezone.utc)
    return TokenSet(
        access_token=f"access-{name}",
        refresh_token=f"refresh-{name}",
        access_expires_at=None if expires_in is None else now + timedelta(seconds=expires_in),
        refresh_expires_at=now + timedelta(days=7),
        client_id=42,
    )


async def test_a_late_save_of_older_tokens_keeps_the_newer(redis_url, make_store):
    store = make_store(redis_url)
    older, newer, newest = tokens("1", 60), tokens("2", 120), tokens("3", 180)

    await store.save(newer)
    await store.save(older)  # a slower worker saving what the refresh before gave it
    assert await store.load() == newer

    await store.save(newer)
    assert await store.load() == newer
    await store.save(newest)
    assert await store.load() == newest
    # Tokens whose expiry is unknown cannot be ordered: the latest save wins.
    await store.save(unknown := tokens("4", None))
    assert await store.load() == unknown
    await store.clear()
    assert await store.load() is None


async def test_a_lock_that_expired_and_was_taken_over_is_not_released(
    redis_url, make_store, redis_client
):
    store = make_store(redis_url)
    async with store.renewal_lock():
        assert redis_client.pttl(LOCK) > 0
        redis_client.set(LOCK, "another-process")  # as if ours expired and was taken
    assert redis_client.get(LOCK) == "another-process"


async def test_unreadable_stored_tokens_count_as_none(redis_url, make_store, redis_client, caplog):
    redis_client.hset(KEY, "tokens", "{not json")
    with caplog.at_level(logging.WARNING, logger="octopus_async.auth"):
        assert await make_store(redis_url).load() is None
    assert "unreadable tokens in Redis key octopus:tokens" in caplog.text


async def test_without_redis_a_client_logs_in_on_its_own(sandbox, make_client, make_store, caplog):
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = make_store(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(redis.exceptions.ConnectionError):
        await store.load()

    client = make_client(sandbox, token_store=store)
    with caplog.at_level(logging.WARNING, logger="octopus_async.auth"):
        assert len(await client.wallets.list()) == 3
        assert len(await client.wallets.list()) == 3

    assert sandbox.state.count("POST", "/auth/login") == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("renewal lock of RedisTokenStore" in message for message in warnings)
    assert any("could not save tokens to RedisTokenStore" in message for message in warnings)
    assert sandbox.api_secret not in caplog.text
    assert "eyJ" not in caplog.text  # no JWT (every token) either
