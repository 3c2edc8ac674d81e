"""Wallets and transactions (API.md 7)."""

from __future__ import annotations

from aiohttp import web

from .._http import ApiError, Route, json_response, paginated, query_int
from ..ledger import TransactionRecord
from ..state import state_of

__all__ = ["ROUTES"]


async def list_wallets(request: web.Request) -> web.Response:
    ledger = state_of(request).ledger
    return json_response([wallet.as_json() for wallet in ledger.wallets.values()])


async def list_transactions(request: web.Request) -> web.Response:
    state = state_of(request)
    wallet_id = None
    if "wallet_id" in request.query:
        wallet_id = query_int(request, "wallet_id", 0, 1, 2_147_483_647)
    return paginated(
        request,
        list(state.ledger.newest_first(wallet_id)),
        TransactionRecord.as_json,
        size_param="limit",
        default_size=50,
        max_size=10_000,
        with_headers=state.pagination_headers,
    )


async def get_transaction(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    record = state_of(request).ledger.transactions.get(int(raw)) if raw.isdigit() else None
    if record is None:
        raise ApiError(404, "Transaction not found")
    return json_response(record.as_json())


ROUTES = [
    Route("GET", "/api/v1/wallets", list_wallets, "read"),
    Route("GET", "/api/v1/transactions", list_transactions, "read"),
    Route("GET", "/api/v1/transactions/{id}", get_transaction, "read"),
]
