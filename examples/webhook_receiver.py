"""Receive signed webhooks that settle waiters at once, and verify a delivery by hand.

python examples/webhook_receiver.py
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from octopus_async import OctopusClient, WebhookVerificationError
from octopus_async.models import OrderEvent, WebhookEvent
from octopus_async.sandbox import Sandbox, SandboxConfig
from octopus_async.webhooks import SQLiteEventStore, sign, verify_webhook

SECRET = "whsec_example"


async def on_event(event: WebhookEvent) -> None:
    # Runs after the 200 went back to the sender: slow work here causes no retries.
    if isinstance(event, OrderEvent):
        print(f"  event {event.type}: order {event.data.id} ({event.data.client_reference})")


async def main() -> None:
    store = SQLiteEventStore(":memory:")  # a file path catches duplicates across restarts
    async with (
        Sandbox(SandboxConfig(time_scale=0.01)) as sandbox,
        OctopusClient(**sandbox.client_settings()) as client,
    ):
        receiver = client.webhooks.handler(secret=SECRET, on_event=on_event, store=store)
        app = web.Application()
        app.router.add_post("/webhooks", receiver)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks"
        sandbox.webhooks.register(url, SECRET, events={"order.delivered"})

        # The default poll cadence would look after 5 s; the webhook is there in milliseconds.
        order = await client.vouchers.orders.create_and_wait(123, "10.00", 10, timeout=30)
        print(f"order {order.id}: {order.status}, {len(order.vouchers)} vouchers")
        print(f"settled after a webhook: {client.scheduler.stats.settled_after_webhook}")

        print(f"receiver: {receiver.stats}")
        await receiver.aclose()
        await runner.cleanup()
    store.close()

    # In another web framework, verify the raw body bytes and the headers yourself.
    body = json.dumps(
        {
            "id": "evt_abc123",
            "type": "order.delivered",
            "created_at": "2025-01-15T14:30:00Z",
            "data": {"id": 12345, "reference_code": "MY_ORDER_001", "status": "DELIVERED"},
        }
    ).encode()
    headers = {
        "X-Signature": sign(body, SECRET),
        "X-Timestamp": str(int(time.time())),
        "X-Event-ID": "evt_abc123",
    }
    event = verify_webhook(body, headers, [SECRET, "whsec_previous"])  # rotation: both accepted
    print(f"verified by hand: {event.type} for order {event.data.id}")
    try:
        verify_webhook(body + b" ", headers, SECRET)
    except WebhookVerificationError as error:
        print(f"a body changed by one byte: {error.reason} (HTTP {error.http_status})")


if __name__ == "__main__":
    asyncio.run(main())
