"""The transport's retry loop and token handling, checked on the wire (aioresponses).

Covers D10 (request ids), D11-D15 (login, refresh, 401 replay, no implicit logout),
D18-D20 (what is retried, backoff, Retry-After), D3 (bodies kept on errors) and hooks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import jwt
import pytest
from aioresponses import CallbackResult
from support import API, FAST_RETRY, LOGIN_BODY, CompatAioresponses, HighestDraw, calls, reply
from yarl import URL

from octopus_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    AuthPolicy,
    BadRequestError,
    Clock,
    MemoryTokenStore,
    NotFoundError,
    OctopusClient,
    PermissionDeniedError,
    Quota,
    RateLimitError,
    RateLimits,
    RequestEvent,
    RequestFailed,
    RequestFinished,
    RequestStarted,
    ResponseReceived,
    RetryPolicy,
    RetryScheduled,
    ServerError,
    ValidationError,
)
from octopus_async._transport import ids
from octopus_async._transport.wire import parse_retry_after
from octopus_async.models.auth import TokenSet

WALLETS = f"{API}/api/v1/wallets"
LOGIN = f"{API}/auth/login"
REFRESH = f"{API}/auth/refresh"
LOGOUT = f"{API}/auth/logout"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "docs_examples"
KSUID = re.compile(r"[0-9A-Za-z]{27}")
# PyJWT warns (an error here) about HMAC keys shorter than 32 bytes.
JWT_KEY = "k" * 32


def sent_header(call: Any, name: str) -> str | None:
    return call.kwargs["headers"].get(name)


def sent_json(call: Any) -> Any:
    return json.loads(call.kwargs["data"])


def error_body(status_name: str, code: str, message: str) -> dict[str, Any]:
    return {"error": {"name": status_name, "code": code, "message": message}}


def wallet_events(events: list[RequestEvent], kind: type[RequestEvent]) -> list[Any]:
    return [e for e in events if isinstance(e, kind) and e.path == "/api/v1/wallets"]


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat().replace("+00:00", "Z")


def token_body(
    access: str,
    refresh: str,
    *,
    access_expires: float | None = None,
    refresh_expires: float | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"access_token": access, "refresh_token": refresh, "client_id": 42}
    if access_expires is not None:
        data["access_expires_at"] = iso(access_expires)
    if refresh_expires is not None:
        data["refresh_expires_at"] = iso(refresh_expires)
    return {"success": True, "data": data}


class FakeClock:
    """Wall-clock seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def bare_wire() -> Iterator[CompatAioresponses]:
    """aioresponses with nothing answered, for tests that script /auth/login themselves."""
    with CompatAioresponses() as mocked:
        yield mocked


@pytest.fixture
async def make_wire_client() -> AsyncIterator[Callable[..., OctopusClient]]:
    """Clients for `API` with fast retries unless told otherwise, closed after the test."""
    created: list[OctopusClient] = []

    def make(**options: Any) -> OctopusClient:
        options.setdefault("retry", FAST_RETRY)
        client = OctopusClient("key", "secret", base_url=API, **options)
        created.append(client)
        return client

    yield make
    for client in created:
        await client.aclose()


# --- what is retried (D18) -------------------------------------------------------------


async def test_transient_503s_are_retried_until_success(wire, wire_client):
    wire.get(WALLETS, status=503)
    wire.get(WALLETS, status=503)
    wire.get(WALLETS, payload=[])

    raw = await wire_client.with_raw_response(wire_client.wallets.list())

    assert raw.parsed == ()
    assert raw.http.attempts == 3
    assert len(calls(wire, "GET", WALLETS)) == 3


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, json.dumps(error_body("InternalServerError", "INTERNAL_SERVER_ERROR", "Boom"))),
        (502, "<html><body>502 Bad Gateway</body></html>"),
        (503, ""),
        (504, "upstream timed out"),
    ],
)
async def test_persistent_5xx_raises_server_error_after_five_attempts(
    wire, wire_client, status, body
):
    wire.get(WALLETS, status=status, body=body, repeat=True)

    with pytest.raises(ServerError) as caught:
        await wire_client.wallets.list()

    assert len(calls(wire, "GET", WALLETS)) == 5  # 1 + RetryPolicy().max_retries
    assert caught.value.status == status
    assert caught.value.body == body


async def test_server_error_keeps_the_documented_error_fields(wire, wire_client):
    body = error_body("InternalServerError", "INTERNAL_SERVER_ERROR", "Failed to retrieve x")
    wire.get(WALLETS, status=500, payload=body, repeat=True)

    with pytest.raises(ServerError) as caught:
        await wire_client.wallets.list()

    assert caught.value.code == "INTERNAL_SERVER_ERROR"
    assert caught.value.name == "InternalServerError"
    assert caught.value.message == "Failed to retrieve x"
    assert json.loads(caught.value.body) == body


async def test_max_retries_zero_makes_a_single_attempt(wire, wire_client):
    wire.get(WALLETS, status=503)
    wire.get(WALLETS, payload=[])

    with pytest.raises(ServerError):
        await wire_client.with_options(max_retries=0).wallets.list()

    assert len(calls(wire, "GET", WALLETS)) == 1


