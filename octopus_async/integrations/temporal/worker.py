"""Running the workers that carry out order workflows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal, cast

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ..._transport.ratelimit import burst_capacity
from ...batch.requests import REQUEST_TYPES
from ...client import OctopusClient
from ...config import EndpointClass, RateLimits
from ._types import create_task_queue
from .activities import OrderActivities
from .workflow import OrderWorkflow

__all__ = ["order_workers", "run_worker", "workflow_runner"]


def workflow_runner() -> SandboxedWorkflowRunner:
    """Temporal's workflow sandbox, with the SDK passed through (its modules are imported
    once per process, not once per workflow run)."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules("octopus_async")
    return SandboxedWorkflowRunner(restrictions=restrictions)


@contextlib.asynccontextmanager
async def order_workers(
    temporal_client: Client,
    *,
    task_queue: str,
    client: OctopusClient | None = None,
    create_rate_per_second: float | Literal["auto"] | None = "auto",
    **worker_options: Any,
) -> AsyncIterator[list[Worker]]:
    """The workers of the order workflows of `task_queue`, running while the block runs.

    One runs the workflows and the fetch activity on `task_queue`; one per vertical runs
    that vertical's create activity on `create_task_queue(task_queue, vertical)`, at most
    `create_rate_per_second` creates a second across every worker of that queue. Temporal's
    server enforces that rate, so the account's create quota holds for a whole fleet:
    "auto" takes each vertical's create quota from `client.config.rate_limits` (less its
    headroom), None sets no limit. All share `client`, made from the environment
    (`OCTOPUS_API_KEY`, ...) when not given, and then closed on the way out.
    `worker_options` go to every `Worker`.
    """
    owned = client is None
    octopus = OctopusClient() if client is None else client
    activities = OrderActivities(octopus)
    try:
        workers = [
            Worker(
                temporal_client,
                task_queue=task_queue,
                workflows=[OrderWorkflow],
                activities=[activities.get_order],
                workflow_runner=workflow_runner(),
                **worker_options,
            )
        ]
        for vertical in REQUEST_TYPES:
            rate = (
                _create_rate(octopus.config.rate_limits, vertical)
                if create_rate_per_second == "auto"
                else create_rate_per_second
            )
            workers.append(
                Worker(
                    temporal_client,
                    task_queue=create_task_queue(task_queue, vertical),
                    activities=[activities.create_order],
                    max_task_queue_activities_per_second=rate,
                    **worker_options,
                )
            )
        async with contextlib.AsyncExitStack() as running:
            for worker in workers:
                await running.enter_async_context(worker)
            yield workers
    finally:
        if owned:
            await octopus.aclose()


def _create_rate(limits: RateLimits, vertical: str) -> float | None:
    """Creates a second that `vertical`'s create quota allows past its burst, or None."""
    quota = limits.quotas.get(cast("EndpointClass", f"{vertical}.create"))
    if quota is None:
        return None
    return burst_capacity(quota, limits.headroom) / quota.period


async def run_worker(
    temporal_client: Client,
    *,
    task_queue: str,
    client: OctopusClient | None = None,
    create_rate_per_second: float | Literal["auto"] | None = "auto",
    **worker_options: Any,
) -> None:
    """Run `order_workers` until cancelled, then shut them down and close the SDK client
    if it was made here."""
    async with order_workers(
        temporal_client,
        task_queue=task_queue,
        client=client,
        create_rate_per_second=create_rate_per_second,
        **worker_options,
    ):
        await asyncio.Future()
