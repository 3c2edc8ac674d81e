"""The webhook bridge: a verified order event wakes its order's workflow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from ...models.webhooks import WebhookEvent
from ...webhooks import event_order
from ._types import order_workflow_id
from .workflow import ORDER_UPDATE

__all__ = ["forward_to_workflows"]


def forward_to_workflows(temporal_client: Client) -> Callable[[WebhookEvent], Awaitable[None]]:
    """An `on_event` for a webhook receiver that signals `order_update` to the workflow of
    the event's order, which then checks the order at once instead of at its next timer.

    ::

        receiver = client.webhooks.handler(secret=..., on_event=forward_to_workflows(temporal))

    The workflow is found by `order_workflow_id(vertical, client_reference)`. Events of
    other types, and orders with no workflow running (not started on Temporal, or settled
    already), are passed over. The signal carries the event's type and id, no payload.
    """

    async def forward(event: WebhookEvent) -> None:
        order = event_order(event)
        if order is None or order.client_reference is None:
            return
        handle = temporal_client.get_workflow_handle(
            order_workflow_id(order.vertical, order.client_reference)
        )
        try:
            await handle.signal(ORDER_UPDATE, {"type": str(event.type), "id": event.id})
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise

    return forward
