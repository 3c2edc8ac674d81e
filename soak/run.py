"""The soak's workload, its faults, and the invariants it checks.

One sandbox serves from this process, time-scaled (`SoakConfig.time_scale`: at 0.01 a
simulated minute lasts 0.6 s), answering in every shape variant it knows, its webhooks
sent twice for a share of events, late and out of order. Two workloads share it:

- the batch: `batch_orders` rows (vouchers delivered in the create's answer and in the
  background, topups, some for a player who does not exist, eSIMs) through
  `octopus-async batch` in a process of its own with a journal, SIGKILLed `kills` times
  at random points, then run again until no row is left pending (each wait gives up
  after `wait_timeout` seconds; the next run resumes it); its RSS is sampled every half
  second;
- the app: `app_orders` orders submitted from this process through one client, awaited
  `app_concurrency` at a time, with a webhook receiver that wakes the waits.

While they run, every fault at once: a share of requests answered 503 or a gateway's 502
page, 429 with and without `Retry-After`, dropped connections before and after an order
create took effect, latency spikes, and every few seconds a burst of about a second in
which every API request fails alike (503s, 429s with or without `Retry-After`) or is
slowed; a few seconds in, every token is revoked.

The invariants, each a row of the report:

1. one order per reference: no `client_reference` has two orders on the server, and no
   request reported refused has one at all ("maybe created" is never "refused");
2. every request accounted for: each batch row and app order is settled (delivered or
   failed, with its order), pending with a resume token, or refused with an error;
3. the ledger balances: one debit per order, one refund per failed or cancelled one, and
   the wallet's balance is what its transactions add up to;
4. no secret in any log line of the SDK (DEBUG and up), the batch command's output, or
   a repr or message of what the app got back: API secret, tokens, webhook secret,
   voucher codes, activation codes;
5. no warning: no unclosed session, task destroyed while pending, or exception never
   retrieved, in this process or the command's;
6. RSS flat: the batch process's resident memory in the last quarter of its final run is
   within `rss_slack_mib` of its first quarter's.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import random
import re
import signal
import statistics
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
from aiohttp import web

from octopus_async import (
    OctopusClient,
    OctopusError,
    OrderFailedError,
    OrderOutcomeUnknownError,
    OrderWaitTimeout,
    PollPolicy,
)
from octopus_async.sandbox import SHAPE_VARIANTS, Fault, Sandbox, SandboxConfig

__all__ = ["Invariant", "SoakConfig", "SoakReport", "run_soak"]

PLAYER = {"player_id": "5123456789"}
UNKNOWN_PLAYER = {"player_id": "0000000000"}  # the sandbox fails these, user-fixable
FUNDS = Decimal("100000000.00")
WEBHOOK_SECRET = "whsec_soak_0123456789abcdef"
ORDER_CREATES = "/api/v1/*orders"

_CARD = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]{4}){2,}")
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
_WARNINGS = re.compile(
    r"Unclosed|Task was destroyed|never retrieved|was never awaited|ResourceWarning"
)


@attrs.frozen
class SoakConfig:
    """How big the soak is; the defaults are the full run (`python -m soak`)."""

    batch_orders: int = 4_500
    app_orders: int = 600
    kills: int = 3
    app_concurrency: int = 64
    time_scale: float = 0.01
    seed: int = 2026
    rss_slack_mib: float = 24.0
    wait_timeout: float = 120.0


@attrs.frozen
class Invariant:
    name: str
    held: bool
    detail: str


@attrs.frozen
class SoakReport:
    config: SoakConfig
    invariants: list[Invariant]
    figures: dict[str, Any]

    @property
    def ok(self) -> bool:
        return all(invariant.held for invariant in self.invariants)

    def table(self) -> str:
        width = max(len(i.name) for i in self.invariants)
        lines = [f"{'invariant'.ljust(width)}  held  detail", f"{'-' * width}  ----  ------"]
        lines += [
            f"{i.name.ljust(width)}  {'yes ' if i.held else 'NO  '}  {i.detail}"
            for i in self.invariants
        ]
        lines.append("")
        lines += [f"{name}: {value}" for name, value in self.figures.items()]
        return "\n".join(lines)


# --- the workloads --------------------------------------------------------------------


def batch_rows(count: int) -> list[dict[str, Any]]:
    """The batch's input rows, a mix of every vertical, each with its own reference."""
    rows = []
    for n in range(1, count + 1):
        row: dict[str, Any] = {"client_reference": f"soak-b-{n}", **_order_of(n)}
        rows.append(row)
    return rows