async def test_max_retries_per_call_bounds_the_attempts(wire, wire_client):
    wire.get(WALLETS, status=503, repeat=True)

    with pytest.raises(ServerError):
        await wire_client.with_options(max_retries=2).wallets.list()

    assert len(calls(wire, "GET", WALLETS)) == 3


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, error_body("BadRequestError", "BAD_REQUEST", "nope"), BadRequestError),
        (400, error_body("ValidationException", "VALIDATION_FAILURE", "x"), ValidationError),
        (
            403,
            error_body("ForbiddenError", "FORBIDDEN", "IP address not authorized"),
            PermissionDeniedError,
        ),
        (404, error_body("NotFoundError", "NOT_FOUND", "Wallet not found"), NotFoundError),
        (422, {"detail": "unprocessable"}, APIStatusError),
    ],
)
async def test_other_4xx_are_never_retried(wire, wire_client, status, body, expected):
    wire.get(WALLETS, status=status, payload=body)
    wire.get(WALLETS, payload=[])  # a retry would succeed and hide the error

    with pytest.raises(APIStatusError) as caught:
        await wire_client.wallets.list()

    assert type(caught.value) is expected
    assert caught.value.status == status
    assert len(calls(wire, "GET", WALLETS)) == 1


# --- Retry-After (D20) --------------------------------------------------------------------


async def test_429_retry_after_seconds_is_honoured(wire, make_wire_client):
    events: list[RequestEvent] = []
    client = make_wire_client(hooks=[events.append])
    wire.get(WALLETS, status=429, headers={"Retry-After": "0.05"})
    wire.get(WALLETS, payload=[])

    assert await client.wallets.list() == ()

    scheduled = wallet_events(events, RetryScheduled)
    assert [(e.delay, e.reason) for e in scheduled] == [(0.05, "HTTP 429")]
    assert len(calls(wire, "GET", WALLETS)) == 2


async def test_429_with_long_retry_after_raises_at_once(wire, wire_client):
    body = error_body("TooManyRequestsError", "TOO_MANY_REQUESTS", "Rate limit exceeded.")
    wire.get(WALLETS, status=429, headers={"Retry-After": "120"}, payload=body)
    wire.get(WALLETS, payload=[])

    with pytest.raises(RateLimitError) as caught:
        await wire_client.wallets.list()

    assert caught.value.retry_after == 120
    assert len(calls(wire, "GET", WALLETS)) == 1


async def test_an_absurd_retry_after_pauses_later_calls_only_up_to_the_policy_cap(
    wire, make_wire_client
):
    client = make_wire_client(
        retry=RetryPolicy(initial_backoff=0.001, max_retry_after=0.05),
        rate_limits=RateLimits.sandbox(),
    )
    wire.get(WALLETS, status=429, headers={"Retry-After": "3600"})
    wire.get(WALLETS, payload=[])

    with pytest.raises(RateLimitError) as caught:
        await client.wallets.list()
    assert caught.value.retry_after == 3600

    # The next call waits out the capped pause, not the server's hour.
    assert await asyncio.wait_for(client.wallets.list(), timeout=5) == ()


async def test_429_wait_is_read_from_the_message_without_header(wire, make_wire_client):
    client = make_wire_client(retry=RetryPolicy(initial_backoff=0.001, max_retry_after=1))
    message = "Rate limit exceeded. Retry after 12 seconds."
    wire.get(
        WALLETS,
        status=429,
        payload=error_body("TooManyRequestsError", "TOO_MANY_REQUESTS", message),
    )
    wire.get(WALLETS, payload=[])

    with pytest.raises(RateLimitError) as caught:
        await client.wallets.list()

    assert caught.value.retry_after == 12
    assert caught.value.message == message
    assert len(calls(wire, "GET", WALLETS)) == 1


async def test_429_short_wait_from_the_message_is_slept(wire, make_wire_client):
    events: list[RequestEvent] = []
    client = make_wire_client(hooks=[events.append])
    message = "Rate limit exceeded. Retry after 0.02 seconds."
    wire.get(
        WALLETS,
        status=429,
        payload=error_body("TooManyRequestsError", "TOO_MANY_REQUESTS", message),
    )
    wire.get(WALLETS, payload=[])

    assert await client.wallets.list() == ()
    assert [e.delay for e in wallet_events(events, RetryScheduled)] == [0.02]


async def test_429_without_any_wait_uses_the_backoff(wire, make_wire_client):
    events: list[RequestEvent] = []
    client = make_wire_client(hooks=[events.append])
    wire.get(WALLETS, status=429)
    wire.get(WALLETS, payload=[])

    assert await client.wallets.list() == ()

    [scheduled] = wallet_events(events, RetryScheduled)
    assert 0 <= scheduled.delay <= FAST_RETRY.initial_backoff


async def test_429_repeated_raises_rate_limit_error_after_the_retries(wire, wire_client):
    wire.get(WALLETS, status=429, headers={"Retry-After": "0"}, repeat=True)

    with pytest.raises(RateLimitError) as caught:
        await wire_client.wallets.list()

    assert caught.value.retry_after == 0
    assert len(calls(wire, "GET", WALLETS)) == 5


