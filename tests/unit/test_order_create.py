"""Voucher order creation on the wire: exactly once, settled by `client_reference` (D23-D25).

Each test scripts the server with aioresponses and checks the exact sequence of creates
(POST /api/v1/orders) and lookups (GET /api/v1/orders?client_reference=...), the bytes sent,
and what is returned or raised. Also covers `orders.find` and `orders.get`, the checks made
before anything is sent, and that voucher codes never leak (D17).
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aioresponses import CallbackResult
from support import API, FAST_RETRY, CompatAioresponses, HighestDraw, reply
from support import steps as all_steps
from yarl import URL

from octopus_async import (
    APIConnectionError,
    APIResponseValidationError,
    BadRequestError,
    Clock,
    DuplicateClientReferenceError,
    InvalidRequestError,
    NotFoundError,
    OctopusClient,
    OrderOutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    RequestEvent,
    RetryPolicy,
    ServerError,
    ValidationError,
)
from octopus_async.models import Voucher, VoucherOrder, VoucherOrderStatus
from octopus_async.resources.vouchers import VoucherOrders

ORDERS = f"{API}/api/v1/orders"
LOOKUP = re.compile(r"^http://api\.test/api/v1/orders\?client_reference=")
GENERATED = re.compile(r"oc_[0-9a-f]{32}")
UTC = timezone.utc

REF = "order-0001"
CARD = "STEAM-AAAA-BBBB-CCCC"
PIN = "864209"
CLAIM = "https://claim.example/c/SECRET-5555"
VALID = {"product_id": 123, "denomination": Decimal("50.00"), "quantity": 2}
THREE_ATTEMPTS = RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.002)


def order_json(ref: str = REF, **changes: Any) -> dict[str, Any]:
    """The minimal voucher order the server answers a create or a lookup with."""
    voucher = {"card_number": CARD, "pin_code": PIN, "expires_at": "2027-04-01T00:00:00Z"}
    return {
        "id": 1234,
        "status": "DELIVERED",
        "amount": 100.00,
        "discount": 3.50,
        "client_reference": ref,
        "vouchers": [voucher],
        **changes,
    }


def expected_order(ref: str = REF, *, recovered: bool = False) -> VoucherOrder:
    voucher = Voucher(card_number=CARD, pin_code=PIN, expires_at=datetime(2027, 4, 1, tzinfo=UTC))
    return VoucherOrder(
        id=1234,
        status=VoucherOrderStatus.DELIVERED,
        amount=Decimal("100.00"),
        discount=Decimal("3.50"),
        vouchers=(voucher,),
        client_reference=ref,
        recovered=recovered,
    )


def error_body(code: str, message: str, name: str = "BadRequestError") -> dict[str, Any]:
    return {"error": {"name": name, "code": code, "message": message}}


DUPLICATE = error_body("BAD_REQUEST", "Duplicate client_reference")
UNAVAILABLE = error_body("SERVICE_UNAVAILABLE", "Try again", "ServiceUnavailableError")


def answer_create(wire: CompatAioresponses, **changes: Any) -> None:
    """Answer the next create with 201 and the order, echoing the reference it was sent."""

    def created(url: URL, **kwargs: Any) -> CallbackResult:
        ref = json.loads(kwargs["data"])["client_reference"]
        return reply(201, order_json(ref, **changes))

    wire.post(ORDERS, callback=created)


def answer_lookup(wire: CompatAioresponses, *, found: bool, repeat: bool = False) -> None:
    """Answer lookups by client_reference: the order with that reference, or []."""

    def looked_up(url: URL, **kwargs: Any) -> CallbackResult:
        ref = url.query["client_reference"]
        return reply(200, [order_json(ref)] if found else [])

    wire.get(LOOKUP, callback=looked_up, repeat=repeat)


def disconnect() -> BaseException:
    return aiohttp.ServerDisconnectedError()


def refused() -> BaseException:
    key = SimpleNamespace(host="api.test", port=80, ssl=True)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))  # type: ignore[arg-type]


def connect_timeout() -> BaseException:
    return aiohttp.ConnectionTimeoutError("connect timed out")


def creates(wire: CompatAioresponses) -> list[bytes]:
    """The bodies of the creates sent, in order."""
    return [call.kwargs["data"] for call in wire.requests.get(("POST", URL(ORDERS)), [])]


def lookup_urls(wire: CompatAioresponses) -> list[URL]:
    return [
        url
        for (method, url), calls in wire.requests.items()
        if method == "GET" and url.path == "/api/v1/orders"
        for _ in calls
    ]


def lookups(wire: CompatAioresponses) -> list[str]:
    """The client_reference of each lookup sent."""
    return [url.query["client_reference"] for url in lookup_urls(wire)]


def reference_sent(wire: CompatAioresponses) -> str:
    return json.loads(creates(wire)[0])["client_reference"]


def steps(events: list[RequestEvent]) -> list[str]:
    """Each API attempt in order with how it ended: "POST 503", "GET 200", "POST TimeoutError"."""
    return all_steps(events, paths=False)


@pytest.fixture
def events() -> list[RequestEvent]:
    return []


@pytest.fixture
async def make_octo(events: list[RequestEvent]) -> AsyncIterator[Callable[..., OctopusClient]]:
    """Clients for `API` that record their request events, closed after the test."""
    created: list[OctopusClient] = []

    def make(retry: RetryPolicy = FAST_RETRY, clock: Clock | None = None) -> OctopusClient:
        client = OctopusClient(
            "key", "secret", base_url=API, retry=retry, hooks=[events.append], clock=clock
        )
        created.append(client)
        return client

    yield make
    for client in created:
        await client.aclose()


@pytest.fixture
def orders(make_octo: Callable[..., OctopusClient]) -> VoucherOrders:
    return make_octo().vouchers.orders


# --- the first create answers ------------------------------------------------------------


async def test_created_on_the_first_attempt(wire, orders, events):
    answer_create(wire)

    order = await orders.create(123, Decimal("50.00"), 2)

    [call] = wire.requests[("POST", URL(ORDERS))]
    ref = reference_sent(wire)
    assert GENERATED.fullmatch(ref)
    expected_body = '{"product_id":123,"denomination":50.00,"quantity":2,"client_reference":"%s"}'
    assert call.kwargs["data"] == (expected_body % ref).encode()
    assert call.kwargs["headers"]["Content-Type"] == "application/json"
    assert order == expected_order(ref)
    assert order.recovered is False
    assert steps(events) == ["POST 201"]
    assert lookups(wire) == []


async def test_each_create_gets_its_own_generated_reference(wire, orders):
    answer_create(wire)
    answer_create(wire)

    first = await orders.create(**VALID)
    second = await orders.create(**VALID)

    sent = [json.loads(body)["client_reference"] for body in creates(wire)]
    assert sent == [first.client_reference, second.client_reference]
    assert first.client_reference != second.client_reference


@pytest.mark.parametrize(
    ("denomination", "written"),
    [
        (Decimal("50.00"), b"50.00"),
        (Decimal("12.345"), b"12.345"),
        (50, b"50"),
        ("50.00", b"50.00"),
        ("0.10", b"0.10"),
    ],
)
async def test_denomination_is_sent_as_the_exact_number_given(wire, orders, denomination, written):
    answer_create(wire)

    await orders.create(123, denomination, 2)

    [body] = creates(wire)
    assert b'"denomination":' + written + b',"quantity":2,' in body


@pytest.mark.parametrize(
    ("options", "extra"),
    [
        ({}, {}),
        ({"wallet_id": 7}, {"wallet_id": 7}),
        ({"email": "recipient@example.com"}, {"email": "recipient@example.com"}),
        (
            {"wallet_id": 7, "email": "recipient@example.com"},
            {"wallet_id": 7, "email": "recipient@example.com"},
        ),
    ],
    ids=["neither", "wallet", "email", "both"],
)
async def test_wallet_and_email_are_sent_only_when_given(wire, orders, options, extra):
    answer_create(wire)

    await orders.create(**VALID, client_reference=REF, **options)

    [body] = creates(wire)
    assert json.loads(body, parse_float=Decimal) == {
        "product_id": 123,
        "denomination": Decimal("50.00"),
        "quantity": 2,
        "client_reference": REF,
        **extra,
    }


# --- failures that prove nothing was processed: retried by the transport -----------------


async def test_429_is_retried_without_a_lookup(wire, orders, events):
    wire.post(
        ORDERS,
        status=429,
        headers={"Retry-After": "0.01"},
        payload=error_body("TOO_MANY_REQUESTS", "Rate limit exceeded.", "TooManyRequestsError"),
    )
    answer_create(wire)

    order = await orders.create(**VALID)

    assert steps(events) == ["POST 429", "POST 201"]
    first, second = creates(wire)
    assert first == second
    assert lookups(wire) == []
    assert order == expected_order(reference_sent(wire))


@pytest.mark.parametrize(
    ("failure", "step"),
    [
        (refused, "POST ClientConnectorError"),
        (connect_timeout, "POST ConnectionTimeoutError"),
    ],
    ids=["refused", "connect-timeout"],
)
async def test_a_connection_never_made_is_retried_without_a_lookup(
    wire, orders, events, failure, step
):
    wire.post(ORDERS, exception=failure())
    answer_create(wire)

    order = await orders.create(**VALID)

    assert steps(events) == [step, "POST 201"]
    first, second = creates(wire)
    assert first == second
    assert lookups(wire) == []
    assert order.recovered is False


# --- failures after sending: a lookup decides (D25) ---------------------------------------


async def test_503_before_commit_is_looked_up_then_sent_again(wire, orders, events):
    wire.post(ORDERS, status=503, payload=UNAVAILABLE)
    answer_lookup(wire, found=False)
    answer_create(wire)

    order = await orders.create(**VALID)

    assert steps(events) == ["POST 503", "GET 200", "POST 201"]
    first, second = creates(wire)
    assert first == second
    ref = reference_sent(wire)
    assert GENERATED.fullmatch(ref)
    assert lookups(wire) == [ref]
    assert order == expected_order(ref)
    assert order.recovered is False


@pytest.mark.parametrize(
    ("failure", "step"),
    [
        ({"exception": disconnect}, "POST ServerDisconnectedError"),
        ({"exception": asyncio.TimeoutError}, "POST TimeoutError"),
        ({"status": 500, "payload": error_body("INTERNAL_SERVER_ERROR", "Boom")}, "POST 500"),
    ],
    ids=["disconnect", "timeout", "500-after-commit"],
)
async def test_a_lost_answer_is_recovered_by_the_lookup(wire, orders, events, failure, step):
    scripted = {k: v() if k == "exception" else v for k, v in failure.items()}
    wire.post(ORDERS, **scripted)
    answer_create(wire)  # a second create would be answered: it must not be sent
    answer_lookup(wire, found=True)

    order = await orders.create(**VALID)

    assert steps(events) == [step, "GET 200"]
    assert len(creates(wire)) == 1
    ref = reference_sent(wire)
    assert lookups(wire) == [ref]
    assert order == expected_order(ref, recovered=True)
    assert order.raw["client_reference"] == ref


async def test_a_late_first_attempt_answers_duplicate_and_is_recovered(wire, orders, events):
    wire.post(ORDERS, status=503, payload=UNAVAILABLE)
    answer_lookup(wire, found=False)
    wire.post(ORDERS, status=400, payload=DUPLICATE)
    answer_lookup(wire, found=True)

    order = await orders.create(**VALID)

    assert steps(events) == ["POST 503", "GET 200", "POST 400", "GET 200"]
    first, second = creates(wire)
    assert first == second
    ref = reference_sent(wire)
    assert lookups(wire) == [ref, ref]
    assert order == expected_order(ref, recovered=True)


async def test_a_resent_duplicate_is_looked_up_again_until_it_shows(wire, orders, events):
    wire.post(ORDERS, exception=disconnect())
    answer_lookup(wire, found=False)
    wire.post(ORDERS, status=400, payload=DUPLICATE)
    answer_lookup(wire, found=False)  # the lookups lag behind the create that landed
    answer_lookup(wire, found=True)

    order = await orders.create(**VALID, client_reference=REF)

    assert steps(events) == [
        "POST ServerDisconnectedError",
        "GET 200",
        "POST 400",
        "GET 200",
        "GET 200",
    ]
    assert len(creates(wire)) == 2
    assert order == expected_order(REF, recovered=True)


async def test_a_resent_duplicate_that_never_shows_is_an_unknown_outcome(wire, make_octo, events):
    orders = make_octo(retry=THREE_ATTEMPTS).vouchers.orders
    wire.post(ORDERS, exception=disconnect())
    answer_lookup(wire, found=False)
    wire.post(ORDERS, status=400, payload=DUPLICATE)
    answer_lookup(wire, found=False, repeat=True)

    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await orders.create(**VALID, client_reference=REF)

    # One lookup, then one per retry of the policy (max_retries=2), then the error: the
    # order exists (the duplicate says so), but no lookup shows it yet.
    assert (
        steps(events) == ["POST ServerDisconnectedError", "GET 200", "POST 400"] + ["GET 200"] * 3
    )
    assert len(creates(wire)) == 2
    assert caught.value.client_reference == REF
    assert isinstance(caught.value.__cause__, DuplicateClientReferenceError)
    assert caught.value.last_error is caught.value.__cause__


@pytest.mark.parametrize(
    ("failure", "step", "error"),
    [
        ({"status": 503, "payload": UNAVAILABLE}, "POST 503", ServerError),
        ({"exception": disconnect()}, "POST ServerDisconnectedError", APIConnectionError),
    ],
    ids=["503", "disconnect"],
)
async def test_retries_exhausted_are_an_unknown_outcome_with_the_reference(
    wire, make_octo, events, failure, step, error
):
    # Every answer was lost: any of the creates may have landed, and lists may lag. Saying
    # "refused" here would make an app order again under a new reference (D25).
    orders = make_octo(retry=THREE_ATTEMPTS).vouchers.orders
    wire.post(ORDERS, repeat=True, **failure)
    answer_lookup(wire, found=False, repeat=True)

    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await orders.create(**VALID)

    assert steps(events) == [step, "GET 200"] * 3
    bodies = creates(wire)
    assert len(bodies) == 3
    assert len(set(bodies)) == 1
    ref = reference_sent(wire)
    assert lookups(wire) == [ref] * 3
    assert caught.value.client_reference == ref
    assert isinstance(caught.value.__cause__, error)
    assert ref in str(caught.value)
    assert "orders.find" in str(caught.value)


async def test_creates_sent_again_wait_the_backoff(wire, make_octo):
    retry = RetryPolicy(max_retries=2, initial_backoff=0.04, max_backoff=0.06)
    orders = make_octo(retry=retry, clock=Clock(HighestDraw())).vouchers.orders
    wire.post(ORDERS, status=503, payload=UNAVAILABLE, repeat=True)
    answer_lookup(wire, found=False, repeat=True)
    loop = asyncio.get_running_loop()

    started = loop.time()
    with pytest.raises(OrderOutcomeUnknownError):
        await orders.create(**VALID)

    assert loop.time() - started == pytest.approx(0.04 + 0.06)
    assert len(creates(wire)) == 3


async def test_per_call_max_retries_zero_creates_once(wire, make_octo, events):
    client = make_octo()
    wire.post(ORDERS, status=503, payload=UNAVAILABLE, repeat=True)
    answer_lookup(wire, found=False, repeat=True)

    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await client.with_options(max_retries=0).vouchers.orders.create(**VALID)

    assert steps(events) == ["POST 503", "GET 200"]
    assert caught.value.client_reference == reference_sent(wire)
    assert isinstance(caught.value.__cause__, ServerError)


@pytest.mark.parametrize(
    ("lookup", "step", "lookup_error"),
    [
        (
            {"status": 500, "payload": error_body("INTERNAL_SERVER_ERROR", "Boom")},
            "GET 500",
            ServerError,
        ),
        (
            {
                "status": 429,
                "payload": error_body("TOO_MANY_REQUESTS", "Rate limit exceeded"),
                "headers": {"Retry-After": "0"},
            },
            "GET 429",
            RateLimitError,
        ),
    ],
    ids=["lookups-500", "lookups-429"],
)
async def test_a_failing_lookup_is_an_unknown_outcome_and_nothing_is_resent(
    wire, orders, events, lookup, step, lookup_error
):
    wire.post(ORDERS, exception=disconnect())
    answer_create(wire)  # must not be sent: nobody knows whether the first one landed
    wire.get(LOOKUP, repeat=True, **lookup)

    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await orders.create(**VALID)

    # The lookup is an idempotent GET: the transport retries it (1 + 4 attempts). A 429
    # from it must not read as "refused, retry later": the order may exist.
    assert steps(events) == ["POST ServerDisconnectedError"] + [step] * 5
    assert len(creates(wire)) == 1
    error = caught.value
    assert not isinstance(error, RateLimitError)
    assert error.client_reference == reference_sent(wire)
    assert isinstance(error.__cause__, lookup_error)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.client_reference, str(copy)) == (
        OrderOutcomeUnknownError,
        error.client_reference,
        str(error),
    )
    assert isinstance(copy.__cause__, lookup_error)


def answer_lost_then_lookups_fail(wire: CompatAioresponses) -> None:
    """The create's answer is lost, and its lookup fails on all three attempts: the
    create's outcome is unknown."""
    wire.post(ORDERS, exception=disconnect())
    for _ in range(3):
        wire.get(LOOKUP, status=503, payload=UNAVAILABLE)


