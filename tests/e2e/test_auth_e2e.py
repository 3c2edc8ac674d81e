"""Tokens end to end against the sandbox: login, proactive refresh, rotation, replay, logout."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import aiohttp
import pytest

from octopus_async import (
    AuthenticationError,
    AuthPolicy,
    MemoryTokenStore,
    OctopusClient,
    PermissionDeniedError,
)
from octopus_async.sandbox import Fault, Sandbox


def trail(sandbox: Sandbox) -> list[tuple[str, str, int | None]]:
    """What reached the sandbox, in order: (method, path, status)."""
    return [(r.method, r.path, r.status) for r in sandbox.requests]


LOGIN = ("POST", "/auth/login", 200)
REFRESH = ("POST", "/auth/refresh", 200)
WALLETS = ("GET", "/api/v1/wallets", 200)

# Token lifetimes are wall-clock times (JWT `exp`): tests that wait for one to run out run
# on the wall clock, not on virtual time.
EXPIRY = pytest.mark.real_time


async def test_first_request_logs_in_once(client, sandbox):
    await client.wallets.list()
    await client.wallets.list()
    assert trail(sandbox) == [LOGIN, WALLETS, WALLETS]


async def test_explicit_login_returns_tokens_without_showing_them(client, sandbox):
    tokens = await client.auth.login()
    assert tokens.client_id == sandbox.config.client_id
    assert tokens.access_expires_at is not None
    assert tokens.access_token not in repr(tokens)
    assert tokens.refresh_token not in repr(tokens)


@EXPIRY
async def test_token_is_refreshed_before_it_expires(make_sandbox, make_client):
    sandbox = await make_sandbox(access_token_ttl=1.0)
    client = make_client(sandbox)
    await client.wallets.list()
    # A token living 1 s is renewed halfway through its life, before the server rejects it.
    await asyncio.sleep(0.6)
    await client.wallets.list()
    assert trail(sandbox) == [LOGIN, WALLETS, REFRESH, WALLETS]


@EXPIRY
async def test_concurrent_requests_at_expiry_share_one_refresh(make_sandbox, make_client):
    sandbox = await make_sandbox(access_token_ttl=1.0)
    client = make_client(sandbox)
    await client.wallets.list()
    await asyncio.sleep(0.6)
    await asyncio.gather(*(client.wallets.list() for _ in range(100)))
    assert sandbox.state.count("POST", "/auth/refresh") == 1
    assert sandbox.state.count("POST", "/auth/login") == 1
    assert sandbox.state.count("GET", "/api/v1/wallets") == 101
    assert all(r.status == 200 for r in sandbox.requests)


@EXPIRY
async def test_refresh_tokens_rotate_and_the_newest_is_kept(make_sandbox, make_client):
    sandbox = await make_sandbox(access_token_ttl=1.0)
    store = MemoryTokenStore()
    client = make_client(sandbox, token_store=store)
    await client.wallets.list()
    first = await store.load()
    await asyncio.sleep(0.6)
    await client.wallets.list()
    second = await store.load()
    await asyncio.sleep(0.6)
    await client.wallets.list()
    assert first is not None
    assert second is not None
    assert second.refresh_token != first.refresh_token
    # The second refresh used the rotated token: it succeeded without a new login.
    assert trail(sandbox) == [LOGIN, WALLETS, REFRESH, WALLETS, REFRESH, WALLETS]


@EXPIRY
async def test_rejected_refresh_falls_back_to_login(make_sandbox, make_client):
    sandbox = await make_sandbox(access_token_ttl=1.0)
    store = MemoryTokenStore()
    client = make_client(sandbox, token_store=store)
    await client.wallets.list()
    held = await store.load()
    assert held is not None
    sandbox.tokens.rotate(held.refresh_token)  # someone else used it: now revoked
    await asyncio.sleep(0.6)
    await client.wallets.list()
    assert trail(sandbox) == [LOGIN, WALLETS, ("POST", "/auth/refresh", 401), LOGIN, WALLETS]


async def test_401_renews_the_token_and_replays_once(client, sandbox):
    await client.wallets.list()
    sandbox.tokens.revoke_all(sandbox.config.client_id)
    wallets = await client.wallets.list()
    assert len(wallets) == 3
    assert trail(sandbox) == [
        LOGIN,
        WALLETS,
        ("GET", "/api/v1/wallets", 401),
        ("POST", "/auth/refresh", 401),
        LOGIN,
        WALLETS,
    ]


async def test_second_401_raises(client, sandbox):
    await client.wallets.list()
    sandbox.faults.add(Fault.error(401, message="Invalid token"), path="/api/v1/wallets")
    with pytest.raises(AuthenticationError) as raised:
        await client.wallets.list()
    assert raised.value.status == 401
    assert raised.value.code == "UNAUTHORIZED"
    assert trail(sandbox)[2:] == [
        ("GET", "/api/v1/wallets", 401),
        REFRESH,
        ("GET", "/api/v1/wallets", 401),
    ]


async def test_logout_revokes_every_token_of_the_account(sandbox, make_client):
    store = MemoryTokenStore()
    leaving = make_client(sandbox, token_store=store)
    other = make_client(sandbox)
    await leaving.wallets.list()
    await other.wallets.list()
    revoked = await store.load()
    assert revoked is not None

    await leaving.auth.logout()

    assert await store.load() is None
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{sandbox.url}/api/v1/wallets",
            headers={"Authorization": f"Bearer {revoked.access_token}"},
        ) as response,
    ):
        assert response.status == 401
        assert (await response.json())["error"]["message"] == "Invalid token"
    # The other client recovers on its own: 401, refresh refused, login, replay.
    await other.wallets.list()
    assert trail(sandbox)[-4:] == [
        ("GET", "/api/v1/wallets", 401),
        ("POST", "/auth/refresh", 401),
        LOGIN,
        WALLETS,
    ]
    # The client that logged out logs in again on its next request.
    await leaving.wallets.list()
    assert trail(sandbox)[-2:] == [LOGIN, WALLETS]


async def test_closing_a_client_never_logs_out(sandbox):
    async with OctopusClient(**sandbox.client_settings()) as client:
        await client.wallets.list()
    assert client.closed
    assert sandbox.state.count("POST", "/auth/logout") == 0


async def test_bad_credentials_raise_once_without_leaking_the_secret(sandbox):
    secret = "wrong-secret-do-not-print"
    async with OctopusClient(sandbox.api_key, secret, base_url=sandbox.url) as client:
        with pytest.raises(AuthenticationError) as raised:
            await client.wallets.list()
    assert raised.value.message == "Invalid credentials"
    assert secret not in str(raised.value)
    assert secret not in repr(raised.value)
    assert trail(sandbox) == [("POST", "/auth/login", 401)]


async def test_ip_allowlist_rejects_login(make_sandbox, make_client):
    sandbox = await make_sandbox(allowed_networks=("10.0.0.0/8",))
    with pytest.raises(PermissionDeniedError) as raised:
        await make_client(sandbox).wallets.list()
    assert (raised.value.status, raised.value.code) == (403, "FORBIDDEN")
    assert raised.value.message == "IP address not authorized"
    assert trail(sandbox) == [("POST", "/auth/login", 403)]


async def test_ip_allowlist_admits_listed_networks(make_sandbox, make_client):
    sandbox = await make_sandbox(allowed_networks=("10.0.0.0/8", "127.0.0.0/8"))
    assert len(await make_client(sandbox).wallets.list()) == 3


async def test_allowlist_change_blocks_a_logged_in_client(client, sandbox):
    await client.wallets.list()
    sandbox.state.allowed_networks = [ipaddress.ip_network("10.0.0.0/8")]
    with pytest.raises(PermissionDeniedError):
        await client.wallets.list()


async def test_clients_sharing_a_store_share_one_login(sandbox, make_client):
    store = MemoryTokenStore()
    first = make_client(sandbox, token_store=store)
    second = make_client(sandbox, token_store=store)
    await first.wallets.list()
    await second.wallets.list()
    assert sandbox.state.count("POST", "/auth/login") == 1


@EXPIRY
async def test_shared_store_adopts_a_token_another_client_refreshed(make_sandbox, make_client):
    sandbox = await make_sandbox(access_token_ttl=1.0)
    store = MemoryTokenStore()
    first = make_client(sandbox, token_store=store)
    second = make_client(sandbox, token_store=store)
    await first.wallets.list()
    await second.wallets.list()
    await asyncio.sleep(0.6)
    await first.wallets.list()  # refreshes and saves the rotated tokens
    await second.wallets.list()  # adopts them instead of using the revoked refresh token
    assert sandbox.state.count("POST", "/auth/refresh") == 1
    assert sandbox.state.count("POST", "/auth/login") == 1
    assert all(r.status == 200 for r in sandbox.requests)


@EXPIRY
async def test_refresh_margin_is_configurable(make_sandbox, make_client):
    sandbox = await make_sandbox(access_token_ttl=1.0)
    client = make_client(sandbox, auth=AuthPolicy(refresh_margin=0.1))
    await client.wallets.list()
    await asyncio.sleep(0.6)  # 0.4 s of life left: more than the margin
    await client.wallets.list()
    assert sandbox.state.count("POST", "/auth/refresh") == 0


@EXPIRY
async def test_no_secret_reaches_the_logs(make_sandbox, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox = await make_sandbox(access_token_ttl=1.0)
    store = MemoryTokenStore()
    client = make_client(sandbox, token_store=store)
    await client.wallets.list()
    seen = [await store.load()]
    await asyncio.sleep(0.6)
    await client.wallets.list()
    seen.append(await store.load())
    sandbox.tokens.revoke_all(sandbox.config.client_id)
    await client.wallets.list()
    seen.append(await store.load())
    await client.auth.logout()

    assert "logged in" in caplog.text  # the logs are there, without secrets
    secrets = {sandbox.api_secret} | {
        token for tokens in seen if tokens for token in (tokens.access_token, tokens.refresh_token)
    }
    for secret in secrets:
        assert secret not in caplog.text
    assert sandbox.api_secret not in repr(client.config)


@EXPIRY
async def test_waiting_for_a_pooled_connection_never_expires_a_token(make_sandbox, make_client):
    # 400 calls on 100 connections to a server that takes 0.3 s: the last calls wait 0.9 s
    # for a connection, near the end of a 1-second token's life. A call takes its token
    # only once it holds a connection, so no call carries a token that has run out.
    sandbox = await make_sandbox(access_token_ttl=1.0)
    client = make_client(sandbox, max_connections=100)
    await client.wallets.list()
    sandbox.faults.latency = 0.3

    results = await asyncio.gather(
        *(client.wallets.list() for _ in range(400)), return_exceptions=True
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert [r for r in sandbox.requests if r.status == 401] == []