async def test_503_with_long_retry_after_raises_at_once(wire, wire_client):
    wire.get(WALLETS, status=503, headers={"Retry-After": "3600"})
    wire.get(WALLETS, payload=[])

    with pytest.raises(ServerError):
        await wire_client.wallets.list()

    assert len(calls(wire, "GET", WALLETS)) == 1


async def test_retry_after_http_date_in_the_past_retries_at_once(wire, make_wire_client):
    events: list[RequestEvent] = []
    client = make_wire_client(hooks=[events.append])
    past = format_datetime(datetime.now(timezone.utc) - timedelta(minutes=5), usegmt=True)
    wire.get(WALLETS, status=429, headers={"Retry-After": past})
    wire.get(WALLETS, payload=[])

    assert await client.wallets.list() == ()
    assert [e.delay for e in wallet_events(events, RetryScheduled)] == [0.0]


async def test_retry_after_http_date_an_hour_ahead_raises(wire, wire_client):
    later = format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    wire.get(WALLETS, status=429, headers={"Retry-After": later})
    wire.get(WALLETS, payload=[])

    with pytest.raises(RateLimitError) as caught:
        await wire_client.wallets.list()

    assert caught.value.retry_after == pytest.approx(3600, abs=5)
    assert len(calls(wire, "GET", WALLETS)) == 1


NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("header", "message", "expected"),
    [
        ("12", None, 12.0),
        (" 0.25 ", None, 0.25),
        ("-3", None, 0.0),
        (format_datetime(datetime.fromtimestamp(NOW + 90, timezone.utc), usegmt=True), None, 90.0),
        (format_datetime(datetime.fromtimestamp(NOW - 90, timezone.utc), usegmt=True), None, 0.0),
        ("soon", "Rate limit exceeded. Retry after 7 seconds.", 7.0),
        ("nan", "Retry after 3 seconds.", 3.0),
        (None, "Rate limit exceeded. Retry after 1 second.", 1.0),
        (None, "Rate limit exceeded.", None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_parse_retry_after(header, message, expected):
    assert parse_retry_after(header, message, now=NOW) == expected


# --- connection failures and timeouts ---------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        aiohttp.ClientConnectionError(),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(),
    ],
    ids=type,
)
async def test_connection_errors_are_retried_then_raised(wire, wire_client, failure):
    wire.get(WALLETS, exception=failure, repeat=True)

    with pytest.raises(APIConnectionError) as caught:
        await wire_client.wallets.list()

    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.method == "GET"
    assert caught.value.path == "/api/v1/wallets"
    assert len(calls(wire, "GET", WALLETS)) == 5


async def test_connection_error_then_success(wire, wire_client):
    wire.get(WALLETS, exception=aiohttp.ClientConnectionError())
    wire.get(WALLETS, payload=[])

    assert await wire_client.wallets.list() == ()
    assert len(calls(wire, "GET", WALLETS)) == 2


@pytest.mark.parametrize(
    "failure",
    [asyncio.TimeoutError(), aiohttp.ServerTimeoutError(), aiohttp.ConnectionTimeoutError()],
    ids=type,
)
async def test_timeouts_raise_api_timeout_error(wire, make_wire_client, failure):
    events: list[RequestEvent] = []
    client = make_wire_client(hooks=[events.append])
    wire.get(WALLETS, exception=failure, repeat=True)

    with pytest.raises(APITimeoutError):
        await client.wallets.list()

    assert len(calls(wire, "GET", WALLETS)) == 5
    assert [e.attempt for e in wallet_events(events, RequestFailed)] == [1, 2, 3, 4, 5]


# --- request ids (D10) --------------------------------------------------------------------


async def test_request_id_is_sent_on_every_attempt_and_kept_across_retries(wire, wire_client):
    wire.get(WALLETS, status=503)
    wire.get(WALLETS, exception=aiohttp.ClientConnectionError())
    wire.get(WALLETS, payload=[])
    wire.get(WALLETS, payload=[])

    await wire_client.wallets.list()
    await wire_client.wallets.list()

    ids = [sent_header(call, "X-Request-Id") for call in calls(wire, "GET", WALLETS)]
    assert len(ids) == 4
    assert all(request_id is not None and KSUID.fullmatch(request_id) for request_id in ids)
    first_call, second_call = ids[:3], ids[3]
    assert len(set(first_call)) == 1
    assert second_call != first_call[0]


def test_request_ids_sort_by_the_second_they_were_made(monkeypatch):
    seconds = iter([1_700_000_000, 1_700_000_000, 1_700_000_001, 2_000_000_000])
    monkeypatch.setattr(ids, "time", SimpleNamespace(time=lambda: next(seconds)))

    made = [ids.new_request_id() for _ in range(4)]

    assert all(KSUID.fullmatch(request_id) for request_id in made)
    assert made[0][:6] == made[1][:6]  # the same second
    assert made[0] != made[1]
    assert made[1][:6] < made[2][:6] < made[3][:6]
    assert len({request_id[6:] for request_id in made}) == 4


async def test_login_and_api_call_get_their_own_request_ids(wire, wire_client):
    wire.get(WALLETS, payload=[])

    await wire_client.wallets.list()

    login_id = sent_header(calls(wire, "POST", LOGIN)[0], "X-Request-Id")
    call_id = sent_header(calls(wire, "GET", WALLETS)[0], "X-Request-Id")
    assert login_id is not None
    assert KSUID.fullmatch(login_id)
    assert login_id != call_id