async def test_submit_sends_the_create_again_once_a_later_lookup_shows_no_order(
    wire, make_octo, events
):
    # The answer was lost and the lookups failed: the order may exist, or may never have
    # been made. A later lookup shows none, so the create goes again, same body and
    # reference (D25); if the first had landed, the server would refuse the second.
    orders = make_octo(retry=THREE_ATTEMPTS).vouchers.orders
    answer_lost_then_lookups_fail(wire)
    answer_lookup(wire, found=False)
    answer_create(wire)

    order = await orders.submit(**VALID, client_reference=REF)

    assert steps(events) == ["POST ServerDisconnectedError"] + ["GET 503"] * 3 + [
        "GET 200",
        "POST 201",
    ]
    first, second = creates(wire)
    assert first == second
    assert order == expected_order(REF)


async def test_submit_recovers_the_order_a_later_lookup_shows(wire, make_octo, events):
    orders = make_octo(retry=THREE_ATTEMPTS).vouchers.orders
    answer_lost_then_lookups_fail(wire)
    answer_lookup(wire, found=True)

    order = await orders.submit(**VALID, client_reference=REF)

    assert steps(events) == ["POST ServerDisconnectedError"] + ["GET 503"] * 3 + ["GET 200"]
    assert len(creates(wire)) == 1
    assert order == expected_order(REF, recovered=True)


