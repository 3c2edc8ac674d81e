"""Batch ordering (`client.batch`) against the sandbox: results, quota, streaming, journal."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections import Counter
from decimal import Decimal

import pytest

from octopus_async import (
    AuthenticationError,
    DuplicateClientReferenceError,
    InvalidRequestError,
    OctopusClient,
    OrderOutcomeUnknownError,
    PollPolicy,
    RateLimits,
)
from octopus_async.batch import (
    EsimOrderRequest,
    InputError,
    InputRow,
    Journal,
    JournaledError,
    JournalError,
    TopupOrderRequest,
    VoucherOrderRequest,
)
from octopus_async.sandbox import Fault

SCALE = 0.01  # a simulated minute lasts 0.6 s
POLL = PollPolicy().scaled(SCALE)
PLAYER = {"player_id": "5123456789"}
UNKNOWN_PLAYER = {"player_id": "0000000000"}  # the sandbox fails these, user-fixable
VOUCHER_ORDERS = "/api/v1/orders"

# The journal writes on a thread; the loop waits for it at close with a timeout that virtual
# time would run out at once: the tests with a journal run on the wall clock.
JOURNAL = pytest.mark.real_time


@pytest.fixture
async def sandbox(make_sandbox):
    return await make_sandbox(
        time_scale=SCALE,
        topup_slow_share=0.0,
        topup_get_only_share=0.0,
        esim_slow_share=0.0,
        voucher_fulfilment_delay=(5.0, 20.0),
    )


@pytest.fixture
def client(sandbox, make_client):
    return make_client(sandbox, poll=POLL)


def orders_on(sandbox):
    """Every order the sandbox holds, per client_reference."""
    state = sandbox.state
    return Counter(
        order.client_reference
        for desk in (state.vouchers, state.topups, state.esim)
        for order in desk.orders.by_id.values()
    )


def creates(sandbox):
    return sum(1 for r in sandbox.requests if r.method == "POST" and "orders" in r.path)


async def collect(run):
    async with run:
        return {result.row: result async for result in run}


async def test_every_row_settles_with_its_own_order(sandbox, client):
    requests = [
        VoucherOrderRequest(123, "10.00", 1),  # delivered in the create's answer
        VoucherOrderRequest(123, "10.00", 8),  # fulfilled in the background
        TopupOrderRequest(4218, "4.99", PLAYER),
        TopupOrderRequest(4218, "4.99", UNKNOWN_PLAYER, client_reference="typo-1"),
        EsimOrderRequest(712, "4.50"),
        VoucherOrderRequest(123, "10.00", 0),  # refused before sending
    ]
    run = client.batch(requests)
    results = await collect(run)

    assert {row: r.status for row, r in results.items()} == {
        1: "delivered",
        2: "delivered",
        3: "delivered",
        4: "failed",
        5: "delivered",
        6: "invalid",
    }
    assert [len(results[row].order.vouchers) for row in (1, 2)] == [1, 8]
    assert results[4].client_reference == "typo-1"
    assert results[4].error.is_user_fixable is True
    assert results[4].order.status == "FAILED"
    assert results[6].error.param == "quantity"
    assert results[6].order is None
    assert isinstance(results[6].error, InvalidRequestError)
    # One order per row that was sent, each under the reference its result names.
    sent = [r.client_reference for row, r in results.items() if row != 6]
    assert orders_on(sandbox) == Counter(sent)
    assert len(set(sent)) == 5
    assert run.summary.counts == {"delivered": 4, "failed": 1, "pending": 0, "invalid": 1}
    assert run.summary.created == 5
    # 9 vouchers at 10.00 less 3.5 % off, a 4.99 topup at 5 % off, a 4.50 eSIM at 5 % off.
    assert run.summary.spent == {"USD": Decimal("86.85") + Decimal("4.7405") + Decimal("4.275")}


async def test_arguments_are_checked_before_anything_is_sent(sandbox, client):
    for settings in ({"concurrency": 0}, {"max_pending": 1, "concurrency": 2}, {"timeout": 0}):
        with pytest.raises(InvalidRequestError):
            client.batch([VoucherOrderRequest(123, "10.00", 1)], **settings)
    assert creates(sandbox) == 0


async def test_no_wait_reports_pending_orders_with_resume_tokens(sandbox, client):
    run = client.batch([TopupOrderRequest(4218, "4.99", PLAYER)] * 3, wait=False)
    results = await collect(run)

    assert {r.status for r in results.values()} == {"pending"}
    for result in results.values():
        assert result.order.status == "PENDING"
        settled = await client.resume(result.resume_token)
        assert settled.status == "DELIVERED"
        assert settled.id == result.order.id


async def test_a_wait_that_runs_out_leaves_the_row_pending_and_resumable(sandbox, client):
    run = client.batch([VoucherOrderRequest(123, "10.00", 8)], timeout=1 * SCALE)
    (result,) = (await collect(run)).values()

    assert result.status == "pending"
    assert result.order.status == "PENDING"
    assert (await client.resume(result.resume_token, timeout=60)).status == "DELIVERED"


async def test_creates_use_the_production_quota_without_a_429(make_sandbox, make_client):
    quotas = RateLimits.production()
    sandbox = await make_sandbox(rate_limits=quotas)
    client = make_client(sandbox, rate_limits=quotas)
    run = client.batch(VoucherOrderRequest(123, "10.00", 1) for _ in range(240))
    results = await collect(run)

    assert Counter(r.status for r in results.values()) == {"delivered": 240}
    assert not [r for r in sandbox.requests if r.status == 429]
    posts = sorted(
        r.received_at for r in sandbox.requests if r.method == "POST" and r.path == VOUCHER_ORDERS
    )
    # Past the first minute's burst, creates go out at the quota's pace: 60 a minute.
    steady = posts[60:]
    per_minute = (len(steady) - 1) / (steady[-1] - steady[0]) * 60
    assert 0.95 * 60 <= per_minute <= 60.5


async def test_input_is_read_as_the_batch_goes(sandbox, client):
    read = 0
    received = 0
    ahead = []

    def rows():
        nonlocal read
        for _ in range(2_000):
            read += 1
            ahead.append(read - received)
            yield VoucherOrderRequest(123, "10.00", 1)

    async with client.batch(rows(), concurrency=8, max_pending=40) as run:
        async for _ in run:
            received += 1

    assert received == 2_000
    # Rows in hand: the pending ones, the read-ahead of one journal lookup, the buffer.
    assert max(ahead) <= 40 + 256 + 8 + 1


async def test_a_create_whose_outcome_is_unknown_is_pending_not_failed(sandbox, client):
    # Every answer to a create is lost and every lookup fails too: the order may exist.
    sandbox.faults.add(Fault.drop(), phase="after", method="POST", path=VOUCHER_ORDERS)
    sandbox.faults.add(Fault.error(503), method="GET", path=VOUCHER_ORDERS)
    run = client.with_options(max_retries=0).batch([VoucherOrderRequest(123, "10.00", 1)])
    (result,) = (await collect(run)).values()

    assert result.status == "pending"
    assert isinstance(result.error, OrderOutcomeUnknownError)
    assert result.resume_token is None
    assert result.client_reference in orders_on(sandbox)


# --- with a journal ------------------------------------------------------------------------


@JOURNAL
async def test_a_rerun_skips_settled_rows_and_sends_nothing(sandbox, client, tmp_path):
    journal = tmp_path / "batch.db"
    requests = [VoucherOrderRequest(123, "10.00", 1 + n % 8) for n in range(40)]
    requests.append(TopupOrderRequest(4218, "4.99", UNKNOWN_PLAYER))
    requests.append(VoucherOrderRequest(123, "10.00", -1))
    first = await collect(client.batch(requests, journal=journal))
    sent = creates(sandbox)

    rerun = client.batch(requests, journal=journal)
    again = await collect(rerun)

    assert creates(sandbox) == sent == 41
    assert {row: (r.status, r.client_reference) for row, r in again.items()} == {
        row: (r.status, r.client_reference) for row, r in first.items()
    }
    assert all(r.from_journal for r in again.values())
    assert again[1].order.id == first[1].order.id
    assert again[1].order.vouchers == first[1].order.vouchers  # the codes were kept
    assert again[41].error.kind == "OrderFailedError"
    assert again[42].error.param == "quantity"
    assert rerun.summary.counts == {"delivered": 40, "failed": 1, "pending": 0, "invalid": 1}
    assert rerun.summary.created == 0
    assert stat.S_IMODE(os.stat(journal).st_mode) == 0o600  # it holds voucher codes


@JOURNAL
async def test_a_stopped_batch_resumes_and_creates_nothing_twice(sandbox, client, tmp_path):
    journal = tmp_path / "batch.db"
    requests = [VoucherOrderRequest(123, "10.00", 1 + n % 8) for n in range(60)]
    # Creates take effect at once but their answers come late: when the batch stops, some
    # orders exist that the journal knows only as "creating".
    sandbox.faults.add(Fault.delay(0.2), phase="after", method="POST", path=VOUCHER_ORDERS)
    run = client.batch(requests, journal=journal, concurrency=16)
    read = 0
    async with run:
        async for _ in run:
            read += 1
            if read == 10:
                break
    in_flight = orders_on(sandbox)
    assert len(in_flight) > 10  # orders the stopped batch never heard back about

    sandbox.faults.clear()
    rerun = client.batch(requests, journal=journal, concurrency=16)
    results = await collect(rerun)

    assert Counter(r.status for r in results.values()) == {"delivered": 60}
    assert orders_on(sandbox) == Counter(r.client_reference for r in results.values())
    assert max(orders_on(sandbox).values()) == 1
    recovered = [r for r in results.values() if r.client_reference in in_flight]
    assert sum(r.from_journal for r in results.values()) == run.summary.total >= 10
    assert len(recovered) == len(in_flight)
    assert rerun.summary.created == 60 - len(in_flight)
    assert run.run_id == rerun.run_id
    assert all(r.client_reference == f"{run.run_id}-{r.row}" for r in results.values())


@JOURNAL
async def test_a_journal_refuses_another_input(sandbox, client, tmp_path):
    journal = tmp_path / "batch.db"
    await collect(
        client.batch([VoucherOrderRequest(123, "10.00", 1)], journal=journal, input_id="a")
    )

    with pytest.raises(JournalError) as other_file:
        await collect(client.batch([], journal=journal, input_id="b"))
    assert other_file.value.mismatch

    # The same row number with other fields would map to the first row's order.
    with pytest.raises(JournalError) as other_row:
        await collect(client.batch([VoucherOrderRequest(123, "25.00", 1)], journal=journal))
    assert other_row.value.mismatch
    assert creates(sandbox) == 1


@JOURNAL
async def test_a_journal_that_is_not_one_is_refused(sandbox, client, tmp_path):
    journal = tmp_path / "notes.db"
    journal.write_text("shopping list\n")
    with pytest.raises(JournalError):
        await collect(client.batch([VoucherOrderRequest(123, "10.00", 1)], journal=journal))
    assert creates(sandbox) == 0


async def test_rows_read_from_a_file_keep_their_numbers(sandbox, client):
    rows = [
        InputRow(2, VoucherOrderRequest(123, "10.00", 1)),
        InputRow(5, error=InvalidRequestError("unknown column 'colour'", param="colour")),
    ]
    results = await collect(client.batch(rows))

    assert results[2].status == "delivered"
    assert results[5].status == "invalid"
    assert results[5].error.param == "colour"
    assert creates(sandbox) == 1


async def test_an_input_that_breaks_stops_the_batch_with_its_error(sandbox, client):
    def rows():
        yield VoucherOrderRequest(123, "10.00", 1)
        raise InputError("batch.csv is not UTF-8 text")

    run = client.batch(rows())
    with pytest.raises(InputError, match="not UTF-8"):
        await collect(run)


@JOURNAL
async def test_rows_a_power_cut_took_from_the_journal_find_their_orders(sandbox, client, tmp_path):
    journal = tmp_path / "batch.db"
    requests = [VoucherOrderRequest(123, "10.00", 1) for _ in range(4)]
    requests.append(VoucherOrderRequest(123, "10.00", 1, client_reference="own-5"))
    first = await collect(client.batch(requests, journal=journal))
    # The last commits never reached the disk: the journal knows nothing of rows 3 to 5.
    with sqlite3.connect(journal) as connection:
        connection.execute("DELETE FROM rows WHERE row >= 3")
    connection.close()

    again = await collect(client.batch(requests, journal=journal))

    assert orders_on(sandbox) == Counter(r.client_reference for r in first.values())
    for row in (3, 4):  # references the batch made: the orders are these rows'
        assert again[row].status == "delivered"
        assert again[row].order.id == first[row].order.id
    # A reference the row brought may be another's: reported, with the order it names.
    assert again[5].status == "failed"
    assert isinstance(again[5].error, DuplicateClientReferenceError)
    assert again[5].error.order.id == first[5].order.id


@JOURNAL
async def test_a_rerun_resumes_pending_waits_without_creating(sandbox, client, tmp_path):
    journal = tmp_path / "batch.db"
    requests = [VoucherOrderRequest(123, "10.00", 8) for _ in range(5)]
    first = await collect(client.batch(requests, journal=journal, timeout=1 * SCALE))
    assert {r.status for r in first.values()} == {"pending"}

    unchecked = await collect(client.batch(requests, journal=journal, wait=False))
    rerun = client.batch(requests, journal=journal)
    again = await collect(rerun)

    assert creates(sandbox) == 5
    assert {r.status for r in unchecked.values()} <= {"pending", "delivered"}
    assert {r.status for r in again.values()} == {"delivered"}
    assert {row: r.order.id for row, r in again.items()} == {
        row: r.order.id for row, r in first.items()
    }
    assert all(len(r.order.vouchers) == 8 for r in again.values())
    assert rerun.summary.created == 0


@JOURNAL
async def test_a_stopped_batch_leaves_no_wait_behind(sandbox, client, tmp_path, monkeypatch):
    # A disk so slow that no "created" record lands: the batch stops with every row between
    # its create and its wait.
    write = Journal.write
    stuck = []
    all_stuck = asyncio.Event()

    async def slow_disk(journal, state):
        if state.step != "created":
            await write(journal, state)
            return
        stuck.append(state.row)
        if len(stuck) == 5:
            all_stuck.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(Journal, "write", slow_disk)
    requests = [TopupOrderRequest(4218, "4.99", PLAYER) for _ in range(5)]
    run = client.batch(requests, journal=tmp_path / "batch.db")
    consumer = asyncio.create_task(collect(run))
    await all_stuck.wait()
    await run.aclose()
    await consumer

    assert client.scheduler.pending == 0  # no wait goes on without the batch
    assert len(orders_on(sandbox)) == 5


async def test_refused_credentials_stop_the_batch_with_one_error(sandbox):
    async with OctopusClient(sandbox.api_key, "not-the-secret", base_url=sandbox.url) as client:
        run = client.batch([VoucherOrderRequest(123, "10.00", 1)] * 50)
        with pytest.raises(AuthenticationError):
            await collect(run)
    assert run.summary.total == 0  # not 50 failed rows
    assert creates(sandbox) == 0


@JOURNAL
async def test_a_create_refused_by_a_429_is_tried_again_by_the_rerun(sandbox, client, tmp_path):
    journal = tmp_path / "batch.db"
    requests = [VoucherOrderRequest(123, "10.00", 1) for _ in range(6)]
    # Two creates meet a 429 storm that outlasts the retries; an unknown product is refused.
    sandbox.faults.add(
        Fault.error(429, retry_after="0"), method="POST", path=VOUCHER_ORDERS, times=2
    )
    requests.append(VoucherOrderRequest(99999, "10.00", 1))
    first = await collect(client.with_options(max_retries=0).batch(requests, journal=journal))
    assert Counter(r.status for r in first.values()) == {"delivered": 4, "failed": 3}

    rerun = client.batch(requests, journal=journal)
    again = await collect(rerun)

    assert Counter(r.status for r in again.values()) == {"delivered": 6, "failed": 1}
    assert rerun.summary.created == 2  # the two 429s, sent again; the refusal is settled
    assert again[7].from_journal
    assert isinstance(again[7].error, JournaledError)
    assert again[7].error.kind == "BadRequestError"
    assert orders_on(sandbox) == Counter(r.client_reference for r in again.values() if r.row != 7)