async def test_error_carries_the_server_request_id(wire, wire_client):
    body = error_body("NotFoundError", "NOT_FOUND", "gone")
    wire.get(WALLETS, status=404, payload=body, headers={"X-Request-Id": "srv-req-1"})

    with pytest.raises(NotFoundError) as caught:
        await wire_client.wallets.list()

    assert caught.value.request_id == "srv-req-1"
    assert "srv-req-1" in str(caught.value)


async def test_error_carries_the_sent_request_id_when_the_server_sends_none(wire, wire_client):
    wire.get(WALLETS, status=404, payload=error_body("NotFoundError", "NOT_FOUND", "gone"))

    with pytest.raises(NotFoundError) as caught:
        await wire_client.wallets.list()

    sent = sent_header(calls(wire, "GET", WALLETS)[0], "X-Request-Id")
    assert caught.value.request_id == sent


async def test_connection_error_carries_the_sent_request_id(wire, wire_client):
    wire.get(WALLETS, exception=aiohttp.ClientConnectionError(), repeat=True)

    with pytest.raises(APIConnectionError) as caught:
        await wire_client.with_options(max_retries=0).wallets.list()

    assert caught.value.request_id == sent_header(calls(wire, "GET", WALLETS)[0], "X-Request-Id")


async def test_success_carries_the_server_request_id(wire, wire_client):
    wire.get(WALLETS, payload=[], headers={"X-Request-Id": "srv-ok"})

    raw = await wire_client.with_raw_response(wire_client.wallets.list())

    assert raw.request_id == "srv-ok"


# --- backoff (D19) --------------------------------------------------------------------------

SMALL_BACKOFF = RetryPolicy(initial_backoff=0.001, max_backoff=0.004)
CEILINGS = [0.001, 0.002, 0.004, 0.004]  # min(max_backoff, initial * 2**n) for n = 0..3


async def test_backoff_delays_stay_within_the_full_jitter_bounds(wire, make_wire_client):
    events: list[RequestEvent] = []
    client = make_wire_client(retry=SMALL_BACKOFF, hooks=[events.append])
    wire.get(WALLETS, status=503, repeat=True)

    with pytest.raises(ServerError):
        await client.wallets.list()

    delays = [e.delay for e in wallet_events(events, RetryScheduled)]
    assert len(delays) == len(CEILINGS)
    for delay, ceiling in zip(delays, CEILINGS, strict=True):
        assert 0 <= delay <= ceiling


async def test_backoff_doubles_up_to_the_cap(wire, make_wire_client):
    events: list[RequestEvent] = []
    client = make_wire_client(
        retry=SMALL_BACKOFF, hooks=[events.append], clock=Clock(HighestDraw())
    )
    wire.get(WALLETS, status=503, repeat=True)

    with pytest.raises(ServerError):
        await client.wallets.list()

    delays = [e.delay for e in wallet_events(events, RetryScheduled)]
    assert delays == pytest.approx(CEILINGS)


# --- unreadable 2xx bodies (D2, D3) -----------------------------------------------------------


async def test_html_200_raises_validation_error_with_the_body(wire, wire_client):
    html = "<html><body>Maintenance</body></html>"
    wire.get(WALLETS, status=200, body=html, content_type="text/html")
    wire.get(WALLETS, payload=[])

    with pytest.raises(APIResponseValidationError) as caught:
        await wire_client.wallets.list()

    assert caught.value.field == ""
    assert caught.value.status == 200
    assert caught.value.body == html
    assert len(calls(wire, "GET", WALLETS)) == 1


async def test_envelope_with_success_false_raises_validation_error(wire, wire_client):
    wire.get(WALLETS, status=200, payload={"success": False, "data": {"message": "nope"}})

    with pytest.raises(APIResponseValidationError) as caught:
        await wire_client.wallets.list()

    assert caught.value.field == ""
    assert "nope" in caught.value.body


# --- hooks ------------------------------------------------------------------------------------


async def test_events_describe_each_attempt(wire, make_wire_client):
    events: list[RequestEvent] = []
    client = make_wire_client(hooks=[events.append])
    wire.get(WALLETS, status=503)
    wire.get(WALLETS, payload=[])

    await client.wallets.list()

    steps = [
        (type(e).__name__, e.attempt, getattr(e, "status", None))
        for e in events
        if e.path == "/api/v1/wallets"
    ]
    assert steps == [
        ("RequestStarted", 1, None),
        ("ResponseReceived", 1, 503),
        ("RetryScheduled", 1, None),
        ("RequestStarted", 2, None),
        ("ResponseReceived", 2, 200),
        ("RequestFinished", 2, 200),
    ]
    assert len({e.request_id for e in wallet_events(events, RequestEvent)}) == 1
    assert {e.url for e in events if e.path == "/api/v1/wallets"} == {f"{API}/api/v1/wallets"}
    [finished] = wallet_events(events, RequestFinished)
    assert finished.error is None


