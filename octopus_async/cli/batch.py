"""`octopus-async batch`: orders from a JSON Lines or CSV file, resumable from a journal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .._transport.wire import encode_json
from ..batch import BatchResult, BatchRun, InputError, JournalError, describe_input, read_rows
from ..batch.results import STATUSES
from ..client import OctopusClient
from ..errors import OctopusError
from ..models.reference import Currency
from .console import (
    RATE_LIMITS,
    CommandError,
    Money,
    Subparsers,
    UsageError,
    add_rate_limits_option,
    amount_column,
    api_errors_reported,
    make_console,
    positive_float,
    positive_int,
    run_until_interrupted,
    table,
)

__all__ = ["register"]

_RESUME = "the journal is consistent: run the same command again to resume"

# Seconds between two progress lines when the output is not a terminal.
_PROGRESS_EVERY = 5.0

_STYLES = {"delivered": "green", "failed": "red", "pending": "yellow", "invalid": "magenta"}


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="place the orders of a JSON Lines or CSV file",
        description="Place an order for each row of INPUT and wait for them, recording every "
        "step in a journal: run the same command again after a crash or Ctrl-C and it "
        "resumes, creating no order twice. Columns: vertical (vouchers, topups, esim), "
        "product_id, denomination and quantity (vouchers), amount (topups, esim), "
        "input_data (topups: a JSON object), and optionally client_reference and wallet_id. "
        "Credentials come from OCTOPUS_API_KEY, OCTOPUS_API_SECRET and OCTOPUS_BASE_URL or "
        "OCTOPUS_ENVIRONMENT. Exit status: 0 every row delivered, 1 a row failed, is invalid "
        "or still pending, 2 bad usage or an unreadable input or journal, 130 interrupted.",
    )
    parser.add_argument(
        "input", metavar="INPUT", help="a .csv file, or JSON Lines (any other name)"
    )
    parser.add_argument(
        "--journal",
        required=True,
        metavar="PATH",
        help="the SQLite journal to record in and resume from (created if missing)",
    )
    parser.add_argument(
        "--out",
        metavar="PATH",
        help="write one JSON line per row: its reference, status, error and the order as the "
        "API returned it, codes included (the file is made readable by you only; default: "
        "no file, the console shows the problems and a summary)",
    )
    parser.add_argument(
        "--concurrency", type=positive_int, default=32, help="creates in flight at once"
    )
    parser.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help="do not wait for orders to settle: report them pending, with a resume token",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        metavar="S",
        help="seconds to wait for each order (default: 11 minutes)",
    )
    add_rate_limits_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        return run_until_interrupted(_batch(args))
    except KeyboardInterrupt:
        make_console(stderr=True).print(
            f"interrupted; {_RESUME}",
            highlight=False,
            soft_wrap=True,
        )
        raise


async def _batch(args: argparse.Namespace) -> int:
    console = make_console()
    try:
        digest, lines = describe_input(args.input)
    except InputError as error:
        raise UsageError(str(error)) from None
    rows = max(0, lines - 1) if Path(args.input).suffix.lower() == ".csv" else lines
    async with OctopusClient(rate_limits=RATE_LIMITS[args.rate_limits]) as client:
        with _results_file(args.out) as out:
            batch = client.batch(
                read_rows(args.input),
                journal=args.journal,
                concurrency=args.concurrency,
                wait=args.wait,
                timeout=args.timeout,
                input_id=digest,
            )
            try:
                with api_errors_reported(client.config.base_url, then=_RESUME):
                    async with batch:
                        await _follow(batch, rows, console, out, client)
            except (JournalError, InputError) as error:
                raise UsageError(str(error)) from None
            except OctopusError as error:
                raise CommandError(f"the batch stopped: {error}; {_RESUME}") from None
        await _summarise(batch, console, client)
    counts = batch.summary.counts
    return 0 if counts["delivered"] == batch.summary.total else 1


@contextlib.contextmanager
def _results_file(path: str | None) -> Iterator[IO[bytes] | None]:
    if path is None:
        yield None
        return
    try:
        # Owner-only before anything is written: the lines carry voucher codes.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        yield file


async def _follow(
    batch: BatchRun, rows: int, console: Console, out: IO[bytes] | None, client: OctopusClient
) -> None:
    """Take the results in: to the file, problems to the console, progress meanwhile."""
    progress = _Progress(batch, rows, console, client)
    async with progress:
        async for result in batch:
            progress.saw(result)
            if out is not None:
                out.write(_result_line(result))
            if result.status in ("failed", "invalid"):
                progress.print(_problem(result))


class _Progress:
    """A live bar on a terminal; elsewhere a line every few seconds."""

    def __init__(self, batch: BatchRun, rows: int, console: Console, client: OctopusClient):
        self._batch = batch
        self._rows = rows
        self._console = console
        self._quotas = client.config.rate_limits.quotas
        self._bar: Progress | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._verticals: set[str] = set()
        self._started = time.monotonic()

    async def __aenter__(self) -> _Progress:
        if self._console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]batch"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TextColumn("{task.fields[pace]}"),
                TimeRemainingColumn(),
                console=self._console,
                refresh_per_second=4,
            )
            self._bar.add_task("batch", total=self._rows, counts="", pace="")
            self._bar.start()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._ticker is not None
        self._ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._ticker
        if self._bar is not None:
            self._update()
            self._bar.stop()

    def saw(self, result: BatchResult) -> None:
        if result.vertical is not None:
            self._verticals.add(result.vertical)

    def print(self, line: str) -> None:
        self._console.print(line, highlight=False, soft_wrap=True)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.25 if self._bar is not None else _PROGRESS_EVERY)
            if self._bar is not None:
                self._update()
            else:
                self.print(self._line())

    def _update(self) -> None:
        assert self._bar is not None
        counts = " ".join(
            f"[{_STYLES[status]}]{self._batch.summary.counts[status]} {status}[/]"
            for status in STATUSES
        )
        self._bar.update(
            self._bar.task_ids[0],
            completed=self._batch.summary.total,
            counts=counts,
            pace=self._pace(),
        )

    def _line(self) -> str:
        summary = self._batch.summary
        counts = ", ".join(f"{summary.counts[status]} {status}" for status in STATUSES)
        line = f"progress: {summary.total}/{self._rows} rows: {counts}; {self._pace()}"
        if 0 < summary.total < self._rows:
            left = (self._rows - summary.total) * self._elapsed() / summary.total
            line += f"; about {left:.0f} s left"
        return line

    def _pace(self) -> str:
        """Rows settled per minute, and how much of the create quota the creates use."""
        summary = self._batch.summary
        minutes = self._elapsed() / 60
        pace = f"{summary.total / minutes:.0f} rows/min"
        quota = self._create_quota()
        if quota:
            pace += f", quota use {summary.created / minutes / quota:.0%}"
        return pace

    def _elapsed(self) -> float:
        return max(time.monotonic() - self._started, 1e-9)

    def _create_quota(self) -> float:
        """The create quotas per minute of the verticals seen so far, together."""
        return sum(
            quota.requests * 60 / quota.period
            for name, quota in self._quotas.items()
            if name.endswith(".create") and name.split(".")[0] in self._verticals
        )


def _problem(result: BatchResult) -> str:
    error = result.error
    field = getattr(error, "param", None)
    where = f" (field {field})" if field else ""
    reference = f" {result.client_reference}" if result.client_reference else ""
    return f"row {result.row}{reference}: {result.status}{where}: {error}"


def _result_line(result: BatchResult) -> bytes:
    error = result.error
    document = {
        "row": result.row,
        "client_reference": result.client_reference,
        "vertical": result.vertical,
        "status": result.status,
        "order": None if result.order is None else dict(result.order.raw),
        "error": None
        if error is None
        else {
            "type": getattr(error, "kind", type(error).__name__),
            "message": str(error),
            "field": getattr(error, "param", None),
        },
        "resume_token": result.resume_token,
    }
    return encode_json(document) + b"\n"


async def _summarise(batch: BatchRun, console: Console, client: OctopusClient) -> None:
    summary = batch.summary
    counts = table("status", amount_column("rows"), title="Batch summary")
    for status in STATUSES:
        counts.add_row(status, str(summary.counts[status]), style=_STYLES[status])
    counts.add_row("total", str(summary.total))
    console.print(counts)
    if summary.spent:
        money = Money(await _currencies(client))
        spent = table("currency", amount_column("spent"))
        for currency, amount in sorted(summary.spent.items()):
            spent.add_row(currency, money(amount, currency))
        console.print(spent)
    minutes = max(summary.elapsed, 1e-9) / 60
    console.print(
        f"{summary.created} orders created in {summary.elapsed:.1f} s "
        f"({summary.created / minutes:.0f} per minute); journal run id {batch.run_id}",
        highlight=False,
    )
    if summary.counts["pending"]:
        console.print("Pending rows: run the same command again to resume their waits.")


async def _currencies(client: OctopusClient) -> tuple[Currency, ...]:
    """The currencies' precisions, or none: the summary then shows amounts exactly."""
    with contextlib.suppress(OctopusError):
        return await client.data.currencies()
    return ()
