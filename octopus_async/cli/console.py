"""What the commands share: consoles, tables, amounts, JSON, live waits, argument checks,
and the errors that `main` reports as one line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeAlias, TypeVar

from rich import box
from rich.console import Console
from rich.table import Column, Table

from ..config import RateLimits
from ..errors import APIConnectionError, AuthenticationError
from ..models.reference import Currency
from ..models.vouchers import Voucher
from ..models.wallets import Wallet
from ..resources._orders import PendingOrder

__all__ = [
    "RATE_LIMITS",
    "CommandError",
    "Money",
    "Subparsers",
    "UsageError",
    "add_rate_limits_option",
    "amount_column",
    "api_errors_reported",
    "fail",
    "follow",
    "make_console",
    "masked",
    "positive_float",
    "positive_int",
    "print_json",
    "run_until_interrupted",
    "table",
    "voucher_table",
    "wallet_table",
]

# What `add_subparsers()` returns, which each command module's `register` is given.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """A failure that `main` reports as one line on stderr, exiting with `status`
    (1: the API or the run failed)."""

    status = 1


class UsageError(CommandError):
    """A user mistake (an argument, a setting, a port in use): exit status 2."""

    status = 2


T = TypeVar("T")


def run_until_interrupted(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, where Ctrl-C cancels `main` at its next await and then raises
    `KeyboardInterrupt`, as Python 3.11's `asyncio.run` does. Python 3.10's would raise
    it wherever the interpreter happens to be, inside any task (wrapped in an exception
    group by a task group), halfway through whatever that task was doing."""
    if sys.version_info >= (3, 11):
        return asyncio.run(main)
    return asyncio.run(_cancelled_on_interrupt(main))


async def _cancelled_on_interrupt(main: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main)
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()

    loop.add_signal_handler(signal.SIGINT, interrupt)
    try:
        return await task
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)


RATE_LIMITS: dict[str, RateLimits | Literal["auto"]] = {
    "auto": "auto",
    "production": RateLimits.production(),
    "sandbox": RateLimits.sandbox(),
    "off": RateLimits.disabled(),
}
"""The quotas `--rate-limits` names."""


def add_rate_limits_option(parser: argparse.ArgumentParser) -> None:
    """`--rate-limits`, a name of `RATE_LIMITS`."""
    parser.add_argument(
        "--rate-limits",
        choices=sorted(RATE_LIMITS),
        default="auto",
        help="client-side quotas: those of the environment (auto), named ones, or none",
    )


@contextlib.contextmanager
def api_errors_reported(url: object, then: str = "") -> Iterator[None]:
    """Refused credentials as a `UsageError`, an unreachable API as a `CommandError`, each
    naming `url` and followed by `then` (what to do next), if given."""
    after = f"; {then}" if then else ""
    try:
        yield
    except AuthenticationError as error:
        raise UsageError(
            f"{url} refused the credentials in OCTOPUS_API_KEY and OCTOPUS_API_SECRET "
            f"({error.message or error}){after}"
        ) from None
    except APIConnectionError as error:
        raise CommandError(f"cannot reach {url}: {error.message}{after}") from None


def make_console(*, stderr: bool = False) -> Console:
    """A console for stdout (or stderr): colour on a terminal, plain text elsewhere.

    Off a terminal it is 120 columns wide, so that table rows piped to a file or grep stay
    on one line. Markup is off: product names and server messages may contain brackets.
    """
    console = Console(stderr=stderr, markup=False)
    if not console.is_terminal:
        console.width = 120
    return console


def table(*columns: str | Column, title: str | None = None) -> Table:
    """A listing: a header underline and no vertical rules, so each row reads as one line."""
    return Table(
        *columns,
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )


def voucher_table(vouchers: Iterable[Voucher], title: str) -> Table:
    """Serial numbers and expiry dates of `vouchers`; codes, PINs and claim URLs masked."""
    listing = table("serial", "expires", "code", "PIN", "claim URL", title=title)
    for v in vouchers:
        listing.add_row(
            v.voucher_reference_number,
            f"{v.expires_at:%Y-%m-%d}" if v.expires_at else "-",
            *(masked(secret) for secret in (v.card_number, v.pin_code, v.claim_url)),
        )
    return listing


