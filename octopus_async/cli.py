"""The `octopus-async` command: `demo` (the SDK against an embedded sandbox) and `sandbox`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from aiohttp import web

from .client import OctopusClient
from .config import PollPolicy, RateLimits, Timeouts
from .models.vouchers import VoucherOrder, VoucherOrderStatus
from .models.webhooks import OrderEvent, WebhookEvent
from .sandbox import Sandbox, SandboxConfig
from .sandbox.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from .sandbox.shapes import SHAPE_VARIANTS, SHAPE_VARIANTS_IN_ORDER, shape_variant_names

__all__ = ["main"]


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines) + "\n"


async def demo(time_scale: float) -> None:
    """Run the SDK against an embedded sandbox: the account, reference data, orders."""
    config = SandboxConfig(time_scale=time_scale, esim_slow_share=0.0, topup_slow_share=0.0)
    async with Sandbox(config) as sandbox:
        print(f"sandbox running at {sandbox.url} (time scale {time_scale})\n")
        # The client's poll cadence runs on the sandbox's clock, like everything else.
        poll = PollPolicy().scaled(time_scale)
        timeouts = Timeouts(esim_create_read=75 * time_scale)
        async with OctopusClient(
            **sandbox.client_settings(), poll=poll, timeouts=timeouts
        ) as client:
            await _account(client)
            await _reference_data(client)
            await _vouchers(client)
            await _topups(client)
            await _esim(client)
            await _webhooks(client, sandbox)
        _request_summary(sandbox)


async def _account(client: OctopusClient) -> None:
    tokens = await client.auth.login()
    print(f"logged in as client {tokens.client_id}, token valid until")
    print(f"{tokens.access_expires_at:%Y-%m-%d %H:%M:%S} UTC\n")
    wallets = await client.wallets.list()
    print(
        _table(
            "Wallets",
            ["id", "currency", "balance", "type"],
            [(w.id, w.currency, w.balance, w.type) for w in wallets],
        )
    )
    raw = await client.with_raw_response(client.wallets.transactions(page_size=5).first_page())
    page = raw.parsed
    print(
        _table(
            f"Latest transactions (page {page.page} of {page.total_pages}, "
            f"{page.total_count} in all, request id {raw.request_id})",
            ["id", "wallet", "type", "amount", "remarks"],
            [
                (t.id, t.wallet_id, t.transaction_type, t.signed_amount, t.remarks)
                for t in page.items
            ],
        )
    )


async def _reference_data(client: OctopusClient) -> None:
    countries, currencies, categories, subcategories = await asyncio.gather(
        client.data.countries(),
        client.data.currencies(),
        client.data.categories(),
        client.data.subcategories(),
    )
    print(
        _table(
            "Currencies",
            ["id", "code", "name", "precision"],
            [(c.id, c.currency, c.name, c.precision) for c in currencies],
        )
    )
    print(
        _table(
            "Countries",
            ["id", "alpha-2", "alpha-3", "name", "dialing"],
            [(c.id, c.alpha_2, c.alpha_3, c.name, c.dialing_prefix) for c in countries],
        )
    )
    print("Categories:    " + ", ".join(str(c.name) for c in categories))
    print("Subcategories: " + ", ".join(str(s.name) for s in subcategories) + "\n")
    await client.data.currencies()  # served from the cache: no request


async def _vouchers(client: OctopusClient) -> None:
    steam = await client.vouchers.products.get(123)
    quote = await client.vouchers.charges(steam.id, Decimal("50.00"), 2)
    print(
        f"Quote for 2 x {steam.name} 50.00 {steam.currency_code}: {quote.total_payable} "
        f"{quote.destination_currency} ({quote.discount}% off {quote.non_discounted_total})"
    )
    order = await client.vouchers.orders.create(steam.id, Decimal("50.00"), 2)
    print(f"order {order.id} ({order.client_reference}): {order.status}, codes in the answer:")
    for voucher in order.vouchers:
        print(f"  {voucher!r}")

    started = time.monotonic()
    order = await client.vouchers.orders.create(steam.id, Decimal("10.00"), 10)
    print(f"order {order.id} for 10 vouchers: {order.status}; polling until it settles")
    while order.status == VoucherOrderStatus.PENDING:
        await asyncio.sleep(0.2)
        order = await client.vouchers.orders.get(order.id)
    print(
        f"order {order.id}: {order.status} after {time.monotonic() - started:.1f} s, "
        f"{len(order.vouchers)} vouchers, the first {order.vouchers[0]!r}\n"
    )


async def _topups(client: OctopusClient) -> None:
    product = await client.topups.products.get(4218)
    fields = ", ".join(f.name + ("" if f.required else " (optional)") for f in product.input_fields)
    print(f"{product.name} ({product.topup_type}) takes {fields}")
    started = time.monotonic()
    waiter = client.topups.orders.submit(
        product.id, Decimal("4.99"), input_data={"player_id": "5123456789"}
    )
    print(f"submitted {waiter.client_reference}; the waiter's view while it settles:")
    shown = None
    while not waiter.done():
        status = waiter.order.status if waiter.order is not None else "creating"
        if status != shown:
            print(f"  {time.monotonic() - started:5.2f} s  {status}  (order {waiter.order_id})")
            shown = status
        await asyncio.sleep(0.02)
    order = await waiter
    print(f"  {time.monotonic() - started:5.2f} s  {order.status}: {order.status_text}")
    stats = client.scheduler.stats
    print(
        f"charged {order.amount} {order.currency}; polling cost {stats.gets} GETs and "
        f"{stats.sweep_pages} list pages so far\n"
    )


async def _esim(client: OctopusClient) -> None:
    japan = await client.esim.products.get(712)
    plan = japan.variants[0]
    assert plan.amount is not None, "the sandbox prices every plan"
    print(f"{japan.name}: {plan.name} for {plan.amount} {plan.currency_code}")
    started = time.monotonic()
    order = await client.esim.orders.create_and_wait(japan.id, plan.amount)
    print(
        f"order {order.id}: {order.status} in the create's answer after "
        f"{time.monotonic() - started:.2f} s (the server holds it up to 60 simulated seconds)"
    )
    lpa = order.lpa
    if lpa is not None:
        hidden = "*" * len(lpa.matching_id)
        print(f"  activation code: LPA:1, SM-DP+ {lpa.smdp_address}, matching id {hidden}")
    print(f"  ICCID {order.iccid}, {order.activation_status}; waiting for the device to install it")
    installed = await client.esim.orders.wait_installed(order)
    print(
        f"  installed at {installed.installed_at:%H:%M:%S}: {installed.activation_status}; "
        f"the server stopped sending the code, the SDK kept it: "
        f"{installed.activation_code == order.activation_code}\n"
    )


async def _webhooks(client: OctopusClient, sandbox: Sandbox) -> None:
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
        print(f"webhooks signed and delivered to a receiver at {url}")
        settled: list[tuple[str, VoucherOrder, float]] = []
        for webhooks_on in (True, False):
            if not webhooks_on:
                sandbox.webhooks.endpoints.remove(endpoint)
            waiters = [client.vouchers.orders.submit(123, Decimal("10.00"), 8) for _ in range(3)]
            for order in await asyncio.gather(*waiters):
                settled.append(("on" if webhooks_on else "off", order, time.monotonic()))
        for switch, order, done_at in settled:
            by_webhook = order.id in received and received[order.id] <= done_at
            print(
                f"  order {order.id} (webhooks {switch:3}): {order.status}, "
                f"settled by {'webhook' if by_webhook else 'poll'}"
            )
        stats = receiver.stats
        print(
            f"receiver: {stats.accepted} events accepted, {stats.duplicates} duplicates, "
            f"{stats.rejected} rejected\n"
        )
        await receiver.aclose()
    finally:
        await runner.cleanup()


def _request_summary(sandbox: Sandbox) -> None:
    routes = Counter(
        (record.method, re.sub(r"/\d+", "/:id", record.path), record.status)
        for record in sandbox.requests
    )
    print(f"{len(sandbox.requests)} HTTP requests reached the sandbox:")
    for (method, route, status), count in sorted(routes.items(), key=str):
        print(f"  {count:3} x {method:4} {route:36} {status}")


async def serve(
    config: SandboxConfig, host: str, port: int, webhooks: Sequence[str], webhook_secret: str
) -> None:
    """Run a sandbox until interrupted."""
    async with Sandbox(config, host=host, port=port) as sandbox:
        print(f"Octopus Cards sandbox at {sandbox.url}")
        print(f"  OCTOPUS_BASE_URL={sandbox.url}")
        print(f"  OCTOPUS_API_KEY={sandbox.api_key}")
        print(f"  OCTOPUS_API_SECRET={sandbox.api_secret}")
        for url in webhooks:
            endpoint = sandbox.webhooks.register(url, webhook_secret)
            print(f"  webhooks to {url} ({endpoint.id}), signed with the --webhook-secret")
        print("Ctrl-C stops it.", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await stop.wait()


_QUOTAS = {
    "off": None,
    "sandbox": RateLimits.sandbox(),
    "production": RateLimits.production(),
}


def _shape_variants(text: str) -> frozenset[str]:
    names = SHAPE_VARIANTS if text == "all" else {name.strip() for name in text.split(",")}
    try:
        return shape_variant_names(names)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _wallet(text: str) -> tuple[str, Decimal]:
    currency, _, amount = text.partition("=")
    try:
        return currency.upper(), Decimal(amount)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"expected CUR=AMOUNT, got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="octopus-async", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo_parser = commands.add_parser("demo", help="run the SDK against an embedded sandbox")
    demo_parser.add_argument(
        "--time-scale",
        type=float,
        default=0.02,
        help="real seconds per simulated second (default 0.02: a minute lasts 1.2 s)",
    )

    sandbox_parser = commands.add_parser("sandbox", help="run a local sandbox server")
    sandbox_parser.add_argument("--host", default="127.0.0.1")
    sandbox_parser.add_argument("--port", type=int, default=8080)
    sandbox_parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="real seconds per simulated second (default 1)",
    )
    sandbox_parser.add_argument(
        "--rate-limits",
        choices=sorted(_QUOTAS),
        default="sandbox",
        help="quotas to enforce (default: the documented sandbox ones)",
    )
    sandbox_parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    sandbox_parser.add_argument("--api-secret", default=DEFAULT_API_SECRET)
    sandbox_parser.add_argument(
        "--access-token-ttl",
        type=float,
        default=3600.0,
        help="access token lifetime in simulated seconds",
    )
    sandbox_parser.add_argument(
        "--seed", type=int, default=None, help="seed for the sandbox's random choices"
    )
    sandbox_parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="deliver signed webhook events to this URL (repeatable)",
    )
    sandbox_parser.add_argument(
        "--webhook-secret",
        default="whsec_sandbox",
        help="the secret webhook deliveries are signed with (default whsec_sandbox)",
    )
    sandbox_parser.add_argument(
        "--wallet",
        action="append",
        type=_wallet,
        metavar="CUR=AMOUNT",
        help="open a wallet with this balance (repeatable; default USD, EUR and GBP)",
    )
    sandbox_parser.add_argument(
        "--shape-variants",
        type=_shape_variants,
        default=frozenset(),
        metavar="all|NAME,...",
        help="answer in other plausible shapes than the documented ones "
        f"({', '.join(SHAPE_VARIANTS_IN_ORDER)})",
    )

    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            asyncio.run(demo(args.time_scale))
        else:
            wallets = dict(args.wallet) if args.wallet else SandboxConfig().wallets
            config = SandboxConfig(
                wallets=wallets,
                api_key=args.api_key,
                api_secret=args.api_secret,
                time_scale=args.time_scale,
                rate_limits=_QUOTAS[args.rate_limits],
                access_token_ttl=args.access_token_ttl,
                seed=args.seed,
                shape_variants=args.shape_variants,
            )
            asyncio.run(serve(config, args.host, args.port, args.webhook, args.webhook_secret))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
