"""OrderWaiter: an awaitable for one order's outcome, and its resume token (D32)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Generator
from datetime import datetime
from typing import Any, Generic, Literal, TypeAlias, TypeVar

import attrs

from ..clock import Clock
from ..errors import InvalidRequestError, OrderFailedError, OrderWaitTimeout
from ..models._convert import parse_datetime

__all__ = ["OrderWaiter", "ResumeToken", "SettledBy"]

OrderT = TypeVar("OrderT")

SettledBy: TypeAlias = Literal["create", "given", "poll", "sweep", "webhook"]
"""What showed a wait its order's outcome: the create's answer, the order the wait was
given, a GET on the poll cadence, a list page, or a GET that a webhook asked for."""

_TOKEN_VERSION = 1
_MAX_TOKEN_LENGTH = 4096  # a token is a few hundred characters; more is not one of ours


@attrs.frozen
class ResumeToken:
    """What another process needs to continue a wait: JSON, no pickles, no order bodies."""

    vertical: str
    order_id: int | None
    client_reference: str | None
    created_at: datetime | None
    deadline: datetime
    accept_partial: bool = False

    def encode(self) -> str:
        return json.dumps(
            {
                "v": _TOKEN_VERSION,
                "vertical": self.vertical,
                "order_id": self.order_id,
                "client_reference": self.client_reference,
                "created_at": None if self.created_at is None else self.created_at.isoformat(),
                "deadline": self.deadline.isoformat(),
                "accept_partial": self.accept_partial,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> ResumeToken:
        """Read a token made by `encode`; anything else raises `InvalidRequestError`."""
        try:
            return cls._decode(text)
        except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError, RecursionError):
            # Whatever the text, a caller gets the one error: it is not a token of ours.
            raise InvalidRequestError("not a resume token of this SDK", param="token") from None

    @classmethod
    def _decode(cls, text: str) -> ResumeToken:
        if not isinstance(text, str) or len(text) > _MAX_TOKEN_LENGTH:
            raise ValueError("not a token")
        data = json.loads(text)
        if data.get("v") != _TOKEN_VERSION:
            raise ValueError("unknown version")
        order_id = data["order_id"]
        reference = data["client_reference"]
        vertical = data["vertical"]
        if order_id is not None and (
            isinstance(order_id, bool) or not isinstance(order_id, int) or not order_id >= 1
        ):
            raise ValueError("order_id")
        if reference is not None and not (isinstance(reference, str) and len(reference) >= 1):
            raise ValueError("client_reference")
        if order_id is None and reference is None:
            raise ValueError("neither order_id nor client_reference")
        if not isinstance(vertical, str):
            raise ValueError("vertical")
        created = data["created_at"]
        accept_partial = data.get("accept_partial", False)
        if not isinstance(accept_partial, bool):
            raise ValueError("accept_partial")
        return cls(
            vertical=vertical,
            order_id=order_id,
            client_reference=reference,
            created_at=None if created is None else parse_datetime(created),
            deadline=parse_datetime(data["deadline"]),
            accept_partial=accept_partial,
        )


class OrderWaiter(Generic[OrderT]):
    """The outcome of one order: await it for the settled order.

    It resolves with the order once its status is final and successful, raises
    `OrderFailedError` when it failed or was cancelled, and `OrderWaitTimeout` at its
    deadline. `order` is the latest state seen; `settled_by` says what showed the outcome
    (a `SettledBy`), None until then and for waits that timed out or were cancelled.
    `outcome` is None while waiting, then "succeeded", "failed", "timeout", "cancelled"
    or "error" (see `WaitEnded`).
    `cancel()` stops waiting here only: the order on the server is untouched.
    `resume_token()` lets another process (or a later call) continue with
    `OctopusClient.resume`.

    A waiter owns its future, its deadline timer and (for `submit`) the task that creates
    its order; both stop when the wait ends, however it ends. It is a small record that
    its client's `PollScheduler` settles with `resolve`, `fail` or `expire`, not a polling
    loop of its own.
    """

    __slots__ = (
        "_accept_partial",
        "_create",
        "_deadline",
        "_future",
        "_timer",
        "client_reference",
        "created_at",
        "order",
        "order_id",
        "outcome",
        "settled_by",
        "vertical",
    )

    def __init__(
        self,
        vertical: str,
        *,
        order: OrderT | None,
        order_id: int | None,
        client_reference: str | None,
        created_at: datetime | None,
        deadline: datetime,
        expires_in: float,
        accept_partial: bool,
        clock: Clock,
    ) -> None:
        self.vertical = vertical
        self.order: OrderT | None = order
        self.order_id = order_id
        self.client_reference = client_reference
        self.created_at = created_at
        self.settled_by: SettledBy | None = None
        self.outcome: str | None = None
        self._deadline = deadline
        self._accept_partial = accept_partial
        self._future: asyncio.Future[OrderT] = asyncio.get_running_loop().create_future()
        # The timer runs on the monotonic clock; `deadline` is its wall-clock reading,
        # kept for resume tokens, which cross processes.
        self._timer = clock.call_later(max(0.0, expires_in), self.expire)
        self._create: asyncio.Task[None] | None = None
        self._future.add_done_callback(self._stop)

    @property
    def deadline(self) -> datetime:
        """When the wait gives up (the order goes on)."""
        return self._deadline

    @property
    def accept_partial(self) -> bool:
        return self._accept_partial

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> bool:
        """Stop waiting here; the order on the server is not touched."""
        return self._future.cancel()

    def cancelled(self) -> bool:
        return self._future.cancelled()

    def add_done_callback(self, callback: Callable[[OrderWaiter[OrderT]], object]) -> None:
        """Call `callback(waiter)` when the wait ends, however it ends."""
        self._future.add_done_callback(lambda _: callback(self))

    def result(self) -> OrderT:
        """The settled order, or the wait's exception (only once `done()`)."""
        return self._future.result()

    def exception(self) -> BaseException | None:
        return self._future.exception()

    def resume_token(self) -> str:
        """A JSON token that continues this wait in another process (`client.resume`)."""
        return ResumeToken(
            vertical=self.vertical,
            order_id=self.order_id,
            client_reference=self.client_reference,
            created_at=self.created_at,
            deadline=self._deadline,
            accept_partial=self._accept_partial,
        ).encode()

    # --- what the scheduler does with it ----------------------------------------------

    def start(self, create: Coroutine[Any, Any, None]) -> None:
        """Run `create` (the order's create and what follows it) until the wait ends."""
        self._create = asyncio.get_running_loop().create_task(create)

    def observe(self, order: Any) -> None:
        """Take `order` as the latest state seen."""
        self.order = order
        self.order_id = order.id

    def resolve(self, order: OrderT, by: SettledBy) -> None:
        """End the wait with the settled `order`, which `by` showed."""
        if not self.done():
            self.observe(order)
            self.settled_by = by
            self.outcome = "succeeded"
            self._future.set_result(order)

    def fail(self, error: BaseException) -> None:
        """End the wait with `error`."""
        if not self.done():
            self.outcome = (
                "failed"
                if isinstance(error, OrderFailedError)
                else "timeout"
                if isinstance(error, OrderWaitTimeout)
                else "error"
            )
            self._future.set_exception(error)

    def fail_order(self, order: Any, by: SettledBy) -> None:
        """End the wait with `OrderFailedError` for an order that failed or was cancelled,
        which `by` showed."""
        self.observe(order)
        if not self.done():
            self.settled_by = by
        self.fail(
            OrderFailedError(
                order,
                status=str(order.status),
                failure_code=getattr(order, "failure_code", None),
                failure_reason=getattr(order, "failure_reason", None),
                is_user_fixable=getattr(order, "is_user_fixable", None),
            )
        )

    def expire(
        self, why: str = "the deadline passed", error: type[OrderWaitTimeout] = OrderWaitTimeout
    ) -> None:
        """End the wait without an outcome: `error` (an `OrderWaitTimeout`) carries the
        last order seen and a resume token."""
        if self.done():
            return
        if self.order_id is None:
            message = (
                f"order {self.client_reference} was not seen: {why}; "
                "if it was created, its client_reference finds it"
            )
        elif self.order is None:
            message = f"order {self.order_id} was not fetched yet: {why}"
        else:
            status = getattr(self.order, "status", None)
            message = f"order {self.order_id} is still {status}: {why}; it goes on being fulfilled"
        timeout = error(message, order=self.order, resume_token=self.resume_token())
        timeout.client_reference = self.client_reference
        self.fail(timeout)

    def _stop(self, future: asyncio.Future[OrderT]) -> None:
        if future.cancelled():  # by `cancel`, or by cancelling the task awaiting it
            self.outcome = "cancelled"
        self._timer.cancel()
        if self._create is not None and not self._create.done():
            self._create.cancel()

    def __await__(self) -> Generator[Any, None, OrderT]:
        return self._future.__await__()

    def __repr__(self) -> str:
        state = "done" if self.done() else "waiting"
        status = getattr(self.order, "status", None)
        return (
            f"<OrderWaiter {self.vertical} order_id={self.order_id} "
            f"client_reference={self.client_reference!r} status={status} {state}>"
        )
