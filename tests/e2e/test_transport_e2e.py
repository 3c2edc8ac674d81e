"""The transport against the sandbox: retries, 429s, gateway pages, drops, ids, hooks, lifecycle."""

from __future__ import annotations

import asyncio
import threading

import pytest

from octopus_async import (
    APIConnectionError,
    APITimeoutError,
    OctopusClient,
    Quota,
    RateLimits,
    RequestEvent,
    ResponseReceived,
    RetryScheduled,
    ServerError,
    Timeouts,
)
from octopus_async.sandbox import Fault

WALLETS = "/api/v1/wallets"


def statuses(sandbox, path=WALLETS):
    return [r.status for r in sandbox.requests if r.path == path]


async def test_429_with_retry_after_is_waited_out(make_sandbox, make_client):
    sandbox = await make_sandbox(rate_limits=RateLimits({"read": Quota(2, period=1.0)}))
    events: list[RequestEvent] = []
    client = make_client(sandbox, hooks=[events.append])
    started = asyncio.get_running_loop().time()
    results = [await client.wallets.list() for _ in range(3)]
    elapsed = asyncio.get_running_loop().time() - started
    assert all(len(wallets) == 3 for wallets in results)
    assert statuses(sandbox) == [200, 200, 429, 200]
    waits = [e.delay for e in events if isinstance(e, RetryScheduled)]
    assert len(waits) == 1
    assert 0.3 < waits[0] <= 0.5
    assert elapsed >= waits[0]


async def test_client_side_limits_keep_a_burst_free_of_429s(make_sandbox, make_client):
    quota = RateLimits({"read": Quota(20, period=1.0)})
    sandbox = await make_sandbox(rate_limits=quota)
    client = make_client(sandbox, rate_limits=quota)
    await client.auth.login()
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(client.wallets.list() for _ in range(40)))
    elapsed = asyncio.get_running_loop().time() - started
    assert statuses(sandbox) == [200] * 40
    # 18 go at once (2 kept as headroom); the rest at 20 per second.
    assert elapsed >= 1.0


async def test_5xx_is_retried_then_surfaced(client, sandbox):
    sandbox.faults.add(Fault.error(503), path=WALLETS)
    with pytest.raises(ServerError) as raised:
        await client.wallets.list()
    assert raised.value.status == 503
    assert raised.value.code == "SERVICE_UNAVAILABLE"
    assert statuses(sandbox) == [503] * 5  # 1 attempt + 4 retries (D19)


async def test_transient_5xx_is_absorbed(client, sandbox):
    sandbox.faults.add(Fault.error(500), path=WALLETS, times=2)
    assert len(await client.wallets.list()) == 3
    assert statuses(sandbox) == [500, 500, 200]


async def test_html_502_from_a_gateway_maps_to_server_error(client, sandbox):
    sandbox.faults.add(Fault.gateway_page(502), path=WALLETS)
    with pytest.raises(ServerError) as raised:
        await client.with_options(max_retries=0).wallets.list()
    error = raised.value
    assert (error.status, error.code, error.name, error.message) == (502, None, None, None)
    assert "<h1>502 Bad Gateway</h1>" in error.body
    assert "<html>" not in str(error)
    assert error.request_id == sandbox.requests[-1].request_id


async def test_empty_504_maps_to_server_error(client, sandbox):
    sandbox.faults.add(Fault.empty(504), path=WALLETS)
    with pytest.raises(ServerError) as raised:
        await client.with_options(max_retries=1).wallets.list()
    assert raised.value.status == 504
    assert raised.value.body == ""


async def test_dropped_connections_end_in_a_connection_error(client, sandbox):
    sandbox.faults.add(Fault.drop(), path=WALLETS)
    with pytest.raises(APIConnectionError) as raised:
        await client.wallets.list()
    assert not isinstance(raised.value, APITimeoutError)
    assert raised.value.path == WALLETS
    dropped = statuses(sandbox)
    assert dropped
    assert set(dropped) == {None}
    assert len(dropped) >= 5


async def test_a_slow_server_times_out(client, sandbox):
    sandbox.faults.add(Fault.delay(1.0), path=WALLETS)
    slow_client = client.with_options(timeout=0.1, max_retries=1)
    started = asyncio.get_running_loop().time()
    with pytest.raises(APITimeoutError):
        await slow_client.wallets.list()
    assert asyncio.get_running_loop().time() - started < 0.9


async def test_request_ids_are_sent_echoed_and_kept(sandbox, make_client):
    events: list[RequestEvent] = []
    client = make_client(sandbox, hooks=[events.append])
    raw = await client.with_raw_response(client.wallets.list())
    sent = [e.request_id for e in events if isinstance(e, ResponseReceived) and e.path == WALLETS]
    assert raw.request_id == sent[0] == sandbox.requests[-1].request_id
    assert raw.headers["X-Request-Id"] == raw.request_id
    assert raw.status == 200
    assert len(raw.parsed) == 3
    assert len({r.request_id for r in sandbox.requests}) == len(sandbox.requests)


async def test_hooks_see_each_attempt(sandbox, make_client):
    events: list[RequestEvent] = []
    client = make_client(sandbox, hooks=[events.append])
    sandbox.faults.add(Fault.error(503), path=WALLETS, times=1)
    await client.wallets.list()
    wallet_events = [type(e).__name__ for e in events if e.path == WALLETS]
    assert wallet_events == [
        "RequestStarted",
        "ResponseReceived",
        "RetryScheduled",
        "RequestStarted",
        "ResponseReceived",
        "RequestFinished",
    ]
    assert [e.attempt for e in events if e.path == WALLETS] == [1, 1, 1, 2, 2, 2]


async def test_a_client_is_bound_to_its_event_loop(client):
    await client.wallets.list()
    errors: list[BaseException] = []

    def use_from_another_loop() -> None:
        try:
            asyncio.run(client.wallets.list())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=use_from_another_loop)
    thread.start()
    await asyncio.to_thread(thread.join)
    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeError)
    assert "event loop" in str(errors[0])


async def test_a_closed_client_refuses_requests(sandbox):
    client = OctopusClient(**sandbox.client_settings())
    await client.wallets.list()
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.wallets.list()


async def test_the_session_is_created_lazily(sandbox):
    async with OctopusClient(**sandbox.client_settings()) as client:
        assert client.closed is False
    assert sandbox.requests == []


async def test_read_timeout_per_client(sandbox, make_client):
    sandbox.faults.add(Fault.delay(0.5), path=WALLETS, times=1)
    events: list[RequestEvent] = []
    client = make_client(sandbox, timeouts=Timeouts(read=0.1), hooks=[events.append])
    # The first attempt times out, the retry is answered at once.
    assert len(await client.wallets.list()) == 3
    retries = [e for e in events if isinstance(e, RetryScheduled) and e.path == WALLETS]
    assert [e.reason for e in retries] == ["APITimeoutError"]


async def test_the_sandbox_request_log_keeps_only_the_most_recent(make_sandbox, make_client):
    sandbox = await make_sandbox(request_log_limit=20)
    client = make_client(sandbox)
    for _ in range(40):
        await client.wallets.list()
    assert 20 <= len(sandbox.requests) <= 22
    assert sandbox.requests[-1].path == "/api/v1/wallets"
    assert sandbox.state.count("POST", "/auth/login") == 0  # long ago: trimmed