async def test_a_create_sent_again_that_meets_its_duplicate_recovers_the_order(
    wire, make_octo, events
):
    # The list lagged: it showed nothing, but the first create had landed. The server
    # refuses the second, and the order is found by its reference.
    orders = make_octo(retry=THREE_ATTEMPTS).vouchers.orders
    answer_lost_then_lookups_fail(wire)
    answer_lookup(wire, found=False)
    wire.post(ORDERS, status=400, payload=DUPLICATE)
    answer_lookup(wire, found=True)

    order = await orders.submit(**VALID, client_reference=REF)

    assert steps(events)[-3:] == ["GET 200", "POST 400", "GET 200"]
    assert len(creates(wire)) == 2
    assert order == expected_order(REF, recovered=True)


@pytest.mark.parametrize(
    ("refusal", "step"),
    [
        (
            {"status": 400, "payload": error_body("BAD_REQUEST", "Insufficient wallet balance")},
            "POST 400",
        ),
        ({"status": 429, "payload": error_body("TOO_MANY_REQUESTS", "Slow down")}, "POST 429"),
        ({"exception": refused()}, "POST ClientConnectorError"),
    ],
    ids=["refused-400", "refused-429", "not-connected"],
)
async def test_a_resend_refused_after_a_lost_answer_is_an_unknown_outcome(
    wire, make_octo, events, refusal, step
):
    # The first create may have landed (and spent the balance the second one lacks): a
    # refusal of the re-send says nothing about the first (D25).
    orders = make_octo(retry=RetryPolicy(max_retries=1, initial_backoff=0.001)).vouchers.orders
    wire.post(ORDERS, exception=disconnect())
    answer_lookup(wire, found=False, repeat=True)
    wire.post(ORDERS, repeat=True, **refusal)

    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await orders.create(**VALID, client_reference=REF)

    assert steps(events)[:3] == ["POST ServerDisconnectedError", "GET 200", step]
    assert caught.value.client_reference == REF


