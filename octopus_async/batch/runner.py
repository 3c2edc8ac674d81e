"""The batch runner: many orders placed and awaited together, resumable from a journal.

Rows stream in: at most `max_pending` rows are in hand at once, whatever the size of the
input, and at most `concurrency` creates are in flight. Creates go through each vertical's
exactly-once `create` (so inside the client's create quota), waits through the client's
poll scheduler. Results come out as they settle, through a bounded stream: a consumer that
stops reading holds the batch back instead of letting results pile up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._transport.wire import decode_json, encode_json
from ..errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    DuplicateClientReferenceError,
    InvalidRequestError,
    OctopusError,
    OrderFailedError,
    OrderOutcomeUnknownError,
    OrderWaitTimeout,
    PermissionDeniedError,
    RateLimitError,
    SharedStateError,
)
from ..resources._orders import Orders, PendingOrder
from .inputs import InputRow, each_input
from .journal import Journal, JournalError, RowState, Step
from .requests import OrderRequest
from .results import BatchResult, BatchSummary, JournaledError, Status

if TYPE_CHECKING:
    from ..client import OctopusClient

__all__ = ["BatchRun"]


# Rows whose journal states are read together: one trip to the journal's thread each.
_CHUNK = 256


class BatchRun:
    """Orders placed from `requests`, as an async iterator of `BatchResult`.

    Made by `OctopusClient.batch`. Iterating starts the batch; leaving the iteration
    early (or `aclose`) stops it, with the journal consistent. Use it as an async context
    manager to make sure it stops::

        async with client.batch(requests, journal="campaign.db") as run:
            async for result in run:
                ...
        print(run.summary)

    An error that is the batch's rather than a row's stops it, and is raised from the
    iteration once the rows in flight have stopped: the journal or the input failing,
    credentials refused (`AuthenticationError`, `PermissionDeniedError`), an API that
    cannot be reached (`APIConnectionError`), a shared rate limiter that cannot be reached
    (`SharedStateError`). The journal is consistent: rerun to resume.
    """

    def __init__(
        self,
        client: OctopusClient,
        requests: Iterable[OrderRequest | InputRow] | AsyncIterable[OrderRequest | InputRow],
        *,
        journal: str | os.PathLike[str] | None,
        concurrency: int,
        max_pending: int,
        wait: bool,
        timeout: float | None,
        input_id: str | None,
    ) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidRequestError("concurrency must be 1 or more", param="concurrency")
        if not isinstance(max_pending, int) or max_pending < concurrency:
            raise InvalidRequestError(
                "max_pending must be at least concurrency", param="max_pending"
            )
        if timeout is not None and not timeout > 0:
            raise InvalidRequestError("timeout must be more than 0 seconds", param="timeout")
        self._client = client
        self._requests = requests
        self._journal_path = journal
        self._wait = wait
        self._timeout = timeout
        self._input_id = input_id
        self._creates = anyio.CapacityLimiter(concurrency)
        self._slots = anyio.Semaphore(max_pending)
        self._clock = client.clock
        self._journal: Journal | None = None
        self._run_id = ""
        self._driver: asyncio.Task[None] | None = None
        self._results: MemoryObjectReceiveStream[BatchResult] | None = None
        self._started = 0.0
        self._rows: anyio.abc.TaskGroup | None = None
        self._fatal: Exception | None = None
        self.summary = BatchSummary()

    @property
    def run_id(self) -> str:
        """The journal's run id (part of every generated `client_reference`); empty until
        the batch starts."""
        return self._run_id

    def __aiter__(self) -> AsyncIterator[BatchResult]:
        return self

    async def __anext__(self) -> BatchResult:
        if self._results is None:
            self._start()
        assert self._results is not None
        try:
            try:
                # Take what is there without a trip through the event loop: rows that
                # settled keep their slots until their result is taken.
                return self._results.receive_nowait()
            except anyio.WouldBlock:
                return await self._results.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            await self._finish()
            raise StopAsyncIteration from None
        except BaseException:
            await self.aclose()
            raise

    def _start(self) -> None:
        send, self._results = anyio.create_memory_object_stream[BatchResult](
            self._creates.total_tokens
        )
        self._started = self._clock.time()
        self._driver = asyncio.get_running_loop().create_task(self._drive(send))

    async def _finish(self) -> None:
        """Wait for the driver to end; raise its own error (the journal, the input). A
        driver stopped by `aclose`, from whichever task, just ends the iteration."""
        driver = self._driver
        if driver is None:
            return
        await asyncio.wait({driver})
        error = None if driver.cancelled() else driver.exception()
        if error is not None:
            raise error

    async def aclose(self) -> None:
        """Stop the batch: rows in flight stop where they are and the journal says where."""
        driver = self._driver
        if driver is not None and not driver.done():
            driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver
        if self._results is not None:
            self._results.close()

    async def __aenter__(self) -> BatchRun:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- the driver: reads rows, starts a task per row -------------------------------

    async def _drive(self, send: MemoryObjectSendStream[BatchResult]) -> None:
        # The stream closes however the driver ends: the consumer then learns how.
        async with send:
            if self._journal_path is not None:
                self._journal = await Journal.open(self._journal_path, input_id=self._input_id)
                self._run_id = self._journal.run_id
            else:
                self._run_id = f"b{os.urandom(6).hex()}"
            try:
                async with anyio.create_task_group() as rows:
                    self._rows = rows
                    try:
                        async for chunk in self._chunks():
                            states = await self._states(chunk)
                            for item in chunk:
                                await self._slots.acquire()
                                rows.start_soon(self._row, item, states.get(item.row), send)
                    except Exception as fatal:
                        self._stop(fatal)
                if self._fatal is not None:
                    raise self._fatal
            finally:
                self.summary.elapsed = self._clock.time() - self._started
                if self._journal is not None:
                    with anyio.CancelScope(shield=True):
                        await self._journal.aclose()

    async def _chunks(self) -> AsyncIterator[list[InputRow]]:
        chunk: list[InputRow] = []
        number = 0
        async for item in each_input(self._requests):
            number += 1
            chunk.append(item if isinstance(item, InputRow) else InputRow(number, item))
            if len(chunk) == _CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    async def _states(self, chunk: list[InputRow]) -> dict[int, RowState]:
        if self._journal is None:
            return {}
        return await self._journal.states(item.row for item in chunk)

    async def _row(
        self, item: InputRow, state: RowState | None, send: MemoryObjectSendStream[BatchResult]
    ) -> None:
        try:
            result = await self._settle(item, state)
            self.summary.add(result, item.request)
            self.summary.elapsed = self._clock.time() - self._started
            await send.send(result)
        except Exception as fatal:
            self._stop(fatal)
        finally:
            self._slots.release()

    def _stop(self, fatal: Exception) -> None:
        """Stop every row for an error that is the batch's, not a row's (the journal, the
        input, a defect); the driver raises it as it is, not in an exception group."""
        if self._fatal is None:
            self._fatal = fatal
        assert self._rows is not None
        self._rows.cancel_scope.cancel()

    # --- one row -------------------------------------------------------------------

    async def _settle(self, item: InputRow, state: RowState | None) -> BatchResult:
        request = item.request
        if request is None:
            assert item.error is not None
            return BatchResult(item.row, "invalid", None, error=item.error)
        reference = request.client_reference or f"{self._run_id}-{item.row}"
        orders = self._client.orders_of(request.vertical)
        fingerprint = request.fingerprint() if self._journal is not None else ""
        row = _Row(item.row, request.vertical, reference, fingerprint)
        if state is not None and state.fingerprint != fingerprint:
            raise JournalError(
                f"row {item.row} differs from the row the journal recorded; "
                "use a new journal for this input",
                mismatch=True,
            )
        if state is not None and state.step in ("delivered", "failed", "invalid"):
            return _replayed(row, state, orders)
        if state is None or state.step == "creating":
            if state is None:
                await self._record(row, "creating")
            created = await self._create(row, request, orders, may_exist=state is not None)
            if isinstance(created, BatchResult):
                return created
            order, recorded = created, False
        else:
            assert state.order_json is not None
            order = orders.from_json(decode_json(state.order_json.encode()))
            if not self._wait:
                with contextlib.suppress(OctopusError):
                    order = await orders.get(order.id)
            recorded = True
        waiter = orders.wait(order, timeout=self._timeout)
        try:
            if not recorded and not waiter.done():
                # An order settled in the create's answer goes straight to its result's record.
                await self._record(row, "created", order=order)
            result = await self._outcome(row, waiter, order)
        except BaseException:
            _abandon(waiter)
            raise
        await self._record(
            row, result.status, order=result.order, error=result.error, token=result.resume_token
        )
        return result

    async def _create(
        self, row: _Row, request: OrderRequest, orders: Orders[Any], *, may_exist: bool
    ) -> Any:
        """The created order, or the row's result when there is none to wait for.

        With `may_exist` (an earlier run recorded the create, then stopped) the reference
        is looked up first, and no error afterwards may say the order was refused.
        """
        try:
            async with self._creates:
                found = await orders.find(row.reference) if may_exist else None
                if found is not None:
                    return await orders.get(found.id)
                order = await request.create(self._client, row.reference)
                self.summary.created += 1
                return order
        except InvalidRequestError as invalid:
            await self._record(row, "invalid", error=invalid)
            return row.result("invalid", error=invalid)
        except DuplicateClientReferenceError as duplicate:
            # The reference is this batch's when an earlier run sent it (its lookup missed
            # the order) or when the batch made it (`<run id>-<row>`: a journal that lost
            # its last commits to a power cut); then the order is this row's.
            ours = may_exist or request.client_reference is None
            if ours and duplicate.order is not None:
                return duplicate.order
            if ours:
                return row.result("pending", error=_unknown(row, duplicate))
            await self._record(row, "failed", error=duplicate)
            return row.result("failed", error=duplicate)
        except OrderOutcomeUnknownError as unknown:
            # The journal keeps `creating`: the next run looks the reference up.
            return row.result("pending", error=unknown)
        except (AuthenticationError, PermissionDeniedError, APIConnectionError, SharedStateError):
            # The account, the API or the shared quota, not this row: every row would meet
            # it. The batch stops with it; the journal keeps `creating`, so a rerun looks
            # the row up.
            raise
        except OctopusError as refused:
            if may_exist:
                return row.result("pending", error=_unknown(row, refused))
            if _refuses_the_order(refused):
                await self._record(row, "failed", error=refused)
            # Otherwise (a 429 that outlasted the retries) the journal keeps `creating`,
            # so that a rerun tries the row again.
            return row.result("failed", error=refused)

    async def _outcome(self, row: _Row, waiter: PendingOrder[Any], order: Any) -> BatchResult:
        if not self._wait and not waiter.done():
            token = waiter.resume_token()
            waiter.cancel()
            return row.result("pending", order=order, token=token)
        try:
            settled = await waiter
        except OrderFailedError as failed:
            return row.result("failed", order=failed.order, error=failed)
        except OrderWaitTimeout as timeout:
            latest = timeout.order if timeout.order is not None else order
            return row.result("pending", order=latest, error=timeout, token=timeout.resume_token)
        return row.result("delivered", order=settled)

    async def _record(
        self,
        row: _Row,
        step: Step,
        *,
        order: Any = None,
        error: OctopusError | None = None,
        token: str | None = None,
    ) -> None:
        if self._journal is None:
            return
        await self._journal.write(
            RowState(
                row.number,
                row.fingerprint,
                row.vertical,
                row.reference,
                step,
                None if order is None else encode_json(dict(order.raw)).decode(),
                None if error is None else _error_json(error),
                token,
            )
        )


@attrs.frozen
class _Row:
    number: int
    vertical: str
    reference: str
    fingerprint: str

    def result(
        self,
        status: Status,
        *,
        order: Any = None,
        error: OctopusError | None = None,
        token: str | None = None,
    ) -> BatchResult:
        return BatchResult(self.number, status, self.reference, self.vertical, order, error, token)


def _replayed(row: _Row, state: RowState, orders: Orders[Any]) -> BatchResult:
    order = None
    if state.order_json is not None:
        order = orders.from_json(decode_json(state.order_json.encode()))
    error = None
    if state.error_json is not None:
        recorded = json.loads(state.error_json)
        error = JournaledError(
            recorded["message"], kind=recorded["kind"], param=recorded.get("param")
        )
    status: Status = state.step  # type: ignore[assignment]
    return attrs.evolve(row.result(status, order=order, error=error), from_journal=True)


def _error_json(error: OctopusError) -> str:
    return json.dumps(
        {
            "kind": type(error).__name__,
            "message": str(error),
            "param": getattr(error, "param", None),
        }
    )


def _refuses_the_order(error: OctopusError) -> bool:
    """Whether `error` is the server's answer about this order (a 4xx but 429): the
    row has failed for good, and a rerun reports it without sending it again."""
    return (
        isinstance(error, APIStatusError)
        and 400 <= error.status < 500
        and not isinstance(error, RateLimitError)
    )


def _unknown(row: _Row, cause: OctopusError) -> OrderOutcomeUnknownError:
    return OrderOutcomeUnknownError(
        f"the order may exist under this reference ({type(cause).__name__} followed a create "
        "that may have landed); a rerun looks it up",
        client_reference=row.reference,
        last_error=cause,
    )


def _abandon(waiter: PendingOrder[Any]) -> None:
    """Let go of a wait the batch stopped before reporting: its polling stops, and an
    outcome it already had is not left to be logged as never retrieved."""
    if not waiter.done():
        waiter.cancel()
    elif not waiter.cancelled():
        waiter.exception()
