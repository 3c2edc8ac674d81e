"""The fastest server that still speaks the API: fixed answers, no middleware.

`python -m benchmarks._minimal_server` prints its URL and serves until terminated. Against it,
the client, not the server, is the bottleneck, so client overheads show up undiluted.
"""

from __future__ import annotations

import asyncio
import json
import signal

from aiohttp import web

TRANSACTION = json.dumps(
    {
        "id": 1001,
        "wallet_id": 1,
        "currency_id": 1,
        "amount": 50.00,
        "transaction_type": "DEBIT",
        "status": "COMPLETED",
        "source_currency": None,
        "destination_currency": None,
        "forex_rate": None,
        "conversion_charges": None,
        "remarks": "USD Wallet debited by amount 50.00 - Order #12345",
        "created_at": "2025-01-15T14:30:00Z",
    }
).encode()
# GET /api/v1/wallets as the sandbox answers it: the docs do not show the shape (OQ-30), so
# these are the fields the SDK's Wallet model reads, one wallet per currency.
WALLETS = json.dumps(
    [
        {
            "id": number,
            "currency_id": number,
            "currency": currency,
            "balance": balance,
            "type": "PREPAID",
            "created_at": "2025-01-02T09:00:00Z",
            "updated_at": "2025-01-15T14:30:00Z",
        }
        for number, currency, balance in (
            (1, "USD", 9950.0),
            (2, "EUR", 5000.0),
            (3, "GBP", 2000.0),
        )
    ]
).encode()
LOGIN = json.dumps(
    {
        "success": True,
        "data": {
            "access_token": "benchmark-access-token",
            "refresh_token": "benchmark-refresh-token",
            "access_expires_at": "2999-01-01T00:00:00Z",
            "refresh_expires_at": "2999-01-08T00:00:00Z",
            "client_id": 42,
        },
    }
).encode()


async def login(request: web.Request) -> web.Response:
    return web.Response(body=LOGIN, content_type="application/json")


async def transaction(request: web.Request) -> web.Response:
    return answer(request, TRANSACTION)


async def wallets(request: web.Request) -> web.Response:
    return answer(request, WALLETS)


def answer(request: web.Request, body: bytes) -> web.Response:
    return web.Response(
        body=body,
        content_type="application/json",
        headers={"X-Request-Id": request.headers.get("X-Request-Id", "-")},
    )


async def main() -> None:
    app = web.Application()
    app.router.add_post("/auth/login", login)
    app.router.add_get("/api/v1/transactions/{id}", transaction)
    app.router.add_get("/api/v1/wallets", wallets)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    print(f"minimal server at http://{host}:{port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