@pytest.mark.parametrize(
    "failure", [{"exception": refused()}, {"exception": connect_timeout()}], ids=repr
)
async def test_a_create_that_never_reached_the_server_created_nothing(
    wire, make_octo, events, failure
):
    orders = make_octo(retry=RetryPolicy(max_retries=1, initial_backoff=0.001)).vouchers.orders
    wire.post(ORDERS, repeat=True, **failure)

    with pytest.raises(APIConnectionError) as caught:
        await orders.create(**VALID, client_reference=REF)

    assert not isinstance(caught.value, OrderOutcomeUnknownError)
    assert caught.value.sent is False
    assert caught.value.client_reference == REF
    assert lookups(wire) == []  # nothing can have landed: nothing to look up


# --- duplicates and business errors on the first attempt -----------------------------------


@pytest.mark.parametrize("found", [True, False], ids=["found", "not-found"])
@pytest.mark.parametrize(
    "message", ["Duplicate client_reference", "DUPLICATE CLIENT_REFERENCE: order-0001"]
)
async def test_a_first_attempt_duplicate_raises_with_the_existing_order(
    wire, orders, events, found, message
):
    wire.post(ORDERS, status=400, payload=error_body("BAD_REQUEST", message))
    answer_create(wire)  # must not be sent
    answer_lookup(wire, found=found)

    with pytest.raises(DuplicateClientReferenceError) as caught:
        await orders.create(**VALID, client_reference=REF)

    error = caught.value
    assert steps(events) == ["POST 400", "GET 200"]
    assert lookups(wire) == [REF]
    assert error.client_reference == REF
    assert error.order == (expected_order(REF) if found else None)
    assert CARD not in str(error)
    assert PIN not in repr(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.order, copy.client_reference) == (error.order, REF)