def _order_of(n: int) -> dict[str, Any]:
    kind = n % 10
    if kind < 3:
        return {"vertical": "vouchers", "product_id": 123, "denomination": "10.00", "quantity": 1}
    if kind < 5:
        return {"vertical": "vouchers", "product_id": 123, "denomination": "10.00", "quantity": 8}
    if kind < 8:
        player = UNKNOWN_PLAYER if n % 50 == 5 else PLAYER
        return {"vertical": "topups", "product_id": 4218, "amount": "4.99", "input_data": player}
    return {"vertical": "esim", "product_id": 712, "amount": "4.50"}


@attrs.define
class AppOutcomes:
    """What the app's requests ended as, by reference, and every text it was shown."""

    by_reference: dict[str, tuple[str, Any]] = attrs.Factory(dict)
    texts: list[str] = attrs.Factory(list)
    pending_why: Counter[str] = attrs.Factory(Counter)  # by vertical, error type and status


async def _app_order(client: OctopusClient, n: int, outcomes: AppOutcomes) -> None:
    reference = f"soak-a-{n}"
    order = _order_of(n)
    vertical = order["vertical"]
    if vertical == "vouchers":
        waiter: Any = client.vouchers.orders.submit(
            123, "10.00", order["quantity"], client_reference=reference
        )
    elif vertical == "topups":
        waiter = client.topups.orders.submit(
            4218, "4.99", input_data=order["input_data"], client_reference=reference
        )
    else:
        waiter = client.esim.orders.submit(712, "4.50", client_reference=reference)
    try:
        settled = await waiter
    except OrderFailedError as failed:
        outcomes.by_reference[reference] = ("failed", failed.order)
        outcomes.texts += [str(failed), repr(failed), repr(failed.order)]
    except OrderWaitTimeout as timeout:
        outcomes.by_reference[reference] = ("pending", timeout.resume_token)
        status = getattr(timeout.order, "status", None)
        outcomes.pending_why[f"{vertical}: {type(timeout).__name__}, last seen {status}"] += 1
        outcomes.texts += [str(timeout), repr(timeout)]
    except OctopusError as error:
        outcomes.by_reference[reference] = ("refused", error)
        outcomes.texts += [str(error), repr(error)]
    else:
        outcomes.by_reference[reference] = ("settled", settled)
        outcomes.texts.append(repr(settled))
    outcomes.texts.append(repr(waiter))