async def test_a_call_that_fails_finishes_once_naming_its_error(wire, make_wire_client):
    events: list[RequestEvent] = []
    client = make_wire_client(hooks=[events.append])
    wire.get(WALLETS, status=404, payload={"message": "no"})

    with pytest.raises(NotFoundError):
        await client.wallets.list()

    [finished] = wallet_events(events, RequestFinished)
    assert (finished.attempt, finished.status, finished.error) == (1, 404, "NotFoundError")


async def test_a_raising_hook_does_not_break_the_request(wire, make_wire_client, caplog):
    def broken(event: RequestEvent) -> None:
        raise RuntimeError("hook bug")

    events: list[RequestEvent] = []
    client = make_wire_client(hooks=[broken, events.append])
    wire.get(WALLETS, payload=[])

    with caplog.at_level(logging.ERROR, logger="octopus_async.http"):
        assert await client.wallets.list() == ()

    assert wallet_events(events, RequestStarted)
    assert wallet_events(events, ResponseReceived)
    hook_logs = [r for r in caplog.records if r.name == "octopus_async.http" and r.exc_info]
    assert hook_logs
    assert all(r.levelno == logging.ERROR for r in hook_logs)
    assert isinstance(hook_logs[0].exc_info[1], RuntimeError)


# --- cancellation (D18) -----------------------------------------------------------------------


async def test_cancelled_request_is_never_retried(wire, wire_client):
    reached = asyncio.Event()

    async def hang(url: URL, **kwargs: Any) -> None:
        reached.set()
        await asyncio.Event().wait()

    wire.get(WALLETS, callback=hang, repeat=True)
    task = asyncio.create_task(wire_client.wallets.list())
    await asyncio.wait_for(reached.wait(), 5)

    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)

    assert task in done
    assert task.cancelled()
    assert len(calls(wire, "GET", WALLETS)) == 1


async def test_cancelled_during_a_retry_wait_stops(wire, make_wire_client):
    scheduled = asyncio.Event()

    def on_event(event: RequestEvent) -> None:
        if isinstance(event, RetryScheduled):
            scheduled.set()

    client = make_wire_client(hooks=[on_event])
    wire.get(WALLETS, status=503, headers={"Retry-After": "30"})
    wire.get(WALLETS, payload=[])
    task = asyncio.create_task(client.wallets.list())
    await asyncio.wait_for(scheduled.wait(), 5)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls(wire, "GET", WALLETS)) == 1


# --- login, 401 replay, refresh (D11-D15) -----------------------------------------------------


async def test_login_sends_the_credentials_and_no_bearer(wire, wire_client):
    wire.get(WALLETS, payload=[])

    await wire_client.wallets.list()

    [login] = calls(wire, "POST", LOGIN)
    assert sent_json(login) == {"username": "key", "password": "secret"}
    assert sent_header(login, "Authorization") is None
    assert sent_header(login, "Content-Type") == "application/json"
    [call] = calls(wire, "GET", WALLETS)
    assert sent_header(call, "Authorization") == "Bearer access-1"


async def test_concurrent_first_calls_share_one_login(wire, wire_client):
    wire.get(WALLETS, payload=[], repeat=True)

    await asyncio.gather(*(wire_client.wallets.list() for _ in range(20)))

    assert len(calls(wire, "POST", LOGIN)) == 1
    assert len(calls(wire, "GET", WALLETS)) == 20


async def test_401_refreshes_and_replays_once(wire, wire_client):
    wire.post(REFRESH, payload=token_body("access-2", "refresh-2"))
    wire.get(WALLETS, status=401, payload=error_body("UnauthorizedError", "UNAUTHORIZED", "x"))
    wire.get(WALLETS, payload=[])

    assert await wire_client.wallets.list() == ()

    gets = calls(wire, "GET", WALLETS)
    assert [sent_header(c, "Authorization") for c in gets] == [
        "Bearer access-1",
        "Bearer access-2",
    ]
    assert len({sent_header(c, "X-Request-Id") for c in gets}) == 1
    [refresh] = calls(wire, "POST", REFRESH)
    assert sent_json(refresh) == {"refresh_token": "refresh-1"}
    assert len(calls(wire, "POST", LOGIN)) == 1


async def test_refresh_request_matches_the_documented_shape(wire, wire_client):
    documented = json.loads((FIXTURES / "auth.refresh.request.json").read_text())
    wire.post(REFRESH, payload=token_body("access-2", "refresh-2"))
    wire.get(WALLETS, status=401)
    wire.get(WALLETS, payload=[])

    await wire_client.wallets.list()

    [refresh] = calls(wire, "POST", REFRESH)
    body = sent_json(refresh)
    assert set(body) == set(documented) == {"refresh_token"}
    assert isinstance(body["refresh_token"], str)
    assert sent_header(refresh, "Authorization") is None
    assert sent_header(refresh, "Content-Type") == "application/json"


async def test_second_401_raises_authentication_error(wire, wire_client):
    wire.post(REFRESH, payload=token_body("access-2", "refresh-2"))
    unauthorized = error_body("UnauthorizedError", "UNAUTHORIZED", "Invalid token")
    wire.get(WALLETS, status=401, payload=unauthorized)
    wire.get(WALLETS, status=401, payload=unauthorized)
    wire.get(WALLETS, payload=[])

    with pytest.raises(AuthenticationError) as caught:
        await wire_client.wallets.list()

    assert caught.value.message == "Invalid token"
    assert len(calls(wire, "GET", WALLETS)) == 2
    assert len(calls(wire, "POST", REFRESH)) == 1


