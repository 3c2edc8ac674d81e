"""`octopus-async worker`: a Temporal worker process for durable orders (the `temporal` extra)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import os
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

from ..client import OctopusClient
from ..config import ClientConfig
from .console import (
    RATE_LIMITS,
    CommandError,
    Subparsers,
    UsageError,
    add_rate_limits_option,
    api_errors_reported,
    make_console,
    positive_float,
    run_until_interrupted,
)

__all__ = ["register"]

# Seconds the activities in flight get to finish once the worker is told to stop.
_GRACE = 10.0


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run a Temporal worker for durable orders",
        description="Run the workflows and activities of durable orders "
        "(octopus_async.integrations.temporal) on a Temporal task queue, with one SDK client "
        "for the process, until SIGTERM (exit 0) or Ctrl-C (130). Activities in flight get "
        f"{_GRACE:g} s to finish. Credentials come from OCTOPUS_API_KEY, OCTOPUS_API_SECRET "
        "and OCTOPUS_BASE_URL or OCTOPUS_ENVIRONMENT. Start as many workers as you like, on "
        "any machines: with --redis-url they share one login and the account's quotas, and "
        "Temporal holds each vertical's create rate for all of them. Needs the temporal "
        "extra: pip install 'octopus-async[temporal]' (and [redis] for --redis-url).",
    )
    parser.add_argument(
        "--task-queue", default="octopus-orders", help="the task queue the orders are started on"
    )
    parser.add_argument(
        "--temporal-address",
        default=os.environ.get("TEMPORAL_ADDRESS") or "127.0.0.1:7233",
        metavar="HOST:PORT",
        help="the Temporal frontend (TEMPORAL_ADDRESS if set)",
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("TEMPORAL_NAMESPACE") or "default",
        help="the Temporal namespace (TEMPORAL_NAMESPACE if set)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("OCTOPUS_REDIS_URL") or None,
        metavar="URL",
        help="keep the tokens and the quotas in this Redis, shared by every worker "
        "(default: OCTOPUS_REDIS_URL; without either, each process logs in and keeps "
        "its own quotas)",
    )
    add_rate_limits_option(parser)
    parser.add_argument(
        "--time-scale",
        type=positive_float,
        default=1.0,
        help="the quotas' periods multiplied by this (to match `octopus-async sandbox "
        "--time-scale`)",
    )
    parser.add_argument(
        "--create-rate",
        type=positive_float,
        metavar="PER_SECOND",
        help="creates a second per vertical for the whole fleet, enforced by Temporal "
        "(default: each vertical's create quota less its headroom; none without quotas)",
    )
    parser.add_argument(
        "--sticky-timeout",
        type=positive_float,
        default=10.0,
        metavar="S",
        help="seconds before a workflow this worker held moves to another worker "
        "once this one is gone",
    )
    parser.set_defaults(run=run, skip_teardown=True)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("temporalio") is None:
        raise UsageError("the worker needs Temporal's SDK: pip install 'octopus-async[temporal]'")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    run_until_interrupted(_work(args))
    return 0


async def _work(args: argparse.Namespace) -> None:
    from temporalio.client import Client

    from ..integrations.temporal import order_workers

    try:
        temporal = await Client.connect(args.temporal_address, namespace=args.namespace)
    except RuntimeError as error:  # the Rust core's connection failure
        raise CommandError(f"cannot reach Temporal at {args.temporal_address}: {error}") from None
    async with _client(args) as client:
        url = client.config.base_url
        with api_errors_reported(url):
            await client.wallets.list()  # the credentials, checked once (or the fleet's tokens)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with order_workers(
            temporal,
            task_queue=args.task_queue,
            client=client,
            create_rate_per_second="auto" if args.create_rate is None else args.create_rate,
            sticky_queue_schedule_to_start_timeout=timedelta(seconds=args.sticky_timeout),
            graceful_shutdown_timeout=timedelta(seconds=_GRACE),
        ):
            make_console().print(
                f"worker {os.getpid()} ready: task queue {args.task_queue} on "
                f"{args.temporal_address} ({args.namespace}), orders at {url}",
                highlight=False,
                soft_wrap=True,
            )
            await stop.wait()


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace) -> AsyncIterator[OctopusClient]:
    """The process's SDK client: its tokens and quotas in Redis when a URL is given."""
    limits = ClientConfig.resolve(rate_limits=RATE_LIMITS[args.rate_limits]).rate_limits
    limits = limits.scaled(args.time_scale)
    if args.redis_url is None:
        async with OctopusClient(rate_limits=limits) as client:
            yield client
        return
    try:
        from ..integrations.redis import RedisRateLimiter, RedisTokenStore
    except ImportError:
        raise UsageError("--redis-url needs redis-py: pip install 'octopus-async[redis]'") from None
    limiter = RedisRateLimiter(args.redis_url, limits)
    tokens = RedisTokenStore(args.redis_url)
    try:
        async with OctopusClient(rate_limits=limiter, token_store=tokens) as client:
            yield client
    finally:
        await limiter.aclose()
        await tokens.aclose()
