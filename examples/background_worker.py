"""A background worker that survives a restart without losing or repeating an order.

    python examples/background_worker.py

The worker orders topups for a list of jobs and writes each wait's resume token to a small
JSON journal before the order's create can even be sent. It is then stopped half-way (a
deploy, say): closing its client ends the pending waits with `OrderWaitTimeout`, whose
newer tokens also go to the journal. A second worker, with a new `OctopusClient` as a new
process would have, reads the journal, resumes every unsettled wait with
`client.resume(token)` and submits nothing twice. Last, the orders upstream are counted:
one per job, every one settled.

Runs against an in-process sandbox whose time, like the poll cadence, runs 100 times faster
than real time: topups that take 20 s to 4 minutes settle within a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from octopus_async import (
    OctopusClient,
    OrderFailedError,
    OrderWaitTimeout,
    PendingOrder,
    PollPolicy,
)
from octopus_async.sandbox import Sandbox, SandboxConfig

SCALE = 0.01  # the sandbox and the poll cadence run 100 times faster than real time


class Job(NamedTuple):
    product_id: int
    amount: str
    player_id: str


# The work: topups to order, one per job. The last player id does not exist (the sandbox
# fails orders for it): a failed order is settled too, and must not be retried blindly.
JOBS = {
    f"job-{number}": Job(4218, amount, player)
    for number, (amount, player) in enumerate(
        [
            ("0.99", "5123456789"),
            ("4.99", "5123456790"),
            ("9.99", "5123456791"),
            ("0.99", "5123456792"),
            ("4.99", "5123456793"),
            ("9.99", "5123456794"),
            ("0.99", "5123456795"),
            ("4.99", "0000000000"),
        ],
        start=1,
    )
}


class Journal:
    """What the worker has ordered and how far each order got, in a JSON file.

    Every change rewrites the file atomically (a temporary file, then `os.replace`), so a
    crash leaves the old journal or the new one, never half of one (fsync it as well if a
    power cut must not lose it). A busy worker would keep this in SQLite or its own
    database, in the same transaction as its job queue.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = (
            json.loads(path.read_text()) if path.exists() else {}
        )

    def record(self, job: str, **fields: Any) -> None:
        self.entries.setdefault(job, {}).update(fields)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.entries, indent=1))
        os.replace(temporary, self.path)

    def unsettled(self) -> dict[str, str]:
        """job -> resume token, for every order not known to have settled."""
        return {
            job: entry["token"]
            for job, entry in self.entries.items()
            if entry.get("outcome") is None
        }


async def worker(
    name: str,
    client_settings: Mapping[str, Any],
    journal_path: Path,
    *,
    stop_after: float | None = None,
) -> None:
    """Do every job not done yet; with `stop_after`, stop after that many seconds."""
    journal = Journal(journal_path)  # read afresh, as a new process would
    waiters: dict[str, PendingOrder[Any]] = {}
    async with OctopusClient(**client_settings, poll=PollPolicy().scaled(SCALE)) as client:
        # First the waits a previous run left pending. A token carries the order's id (or,
        # taken before the create answered, its client_reference) and the wait's deadline;
        # a deadline that passed while no worker ran starts a new default one.
        for job, token in journal.unsettled().items():
            waiters[job] = client.resume(token)
        if waiters:
            print(f"{name}: resumed {len(waiters)} waits from the journal")

        # Then the jobs never ordered. `submit` only schedules the create: nothing is sent
        # before this coroutine next awaits, so the token is in the journal before the
        # order can exist. A crash at any point leaves a token for every order that may.
        new = [job for job in JOBS if job not in journal.entries]
        for job in new:
            spec = JOBS[job]
            waiter = client.topups.orders.submit(
                spec.product_id, spec.amount, input_data={"player_id": spec.player_id}
            )
            journal.record(job, reference=waiter.client_reference, token=waiter.resume_token())
            waiters[job] = waiter
        if new:
            print(f"{name}: submitted {len(new)} orders, their tokens journaled")

        followers = [
            asyncio.create_task(follow(name, job, w, journal)) for job, w in waiters.items()
        ]
        if stop_after is None:
            await asyncio.gather(*followers)
            return
        await asyncio.sleep(stop_after)
        pending = sum(not waiter.done() for waiter in waiters.values())
        print(f"{name}: stopping with {pending} orders still pending upstream")
    # Leaving the block closed the client: every pending wait ended with OrderWaitTimeout
    # and its resume token; the orders themselves go on being fulfilled upstream.
    await asyncio.gather(*followers)


async def follow(name: str, job: str, waiter: PendingOrder[Any], journal: Journal) -> None:
    """Wait for one order and journal how it ended."""
    try:
        order = await waiter
    except OrderWaitTimeout as stopped:
        # Not an outcome: keep the newer token (it names the order by id now).
        journal.record(job, token=stopped.resume_token)
        status = getattr(stopped.order, "status", "not seen yet")
        print(f"{name}: {job} order {waiter.order_id} still {status}; token kept")
        # (A resumed wait that ends with `stopped.order` None never saw the order: its
        # create did not reach the server before a crash. Submit that job again with the
        # same client_reference, which makes the second try exactly-once as well.)
    except OrderFailedError as failed:
        journal.record(job, outcome=f"{failed.status}: {failed.failure_reason}")
        print(f"{name}: {job} order {failed.order.id} {failed.status}: {failed.failure_reason}")
    else:
        journal.record(job, outcome=str(order.status))
        print(f"{name}: {job} order {order.id} {order.status} ({order.variant_name})")


async def main() -> None:
    config = SandboxConfig(
        time_scale=SCALE,
        topup_settle_delay=(20.0, 240.0),  # 0.2 to 2.4 s here
        topup_slow_share=0.0,
        seed=11,  # the same settle delays every run
    )
    with tempfile.TemporaryDirectory() as directory:
        journal_path = Path(directory) / "journal.json"
        async with Sandbox(config) as sandbox:
            settings = sandbox.client_settings()

            await worker("worker 1", settings, journal_path, stop_after=80 * SCALE)
            await asyncio.sleep(30 * SCALE)  # no worker runs; upstream, orders settle
            tokens = Journal(journal_path).unsettled()
            print(f"restart; the journal holds {len(tokens)} waits, such as")
            print(f"  {next(iter(tokens.values()), None)}")  # small JSON, no order body, no secret
            await worker("worker 2", settings, journal_path)

            # The audit: one order upstream per job, each settled as the journal says.
            journal = Journal(journal_path)
            async with OctopusClient(**settings) as client:
                upstream = [order.client_reference async for order in client.topups.orders.list()]
            journaled = {entry["reference"]: entry["outcome"] for entry in journal.entries.values()}
            lost_or_repeated = len(upstream) != len(journaled) or set(upstream) != set(journaled)
            if lost_or_repeated or not all(journaled.values()):
                raise SystemExit(f"lost or repeated orders: {upstream} != {journaled}")
            print(
                f"{len(JOBS)} jobs, {len(upstream)} orders upstream, "
                f"{len(journaled)} settled in the journal: nothing lost, nothing ordered twice"
            )


if __name__ == "__main__":
    asyncio.run(main())
