"""Whatever a server writes, only typed errors, and no paid order is lost or mislabelled.

The sandbox rewrites its answers (`Fault.reshape`) or answers with error bodies of any
bytes: nesting deeper than a parser follows, numbers no Python number holds, timestamps at
the edges of `datetime`, invalid UTF-8, huge strings. Every public call must raise an
`OctopusError` (or read what it can), a committed create must be recovered or name its
reference, lookups that fail after a lost answer must say "maybe created", error bodies from
secret-bearing endpoints must be withheld, and a list that ignores `page` must end.
"""

from __future__ import annotations

import json
import logging
import pickle
from decimal import Decimal

import pytest

from octopus_async import (
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    InvalidRequestError,
    OctopusError,
    OrderOutcomeUnknownError,
    PollPolicy,
    RateLimitError,
    RetryPolicy,
)
from octopus_async._transport.wire import MAX_RETRY_AFTER
from octopus_async.sandbox import Fault

ORDERS = "/api/v1/orders"
DEEP = b"[" * 100_000
HOSTILE_BODIES = {
    "deeply-nested": DEEP,
    "deeply-nested-object": b'{"a":' * 100_000,
    "invalid-utf8": b'\xff\xfe{"id": 1}',
    "huge-exponent": b'{"id": 1e999999999999999999999, "status": "PENDING"}',
    "huge-integer": b'{"id": ' + b"9" * 5000 + b', "status": "PENDING"}',
    "nan": b'{"id": NaN, "status": "PENDING"}',
    "truncated": b'{"id": 1234, "status": "DELIV',
}


def answered_with(body: bytes):
    return Fault.reshape(lambda _: body)


def error_with(status: int, body: bytes) -> Fault:
    return Fault("error", status, body)


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
async def test_a_hostile_2xx_body_is_an_unreadable_answer(sandbox, client, body):
    sandbox.faults.add(answered_with(body), method="GET", path="/api/v1/wallets")

    with pytest.raises(APIResponseValidationError) as caught:
        await client.wallets.list()

    assert caught.value.status == 200
    assert caught.value.request_id


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
@pytest.mark.parametrize("status", [400, 404, 500])
async def test_a_hostile_error_body_still_maps_by_status(sandbox, make_client, status, body):
    client = make_client(sandbox, retry=RetryPolicy(max_retries=0))
    sandbox.faults.add(error_with(status, body), method="GET", path="/api/v1/wallets")

    with pytest.raises(APIStatusError) as caught:
        await client.wallets.list()

    assert caught.value.status == status
    assert caught.value.message is None  # no documented error body in there


@pytest.mark.parametrize(
    ("field", "value", "read_as"),
    [
        ("created_at", "9999-12-31T23:59:59-23:59", None),
        ("created_at", "0001-01-01T00:00:00+01:00", None),
        ("amount", Decimal("1e999999"), None),
        ("product_name", "x" * 5_000_000, "x" * 5_000_000),
    ],
    ids=["time-past-the-largest", "time-before-the-smallest", "absurd-amount", "huge-string"],
)
async def test_values_at_the_edges_cost_their_field_not_the_order(
    sandbox, client, field, value, read_as
):
    order = await client.topups.orders.create(4218, "0.99", input_data={"player_id": "5123456789"})
    sandbox.faults.add(
        Fault.reshape(lambda document: {**document, field: value}),
        method="GET",
        path=f"/api/v1/topups/orders/{order.id}",
    )

    fetched = await client.topups.orders.get(order.id)

    assert (fetched.id, fetched.status) == (order.id, order.status)
    assert getattr(fetched, field) == read_as


async def test_an_absurd_retry_after_is_finite_and_capped(sandbox, make_client):
    client = make_client(sandbox, retry=RetryPolicy(max_retries=0))
    message = "Rate limit exceeded. Retry after " + "9" * 400 + " seconds."
    sandbox.faults.add(Fault.error(429, message=message), path="/api/v1/wallets")

    with pytest.raises(RateLimitError) as caught:
        await client.wallets.list()

    assert caught.value.retry_after == MAX_RETRY_AFTER


# --- a committed create whose answer cannot be read -------------------------------------------


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
async def test_a_committed_create_with_a_hostile_answer_is_recovered(sandbox, client, body):
    sandbox.faults.add(answered_with(body), method="POST", path=ORDERS, times=1)

    order = await client.vouchers.orders.create(123, "10.00", 2, client_reference="hostile-1")

    [held] = sandbox.state.vouchers.orders.by_id.values()
    assert (order.id, order.recovered, len(order.vouchers)) == (held.id, True, 2)


async def test_a_committed_create_unreadable_everywhere_names_its_reference(sandbox, client):
    sandbox.faults.add(answered_with(DEEP), method="POST", path=ORDERS, times=1)
    sandbox.faults.add(answered_with(DEEP), method="GET", path=ORDERS)  # every lookup too

    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await client.vouchers.orders.create(123, "10.00", 2, client_reference="hostile-2")

    assert caught.value.client_reference == "hostile-2"
    assert isinstance(caught.value.__cause__, APIResponseValidationError)
    assert len(sandbox.state.vouchers.orders) == 1  # created once, never sent again


# --- "maybe created" is never dressed up as "refused" -----------------------------------------