async def _app(sandbox: Sandbox, config: SoakConfig, outcomes: AppOutcomes) -> dict[str, Any]:
    """The app's orders, awaited `app_concurrency` at a time, webhooks waking them."""
    poll = PollPolicy().scaled(config.time_scale * 10)  # checks every 0.5 s, not 5 s
    async with OctopusClient(**sandbox.client_settings(), poll=poll) as client:
        receiver = client.webhooks.handler(secret=WEBHOOK_SECRET)
        app = web.Application()
        app.router.add_post("/webhooks", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            port = runner.addresses[0][1]
            sandbox.webhooks.register(f"http://127.0.0.1:{port}/webhooks", WEBHOOK_SECRET)
            gate = asyncio.Semaphore(config.app_concurrency)

            async def one(n: int) -> None:
                async with gate:
                    await _app_order(client, n, outcomes)

            await asyncio.gather(*(one(n) for n in range(1, config.app_orders + 1)))
            await receiver.aclose()
        finally:
            await runner.cleanup()
        return {
            "webhooks accepted": receiver.stats.accepted,
            "webhook duplicates": receiver.stats.duplicates,
            "settled by webhook": client.scheduler.stats.settled_after_webhook,
        }


@attrs.define
class BatchRuns:
    """The batch command's runs: exit statuses, output, and the final run's RSS."""

    statuses: list[int] = attrs.Factory(list)
    # Rows left pending by each run that ended, counted by vertical and why.
    pending: list[dict[str, int]] = attrs.Factory(list)
    output: list[str] = attrs.Factory(list)
    rss_kib: list[int] = attrs.Factory(list)


async def _batch(
    sandbox: Sandbox, config: SoakConfig, workdir: Path, rng: random.Random, runs: BatchRuns
) -> list[dict[str, Any]]:
    """Run the batch, SIGKILLed `kills` times, then to its end; its `--out` lines."""
    source = workdir / "soak.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in batch_rows(config.batch_orders)))
    journal, out = workdir / "soak.db", workdir / "results.jsonl"
    command = [sys.executable, "-m", "octopus_async.cli", "batch", str(source)]
    command += ["--journal", str(journal), "--out", str(out), "--concurrency", "32"]
    # A wait longer than this ends pending, and the next run resumes it.
    command += ["--timeout", str(config.wait_timeout)]
    environment = {
        **os.environ,
        "OCTOPUS_BASE_URL": sandbox.url,
        "OCTOPUS_API_KEY": sandbox.api_key,
        "OCTOPUS_API_SECRET": sandbox.api_secret,
        "PYTHONWARNINGS": "always",
    }
    for run in range(config.kills + 3):
        logs = workdir / f"batch-{run}.out", workdir / f"batch-{run}.err"
        with logs[0].open("wb") as stdout, logs[1].open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *command, stdout=stdout, stderr=stderr, env=environment
            )
        final = run >= config.kills
        sampler = asyncio.ensure_future(_sample_rss(process.pid, runs.rss_kib if final else []))
        if not final:
            # A random point of the run: not a wait for anything in particular.
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            process.send_signal(signal.SIGKILL)
        await process.wait()
        sampler.cancel()
        runs.statuses.append(process.returncode or 0)
        runs.output += [log.read_text(errors="replace") for log in logs]
        if final and process.returncode in (0, 1):
            lines = [json.loads(line) for line in out.read_text().splitlines()]
            pending = [line for line in lines if line["status"] == "pending"]
            runs.pending.append(dict(Counter(map(_pending_why, pending))))
            if not pending:
                return lines
    return [json.loads(line) for line in out.read_text().splitlines()]


def _pending_why(line: dict[str, Any]) -> str:
    error = line["error"]
    return f"{line['vertical']}: {error['type'] if error else 'no error'}"


async def _sample_rss(pid: int, into: list[int]) -> None:
    while True:
        rss = _rss_kib(pid)
        if rss is not None:
            into.append(rss)
        await asyncio.sleep(0.5)


