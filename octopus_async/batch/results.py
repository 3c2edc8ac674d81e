"""What a batch reports: a result per row, and the summary of them all."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import attrs

from ..errors import OctopusError
from .requests import OrderRequest

__all__ = ["STATUSES", "BatchResult", "BatchSummary", "JournaledError", "Status"]

Status = Literal["delivered", "failed", "pending", "invalid"]
STATUSES: tuple[Status, ...] = ("delivered", "failed", "pending", "invalid")


class JournaledError(OctopusError):
    """An error met by an earlier run of the batch, as its journal recorded it.

    `kind` is the name of its class (`OrderFailedError`, `InvalidRequestError`...) and
    `param` the argument it named, if any.
    """

    def __init__(self, message: str, *, kind: str, param: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.param = param


@attrs.frozen
class BatchResult:
    """What became of one row.

    `status` is `delivered`; `failed` (the order failed, or the create was refused:
    nothing was charged; a rerun sends again only a create refused by a 429 that outlasted
    the retries); `pending` (paid or possibly created, not settled: `resume_token`
    continues the wait when the order's id is known; otherwise `error` is
    `OrderOutcomeUnknownError` and a rerun looks the reference up); or `invalid` (nothing
    was sent; `error.param` names the field). `from_journal` is True for a row settled by
    an earlier run, reported again without a request.
    """

    row: int
    status: Status
    client_reference: str | None
    vertical: str | None = None
    order: Any = None
    error: OctopusError | None = None
    resume_token: str | None = None
    from_journal: bool = False


@attrs.define
class BatchSummary:
    """The batch so far: results per status, money per currency, creates sent, time.

    `spent` sums what delivered and pending orders cost, per currency: a topup's or an
    eSIM's `amount`, a voucher order's face value less its discount (in the product's
    currency; the wallet's debit is in the ledger). `created` counts the orders this run
    created; `elapsed` is this run's time in seconds.
    """

    counts: dict[Status, int] = attrs.field(factory=lambda: dict.fromkeys(STATUSES, 0))
    spent: dict[str, Decimal] = attrs.field(factory=dict)
    created: int = 0
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, result: BatchResult, request: OrderRequest | None) -> None:
        self.counts[result.status] += 1
        if result.status in ("delivered", "pending") and result.order is not None:
            assert request is not None
            cost = request.cost(result.order)
            if cost is not None:
                currency, amount = cost
                self.spent[currency] = self.spent.get(currency, Decimal(0)) + amount