async def test_rejected_refresh_falls_back_to_one_login(bare_wire, make_wire_client):
    bare_wire.post(LOGIN, payload=token_body("access-1", "refresh-1"))
    bare_wire.post(LOGIN, payload=token_body("access-3", "refresh-3"))
    bare_wire.post(
        REFRESH, status=401, payload=error_body("UnauthorizedError", "UNAUTHORIZED", "x")
    )
    bare_wire.get(WALLETS, status=401)
    bare_wire.get(WALLETS, payload=[])
    client = make_wire_client()

    assert await client.wallets.list() == ()

    gets = calls(bare_wire, "GET", WALLETS)
    assert [sent_header(c, "Authorization") for c in gets] == [
        "Bearer access-1",
        "Bearer access-3",
    ]
    assert len(calls(bare_wire, "POST", REFRESH)) == 1
    assert len(calls(bare_wire, "POST", LOGIN)) == 2


async def test_a_refresh_lost_to_another_client_adopts_the_tokens_it_saved(
    bare_wire, make_wire_client
):
    store = MemoryTokenStore()
    rival = TokenSet(access_token="access-2", refresh_token="refresh-2")

    async def rotated_elsewhere(url: URL, **kwargs: Any) -> CallbackResult:
        # Another client sharing the store used refresh-1 a moment earlier and saved.
        await store.save(rival)
        return reply(401, error_body("UnauthorizedError", "UNAUTHORIZED", "x"))

    bare_wire.post(LOGIN, payload=token_body("access-1", "refresh-1"))
    bare_wire.post(REFRESH, callback=rotated_elsewhere)
    bare_wire.get(WALLETS, status=401)
    bare_wire.get(WALLETS, payload=[])
    client = make_wire_client(token_store=store)

    assert await client.wallets.list() == ()

    gets = calls(bare_wire, "GET", WALLETS)
    assert [sent_header(c, "Authorization") for c in gets] == [
        "Bearer access-1",
        "Bearer access-2",
    ]
    assert len(calls(bare_wire, "POST", LOGIN)) == 1


class BrokenStore(MemoryTokenStore):
    async def load(self) -> TokenSet | None:
        raise OSError("disk unreadable")

    async def save(self, tokens: TokenSet) -> None:
        raise OSError("disk full")


async def test_a_store_that_cannot_load_or_save_costs_no_request(
    bare_wire, make_wire_client, caplog
):
    bare_wire.post(LOGIN, payload=token_body("access-1", "refresh-1"))
    bare_wire.post(REFRESH, payload=token_body("access-2", "refresh-2"))
    bare_wire.get(WALLETS, status=401)
    bare_wire.get(WALLETS, payload=[], repeat=True)
    client = make_wire_client(token_store=BrokenStore())

    assert await client.wallets.list() == ()  # login, 401, refresh, replay
    assert await client.wallets.list() == ()

    assert len(calls(bare_wire, "POST", LOGIN)) == 1  # the tokens are held all the same
    assert len(calls(bare_wire, "POST", REFRESH)) == 1
    assert "could not load tokens from BrokenStore" in caplog.text
    assert "could not save tokens to BrokenStore" in caplog.text
    for token in ("access-1", "refresh-1", "access-2", "refresh-2"):
        assert token not in caplog.text


async def test_clients_given_one_token_renew_it_at_spread_out_moments(bare_wire, make_wire_client):
    clock = FakeClock()
    expiry = clock.now + 3600
    login = token_body("access-1", "refresh-1", access_expires=expiry)
    bare_wire.post(LOGIN, payload=login, repeat=True)
    bare_wire.post(REFRESH, payload=token_body("access-2", "refresh-2"), repeat=True)
    bare_wire.get(WALLETS, payload=[], repeat=True)
    logs: list[list[RequestEvent]] = [[] for _ in range(10)]
    clients = [make_wire_client(hooks=[log.append]) for log in logs]
    for client in clients:
        fake_clock(client, clock)
        await client.wallets.list()

    renewed_at: dict[int, float] = {}
    for left in range(340, 290, -1):  # seconds of life left
        clock.now = expiry - left
        for number, client in enumerate(clients):
            await client.wallets.list()
            if number not in renewed_at and any(e.path == "/auth/refresh" for e in logs[number]):
                renewed_at[number] = left

    # Each renewed with 300-330 s left (the margin, up to a tenth earlier), not all at once.
    assert len(renewed_at) == 10
    assert all(300 <= left <= 330 for left in renewed_at.values())
    assert len(set(renewed_at.values())) > 1