def _rss_kib(pid: int) -> int | None:
    """The resident memory of process `pid` (a /proc read, which does not block)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


# --- the faults -----------------------------------------------------------------------


def _faults(sandbox: Sandbox) -> None:
    """The steady faults: a share of every kind of failure, all the time."""
    plan = sandbox.faults
    plan.add(Fault.drop(), phase="after", method="POST", path=ORDER_CREATES, rate=0.03)
    plan.add(Fault.drop(), phase="before", method="POST", path=ORDER_CREATES, rate=0.02)
    plan.add(Fault.drop(), phase="after", method="GET", path="/api/v1/*", rate=0.01)
    plan.add(Fault.error(503), path="/api/v1/*", rate=0.02)
    plan.add(Fault.gateway_page(502), path="/api/v1/*", rate=0.01)
    plan.add(Fault.error(429, retry_after="1"), path="/api/v1/*", rate=0.01)
    plan.add(Fault.error(429), path="/api/v1/*", rate=0.01)
    plan.add(Fault.delay(0.4), path="/api/v1/*", rate=0.005)


async def _chaos(sandbox: Sandbox, rng: random.Random, counts: Counter[str]) -> None:
    """A burst every few seconds, each lasting about a second, until cancelled."""
    plan = sandbox.faults
    bursts = {
        "503 burst": Fault.error(503),
        "429 storm": Fault.error(429, retry_after="1"),
        "429 storm without Retry-After": Fault.error(429),
    }
    while True:
        await asyncio.sleep(rng.uniform(1.5, 3.0))
        burst = rng.choice([*bursts, "latency spike"])
        counts[burst] += 1
        if burst == "latency spike":
            plan.latency, plan.latency_jitter = 0.2, 0.3
            await asyncio.sleep(1.0)
            plan.latency = plan.latency_jitter = 0.0
            continue
        rule = plan.add(bursts[burst], path="/api/v1/*")
        plan.rules.insert(0, plan.rules.pop())  # before the steady faults
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        plan.rules.remove(rule)


# --- what is watched ------------------------------------------------------------------


class _Capture(logging.Handler):
    """Every log line of the SDK (the sandbox's own logs excepted), formatted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(
            logging.Formatter("%(relativeCreated).0f %(levelname)s %(name)s %(message)s")
        )

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("octopus_async.sandbox"):
            self.lines.append(self.format(record))


@attrs.define
class _Issued:
    """Every token the sandbox handed out."""

    tokens: set[str] = attrs.Factory(set)

    def watch(self, sandbox: Sandbox) -> None:
        authority = sandbox.tokens
        issue, rotate = authority.issue, authority.rotate

        def issued(client_id: int) -> Any:
            return self._keep(issue(client_id))

        def rotated(refresh_token: str) -> Any:
            return self._keep(rotate(refresh_token))

        authority.issue = issued  # type: ignore[method-assign]
        authority.rotate = rotated  # type: ignore[method-assign]

    def _keep(self, tokens: Any) -> Any:
        self.tokens |= {tokens.access_token, tokens.refresh_token}
        return tokens


def _server_orders(sandbox: Sandbox) -> list[Any]:
    state = sandbox.state
    return [
        order
        for desk in (state.vouchers, state.topups, state.esim)
        for order in desk.orders.by_id.values()
    ]


def _codes(orders: list[Any]) -> tuple[set[str], set[str]]:
    """The voucher codes and eSIM activation codes the server made."""
    cards = {
        voucher["card_number"]
        for order in orders
        for voucher in getattr(order, "vouchers", ())
        if voucher.get("card_number")
    }
    activation = {o.activation_code for o in orders if getattr(o, "activation_code", None)}
    return cards, activation


# --- the run --------------------------------------------------------------------------


