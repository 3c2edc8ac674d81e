"""Durable orders on Temporal (`pip install 'octopus-async[temporal]'`).

One `OrderWorkflow` per order, its id made from the order's `client_reference`: it creates
the order exactly once through an activity, waits for it on durable timers at the SDK's
poll cadence (or until an `order_update` signal), and returns the settled order or fails
with a typed `ApplicationError`. `start_order` starts one and `start_orders` many at a
bounded rate; `run_worker` (or `octopus-async worker`) runs the workers;
`forward_to_workflows` lets a webhook receiver wake an order's workflow.
"""

from ._types import (
    DEFAULT_TIMEOUT,
    OrderFailure,
    OrderInput,
    OrderLookup,
    OrderResult,
    OrderSnapshot,
    create_task_queue,
    order_workflow_id,
)
from .activities import OrderActivities, order_policy, order_request
from .bridge import forward_to_workflows
from .starter import StartedOrder, order_input, start_order, start_orders
from .worker import order_workers, run_worker, workflow_runner
from .workflow import LATEST_ORDER, ORDER_UPDATE, OrderWorkflow

__all__ = [
    "DEFAULT_TIMEOUT",
    "LATEST_ORDER",
    "ORDER_UPDATE",
    "OrderActivities",
    "OrderFailure",
    "OrderInput",
    "OrderLookup",
    "OrderResult",
    "OrderSnapshot",
    "OrderWorkflow",
    "StartedOrder",
    "create_task_queue",
    "forward_to_workflows",
    "order_input",
    "order_policy",
    "order_request",
    "order_workers",
    "order_workflow_id",
    "run_worker",
    "start_order",
    "start_orders",
    "workflow_runner",
]