async def test_bad_credentials_raise_without_retry(bare_wire, make_wire_client):
    body = error_body("UnauthorizedError", "UNAUTHORIZED", "Invalid credentials")
    bare_wire.post(LOGIN, status=401, payload=body)
    bare_wire.post(LOGIN, payload=LOGIN_BODY)  # a retried login would succeed
    bare_wire.get(WALLETS, payload=[])
    client = OctopusClient("key", "s3cr3t-value", base_url=API, retry=FAST_RETRY)

    try:
        with pytest.raises(AuthenticationError) as caught:
            await client.wallets.list()
    finally:
        await client.aclose()

    assert caught.value.message == "Invalid credentials"
    assert "s3cr3t-value" not in str(caught.value)
    assert len(calls(bare_wire, "POST", LOGIN)) == 1
    assert calls(bare_wire, "GET", WALLETS) == []


async def test_closing_never_logs_out(wire, wire_client):
    wire.get(WALLETS, payload=[])
    wire.post(LOGOUT, payload={"success": True, "data": {"message": "Successfully logged out"}})

    await wire_client.wallets.list()
    await wire_client.aclose()

    assert calls(wire, "POST", LOGOUT) == []


# --- proactive refresh (D11, D12) --------------------------------------------------------------


def script_tokens(mocked: CompatAioresponses, clock: FakeClock, login: dict[str, Any]) -> None:
    mocked.post(LOGIN, payload=login)
    mocked.post(
        REFRESH, payload=token_body("access-2", "refresh-2", access_expires=clock.now + 1e6)
    )
    mocked.get(WALLETS, payload=[], repeat=True)


def fake_clock(client: OctopusClient, clock: FakeClock | None = None) -> FakeClock:
    """Put `client`'s token timing on `clock` (a new one unless given)."""
    clock = clock or FakeClock()
    client._transport.tokens._clock = clock
    return clock


@pytest.mark.parametrize(
    ("lifetime", "margin"),
    [
        (3600, 300),  # the default 300 s margin
        (400, 200),  # shorter than twice the margin: renewed halfway through its life
        (100, 50),
    ],
)
async def test_access_token_is_refreshed_before_it_expires(
    bare_wire, make_wire_client, lifetime, margin
):
    client = make_wire_client(auth=AuthPolicy(refresh_margin=300))
    clock = fake_clock(client)
    login = token_body("access-1", "refresh-1", access_expires=clock.now + lifetime)
    script_tokens(bare_wire, clock, login)

    # Renewed when `margin` is left, up to a tenth of it earlier (spread across clients).
    await client.wallets.list()
    clock.now += lifetime - margin * 1.1 - 1
    await client.wallets.list()
    assert calls(bare_wire, "POST", REFRESH) == []

    clock.now += margin * 0.1 + 2
    await client.wallets.list()

    assert len(calls(bare_wire, "POST", REFRESH)) == 1
    assert len(calls(bare_wire, "POST", LOGIN)) == 1
    bearers = [sent_header(c, "Authorization") for c in calls(bare_wire, "GET", WALLETS)]
    assert bearers == ["Bearer access-1", "Bearer access-1", "Bearer access-2"]


async def test_concurrent_calls_share_one_refresh(bare_wire, make_wire_client):
    client = make_wire_client()
    clock = fake_clock(client)
    script_tokens(bare_wire, clock, token_body("a1", "r1", access_expires=clock.now + 3600))
    await client.wallets.list()
    clock.now += 3500

    await asyncio.gather(*(client.wallets.list() for _ in range(20)))

    assert len(calls(bare_wire, "POST", REFRESH)) == 1


@pytest.mark.parametrize(("lifetime", "margin"), [(3600, 300), (400, 200)])
async def test_expiry_falls_back_to_the_jwt_exp_claim(
    bare_wire, make_wire_client, lifetime, margin
):
    client = make_wire_client()
    clock = fake_clock(client)
    access = jwt.encode({"exp": int(clock.now) + lifetime}, JWT_KEY, algorithm="HS256")
    script_tokens(bare_wire, clock, token_body(access, "refresh-1"))

    await client.wallets.list()
    clock.now += lifetime - margin * 1.1 - 1
    await client.wallets.list()
    assert calls(bare_wire, "POST", REFRESH) == []

    clock.now += margin * 0.1 + 2
    await client.wallets.list()
    assert len(calls(bare_wire, "POST", REFRESH)) == 1


async def test_without_any_expiry_the_token_is_assumed_to_live_an_hour(bare_wire, make_wire_client):
    client = make_wire_client()
    clock = fake_clock(client)
    script_tokens(bare_wire, clock, token_body("opaque-access", "opaque-refresh"))

    await client.wallets.list()
    clock.now += 3600 - 330 - 1  # the 300 s margin, up to 30 s earlier
    await client.wallets.list()
    assert calls(bare_wire, "POST", REFRESH) == []

    clock.now += 32
    await client.wallets.list()
    assert len(calls(bare_wire, "POST", REFRESH)) == 1


async def test_expired_refresh_token_logs_in_instead_of_refreshing(bare_wire, make_wire_client):
    client = make_wire_client()
    clock = fake_clock(client)
    bare_wire.post(
        LOGIN,
        payload=token_body(
            "access-1", "refresh-1", access_expires=clock.now + 3600, refresh_expires=clock.now + 60
        ),
    )
    bare_wire.post(
        LOGIN, payload=token_body("access-2", "refresh-2", access_expires=clock.now + 1e6)
    )
    bare_wire.post(REFRESH, payload=token_body("never", "never"))
    bare_wire.get(WALLETS, payload=[], repeat=True)

    await client.wallets.list()
    clock.now += 3400
    await client.wallets.list()

    assert calls(bare_wire, "POST", REFRESH) == []
    assert len(calls(bare_wire, "POST", LOGIN)) == 2
    assert sent_header(calls(bare_wire, "GET", WALLETS)[-1], "Authorization") == "Bearer access-2"