async def test_lookups_refused_after_a_lost_answer_are_an_unknown_outcome(sandbox, client):
    sandbox.faults.add(Fault.drop(), method="POST", path=ORDERS, phase="after", times=1)
    sandbox.faults.add(Fault.error(429, retry_after="0"), method="GET", path=ORDERS)

    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await client.vouchers.orders.create(123, "10.00", 2, client_reference="maybe-1")

    error = caught.value
    assert not isinstance(error, RateLimitError)  # "refused, retry later" would buy twice
    assert isinstance(error.__cause__, RateLimitError)
    assert "maybe-1" in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.client_reference, str(copy)) == ("maybe-1", str(error))
    # The order was created and paid: once the lookups work, it is there.
    sandbox.faults.clear()
    found = await client.vouchers.orders.find("maybe-1")
    [held] = sandbox.state.vouchers.orders.by_id.values()
    assert found.id == held.id


async def test_submit_finds_its_order_through_an_unknown_outcome(sandbox, make_client):
    # Checks every few milliseconds, so the deadline is far beyond the first lookup again.
    client = make_client(sandbox, poll=PollPolicy().scaled(0.001))
    sandbox.faults.add(Fault.drop(), method="POST", path=ORDERS, phase="after", times=1)
    # The create's own lookups (1 + 4 transport retries) fail; later polls get through.
    sandbox.faults.add(Fault.error(429, retry_after="0"), method="GET", path=ORDERS, times=5)

    order = await client.vouchers.orders.create_and_wait(
        123, "10.00", 2, client_reference="maybe-2", timeout=30
    )

    [held] = sandbox.state.vouchers.orders.by_id.values()
    assert (order.id, order.status, len(order.vouchers)) == (held.id, "DELIVERED", 2)


async def test_submit_places_an_order_its_lost_create_never_made(sandbox, make_client):
    # The create failed with a 503 before the server made anything, and every lookup that
    # followed was refused: "maybe created". Once a lookup shows no order, the create goes
    # again under the same reference, and the order is placed, once.
    client = make_client(sandbox, poll=PollPolicy().scaled(0.001))
    sandbox.faults.add(Fault.error(503), method="POST", path=ORDERS, times=1)
    sandbox.faults.add(Fault.error(429, retry_after="0"), method="GET", path=ORDERS, times=5)

    order = await client.vouchers.orders.create_and_wait(
        123, "10.00", 2, client_reference="maybe-3", timeout=30
    )

    [held] = sandbox.state.vouchers.orders.by_id.values()
    assert (order.id, order.client_reference, order.status) == (held.id, "maybe-3", "DELIVERED")
    creates = [r for r in sandbox.requests if r.method == "POST" and r.path == ORDERS]
    assert [r.status for r in creates] == [503, 201]


# --- error bodies of endpoints that carry secrets ---------------------------------------------


async def test_a_login_error_echoing_the_request_keeps_no_secret(sandbox, make_client):
    client = make_client(sandbox, retry=RetryPolicy(max_retries=0))
    secret = sandbox.api_secret
    echo = {
        "error": {"name": "UnauthorizedError", "code": "UNAUTHORIZED", "message": f"bad {secret}"},
        "request": {"username": sandbox.api_key, "password": secret},
    }
    sandbox.faults.add(error_with(401, json.dumps(echo).encode()), path="/auth/login")

    with pytest.raises(AuthenticationError) as caught:
        await client.wallets.list()

    error = caught.value
    for text in (error.body, error.message, str(error), repr(error)):
        assert secret not in text
    assert "withheld" in error.body
    assert secret.encode() not in pickle.dumps(error)


async def test_an_order_error_echoing_codes_withholds_its_body(sandbox, make_client):
    client = make_client(sandbox, retry=RetryPolicy(max_retries=0))
    order = await client.vouchers.orders.create(123, "10.00", 1)
    code = order.vouchers[0].card_number
    echo = {"error": {"code": "BAD_REQUEST", "message": "no"}, "order": {"card_number": code}}
    sandbox.faults.add(error_with(400, json.dumps(echo).encode()), path=f"{ORDERS}/{order.id}")

    with pytest.raises(APIStatusError) as caught:
        await client.vouchers.orders.get(order.id)

    assert code not in caught.value.body
    assert code.encode() not in pickle.dumps(caught.value)


# --- lists that never end, tokens that are not tokens -----------------------------------------


async def test_a_list_that_ignores_the_page_number_ends(make_sandbox, make_client, caplog):
    sandbox = await make_sandbox(pagination_headers=False)
    client = make_client(sandbox)
    for _ in range(3):
        await client.vouchers.orders.create(123, "10.00", 1)
    first_page: list[object] = []

    def the_first_page_again(document: object) -> object:
        if not first_page:
            first_page.append(document)
        return first_page[0]

    sandbox.faults.add(
        Fault.reshape(the_first_page_again), method="GET", path="/api/v1/transactions"
    )

    with caplog.at_level(logging.WARNING, logger="octopus_async"):
        walked = [t async for t in client.wallets.transactions(page_size=2)]

    assert len(walked) == len({t.id for t in walked}) == 2  # never the same item twice
    assert sandbox.state.count("GET", "/api/v1/transactions") == 2  # the repeat ends it
    assert "brought no item not seen earlier" in caplog.text


@pytest.mark.parametrize(
    "token",
    [
        "[" * 100_000,
        '{"v": 1e999999999999999999999}',
        '{"v":1,"vertical":"topups","order_id":1,"client_reference":null,"created_at":null,'
        '"deadline":"9999-12-31T23:59:59-23:59"}',
        "\udcff",
        "x" * 1_000_000,
    ],
    ids=["deeply-nested", "huge-number", "deadline-past-datetime", "lone-surrogate", "huge"],
)
async def test_resuming_a_hostile_token_is_an_invalid_request(client, token):
    with pytest.raises(InvalidRequestError) as caught:
        client.resume(token)
    assert caught.value.param == "token"
    assert isinstance(caught.value, OctopusError)
