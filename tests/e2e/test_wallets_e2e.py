"""`client.wallets` against the sandbox: balances, the ledger, and pagination (D4, D5)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from octopus_async import InvalidRequestError, NotFoundError
from octopus_async.models import TransactionType, WalletType


def list_calls(sandbox):
    return [r for r in sandbox.requests if r.path == "/api/v1/transactions"]


async def fund(sandbox, count, wallet_id=1):
    for n in range(count):
        sandbox.ledger.credit(wallet_id, Decimal(n + 1), f"top-up {n + 1}")


async def test_wallets_have_exact_balances(client):
    wallets = await client.wallets.list()
    assert [(w.id, w.currency, w.balance) for w in wallets] == [
        (1, "USD", Decimal("10000.00")),
        (2, "EUR", Decimal("5000.00")),
        (3, "GBP", Decimal("2000.00")),
    ]
    assert all(w.type == WalletType.PREPAID for w in wallets)
    assert wallets[0].created_at is not None
    assert wallets[0].created_at.tzinfo == timezone.utc


async def test_get_and_by_currency(client):
    assert (await client.wallets.get(2)).currency == "EUR"
    assert await client.wallets.get(99) is None
    assert (await client.wallets.by_currency("gbp")).id == 3
    assert await client.wallets.by_currency("JPY") is None


@pytest.mark.parametrize("currency", ["", "GB", "GBPX", "£££", 826, None])
async def test_by_currency_rejects_what_is_not_a_currency_code(client, sandbox, currency):
    sent = len(sandbox.requests)
    with pytest.raises(InvalidRequestError, match="three-letter ISO 4217") as caught:
        await client.wallets.by_currency(currency)
    assert caught.value.param == "currency"
    assert len(sandbox.requests) == sent  # nothing was sent


async def test_transactions_walk_every_page_newest_first(client, sandbox):
    await fund(sandbox, 25)
    items = [t async for t in client.wallets.transactions(page_size=10)]
    assert len(items) == 28  # 3 initial credits + 25
    assert [t.id for t in items] == sorted((t.id for t in items), reverse=True)
    assert items[0].amount == Decimal("25")
    assert items[0].transaction_type == TransactionType.CREDIT
    assert [r.query for r in list_calls(sandbox)] == [
        "page=1&limit=10",
        "page=2&limit=10",
        "page=3&limit=10",
    ]


async def test_pages_expose_the_pagination_headers(client, sandbox):
    await fund(sandbox, 25)
    pages = [page async for page in client.wallets.transactions(page_size=10).pages()]
    assert [len(p.items) for p in pages] == [10, 10, 8]
    assert [(p.page, p.total_pages, p.total_count, p.has_more) for p in pages] == [
        (1, 3, 28, True),
        (2, 3, 28, True),
        (3, 3, 28, False),
    ]
    assert all(p.request_id for p in pages)


async def test_without_headers_a_short_page_ends_the_list(client, sandbox):
    sandbox.state.pagination_headers = False
    await fund(sandbox, 25)
    items = [t async for t in client.wallets.transactions(page_size=10)]
    assert len(items) == 28
    assert len(list_calls(sandbox)) == 3


async def test_without_headers_an_empty_page_ends_the_list(client, sandbox):
    sandbox.state.pagination_headers = False
    await fund(sandbox, 27)  # 30 in all: three full pages, then an empty one
    items = [t async for t in client.wallets.transactions(page_size=10)]
    assert len(items) == 30
    assert len(list_calls(sandbox)) == 4


async def test_first_page_fetches_one_page(client, sandbox):
    await fund(sandbox, 25)
    page = await client.wallets.transactions(page_size=5).first_page()
    assert len(page.items) == 5
    assert page.has_next
    assert len(list_calls(sandbox)) == 1


async def test_filter_by_wallet(client, sandbox):
    await fund(sandbox, 4, wallet_id=2)
    items = [t async for t in client.wallets.transactions(wallet_id=2)]
    assert len(items) == 5
    assert {t.wallet_id for t in items} == {2}
    assert "wallet_id=2" in list_calls(sandbox)[0].query


async def test_transaction_by_id(client, sandbox):
    record = sandbox.ledger.debit(1, Decimal("50.00"), "Order #12345")
    transaction = await client.wallets.transaction(record.id)
    assert transaction.amount == Decimal("50.00")
    assert transaction.signed_amount == Decimal("-50.00")
    assert transaction.order_id == 12345
    assert transaction.remarks == "USD Wallet debited by amount 50.00 - Order #12345"
    assert isinstance(transaction.created_at, datetime)


async def test_unknown_transaction_is_not_found(client, sandbox):
    with pytest.raises(NotFoundError) as raised:
        await client.wallets.transaction(999_999)
    assert raised.value.code == "NOT_FOUND"
    assert raised.value.request_id == sandbox.requests[-1].request_id


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda c: c.wallets.transactions(wallet_id=0), "wallet_id"),
        (lambda c: c.wallets.transactions(page_size=10_001), "page_size"),
        (lambda c: c.wallets.transactions(page_size=0), "page_size"),
    ],
)
async def test_bad_list_arguments_fail_before_sending(client, sandbox, call, param):
    with pytest.raises(InvalidRequestError) as raised:
        call(client)
    assert raised.value.param == param
    assert sandbox.requests == []


async def test_bad_transaction_id_fails_before_sending(client, sandbox):
    with pytest.raises(InvalidRequestError):
        await client.wallets.transaction(0)
    assert sandbox.requests == []


async def test_ledger_sums_to_the_balance(client, sandbox):
    sandbox.ledger.debit(1, Decimal("123.45"), "Order #1")
    sandbox.ledger.credit(1, Decimal("23.45"), "Refund of order #1")
    wallet = await client.wallets.get(1)
    entries = [t async for t in client.wallets.transactions(wallet_id=1)]
    assert sum(t.signed_amount for t in entries) == wallet.balance == Decimal("9900.00")
