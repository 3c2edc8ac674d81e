"""`octopus-async wallets | products | orders`: everyday reads of an account.

The client comes from OCTOPUS_API_KEY, OCTOPUS_API_SECRET, OCTOPUS_ENVIRONMENT and
OCTOPUS_BASE_URL, as `OctopusClient()` reads them.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any, Literal, TypeAlias, TypeVar

from rich.console import Console
from rich.table import Table

from ..client import OctopusClient
from ..config import PollPolicy
from ..errors import OrderFailedError
from ..models.esim import EsimOrder
from ..models.reference import Country
from ..models.topups import TopupOrder
from ..models.vouchers import Denomination, VoucherOrder
from .console import (
    CommandError,
    Money,
    Subparsers,
    UsageError,
    api_errors_reported,
    follow,
    make_console,
    masked,
    positive_float,
    positive_int,
    print_json,
    run_until_interrupted,
    table,
    voucher_table,
    wallet_table,
)

__all__ = ["register"]

Vertical: TypeAlias = Literal["vouchers", "topups", "esim"]
Order: TypeAlias = "VoucherOrder | TopupOrder | EsimOrder"
VERTICALS: tuple[Vertical, ...] = ("vouchers", "topups", "esim")
T = TypeVar("T")

_CREDENTIALS = (
    "The credentials come from OCTOPUS_API_KEY and OCTOPUS_API_SECRET, the API's address from "
    "OCTOPUS_BASE_URL, else OCTOPUS_ENVIRONMENT (sandbox, the default, or production)."
)
_SECRETS = (
    "Tables mask voucher codes, PINs, claim URLs and activation codes (***); --json prints "
    "the order as the API returned it, codes included, to stdout only."
)


def register(subparsers: Subparsers) -> None:
    _register_wallets(subparsers)
    _register_products(subparsers)
    _register_orders(subparsers)


def _json_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--json", action="store_true", help=f"print JSON: {what} (amounts as exact strings)"
    )


def _register_wallets(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "wallets", help="list the wallets and their balances", epilog=_CREDENTIALS
    )
    _json_flag(parser, "the wallets as the API returned them")
    parser.set_defaults(run=_command(_wallets))


def _register_products(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "products", help="list vouchers, topup or eSIM products", epilog=_CREDENTIALS
    )
    kinds = parser.add_subparsers(title="kinds", metavar="KIND", required=True)
    for kind, what, handler in (
        ("vouchers", "gift card products", _voucher_products),
        ("topups", "mobile, gaming and utility topup products", _topup_products),
        ("esim", "eSIM countries and regions", _esim_products),
    ):
        sub = kinds.add_parser(kind, help=f"list {what}", epilog=_CREDENTIALS)
        glo = "" if kind == "vouchers" else ", or GLO for global products"
        sub.add_argument(
            "--country", help=f"only this country: ISO alpha-2 or alpha-3 code{glo} (default: all)"
        )
        if kind == "vouchers":
            sub.add_argument("--category", help="only this category, e.g. Gaming (default: all)")
        if kind == "topups":
            sub.add_argument(
                "--type",
                choices=("GAMING", "MOBILE", "UTILITY"),
                help="only this type (default: all)",
            )
        sub.add_argument("--search", help="only names matching this text (default: all)")
        sub.add_argument("--limit", type=positive_int, default=20, help="list at most this many")
        _json_flag(sub, "the products as the API returned them")
        sub.set_defaults(run=_command(handler))


def _register_orders(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "orders", help="look up an order, or wait for one to settle", epilog=_CREDENTIALS
    )
    verbs = parser.add_subparsers(title="verbs", metavar="VERB", required=True)
    epilog = f"{_CREDENTIALS}\n{_SECRETS}"
    get = verbs.add_parser("get", help="show an order by its id", epilog=epilog)
    find = verbs.add_parser("find", help="show the order with a client reference", epilog=epilog)
    wait = verbs.add_parser(
        "wait",
        help="wait until an order settles, showing its status meanwhile",
        description="Poll an order until it is final; the live status goes to stderr. Exit "
        "status 1 when it failed or the wait timed out (the order goes on).",
        epilog=epilog,
    )
    for verb in (get, find, wait):
        verb.add_argument(
            "vertical", choices=VERTICALS, metavar="VERTICAL", help=", ".join(VERTICALS)
        )
    for verb in (get, wait):
        verb.add_argument("order_id", type=positive_int, metavar="ID", help="the order's id")
    find.add_argument("client_reference", metavar="CLIENT_REFERENCE", help="the order's reference")
    wait.add_argument(
        "--timeout",
        type=positive_float,
        default=PollPolicy().default_timeout,
        help="seconds to wait before giving up",
    )
    for verb, handler in ((get, _get_order), (find, _find_order), (wait, _wait_order)):
        _json_flag(verb, "the order as the API returned it")
        verb.set_defaults(run=_command(handler))


Handler: TypeAlias = Callable[[OctopusClient, argparse.Namespace, Console], Awaitable[None]]


def _command(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """A command's `run`: `handler` with a client from the environment and a console for
    stdout; a failure raises, so what returns is success."""

    def run(args: argparse.Namespace) -> int:
        run_until_interrupted(_with_client(handler, args))
        return 0

    return run


async def _with_client(handler: Handler, args: argparse.Namespace) -> None:
    async with OctopusClient() as client:
        with api_errors_reported(client.config.base_url):
            await handler(client, args, make_console())


# --- wallets ------------------------------------------------------------------------------


async def _wallets(client: OctopusClient, args: argparse.Namespace, console: Console) -> None:
    wallets = await client.wallets.list()
    if args.json:
        print_json([w.raw for w in wallets])
        return
    console.print(wallet_table(wallets, Money(await client.data.currencies())))


# --- products -----------------------------------------------------------------------------


async def _alpha_3(client: OctopusClient, code: str | None) -> str | None:
    """The alpha-3 code of the country `code` names, GLO (global) as it is; None for None."""
    if code is None:
        return None
    if code.upper() == "GLO":
        return "GLO"
    return (await _country(client, code)).alpha_3


async def _country(client: OctopusClient, code: str) -> Country:
    """The country with this ISO alpha-2 or alpha-3 code."""
    country = await client.data.country_by_code(code)
    if country is None:
        raise UsageError(f"unknown country code {code!r}: use an ISO alpha-2 or alpha-3 code")
    return country


async def _first(
    items: AsyncIterable[T], limit: int, keep: Callable[[T], bool] = lambda _: True
) -> list[T]:
    """The first `limit` of `items` that `keep` accepts; no page is read after them."""
    found: list[T] = []
    async for item in items:
        if keep(item):
            found.append(item)
            if len(found) == limit:
                break
    return found


def _face_values(
    denominations: tuple[Denomination, ...], currency: str | None, money: Money
) -> str:
    return ", ".join(
        money(d.min_value, currency)
        if d.is_fixed
        else f"{money(d.min_value, currency)}-{money(d.max_value, currency)}"
        for d in denominations
    )


async def _voucher_products(
    client: OctopusClient, args: argparse.Namespace, console: Console
) -> None:
    country_id = (await _country(client, args.country)).id if args.country else None
    products = client.vouchers.products.list(
        category=args.category, country_id=country_id, search=args.search
    )
    found = await _first(products, args.limit)
    if args.json:
        print_json([p.raw for p in found])
        return
    money = Money(await client.data.currencies())
    listing = table("id", "name", "category", "country", "currency", "face values")
    for p in found:
        listing.add_row(
            str(p.id),
            p.name,
            p.category,
            p.country_code,
            p.currency_code,
            _face_values(p.available_denominations, p.currency_code, money),
        )
    console.print(listing)


async def _topup_products(
    client: OctopusClient, args: argparse.Namespace, console: Console
) -> None:
    country = await _alpha_3(client, args.country)
    products = client.topups.products.list(type=args.type, search=args.search)
    # The API filters topups by type and name only.
    found = await _first(products, args.limit, lambda p: country in (None, p.country_code))
    if args.json:
        print_json([p.raw for p in found])
        return
    listing = table("id", "name", "type", "country", "currency")
    for p in found:
        listing.add_row(str(p.id), p.name, p.topup_type, p.country_code, p.currency_code)
    console.print(listing)


async def _esim_products(client: OctopusClient, args: argparse.Namespace, console: Console) -> None:
    country = await _alpha_3(client, args.country)
    products = client.esim.products.list(country_code=country, search=args.search)
    found = await _first(products, args.limit)
    if args.json:
        print_json([p.raw for p in found])
        return
    listing = table("id", "name", "country", "currency")
    for p in found:
        listing.add_row(str(p.id), p.name, p.country_code, p.currency_code)
    console.print(listing)


# --- orders -------------------------------------------------------------------------------


async def _get_order(client: OctopusClient, args: argparse.Namespace, console: Console) -> None:
    order = await client.orders_of(args.vertical).get(args.order_id)
    await _show(client, args, console, order)


async def _find_order(client: OctopusClient, args: argparse.Namespace, console: Console) -> None:
    order = await client.orders_of(args.vertical).find(args.client_reference)
    if order is None:
        raise CommandError(
            f"no {args.vertical} order has the client reference {args.client_reference!r}"
        )
    await _show(client, args, console, order)


async def _wait_order(client: OctopusClient, args: argparse.Namespace, console: Console) -> None:
    waiter = client.orders_of(args.vertical).wait(args.order_id, timeout=args.timeout)
    await follow(make_console(stderr=True), [waiter])
    try:
        order: Order = await waiter
    except OrderFailedError as error:
        await _show(client, args, console, error.order)
        raise CommandError(str(error)) from None
    await _show(client, args, console, order)


async def _show(
    client: OctopusClient, args: argparse.Namespace, console: Console, order: Order
) -> None:
    if args.json:
        print_json(order.raw)
        return
    money = Money(await client.data.currencies())
    console.print(_order_table(order, money))
    if isinstance(order, VoucherOrder) and order.vouchers:
        console.print(voucher_table(order.vouchers, "Vouchers"))


def _order_table(order: Order, money: Money) -> Table:
    """The order's fields, one per row; codes masked."""
    rows: list[tuple[str, Any]] = [
        ("id", order.id),
        ("status", order.status),
        ("client reference", order.client_reference),
        ("product", order.product_name),
    ]
    if isinstance(order, VoucherOrder):
        currency = order.base_currency
        rows += [
            ("face value", f"{money(order.denomination, currency)} x {order.quantity}"),
            ("amount", money.with_code(order.amount, currency)),
            ("discount", money(order.discount, currency)),
            ("wallet", order.wallet_id),
            ("message", order.message),
        ]
    elif isinstance(order, TopupOrder):
        rows += [
            ("variant", order.variant_name),
            ("charged", money.with_code(order.amount, order.currency)),
            ("status text", order.status_text),
            ("created", order.created_at),
            ("completed", order.completed_at),
            ("failure", order.failure_reason),
        ]
    else:
        rows += [
            ("charged", money.with_code(order.amount, order.currency)),
            ("status text", order.status_text),
            ("created", order.created_at),
            ("activation code", masked(order.activation_code)),
            ("ICCID", order.iccid),
            ("device", order.activation_status),
            ("installed", order.installed_at),
            ("failure", order.failure_reason),
        ]
    listing = table("field", "value", title=f"{type(order).__name__} {order.id}")
    listing.show_header = False
    for name, value in rows:
        if value not in (None, ""):
            listing.add_row(name, str(value))
    return listing
