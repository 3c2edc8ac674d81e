"""`OrderWorkflow`: one order, created exactly once, then waited for with durable timers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ...config import PollPolicy
    from ...models.esim import EsimOrderStatus
    from ._types import (
        OrderFailure,
        OrderInput,
        OrderLookup,
        OrderResult,
        OrderSnapshot,
        create_task_queue,
    )
    from .activities import OrderActivities

__all__ = ["LATEST_ORDER", "ORDER_UPDATE", "OrderWorkflow"]

ORDER_UPDATE = "order_update"
"""The signal that tells a workflow its order may have changed (a webhook arrived)."""

LATEST_ORDER = "latest_order"
"""The query that answers the order as the workflow last saw it (an `OrderSnapshot`)."""

_CREATE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=20,
)
_ATTEMPT = timedelta(minutes=10)
_GET_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60)
)


@workflow.defn
class OrderWorkflow:
    """Creates one order and waits until it settles (or, for an eSIM, until the wait's
    `goal`: installed or first used), returning an `OrderResult`.

    Checks follow the SDK's poll cadence (`PollPolicy.interval`, the install cadence past
    an eSIM's delivery) on durable timers; an `order_update` signal checks at once, and the
    `latest_order` query answers the order as last seen. A FAILED or CANCELLED order fails
    the workflow with a non-retryable `ApplicationError` of type "OrderFailedError"
    (details: an `OrderFailure`), a wait past the deadline with type "OrderWaitTimeout",
    and a refused create with the SDK error's class name. Long waits continue as new every
    `polls_per_run` polls.
    """

    def __init__(self) -> None:
        self._updated = False
        self._latest: OrderSnapshot | None = None

    @workflow.signal(name=ORDER_UPDATE)
    def order_update(self, event: Any = None) -> None:
        """Check the order now (`event`, a webhook's payload, is not read)."""
        self._updated = True

    @workflow.query(name=LATEST_ORDER)
    def latest_order(self) -> OrderSnapshot | None:
        """The order as last seen, None before the create's answer: a delivered eSIM's
        activation code is here while an "installed" wait goes on."""
        return self._latest

    @workflow.run
    async def run(self, order: OrderInput) -> OrderResult:
        now = workflow.now()
        since = _parse(order.waiting_since) or now
        deadline = _parse(order.deadline) or now + timedelta(seconds=order.timeout)
        installing_since = _parse(order.installing_since)
        self._latest = order.latest
        self._updated = self._updated or order.check_now  # a signal the last run did not act on
        if order.order_id is None:
            snapshot = self._seen(
                await _activity(
                    OrderActivities.create_order,
                    order,
                    order,
                    task_queue=create_task_queue(workflow.info().task_queue, order.vertical),
                    retry_policy=_CREATE_RETRY,
                )
            )
            settled = _settled(order, snapshot)
            if settled is not None:
                return settled
            order_id = snapshot.order_id
        else:
            order_id = order.order_id
        policy = PollPolicy().scaled(order.poll_scale)
        rand = workflow.random()
        for _ in range(order.polls_per_run):
            if installing_since is None and order.goal != "settled" and self._delivered():
                installing_since = workflow.now()
            left = (deadline - workflow.now()).total_seconds()
            if left <= 0:
                raise ApplicationError(
                    f"order {order_id} has not settled by its deadline",
                    {"order_id": order_id, "client_reference": order.client_reference},
                    type="OrderWaitTimeout",
                    non_retryable=True,
                )
            age = (workflow.now() - (installing_since or since)).total_seconds()
            interval = policy.interval(age, install=installing_since is not None, rand=rand.random)
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(lambda: self._updated, timeout=min(interval, left))
            self._updated = False
            snapshot = self._seen(
                await _activity(
                    OrderActivities.get_order,
                    OrderLookup(order.vertical, order_id, order.accept_partial, order.goal),
                    order,
                    retry_policy=_GET_RETRY,
                    schedule_to_close_timeout=timedelta(seconds=max(left, 60.0)),
                )
            )
            settled = _settled(order, snapshot)
            if settled is not None:
                return settled
        return workflow.continue_as_new(  # raises: a new run carries on
            dataclasses.replace(
                order,
                order_id=order_id,
                waiting_since=since.isoformat(),
                deadline=deadline.isoformat(),
                installing_since=None if installing_since is None else installing_since.isoformat(),
                latest=self._latest,
                check_now=self._updated,
            )
        )

    def _seen(self, snapshot: OrderSnapshot) -> OrderSnapshot:
        """Keep `snapshot` as the latest, with the activation code first seen (D34)."""
        if snapshot.activation_code is None and self._latest is not None:
            snapshot = dataclasses.replace(snapshot, activation_code=self._latest.activation_code)
        self._latest = snapshot
        return snapshot

    def _delivered(self) -> bool:
        return self._latest is not None and self._latest.status == EsimOrderStatus.DELIVERED


async def _activity(activity: Any, arg: Any, order: OrderInput, **options: Any) -> OrderSnapshot:
    """Run an activity method for `order`; a refusal fails the workflow with its type.

    A call may wait long for a quota slot: an attempt may last `_ATTEMPT`, and a worker
    that died is noticed by its missing heartbeats instead."""
    options.update(
        start_to_close_timeout=_ATTEMPT,
        heartbeat_timeout=timedelta(seconds=order.heartbeat_timeout),
    )
    try:
        result: OrderSnapshot = await workflow.execute_activity_method(activity, arg, **options)
    except ActivityError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError):
            raise ApplicationError(
                cause.message, *cause.details, type=cause.type, non_retryable=True
            ) from error
        raise
    return result


def _settled(order: OrderInput, snapshot: OrderSnapshot) -> OrderResult | None:
    """The result for a settled order, None while it is pending; raises for a failed one."""
    if snapshot.outcome == "succeeded":
        return OrderResult(
            snapshot.order_id,
            order.client_reference,
            snapshot.status,
            snapshot.order_json,
            snapshot.activation_code,
        )
    if snapshot.outcome == "failed":
        failure = OrderFailure(
            order_id=snapshot.order_id,
            client_reference=order.client_reference,
            status=snapshot.status,
            failure_code=snapshot.failure_code,
            failure_reason=snapshot.failure_reason,
            is_user_fixable=snapshot.is_user_fixable,
            order_json=snapshot.order_json,
        )
        detail = f": {snapshot.failure_reason}" if snapshot.failure_reason else ""
        raise ApplicationError(
            f"order {snapshot.order_id} {snapshot.status}{detail}",
            failure,
            type="OrderFailedError",
            non_retryable=True,
        )
    return None


def _parse(moment: str | None) -> datetime | None:
    return None if moment is None else datetime.fromisoformat(moment)