async def test_a_first_attempt_duplicate_is_reported_even_if_the_lookup_fails(wire, orders):
    wire.post(ORDERS, status=400, payload=DUPLICATE)
    wire.get(LOOKUP, status=500, payload=error_body("INTERNAL_SERVER_ERROR", "Boom"), repeat=True)

    with pytest.raises(DuplicateClientReferenceError) as caught:
        await orders.create(**VALID, client_reference=REF)

    assert caught.value.order is None
    assert caught.value.client_reference == REF


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, error_body("BAD_REQUEST", "Insufficient wallet balance"), BadRequestError),
        (
            400,
            error_body("VALIDATION_FAILURE", "quantity is required", "ValidationException"),
            ValidationError,
        ),
        (403, error_body("FORBIDDEN", "Product blocked", "ForbiddenError"), PermissionDeniedError),
        (404, error_body("NOT_FOUND", "Product not found", "NotFoundError"), NotFoundError),
    ],
    ids=["insufficient-balance", "validation", "forbidden", "not-found"],
)
async def test_a_business_error_is_raised_at_once(wire, orders, events, status, body, cls):
    wire.post(ORDERS, status=status, payload=body)
    answer_create(wire)  # a retry would succeed and hide the error
    answer_lookup(wire, found=True)

    with pytest.raises(cls) as caught:
        await orders.create(**VALID)

    assert type(caught.value) is cls
    assert caught.value.message == body["error"]["message"]
    assert steps(events) == [f"POST {status}"]
    assert lookups(wire) == []
    assert GENERATED.fullmatch(caught.value.client_reference)
    assert caught.value.client_reference == reference_sent(wire)
    assert caught.value.client_reference in str(caught.value)


# --- a caller's own reference ----------------------------------------------------------------

ODD_REF = "Order #7 / 50% off & more?=+ ~"