async def run_soak(config: SoakConfig, workdir: Path) -> SoakReport:
    """Run the soak in `workdir` (the batch's input, journal, results and output go there,
    and the SDK's log lines of this process, to sdk.log)."""
    rng = random.Random(config.seed)
    capture = _Capture()
    sdk_logger = logging.getLogger("octopus_async")
    level = sdk_logger.level
    sdk_logger.addHandler(capture)
    sdk_logger.setLevel(logging.DEBUG)
    loop_problems: list[str] = []
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: loop_problems.append(str(context)))
    started = time.monotonic()
    bursts: Counter[str] = Counter()
    outcomes = AppOutcomes()
    runs = BatchRuns()
    issued = _Issued()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sandbox_config = SandboxConfig(
                time_scale=config.time_scale,
                wallets={"USD": FUNDS},
                shape_variants=SHAPE_VARIANTS,
                webhook_duplicate_rate=0.3,
                webhook_jitter=50.0,
                webhook_delay=20.0,
                webhook_timeout=1000.0,
                seed=config.seed,
            )
            async with Sandbox(sandbox_config) as sandbox:
                issued.watch(sandbox)
                _faults(sandbox)
                chaos = asyncio.ensure_future(_chaos(sandbox, rng, bursts))
                app = asyncio.ensure_future(_app(sandbox, config, outcomes))
                batch = asyncio.ensure_future(_batch(sandbox, config, workdir, rng, runs))
                await asyncio.sleep(rng.uniform(3.0, 6.0))
                sandbox.tokens.revoke_all(sandbox.config.client_id)
                bursts["every token revoked"] += 1
                try:
                    app_figures = await app
                    lines = await batch
                finally:
                    chaos.cancel()
                    for task in (app, batch):
                        task.cancel()
                    await asyncio.gather(chaos, app, batch, return_exceptions=True)
                orders = _server_orders(sandbox)
                ledger = sandbox.ledger
                requests = Counter(r.status for r in sandbox.requests)
            del sandbox
            gc.collect()
    finally:
        loop.set_exception_handler(handler)
        sdk_logger.removeHandler(capture)
        sdk_logger.setLevel(level)
    (workdir / "sdk.log").write_text("".join(line + "\n" for line in capture.lines))
    invariants = [
        _one_order_per_reference(orders, outcomes, lines),
        _every_request_accounted_for(config, outcomes, lines),
        _ledger_balances(orders, ledger),
        _no_secret(orders, issued, capture.lines, runs.output, outcomes.texts),
        _no_warnings(caught, loop_problems, runs.output),
        _rss_flat(runs.rss_kib, config.rss_slack_mib),
    ]
    batch_statuses = Counter(line["status"] for line in lines)
    figures = {
        "orders on the server": len(orders),
        "batch rows": dict(batch_statuses),
        "app orders": dict(Counter(kind for kind, _ in outcomes.by_reference.values())),
        "batch runs (exit statuses)": runs.statuses,
        "app orders pending, by vertical and why": dict(outcomes.pending_why),
        "rows pending after each finished run": runs.pending,
        "answers by status (None: dropped)": dict(sorted(requests.items(), key=str)),
        "bursts": dict(bursts),
        **app_figures,
        "SDK log lines read": len(capture.lines),
        "elapsed s": round(time.monotonic() - started, 1),
    }
    return SoakReport(config, invariants, figures)


# --- the invariants -------------------------------------------------------------------


def _one_order_per_reference(
    orders: list[Any], outcomes: AppOutcomes, lines: list[dict[str, Any]]
) -> Invariant:
    counts = Counter(order.client_reference for order in orders)
    twice = sorted(reference for reference, count in counts.items() if count > 1)
    refused = {ref for ref, (kind, _) in outcomes.by_reference.items() if kind == "refused"}
    refused |= {
        line["client_reference"]
        for line in lines
        if line["status"] == "failed" and not line["order"]
    }
    made_anyway = sorted(refused & set(counts))
    held = not twice and not made_anyway
    detail = (
        f"{len(counts)} references, none twice; {len(refused)} refused, none made"
        if held
        else f"twice: {twice[:5]}; refused but made: {made_anyway[:5]}"
    )
    return Invariant("one order per client_reference", held, detail)


def _every_request_accounted_for(
    config: SoakConfig, outcomes: AppOutcomes, lines: list[dict[str, Any]]
) -> Invariant:
    problems = []
    rows = sorted(line["row"] for line in lines)
    if rows != list(range(1, config.batch_orders + 1)):
        problems.append(f"batch rows reported: {len(rows)} of {config.batch_orders}")
    for line in lines:
        status = line["status"]
        if status == "delivered" and not line["order"]:
            problems.append(f"row {line['row']} delivered without its order")
        elif status == "pending" and not line["resume_token"]:
            problems.append(f"row {line['row']} pending without a resume token")
        elif status not in ("delivered", "failed", "pending"):
            problems.append(f"row {line['row']} {status}")
    if len(outcomes.by_reference) != config.app_orders:
        problems.append(f"app orders ended: {len(outcomes.by_reference)} of {config.app_orders}")
    for reference, (kind, value) in outcomes.by_reference.items():
        if kind == "pending" and not value:
            problems.append(f"{reference} pending without a resume token")
        if kind == "refused" and isinstance(value, OrderOutcomeUnknownError):
            problems.append(f"{reference}: an unknown outcome reported as refused")
    pending = sum(line["status"] == "pending" for line in lines)
    pending += sum(kind == "pending" for kind, _ in outcomes.by_reference.values())
    detail = (
        f"{len(lines)} rows and {len(outcomes.by_reference)} app orders; "
        f"{pending} pending, each with its token"
    )
    return Invariant(
        "every request settled or pending with a token",
        not problems,
        detail if not problems else "; ".join(problems[:5]),
    )


