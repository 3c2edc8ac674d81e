"""Starting order workflows: one, or many at a bounded rate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from decimal import Decimal
from typing import Any

import attrs
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from ...batch.inputs import each_input
from ...batch.requests import OrderRequest
from ...errors import InvalidRequestError
from ._types import DEFAULT_TIMEOUT, OrderInput, OrderResult, order_workflow_id
from .activities import order_policy
from .workflow import OrderWorkflow

__all__ = ["StartedOrder", "order_input", "start_order", "start_orders"]


def order_input(
    request: OrderRequest,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    accept_partial: bool = False,
    poll_scale: float = 1.0,
    goal: str = "settled",
) -> OrderInput:
    """The workflow input for `request`, which must name its `client_reference`; `goal`
    "installed" or "activated" waits for an eSIM past its delivery (see `OrderInput`)."""
    order_policy(request.vertical, goal)
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
        goal=goal,
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


@attrs.frozen
class StartedOrder:
    """An order of `start_orders`: its input and the handle of its workflow. `new` is False
    when that workflow had been started before (by an earlier run of the starter)."""

    order: OrderInput
    handle: WorkflowHandle[OrderWorkflow, OrderResult]
    new: bool


async def start_orders(
    temporal_client: Client,
    orders: Iterable[OrderRequest | OrderInput] | AsyncIterable[OrderRequest | OrderInput],
    *,
    task_queue: str,
    per_second: float = 20.0,
    concurrency: int = 8,
    **options: Any,
) -> AsyncIterator[StartedOrder]:
    """Start the workflow of each of `orders`, yielding each as it is started.

    At most `per_second` starts begin a second, at most `concurrency` at once; `orders` is
    read as the starts go, so it may be a generator of millions. An order whose workflow is
    running or has completed is yielded with `new=False` and that workflow's handle: a
    starter stopped midway (an error, a crash, leaving the loop) is resumed by running it
    again over the same orders, and no order is started twice. An order without a
    `client_reference`, or whose reference names a workflow started with other fields,
    raises `InvalidRequestError` when it is reached. `options` go to `start_order`.
    """
    if not per_second > 0:
        raise InvalidRequestError(f"per_second must be positive, got {per_second!r}")
    if concurrency < 1:
        raise InvalidRequestError(f"concurrency must be at least 1, got {concurrency!r}")
    loop = asyncio.get_running_loop()
    next_start = loop.time()
    starting: set[asyncio.Task[StartedOrder]] = set()
    try:
        async for order in each_input(orders):
            if not isinstance(order, OrderInput):
                order = order_input(order)
            while len(starting) >= concurrency:
                done, starting = await asyncio.wait(starting, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    yield task.result()
            now = loop.time()
            if next_start > now:
                await asyncio.sleep(next_start - now)
            next_start = max(next_start, now) + 1.0 / per_second
            starting.add(asyncio.create_task(_start(temporal_client, order, task_queue, options)))
        while starting:
            done, starting = await asyncio.wait(starting, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
    finally:
        for task in starting:
            task.cancel()
        await asyncio.gather(*starting, return_exceptions=True)


async def _start(
    temporal_client: Client, order: OrderInput, task_queue: str, options: dict[str, Any]
) -> StartedOrder:
    try:
        handle = await start_order(temporal_client, order, task_queue=task_queue, **options)
    except WorkflowAlreadyStartedError:
        workflow_id = order_workflow_id(order.vertical, order.client_reference)
        handle = temporal_client.get_workflow_handle_for(OrderWorkflow.run, workflow_id)
        await _require_same_order(temporal_client, handle, order)
        return StartedOrder(order, handle, False)
    return StartedOrder(order, handle, True)


async def _require_same_order(
    temporal_client: Client, handle: WorkflowHandle[OrderWorkflow, OrderResult], order: OrderInput
) -> None:
    """Raise `InvalidRequestError` unless the workflow `handle` was started with the
    fields of `order`: a reference reused for another order is refused, not adopted."""
    async for event in handle.fetch_history_events(page_size=1):
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        [started] = await temporal_client.data_converter.decode(payloads, [OrderInput])
        differ = sorted(
            name
            for name in {*started.fields, *order.fields}
            if started.fields.get(name) != order.fields.get(name)
        )
        if differ:
            raise InvalidRequestError(
                f"client_reference {order.client_reference!r} is already the order of "
                f"workflow {handle.id}, started with another {', '.join(differ)}",
                param="client_reference",
            )
        return