def masked(secret: str | None) -> str:
    """Stars in place of a code, PIN or URL that is never shown; "-" when there is none."""
    return "-" if secret is None else "***"


def amount_column(header: str) -> Column:
    """A right-aligned column, so that amounts line up on their decimal point."""
    return Column(header, justify="right")


class Money:
    """Amounts at their currency's precision (`client.data.currencies()` gives it)."""

    def __init__(self, currencies: Iterable[Currency]) -> None:
        self._places = {
            c.currency: c.precision
            for c in currencies
            if c.currency is not None and c.precision is not None
        }

    def __call__(self, amount: Decimal | None, currency: str | None) -> str:
        """`amount` rounded to `currency`'s places ("4.74" for 4.7405 USD); exact when the
        currency is unknown, "-" when there is no amount."""
        if amount is None:
            return "-"
        places = self._places.get(currency or "")
        if places is None:
            return str(amount)
        try:
            return format(amount.quantize(Decimal(1).scaleb(-places)), "f")
        except InvalidOperation:  # NaN, or more digits than a Decimal context holds
            return str(amount)

    def with_code(self, amount: Decimal | None, currency: str | None) -> str:
        """`amount` as shown by calling this, then its currency code: "4.74 USD"."""
        return f"{self(amount, currency)} {currency or ''}".rstrip()


def wallet_table(wallets: Iterable[Wallet], money: Money, title: str | None = None) -> Table:
    """Each wallet's id, currency, balance (at the currency's precision) and type."""
    listing = table("id", "currency", amount_column("balance"), "type", title=title)
    for w in wallets:
        listing.add_row(str(w.id), w.currency, money(w.balance, w.currency), w.type)
    return listing


def print_json(value: object) -> None:
    """`value` as indented JSON on stdout; Decimals and datetimes as exact strings."""
    print(json.dumps(value, indent=2, default=str))


def _status(order: Any) -> str:
    return str(order.status)


async def follow(
    console: Console,
    waiters: Sequence[PendingOrder[Any]],
    *,
    state: Callable[[Any], str] = _status,
) -> float:
    """Show the orders of `waiters` until every wait ends; return the seconds that took.

    A terminal gets a spinner with the elapsed time and each order's `state` (its status
    by default); other outputs get one line each time the states change, so that a log
    shows every step. The waits' outcomes are left to the caller, who awaits them.
    """
    started = time.monotonic()
    ended = asyncio.ensure_future(asyncio.gather(*waiters, return_exceptions=True))

    def state_of(waiter: PendingOrder[Any]) -> str:
        if waiter.order is not None:
            return state(waiter.order)
        return "creating" if waiter.order_id is None else "checking"

    def summary() -> str:
        states = [state_of(w) for w in waiters]
        if len(waiters) == 1:
            waiter = waiters[0]
            return f"order {waiter.order_id or waiter.client_reference}: {states[0]}"
        counts = ", ".join(f"{n} {s}" for s, n in Counter(states).items())
        return f"{len(waiters)} orders: {counts}"

    if console.is_terminal:
        with console.status(summary()) as spinner:
            while not ended.done():
                spinner.update(f"{summary()}  ({time.monotonic() - started:.1f} s)")
                await asyncio.wait({ended}, timeout=0.1)
    else:
        shown = None
        while True:
            if summary() != shown:
                shown = summary()
                console.print(f"  {time.monotonic() - started:5.2f} s  {shown}")
            if ended.done():
                break
            await asyncio.wait({ended}, timeout=0.02)
    elapsed = time.monotonic() - started
    if console.is_terminal:
        console.print(f"  {elapsed:5.2f} s  {summary()}")
    return elapsed


def positive_float(text: str) -> float:
    """An argparse type: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number above zero."""
    if not text.isdecimal() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return int(text)


def fail(message: str) -> None:
    """Write one line about what went wrong to stderr."""
    print(f"octopus-async: error: {message}", file=sys.stderr)