# --- client-side limits after a 429 (D20, D21) --------------------------------------------------


async def test_long_retry_after_pauses_the_endpoint_class(wire, make_wire_client):
    client = make_wire_client(rate_limits=RateLimits.disabled().with_quota("read", Quota(300)))
    wire.get(WALLETS, status=429, headers={"Retry-After": "120"})
    wire.get(WALLETS, payload=[], repeat=True)
    with pytest.raises(RateLimitError):
        await client.wallets.list()

    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(client.wallets.list(), 0.1)

    assert len(calls(wire, "GET", WALLETS)) == 1


async def test_an_unreadable_login_answer_withholds_the_tokens(bare_wire):
    """A malformed login response raises without keeping the tokens it may carry."""
    body = {"success": True, "data": {"access_token": "tok-SECRET", "refresh_token": {"t": 7}}}
    bare_wire.post(f"{API}/auth/login", payload=body)
    async with OctopusClient("key", "secret", base_url=API, retry=FAST_RETRY) as client:
        with pytest.raises(APIResponseValidationError) as raised:
            await client.wallets.list()
    assert raised.value.field == "refresh_token"
    assert "tok-SECRET" not in raised.value.body
    assert "withheld" in raised.value.body


# --- a 401 for a token already replaced (issue 10) ---------------------------------------------


async def test_a_401_for_a_token_already_replaced_does_not_spend_the_renewal(
    bare_wire, make_wire_client
):
    # A and B both send access-1. B is refused first, renews to access-2 and succeeds. A is
    # refused later, and by then access-2 has been revoked too. Trying access-2 costs A
    # nothing (the token A was refused for was already replaced), so A still has its one
    # renewal for access-3, and succeeds.
    client = make_wire_client()
    bare_wire.post(LOGIN, payload=token_body("access-1", "refresh-1"))
    for number in (2, 3):  # renewals refresh
        bare_wire.post(REFRESH, payload=token_body(f"access-{number}", f"refresh-{number}"))
    refused = {"Bearer access-1"}
    release_a = asyncio.Event()
    arrivals = 0

    async def wallets(url: URL, **kwargs: Any) -> CallbackResult:
        nonlocal arrivals
        arrivals += 1
        if arrivals == 1:  # A's first attempt: answered once B is done
            await release_a.wait()
            refused.add("Bearer access-2")
        bearer = kwargs["headers"]["Authorization"]
        return reply(401, {}) if bearer in refused else reply(200, [])

    bare_wire.get(WALLETS, callback=wallets, repeat=True)
    call_a = asyncio.ensure_future(client.wallets.list())
    while arrivals == 0:  # noqa: ASYNC110 (no event to await inside aioresponses)
        await asyncio.sleep(0)
    await client.wallets.list()  # B
    release_a.set()
    await call_a

    bearers = [sent_header(c, "Authorization") for c in calls(bare_wire, "GET", WALLETS)]
    assert bearers == [
        "Bearer access-1",  # A, answered last
        "Bearer access-1",  # B: refused
        "Bearer access-2",  # B, renewed: served
        "Bearer access-2",  # A, with the token that replaced its own: refused, revoked
        "Bearer access-3",  # A, renewed: served
    ]


async def test_the_servers_clock_is_read_from_its_date_header(wire, make_wire_client):
    client = make_wire_client()
    behind = datetime.now(timezone.utc) - timedelta(hours=1)
    wire.get(WALLETS, payload=[], headers={"Date": format_datetime(behind, usegmt=True)})

    await client.wallets.list()

    skew = client.vouchers.orders.server_time() - datetime.now(timezone.utc)
    assert skew.total_seconds() == pytest.approx(-3600, abs=2)  # Date has whole seconds


# --- the retry decision (RetryPolicy.delay) ----------------------------------------------------

DECISION = RetryPolicy(max_retries=2, initial_backoff=1.0, max_backoff=8.0, max_retry_after=60)


@pytest.mark.parametrize(
    ("retries_done", "answer", "expected"),
    [
        (0, {"status": 503}, 1.0),
        (1, {"status": 503}, 2.0),
        (2, {"status": 503}, None),  # out of retries
        (0, {"status": 400}, None),  # not a retried status
        (0, {"status": 429, "retry_after": 7.0}, 7.0),  # the server's wait replaces backoff
        (0, {"status": 503, "retry_after": 120.0}, None),  # longer than allowed: give up
        (0, {"status": 503, "replayable": False}, None),  # may have been processed
        (0, {"status": 429, "replayable": False}, 1.0),  # a 429 was not processed
        (0, {}, 1.0),  # no answer at all (a connection failure)
        (0, {"replayable": False}, None),  # ...that may have reached the server
    ],
)
def test_one_retry_decision_for_every_caller(retries_done, answer, expected):
    top = HighestDraw().random
    assert DECISION.delay(retries_done, rand=top, **answer) == expected