async def test_a_caller_reference_is_sent_and_looked_up_unchanged(wire, orders, events):
    wire.post(ORDERS, status=502, body="<html>Bad Gateway</html>", content_type="text/html")
    answer_lookup(wire, found=True)

    order = await orders.create(**VALID, client_reference=ODD_REF)

    assert steps(events) == ["POST 502", "GET 200"]
    assert reference_sent(wire) == ODD_REF
    [url] = lookup_urls(wire)
    # What a server decoding the query string sees.
    assert parse_qs(url.raw_query_string) == {"client_reference": [ODD_REF]}
    assert order == expected_order(ODD_REF, recovered=True)


async def test_a_caller_reference_is_on_the_error(wire, orders):
    wire.post(ORDERS, status=400, payload=error_body("BAD_REQUEST", "Insufficient wallet balance"))

    with pytest.raises(BadRequestError) as caught:
        await orders.create(**VALID, client_reference=ODD_REF)

    assert caught.value.client_reference == ODD_REF
    assert reference_sent(wire) == ODD_REF


# --- checks before sending (D23) --------------------------------------------------------------

EMAIL_255 = "a" * 243 + "@example.com"
EMAIL_254 = EMAIL_255[1:]
PRINTABLE_255 = "".join(chr(0x20 + i % 95) for i in range(255))

INVALID = [
    ("quantity", 0),
    ("quantity", 5001),
    ("quantity", True),
    ("quantity", 2.0),
    ("quantity", "2"),
    ("quantity", None),
    ("denomination", 0),
    ("denomination", -1),
    ("denomination", Decimal("-0.01")),
    ("denomination", 50.0),
    ("denomination", True),
    ("denomination", "abc"),
    ("denomination", "NaN"),
    ("denomination", "sNaN"),
    ("denomination", Decimal("Infinity")),
    ("denomination", 1_000_000_001),
    ("product_id", 0),
    ("product_id", -5),
    ("product_id", True),
    ("product_id", "123"),
    ("product_id", 2**31),
    ("wallet_id", 0),
    ("email", "not-an-email"),
    ("email", "a@b"),
    ("email", "a b@example.com"),
    ("email", EMAIL_255),
    ("client_reference", ""),
    ("client_reference", "x" * 256),
    ("client_reference", "é"),
    ("client_reference", "tab\tchar"),
    ("client_reference", "line\n"),
    ("client_reference", "del\x7f"),
    ("client_reference", 42),
]


@pytest.mark.parametrize(("param", "value"), INVALID, ids=[f"{p}={v!r:.20}" for p, v in INVALID])
async def test_an_invalid_argument_is_rejected_before_anything_is_sent(wire, orders, param, value):
    with pytest.raises(InvalidRequestError) as caught:
        await orders.create(**{**VALID, param: value})

    assert isinstance(caught.value, ValueError)
    assert caught.value.param == param
    assert wire.requests == {}  # not even a login


ACCEPTED = [
    ("quantity", 1),
    ("quantity", 5000),
    ("denomination", 1_000_000_000),
    ("denomination", Decimal("0.01")),
    ("product_id", 2**31 - 1),
    ("wallet_id", 1),
    ("email", EMAIL_254),
    ("client_reference", PRINTABLE_255),
    ("client_reference", "x"),
]


@pytest.mark.parametrize(("param", "value"), ACCEPTED, ids=[f"{p}={v!r:.20}" for p, v in ACCEPTED])
async def test_a_boundary_value_is_accepted_and_sent(wire, orders, param, value):
    answer_create(wire)

    await orders.create(**{**VALID, param: value})

    [body] = creates(wire)
    assert json.loads(body, parse_float=Decimal)[param] == value


# --- find and get -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected_id"),
    [
        ([order_json(REF)], 1234),
        ([], None),
        ([order_json("someone-else", id=1), order_json(REF, id=2)], 2),
        ([order_json("someone-else", id=1)], None),
        ([order_json(REF.upper(), id=1)], None),
    ],
    ids=["match", "empty", "extra-orders", "only-others", "case-differs"],
)
async def test_find_returns_only_the_exact_match(wire, orders, answer, expected_id):
    wire.get(f"{ORDERS}?client_reference={REF}", payload=answer)

    found = await orders.find(REF)

    assert lookups(wire) == [REF]
    if expected_id is None:
        assert found is None
    else:
        assert found.id == expected_id
        assert found.client_reference == REF
        assert found.recovered is False


async def test_find_parses_the_order(wire, orders):
    wire.get(f"{ORDERS}?client_reference={REF}", payload=[order_json(REF)])

    assert await orders.find(REF) == expected_order(REF)


@pytest.mark.parametrize("reference", ["", "x" * 256, "é", "a\tb", 42, None])
async def test_find_rejects_an_invalid_reference_before_sending(wire, orders, reference):
    with pytest.raises(InvalidRequestError) as caught:
        await orders.find(reference)

    assert caught.value.param == "client_reference"
    assert wire.requests == {}


