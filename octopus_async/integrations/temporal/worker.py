"""Starting order workflows and running the workers that carry them out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import attrs
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ...batch.requests import OrderRequest
from ...client import OctopusClient
from ...errors import InvalidRequestError
from ._types import (
    DEFAULT_TIMEOUT,
    OrderInput,
    OrderResult,
    create_task_queue,
    order_workflow_id,
)
from .activities import OrderActivities
from .workflow import OrderWorkflow

__all__ = ["order_input", "order_workers", "run_worker", "start_order", "workflow_runner"]


def order_input(
    request: OrderRequest,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    accept_partial: bool = False,
    poll_scale: float = 1.0,
) -> OrderInput:
    """The workflow input for `request`, which must name its `client_reference`."""
    fields = attrs.asdict(request)
    reference = fields.pop("client_reference")
    if reference is None:
        raise InvalidRequestError(
            "a durable order needs a client_reference: its workflow id is made from it",
            param="client_reference",
        )
    fields = {
        name: str(value) if isinstance(value, Decimal) else value for name, value in fields.items()
    }
    return OrderInput(
        request.vertical,
        reference,
        fields,
        timeout=timeout,
        accept_partial=accept_partial,
        poll_scale=poll_scale,
    )


async def start_order(
    temporal_client: Client,
    order: OrderRequest | OrderInput,
    *,
    task_queue: str,
    **options: Any,
) -> WorkflowHandle[OrderWorkflow, OrderResult]:
    """Start the workflow of `order` on `task_queue` and return its handle.

    Its id is `order_workflow_id(vertical, client_reference)`: while that workflow runs,
    and after it completed (for as long as the namespace retains it), starting the order
    again raises `temporalio.exceptions.WorkflowAlreadyStartedError`. A workflow that
    failed (its deadline, a failed order, a refusal) or was terminated may be started
    again: its create then finds the order the first run made, if any, instead of making
    another. `options` go to `Client.start_workflow`.
    """
    if not isinstance(order, OrderInput):
        order = order_input(order)
    return await temporal_client.start_workflow(
        OrderWorkflow.run,
        order,
        id=order_workflow_id(order.vertical, order.client_reference),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        **options,
    )


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
    create_rate_per_second: float | None = None,
    **worker_options: Any,
) -> AsyncIterator[tuple[Worker, Worker]]:
    """The workers of the order workflows of `task_queue`, running while the block runs.

    One runs the workflows and the fetch activity on `task_queue`; the other runs only the
    create activity, on `create_task_queue(task_queue)`, at most `create_rate_per_second`
    creates a second across every worker of that queue (Temporal's server enforces it, so
    the account's create quota holds for a whole fleet). Both share `client`, made from
    the environment (`OCTOPUS_API_KEY`, ...) when not given, and then closed on the way out.
    `worker_options` go to both `Worker`s.
    """
    owned = client is None
    octopus = OctopusClient() if client is None else client
    activities = OrderActivities(octopus)
    try:
        main = Worker(
            temporal_client,
            task_queue=task_queue,
            workflows=[OrderWorkflow],
            activities=[activities.get_order],
            workflow_runner=workflow_runner(),
            **worker_options,
        )
        creates = Worker(
            temporal_client,
            task_queue=create_task_queue(task_queue),
            activities=[activities.create_order],
            max_task_queue_activities_per_second=create_rate_per_second,
            **worker_options,
        )
        async with main, creates:
            yield main, creates
    finally:
        if owned:
            await octopus.aclose()


async def run_worker(
    temporal_client: Client,
    *,
    task_queue: str,
    client: OctopusClient | None = None,
    create_rate_per_second: float | None = None,
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
