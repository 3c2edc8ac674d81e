"""What the order workflow and its activities exchange: plain JSON-able dataclasses.

Money never passes through a float: order JSON travels as a string written by the SDK's
exact JSON writer, and request amounts as strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "DEFAULT_TIMEOUT",
    "OrderFailure",
    "OrderInput",
    "OrderLookup",
    "OrderResult",
    "OrderSnapshot",
    "create_task_queue",
    "order_workflow_id",
]

DEFAULT_TIMEOUT = 86400.0
"""How long a workflow waits for its order unless its input says otherwise (a day)."""


def order_workflow_id(vertical: str, client_reference: str) -> str:
    """The id of the workflow of the order of `vertical` created with `client_reference`."""
    return f"octopus-order:{vertical}:{client_reference}"


def create_task_queue(task_queue: str, vertical: str) -> str:
    """The task queue of the create activities of `vertical`'s workflows on `task_queue`: a
    queue per vertical, so that its server-enforced rate limit is that vertical's create
    quota (D21) alone."""
    return f"{task_queue}.create.{vertical}"


def _decode(text: str) -> dict[str, Any]:
    data = json.loads(text, parse_float=Decimal)
    if not isinstance(data, dict):
        raise ValueError("order JSON must be an object")
    return data


@dataclass
class OrderSnapshot:
    """An order as an activity saw it: `outcome` is "succeeded", "failed" or "pending"
    for the wait's goal. `activation_code` is an eSIM's, the first one seen."""

    order_id: int
    status: str
    outcome: str
    order_json: str = field(repr=False)
    client_reference: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    is_user_fixable: bool | None = None
    activation_code: str | None = field(default=None, repr=False)


@dataclass
class OrderInput:
    """One order to place and wait for: `vertical` ("vouchers", "topups", "esim"), the
    fields of its order request (amounts as strings), and its `client_reference`.

    `goal` is what ends the wait: "settled" (fulfilment), or for an eSIM "installed" (the
    profile on a device) or "activated" (first used, or expired), as `EsimOrders.wait_installed`
    and `wait_active` wait. The wait, both phases, ends after `timeout` seconds;
    `accept_partial` settles on a partial delivery. `poll_scale` multiplies the poll cadence
    (tests make it small); a run continues as new after `polls_per_run` polls. An activity
    whose worker stops heartbeating for `heartbeat_timeout` seconds (it was killed) is run
    again on another worker. `order_id`, `waiting_since`, `deadline`, `installing_since`,
    `latest` and `check_now` are carried from one run to the next and are left unset by
    callers.
    """

    vertical: str
    client_reference: str
    fields: dict[str, Any]
    timeout: float = DEFAULT_TIMEOUT
    accept_partial: bool = False
    poll_scale: float = 1.0
    polls_per_run: int = 100
    heartbeat_timeout: float = 10.0
    goal: str = "settled"
    order_id: int | None = None
    waiting_since: str | None = None
    deadline: str | None = None
    installing_since: str | None = None
    latest: OrderSnapshot | None = field(default=None, repr=False)
    check_now: bool = False


@dataclass
class OrderLookup:
    """The order `order_id` of `vertical`, to fetch and judge against the wait's `goal`."""

    vertical: str
    order_id: int
    accept_partial: bool = False
    goal: str = "settled"


@dataclass
class OrderResult:
    """A workflow's settled order: its id, status and JSON (`order.raw`, written exactly).

    `activation_code` is an eSIM's, the first one seen: the server stops sending it once
    the profile is installed, so an "installed" wait's last answer lacks it."""

    order_id: int
    client_reference: str
    status: str
    order_json: str = field(repr=False)
    activation_code: str | None = field(default=None, repr=False)

    def data(self) -> dict[str, Any]:
        """The order's JSON, numbers with a fraction as Decimals: `Orders.from_json` reads it."""
        return _decode(self.order_json)


@dataclass
class OrderFailure:
    """The details of an `OrderFailedError` workflow failure (FAILED or CANCELLED order)."""

    order_id: int
    client_reference: str
    status: str
    failure_code: str | None
    failure_reason: str | None
    is_user_fixable: bool | None
    order_json: str = field(repr=False)

    @classmethod
    def from_details(cls, details: Mapping[str, Any]) -> OrderFailure:
        """The failure from an `ApplicationError`'s first detail, as a client decodes it."""
        fields: dict[str, Any] = {name: details.get(name) for name in cls.__dataclass_fields__}
        return cls(**fields)