VOUCHER = {
    "card_number": CARD,
    "pin_code": PIN,
    "claim_url": CLAIM,
    "expires_at": "2027-04-01T00:00:00Z",
    "voucher_reference_number": None,
}
# As text, so that the amounts keep the docs' formatting (250.00, not 250.0).
FULL_ORDER = """{
  "id": 1234, "product_id": 123, "product_name": "Steam Wallet Card",
  "denomination": 50.00, "quantity": 5, "amount": 250.00, "discount": 8.75,
  "client_reference": "MY_ORDER_001", "wallet_id": 1, "status": "DELIVERED",
  "base_currency": "USD", "deduction_currency": "USD", "message": "",
  "email": "recipient@example.com", "vouchers": [VOUCHER]
}""".replace("VOUCHER", json.dumps(VOUCHER))


async def test_get_parses_every_field(wire, orders):
    wire.get(f"{ORDERS}/1234", body=FULL_ORDER)

    order = await orders.get(1234)

    assert order == VoucherOrder(
        id=1234,
        status=VoucherOrderStatus.DELIVERED,
        amount=Decimal("250.00"),
        discount=Decimal("8.75"),
        vouchers=(
            Voucher(
                card_number=CARD,
                pin_code=PIN,
                claim_url=CLAIM,
                expires_at=datetime(2027, 4, 1, tzinfo=UTC),
            ),
        ),
        client_reference="MY_ORDER_001",
        product_id=123,
        product_name="Steam Wallet Card",
        denomination=Decimal("50.00"),
        quantity=5,
        wallet_id=1,
        base_currency="USD",
        deduction_currency="USD",
        message="",
        email="recipient@example.com",
    )
    assert str(order.amount) == "250.00"
    assert order.recovered is False
    assert len(wire.requests[("GET", URL(f"{ORDERS}/1234"))]) == 1


@pytest.mark.parametrize("order_id", [0, -1, True, "1234", 2**31])
async def test_get_rejects_an_invalid_id_before_sending(wire, orders, order_id):
    with pytest.raises(InvalidRequestError) as caught:
        await orders.get(order_id)

    assert caught.value.param == "order_id"
    assert wire.requests == {}


# --- secrets (D17) and SDK-only fields ---------------------------------------------------------


async def test_repr_never_shows_codes_pins_or_claim_urls(wire, orders):
    wire.get(f"{ORDERS}/1234", body=FULL_ORDER)

    order = await orders.get(1234)

    voucher = order.vouchers[0]
    assert (voucher.card_number, voucher.pin_code, voucher.claim_url) == (CARD, PIN, CLAIM)
    for text in (repr(order), str(order), repr(voucher), repr(order.vouchers)):
        assert CARD not in text
        assert PIN not in text
        assert CLAIM not in text
    assert "MY_ORDER_001" in repr(order)  # the repr still says which order it is


@pytest.mark.parametrize(
    ("changes", "read_as"),
    [
        ({"amount": "lots"}, {"amount": None}),
        ({"amount": "100.00"}, {"amount": Decimal("100.00")}),
        ({"id": "1234"}, {"id": 1234}),
        ({"status": "delivered"}, {"status": VoucherOrderStatus.DELIVERED}),
        ({"quantity": "two"}, {"quantity": None}),
        ({"vouchers": {"card_number": CARD, "pin_code": PIN}}, {}),  # one object: a list of one
    ],
    ids=[
        "amount-junk",
        "amount-text",
        "id-text",
        "status-lowercase",
        "quantity-junk",
        "vouchers-object",
    ],
)
async def test_a_created_order_is_read_tolerantly_and_its_codes_reach_the_caller(
    wire, orders, events, changes, read_as
):
    answer_create(wire, **changes)

    order = await orders.create(**VALID, client_reference=REF)

    assert steps(events) == ["POST 201"]
    assert (order.id, order.status) == (1234, VoucherOrderStatus.DELIVERED)
    assert (order.vouchers[0].card_number, order.vouchers[0].pin_code) == (CARD, PIN)
    for name, value in read_as.items():
        assert getattr(order, name) == value


@pytest.mark.parametrize(
    ("voucher", "read_as"),
    [
        # The docs' own Go type is `ExpiresAt *string`: a date alone is midnight UTC.
        ({"expires_at": "2027-04-01"}, {"expires_at": datetime(2027, 4, 1, tzinfo=UTC)}),
        ({"expires_at": 20270401}, {"expires_at": None}),
        ({"pin_code": 864209}, {"pin_code": PIN}),  # a PIN sent as a number: its exact text
        (
            {"voucher_reference_number": 12345678901234567890},
            {"voucher_reference_number": "12345678901234567890"},
        ),
    ],
    ids=["date-only", "expiry-a-number", "pin-a-number", "reference-a-number"],
)
async def test_a_voucher_of_another_shape_still_gives_its_codes(
    wire, orders, caplog, voucher, read_as
):
    answer_create(wire, vouchers=[{"card_number": CARD, "pin_code": PIN, **voucher}])

    order = await orders.create(**VALID)

    (read,) = order.vouchers
    assert read.card_number == CARD
    for name, value in read_as.items():
        assert getattr(read, name) == value
    assert CARD not in caplog.text
    assert PIN not in caplog.text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "abc"}, "id"),
        ({"id": None}, "id"),
        ({"status": None}, "status"),
        ({"status": []}, "status"),
    ],
    ids=["id-junk", "id-null", "status-null", "status-a-list"],
)
async def test_a_created_order_without_readable_ids_is_an_unknown_outcome_with_its_body_withheld(
    wire, make_octo, events, changes, field
):
    orders = make_octo(retry=THREE_ATTEMPTS).vouchers.orders
    answer_create(wire, **changes)
    wire.get(
        LOOKUP, callback=lambda url, **_: reply(200, [order_json(REF, **changes)]), repeat=True
    )

    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await orders.create(**VALID, client_reference=REF)

    error = caught.value
    assert error.client_reference == REF
    cause = error.__cause__
    assert isinstance(cause, APIResponseValidationError)
    assert cause.field == field
    assert cause.status == 201  # the create's own error, not the lookup's
    for text in (cause.body, str(cause), repr(cause), str(error), repr(error)):
        assert CARD not in text
        assert PIN not in text
    # Created: looked up (with backoff) in the hope of a readable copy, never sent again.
    assert steps(events) == ["POST 201"] + ["GET 200"] * 3
    assert len(creates(wire)) == 1