def _ledger_balances(orders: list[Any], ledger: Any) -> Invariant:
    debited: Counter[int] = Counter()
    refunded: Counter[int] = Counter()
    for transaction in ledger.transactions.values():
        found = re.search(r"Order #(\d+)", transaction.remarks or "")
        if found is None:
            continue
        if "Refund" in transaction.remarks:
            refunded[int(found.group(1))] += 1
        elif transaction.transaction_type == "DEBIT":
            debited[int(found.group(1))] += 1
    failed = {order.id for order in orders if order.status in ("FAILED", "CANCELLED")}
    signed = sum(
        t.amount if t.transaction_type == "CREDIT" else -t.amount
        for t in ledger.transactions.values()
    )
    balance = ledger.wallet_for("USD").balance
    problems = []
    if debited != Counter(order.id for order in orders):
        problems.append("debits do not match the orders one to one")
    if refunded != Counter(failed):
        problems.append("refunds do not match the failed orders one to one")
    if balance != signed:
        problems.append(f"balance {balance} is not the transactions' sum {signed}")
    detail = f"{sum(debited.values())} debits, {sum(refunded.values())} refunds, balance {balance}"
    return Invariant("ledger balanced", not problems, "; ".join(problems) or detail)


def _no_secret(
    orders: list[Any], issued: _Issued, logs: list[str], output: list[str], texts: list[str]
) -> Invariant:
    cards, activation = _codes(orders)
    fixed = {"the API secret": _api_secret(), "the webhook secret": WEBHOOK_SECRET}
    found: Counter[str] = Counter()
    for text in _texts(logs, output, texts):
        for name, secret in fixed.items():
            if secret in text:
                found[name] += 1
        if any(candidate in issued.tokens for candidate in _JWT.findall(text)):
            found["a token"] += 1
        if any(candidate in cards for candidate in _CARD.findall(text)):
            found["a voucher code"] += 1
        if "LPA:1$" in text:  # every activation code starts so
            found["an activation code"] += 1
    read = len(logs) + len(output) + len(texts)
    detail = (
        f"{read} texts read for {len(issued.tokens)} tokens, {len(cards)} voucher codes, "
        f"{len(activation)} activation codes and 2 secrets"
    )
    return Invariant("no secret leaked", not found, detail if not found else str(dict(found)))


def _api_secret() -> str:
    return SandboxConfig().api_secret


def _texts(*groups: list[str]) -> Iterator[str]:
    for group in groups:
        yield from group


def _no_warnings(
    caught: list[warnings.WarningMessage], loop_problems: list[str], output: list[str]
) -> Invariant:
    problems = [str(w.message) for w in caught] + loop_problems
    problems += [line for text in output for line in text.splitlines() if _WARNINGS.search(line)]
    return Invariant(
        "no unclosed session or pending task",
        not problems,
        "none in this process or the command's" if not problems else problems[0][:200],
    )


def _rss_flat(samples: list[int], slack_mib: float) -> Invariant:
    if len(samples) < 8:
        return Invariant("RSS flat", False, f"only {len(samples)} RSS samples")
    quarter = len(samples) // 4
    first = statistics.median(samples[:quarter]) / 1024
    last = statistics.median(samples[-quarter:]) / 1024
    held = last - first <= slack_mib
    detail = (
        f"batch RSS {first:.0f} MiB in the first quarter, {last:.0f} MiB in the last, "
        f"peak {max(samples) / 1024:.0f} MiB ({len(samples)} samples)"
    )
    return Invariant("RSS flat", held, detail)
