"""`octopus-async demo`: the SDK against an embedded sandbox, step by step."""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections import Counter
from decimal import Decimal

from aiohttp import web
from rich.console import Console
from rich.text import Text

from ..client import OctopusClient
from ..config import PollPolicy, Timeouts
from ..models.esim import EsimOrder
from ..models.vouchers import VoucherOrder
from ..models.webhooks import OrderEvent, WebhookEvent
from ..sandbox import Sandbox, SandboxConfig
from .console import (
    Money,
    Subparsers,
    amount_column,
    follow,
    make_console,
    positive_float,
    run_until_interrupted,
    table,
    voucher_table,
    wallet_table,
)

__all__ = ["register"]

STEPS = (
    ("Account", "log in, then list the wallets and the latest ledger entries"),
    ("Reference data", "currencies, countries and categories, one request each, then cached"),
    ("Vouchers", "2 vouchers delivered in the create's answer, 10 fulfilled in the background"),
    ("Topups", "a gaming topup, followed by the order waiter until it settles"),
    ("eSIM", "an eSIM the server holds until delivered, then installed on a simulated device"),
    ("Webhooks", "six voucher orders, three with signed webhooks on and three with them off"),
)


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the SDK against an embedded sandbox (no credentials needed)",
        description="Log in, read the account and reference data, and order vouchers, a "
        "topup and an eSIM from a sandbox started for the run; then compare orders settled "
        "by webhook with orders settled by polling. Codes and PINs are never shown.",
    )
    parser.add_argument(
        "--time-scale",
        type=positive_float,
        default=0.02,
        help="real seconds per simulated second (0.02: a simulated minute lasts 1.2 s)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    run_until_interrupted(demo(args.time_scale, make_console()))
    return 0


async def demo(time_scale: float, console: Console) -> None:
    """Run every step of the demo against a sandbox of its own, then sum it up."""
    started = time.monotonic()
    # The sandbox draws each delay from a range; its defaults run up to 15 simulated minutes
    # (18 s at the demo's time scale). Narrow ranges keep every step visible (each order is
    # PENDING for a while) and the whole demo to a few seconds, run after run.
    config = SandboxConfig(
        time_scale=time_scale,
        voucher_fulfilment_delay=(10.0, 20.0),
        topup_settle_delay=(5.0, 10.0),
        topup_slow_share=0.0,
        esim_fulfilment_delay=(5.0, 15.0),
        esim_slow_share=0.0,
        esim_install_delay=(20.0, 30.0),
    )
    async with Sandbox(config) as sandbox:
        console.print(
            Text.assemble(
                ("octopus-async demo", "bold"),
                f": the SDK against a sandbox at {sandbox.url} (time scale {time_scale}). Steps:",
            )
        )
        for number, (title, what) in enumerate(STEPS, 1):
            console.print(f"  {number}. {title}: {what}")
        # The client's poll cadence runs on the sandbox's clock, like everything else.
        poll = PollPolicy().scaled(time_scale)
        timeouts = Timeouts(esim_create_read=75 * time_scale)
        async with OctopusClient(
            **sandbox.client_settings(), poll=poll, timeouts=timeouts
        ) as client:
            _step(console, 0)
            money = await _account(console, client)
            _step(console, 1)
            await _reference_data(console, client)
            _step(console, 2)
            await _vouchers(console, client, money)
            _step(console, 3)
            await _topups(console, client, money)
            _step(console, 4)
            await _esim(console, client, money)
            _step(console, 5)
            await _webhooks(console, client, sandbox)
            polls = client.scheduler.stats.requests
        _summary(console, sandbox, polls, time.monotonic() - started)


def _step(console: Console, index: int) -> None:
    console.print()
    console.rule(f"{index + 1}. {STEPS[index][0]}", align="left")


async def _account(console: Console, client: OctopusClient) -> Money:
    """Log in, show the wallets and the latest transactions; return the currencies' `Money`."""
    tokens = await client.auth.login()
    console.print(
        f"logged in as client {tokens.client_id}; the access token is valid until "
        f"{tokens.access_expires_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    money = Money(await client.data.currencies())
    wallets = await client.wallets.list()
    console.print(wallet_table(wallets, money, "Wallets"))
    currency_of: dict[int | None, str | None] = {w.id: w.currency for w in wallets}
    raw = await client.with_raw_response(client.wallets.transactions(page_size=5).first_page())
    page = raw.parsed
    listing = table(
        "id",
        "wallet",
        "type",
        amount_column("amount"),
        "remarks",
        title=f"Latest transactions (page {page.page} of {page.total_pages}, "
        f"{page.total_count} in all; request id {raw.request_id})",
    )
    for t in page.items:
        currency = currency_of.get(t.wallet_id)
        listing.add_row(
            str(t.id),
            f"{t.wallet_id} {currency or ''}".strip(),
            t.transaction_type,
            money(t.signed_amount, currency),
            t.remarks,
        )
    console.print(listing)
    return money


async def _reference_data(console: Console, client: OctopusClient) -> None:
    countries, currencies, categories, subcategories = await asyncio.gather(
        client.data.countries(),
        client.data.currencies(),  # cached by the account step: no request
        client.data.categories(),
        client.data.subcategories(),
    )
    listing = table("id", "code", "name", "precision", title="Currencies")
    for c in currencies:
        listing.add_row(str(c.id), c.currency, c.name, str(c.precision))
    console.print(listing)
    listing = table("id", "alpha-2", "alpha-3", "name", "dialing", title="Countries")
    for country in countries:
        listing.add_row(
            str(country.id),
            country.alpha_2,
            country.alpha_3,
            country.name,
            country.dialing_prefix,
        )
    console.print(listing)
    console.print("Categories:    " + ", ".join(str(c.name) for c in categories))
    console.print("Subcategories: " + ", ".join(str(s.name) for s in subcategories))


async def _vouchers(console: Console, client: OctopusClient, money: Money) -> None:
    steam = await client.vouchers.products.get(123)
    face = Decimal("50.00")
    quote = await client.vouchers.charges(steam.id, face, 2)
    console.print(
        f"quote for 2 x {steam.name} {money.with_code(face, steam.currency_code)}: "
        f"{money.with_code(quote.total_payable, quote.destination_currency)} "
        f"({quote.discount}% off {money(quote.non_discounted_total, quote.destination_currency)})"
    )
    order = await client.vouchers.orders.create(steam.id, face, 2)
    console.print(f"order {order.id} ({order.client_reference}): {order.status} in the answer")
    console.print(voucher_table(order.vouchers, "Its vouchers"))

    order = await client.vouchers.orders.create(steam.id, Decimal("10.00"), 10)
    console.print(f"order {order.id} for 10 vouchers: {order.status}; the order waiter follows it")
    waiter = client.vouchers.orders.wait(order)
    elapsed = await follow(console, [waiter])
    order = await waiter
    console.print(
        f"order {order.id}: {order.status} after {elapsed:.1f} s, {len(order.vouchers)} vouchers"
    )
    console.print(voucher_table(order.vouchers[:3], f"The first 3 of {len(order.vouchers)}"))


async def _topups(console: Console, client: OctopusClient, money: Money) -> None:
    product = await client.topups.products.get(4218)
    fields = ", ".join(f.name + ("" if f.required else " (optional)") for f in product.input_fields)
    console.print(f"{product.name} ({product.topup_type}) takes {fields}")
    waiter = client.topups.orders.submit(
        product.id, Decimal("4.99"), input_data={"player_id": "5123456789"}
    )
    console.print(f"submitted {waiter.client_reference}; the waiter's view until it settles:")
    await follow(console, [waiter])
    order = await waiter
    stats = client.scheduler.stats
    console.print(
        f"{order.status_text}: charged {money.with_code(order.amount, order.currency)}; "
        f"polling has cost {stats.gets} GETs and {stats.sweep_pages} list pages so far"
    )


def _device(order: EsimOrder) -> str:
    return str(order.activation_status)


async def _esim(console: Console, client: OctopusClient, money: Money) -> None:
    japan = await client.esim.products.get(712)
    plan = japan.variants[0]
    assert plan.amount is not None, "the sandbox prices every plan"
    console.print(
        f"{japan.name}: {plan.name} for {money.with_code(plan.amount, plan.currency_code)}; "
        "the server holds the create until the eSIM is issued"
    )
    polled = client.scheduler.stats.gets
    waiter = client.esim.orders.submit(japan.id, plan.amount)
    elapsed = await follow(console, [waiter])
    order = await waiter
    how = "in the create's answer" if client.scheduler.stats.gets == polled else "by polling"
    console.print(
        f"order {order.id}: {order.status} {how} after {elapsed:.2f} s "
        "(the server holds it up to 60 simulated seconds)"
    )
    lpa = order.lpa
    if lpa is not None:
        hidden = "*" * len(lpa.matching_id)
        console.print(f"activation code: LPA:1, SM-DP+ {lpa.smdp_address}, matching id {hidden}")
    console.print(
        f"ICCID {order.iccid}, {order.activation_status}; waiting for the device to install it"
    )
    installing = client.esim.orders.wait_installed(order)
    await follow(console, [installing], state=_device)
    installed = await installing
    kept = installed.activation_code == order.activation_code
    console.print(
        f"installed at {installed.installed_at:%H:%M:%S}: {installed.activation_status}; "
        f"the server stopped sending the code, the SDK kept it: {kept}"
    )


async def _webhooks(console: Console, client: OctopusClient, sandbox: Sandbox) -> None:
    """Six voucher orders: webhooks on for the first three, off for the last three."""
    received: dict[int, float] = {}

    def note(event: WebhookEvent) -> None:
        if isinstance(event, OrderEvent):
            received.setdefault(event.data.id, time.monotonic())

    receiver = client.webhooks.handler(secret="whsec_demo", on_event=note)
    app = web.Application()
    app.router.add_post("/webhooks", receiver)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks"
    try:
        endpoint = sandbox.webhooks.register(url, "whsec_demo", events={"order.delivered"})
        console.print(f"webhooks signed and delivered to a receiver at {url}")
        settled: list[tuple[str, VoucherOrder, float]] = []
        for webhooks_on in (True, False):
            if not webhooks_on:
                sandbox.webhooks.endpoints.remove(endpoint)
            console.print(f"3 orders of 8 vouchers, webhooks {'on' if webhooks_on else 'off'}:")
            waiters = [client.vouchers.orders.submit(123, Decimal("10.00"), 8) for _ in range(3)]
            await follow(console, waiters)
            for order in await asyncio.gather(*waiters):
                settled.append(("on" if webhooks_on else "off", order, time.monotonic()))
        listing = table("order", "webhooks", "status", "settled by", title="How each settled")
        for switch, order, done_at in settled:
            by_webhook = order.id in received and received[order.id] <= done_at
            listing.add_row(
                str(order.id), switch, order.status, "webhook" if by_webhook else "poll"
            )
        console.print(listing)
        stats = receiver.stats
        console.print(
            f"receiver: {stats.accepted} events accepted, {stats.duplicates} duplicates, "
            f"{stats.rejected} rejected"
        )
        await receiver.aclose()
    finally:
        await runner.cleanup()


def _summary(console: Console, sandbox: Sandbox, polls: int, elapsed: float) -> None:
    requests = sandbox.requests
    routes = Counter(
        (record.method, re.sub(r"/\d+", "/:id", record.path), str(record.status))
        for record in requests
    )
    console.print()
    console.rule("Summary", align="left")
    listing = table(amount_column("count"), "method", "route", "status", title="Requests by route")
    for (method, route, status), count in sorted(routes.items(), key=str):
        listing.add_row(str(count), method, route, status)
    console.print(listing)
    placed = sum(
        1
        for r in requests
        if r.method == "POST" and r.path.endswith("/orders") and r.status in range(200, 300)
    )
    listing = table("what", amount_column("how many"), title="In all")
    listing.show_header = False
    listing.add_row("orders placed", str(placed))
    listing.add_row("HTTP requests", str(len(requests)))
    listing.add_row("of them polls", str(polls))
    listing.add_row("elapsed", f"{elapsed:.1f} s")
    console.print(listing)
    console.print(Text("Next steps", style="bold"))
    console.print("  - run the examples in examples/ (python examples/quickstart.py, ...)")
    console.print("  - serve a sandbox for your own code: octopus-async sandbox")
    console.print("  - place orders from a file, resumably: octopus-async batch --help")
    console.print("  - read README.md for the whole API: waiters, webhooks, errors")