async def test_a_truncated_create_answer_is_recovered_by_the_lookup(wire, orders, events):
    wire.post(ORDERS, status=201, body=json.dumps(order_json(REF))[:40])
    answer_lookup(wire, found=True)

    order = await orders.create(**VALID, client_reference=REF)

    assert steps(events) == ["POST 201", "GET 200"]
    assert len(creates(wire)) == 1
    assert order == expected_order(REF, recovered=True)


async def test_an_unreadable_create_answer_stands_when_no_lookup_shows_the_order(
    wire, make_octo, events
):
    orders = make_octo(retry=THREE_ATTEMPTS).vouchers.orders
    wire.post(ORDERS, status=201, body=b'{"success": true, "data": {"id": 12')
    answer_lookup(wire, found=False, repeat=True)

    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await orders.create(**VALID, client_reference=REF)

    assert isinstance(caught.value.__cause__, APIResponseValidationError)
    assert caught.value.__cause__.status == 201
    assert caught.value.client_reference == REF  # the order exists: this finds it later
    # It was created, so it is looked for (again, with backoff) but never sent again.
    assert steps(events) == ["POST 201"] + ["GET 200"] * 3
    assert len(creates(wire)) == 1


async def test_a_recovered_order_that_cannot_be_fetched_whole_is_returned_as_listed(
    wire, orders, events, caplog
):
    wire.post(ORDERS, status=503, payload=UNAVAILABLE)
    wire.get(LOOKUP, payload=[order_json(REF, vouchers=[])])
    wire.get(f"{ORDERS}/1234", status=500, payload=UNAVAILABLE, repeat=True)

    order = await orders.create(**VALID, client_reference=REF)

    assert order.recovered is True
    assert (order.id, order.vouchers) == (1234, ())
    assert len(creates(wire)) == 1
    assert "could not fetch it whole" in caplog.text


async def test_a_recovered_delivery_listed_without_codes_is_fetched_whole(wire, orders, events):
    wire.post(ORDERS, status=503, payload=UNAVAILABLE)
    wire.get(LOOKUP, payload=[order_json(REF, vouchers=[])])
    wire.get(f"{ORDERS}/1234", payload=order_json(REF))

    order = await orders.create(**VALID, client_reference=REF)

    assert steps(events) == ["POST 503", "GET 200", "GET 200"]
    assert len(creates(wire)) == 1
    assert order == expected_order(REF, recovered=True)


async def test_an_unreadable_voucher_field_is_warned_once_by_name_never_by_value(
    wire, orders, caplog
):
    voucher = {"card_number": CARD, "pin_code": PIN, "expires_at": {"at": PIN}}
    answer_create(wire, vouchers=[voucher])
    answer_create(wire, vouchers=[voucher])

    with caplog.at_level(logging.WARNING, logger="octopus_async"):
        await orders.create(**VALID)
        order = await orders.create(**VALID)

    assert order.vouchers[0].pin_code == PIN
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("Voucher.expires_at could not be read")
    assert CARD not in caplog.text
    assert PIN not in caplog.text


async def test_recovered_in_the_server_json_is_ignored(wire, orders):
    answer_create(wire, recovered=True)
    wire.get(f"{ORDERS}?client_reference={REF}", payload=[order_json(REF, recovered=True)])

    created = await orders.create(**VALID)
    found = await orders.find(REF)

    assert created.recovered is False
    assert found is not None
    assert found.recovered is False


async def test_a_recovery_logs_the_reference_but_never_the_codes(wire, orders, caplog):
    wire.post(ORDERS, exception=disconnect())
    answer_lookup(wire, found=True)

    with caplog.at_level(logging.DEBUG, logger="octopus_async"):
        order = await orders.create(**VALID, client_reference=REF)

    assert order.recovered is True
    assert any(REF in record.getMessage() for record in caplog.records)
    assert CARD not in caplog.text
    assert PIN not in caplog.text
