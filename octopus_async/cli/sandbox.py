"""`octopus-async sandbox`: a local sandbox server until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from rich.text import Text

from ..config import RateLimits
from ..sandbox import Sandbox, SandboxConfig
from ..sandbox.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from ..sandbox.reference import CURRENCIES
from ..sandbox.shapes import SHAPE_VARIANTS, SHAPE_VARIANTS_IN_ORDER, shape_variant_names
from .console import (
    Subparsers,
    UsageError,
    make_console,
    positive_float,
    run_until_interrupted,
)

__all__ = ["register"]

_QUOTAS = {
    "off": None,
    "sandbox": RateLimits.sandbox(),
    "production": RateLimits.production(),
}


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local sandbox server",
        description="Serve the Octopus Cards API on this machine until Ctrl-C; the banner "
        "prints the variables that point the SDK and `octopus-async` at it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_port, default=8080, help="port to listen on (0: any)")
    parser.add_argument(
        "--time-scale",
        type=positive_float,
        default=1.0,
        help="real seconds per simulated second (0.01 makes an hour last 36 s)",
    )
    parser.add_argument(
        "--rate-limits",
        choices=sorted(_QUOTAS),
        default="sandbox",
        help="quotas to enforce: none, or the documented sandbox or production ones",
    )
    parser.add_argument(
        "--api-key", default=DEFAULT_API_KEY, help="the API key clients log in with"
    )
    parser.add_argument(
        "--api-secret", default=DEFAULT_API_SECRET, help="the API secret clients log in with"
    )
    parser.add_argument(
        "--access-token-ttl",
        type=positive_float,
        default=3600.0,
        help="access token lifetime in simulated seconds",
    )
    parser.add_argument(
        "--seed", type=int, help="seed for the sandbox's random choices (default: none)"
    )
    parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="deliver signed webhook events to this URL (repeatable; default: none)",
    )
    parser.add_argument(
        "--webhook-secret",
        default="whsec_sandbox",
        help="the secret webhook deliveries are signed with",
    )
    default_wallets = ", ".join(f"{c}={a}" for c, a in SandboxConfig().wallets.items())
    parser.add_argument(
        "--wallet",
        action="append",
        type=_wallet,
        metavar="CUR=AMOUNT",
        help=f"open a wallet with this balance (repeatable; default: {default_wallets})",
    )
    parser.add_argument(
        "--shape-variants",
        type=_shape_variants,
        default=frozenset(),
        metavar="all|NAME,...",
        help="answer in other plausible shapes than the documented ones "
        f"({', '.join(SHAPE_VARIANTS_IN_ORDER)}; default: none)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = SandboxConfig(
        wallets=dict(args.wallet) if args.wallet else SandboxConfig().wallets,
        api_key=args.api_key,
        api_secret=args.api_secret,
        time_scale=args.time_scale,
        rate_limits=_QUOTAS[args.rate_limits],
        access_token_ttl=args.access_token_ttl,
        seed=args.seed,
        shape_variants=args.shape_variants,
    )
    run_until_interrupted(serve(config, args.host, args.port, args.webhook, args.webhook_secret))
    return 0


async def serve(
    config: SandboxConfig, host: str, port: int, webhooks: Sequence[str], webhook_secret: str
) -> None:
    """Run a sandbox until SIGINT or SIGTERM."""
    sandbox = Sandbox(config, host=host, port=port)
    try:
        await sandbox.start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} is in use on {host}; choose another with --port"
            ) from None
        raise UsageError(
            f"cannot listen on {host} port {port}: {error.strerror or error}"
        ) from None
    try:
        console = make_console()
        # The first line carries the URL (scripts read it from there); the exports are plain
        # and never wrapped, so they paste into a shell.
        console.print(Text.assemble("Octopus Cards sandbox at ", (sandbox.url, "bold")))
        for name, value in (
            ("OCTOPUS_BASE_URL", sandbox.url),
            ("OCTOPUS_API_KEY", sandbox.api_key),
            ("OCTOPUS_API_SECRET", sandbox.api_secret),
        ):
            console.print(f"export {name}={value}", highlight=False, soft_wrap=True)
        for url in webhooks:
            endpoint = sandbox.webhooks.register(url, webhook_secret)
            console.print(f"webhooks to {url} ({endpoint.id}), signed with the --webhook-secret")
        console.print("Ctrl-C stops it.", style="dim")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
                loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await sandbox.aclose()


def _port(text: str) -> int:
    if not text.isdecimal() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def _shape_variants(text: str) -> frozenset[str]:
    names = SHAPE_VARIANTS if text == "all" else {name.strip() for name in text.split(",")}
    try:
        return shape_variant_names(names)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _wallet(text: str) -> tuple[str, Decimal]:
    currency, _, amount = text.partition("=")
    currency = currency.strip().upper()
    if currency not in CURRENCIES:
        raise argparse.ArgumentTypeError(
            f"expected CUR=AMOUNT with CUR one of {', '.join(CURRENCIES)}, got {text!r}"
        )
    try:
        balance = Decimal(amount)
    except InvalidOperation:
        balance = Decimal("NaN")
    if not balance.is_finite() or balance < 0:
        raise argparse.ArgumentTypeError(f"expected an amount of 0 or more, got {text!r}")
    return currency, balance
