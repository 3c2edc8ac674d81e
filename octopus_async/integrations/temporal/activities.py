"""The order activities: the exactly-once create and a fetch, sharing one SDK client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from ..._transport.wire import encode_json
from ...batch.requests import REQUEST_TYPES, OrderRequest
from ...client import OctopusClient
from ...errors import (
    APIStatusError,
    AuthenticationError,
    DuplicateClientReferenceError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitError,
)
from ...waiting.policy import (
    ESIM,
    ESIM_ACTIVATED,
    ESIM_INSTALLED,
    TOPUPS,
    VOUCHERS,
    VerticalPolicy,
)
from ._types import OrderInput, OrderLookup, OrderSnapshot

__all__ = ["OrderActivities", "order_policy", "order_request"]

_POLICIES = {
    ("vouchers", "settled"): VOUCHERS,
    ("topups", "settled"): TOPUPS,
    ("esim", "settled"): ESIM,
    ("esim", "installed"): ESIM_INSTALLED,
    ("esim", "activated"): ESIM_ACTIVATED,
}

_T = TypeVar("_T")


def order_request(order: OrderInput) -> OrderRequest:
    """The typed order request that `order` describes; `InvalidRequestError` if none."""
    kind = REQUEST_TYPES.get(order.vertical)
    if kind is None:
        raise InvalidRequestError(
            f"vertical must be one of {', '.join(sorted(REQUEST_TYPES))}, got {order.vertical!r}",
            param="vertical",
        )
    try:
        return kind(**order.fields, client_reference=order.client_reference)
    except TypeError as error:
        raise InvalidRequestError(f"bad {order.vertical} order fields: {error}") from None


def order_policy(vertical: str, goal: str) -> VerticalPolicy:
    """What ends a wait for `goal` on an order of `vertical`; `InvalidRequestError` if
    there is no such wait (only eSIMs have goals past "settled")."""
    policy = _POLICIES.get((vertical, goal))
    if policy is None:
        raise InvalidRequestError(
            f"goal must be 'settled', or for esim orders 'installed' or 'activated'; "
            f"got {goal!r} for {vertical}",
            param="goal",
        )
    return policy


class OrderActivities:
    """The activities of `OrderWorkflow`, sharing `client` (one per worker process).

    Errors a retry cannot mend (input refused before sending, 4xx answers other than 429,
    401 and 403) become non-retryable `ApplicationError`s typed by the SDK error's class
    name; the rest, `OrderOutcomeUnknownError` among them, are retried by Temporal, and a
    retried create finds the order its reference made instead of creating another.

    While a call runs (a quota wait may be long) the activity heartbeats, so that one lost
    with its worker is run again after its heartbeat timeout rather than its whole
    start-to-close timeout.
    """

    def __init__(self, client: OctopusClient) -> None:
        self._client = client

    @activity.defn(name="octopus_create_order")
    async def create_order(self, order: OrderInput) -> OrderSnapshot:
        """Create the order exactly once; a create that already landed returns its order."""
        try:
            request = order_request(order)
            policy = order_policy(order.vertical, order.goal)
            try:
                created: Any = await _heartbeating(
                    request.create(self._client, order.client_reference)
                )
            except DuplicateClientReferenceError as duplicate:
                if duplicate.order is None:
                    raise ApplicationError(
                        "the reference is taken but no lookup shows its order yet",
                        type="DuplicateClientReferenceError",
                    ) from duplicate
                created = duplicate.order
            return _snapshot(created, policy, order.accept_partial)
        except (InvalidRequestError, APIStatusError) as refused:
            raise _refusal(refused) from refused

    @activity.defn(name="octopus_get_order")
    async def get_order(self, lookup: OrderLookup) -> OrderSnapshot:
        """The order as the server reports it now."""
        try:
            policy = order_policy(lookup.vertical, lookup.goal)
            order = await _heartbeating(
                self._client.orders_of(lookup.vertical).get(lookup.order_id)
            )
        except (InvalidRequestError, APIStatusError) as refused:
            raise _refusal(refused) from refused
        return _snapshot(order, policy, lookup.accept_partial)


async def _heartbeating(call: Awaitable[_T]) -> _T:
    """Await `call`, heartbeating three times per heartbeat timeout meanwhile."""
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        return await call

    async def beat(every: float) -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    beating = asyncio.create_task(beat(timeout.total_seconds() / 3))
    try:
        return await call
    finally:
        beating.cancel()


def _refusal(error: InvalidRequestError | APIStatusError) -> Exception:
    """A non-retryable error for a refusal of the order, or `error` itself when a retry
    may succeed: a 429, a 408, a 5xx, and credentials refused (401, 403), which are the
    worker's to mend, not the order's."""
    if isinstance(error, (RateLimitError, AuthenticationError, PermissionDeniedError)) or (
        isinstance(error, APIStatusError) and (error.status >= 500 or error.status == 408)
    ):
        return error
    details = {"message": str(error)}
    if isinstance(error, APIStatusError):
        details.update(status=str(error.status), code=str(error.code))
    return ApplicationError(str(error), details, type=type(error).__name__, non_retryable=True)


def _snapshot(order: Any, policy: VerticalPolicy, accept_partial: bool) -> OrderSnapshot:
    outcome = policy.outcome(order, accept_partial)
    return OrderSnapshot(
        order_id=order.id,
        status=str(order.status),
        outcome="pending" if outcome is None else "succeeded" if outcome else "failed",
        order_json=encode_json(order.raw).decode(),
        client_reference=order.client_reference,
        failure_code=getattr(order, "failure_code", None),
        failure_reason=getattr(order, "failure_reason", None),
        is_user_fixable=getattr(order, "is_user_fixable", None),
        activation_code=getattr(order, "activation_code", None),
    )
