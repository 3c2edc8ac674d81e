"""What the orders of every vertical share: get, list, find, and the one way to create.

Creating an order is the one call that must neither duplicate nor lose anything (D23-D25):
every create carries a `client_reference`, is re-sent only with the same body and
reference, and a create whose answer was lost is settled by looking the reference up before
anything is sent again. Once an attempt may have reached the server, no error may say
"refused": the create returns the order, or raises `OrderOutcomeUnknownError`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator, Mapping
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import attrs

from .._transport.ids import check_client_reference, new_client_reference
from ..config import Timeouts
from ..errors import (
    APIConnectionError,
    APIResponseValidationError,
    DuplicateClientReferenceError,
    InvalidRequestError,
    OctopusError,
    OrderOutcomeUnknownError,
    ServerError,
)
from ..models._base import OpenEnum
from ..models._convert import evolve, structure
from ..pagination import AsyncPaginator, Page, PageSpec
from ._base import Requester, Resource, require_id

__all__ = ["OrderEndpoint", "OrderSource", "Orders", "PendingOrder", "Waits"]

logger = logging.getLogger("octopus_async.orders")


class _Order(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def client_reference(self) -> str | None: ...


OrderT = TypeVar("OrderT", bound=_Order)
O = TypeVar("O")  # noqa: E741
O_co = TypeVar("O_co", covariant=True)


class OrderSource(Protocol[O]):
    """What polling needs from a vertical's orders; every `Orders` resource is one."""

    async def get(self, order_id: int) -> O:
        """The order as the server reports it now."""
        ...

    async def find(self, client_reference: str) -> O | None:
        """The order created with `client_reference`, or None."""
        ...

    async def sweep_page(self, number: int) -> Page[Mapping[str, Any]]:
        """Page `number` of all orders, newest first, as large as allowed, as JSON."""
        ...

    def read_row(self, page: Page[Mapping[str, Any]], index: int) -> O:
        """Item `index` of a `sweep_page`, as an order."""
        ...

    def lacks_detail(self, order: O) -> bool:
        """Whether `order` (read from a list) has settled without what only its GET carries."""
        ...

    def server_time(self) -> datetime:
        """Now, by the server's clock (as its `Date` headers tell)."""
        ...


class PendingOrder(Protocol[O_co]):
    """One order's outcome, as `wait` and `submit` return it: an `OrderWaiter`."""

    @property
    def order(self) -> O_co | None: ...

    @property
    def order_id(self) -> int | None: ...

    @property
    def client_reference(self) -> str | None: ...

    @property
    def deadline(self) -> datetime: ...

    @property
    def settled_by(self) -> str | None:
        """What showed the outcome: "create" (the create's answer), "given" (the order the
        wait was given), "poll" (a GET on the cadence), "sweep" (a list page) or "webhook"
        (a GET a webhook asked for); None while waiting, after a timeout or a cancel."""
        ...

    def done(self) -> bool: ...

    def cancel(self) -> bool: ...

    def cancelled(self) -> bool: ...

    def add_done_callback(self, callback: Callable[[Any], object]) -> None: ...

    def result(self) -> O_co: ...

    def exception(self) -> BaseException | None: ...

    def resume_token(self) -> str: ...

    def __await__(self) -> Generator[Any, None, O_co]: ...


class Waits(Protocol):
    """The client's poll scheduler, as the order resources see it."""

    def watch(
        self,
        vertical: str,
        *,
        order: O | None,
        order_id: int | None,
        client_reference: str | None,
        timeout: float | None,
        accept_partial: bool,
    ) -> PendingOrder[O]: ...

    def submit(
        self,
        vertical: str,
        create: Callable[[bool], Awaitable[O]],
        *,
        client_reference: str,
        timeout: float | None,
        accept_partial: bool,
    ) -> PendingOrder[O]: ...


@attrs.frozen
class OrderEndpoint(Generic[OrderT]):
    """Where a vertical's orders live, what they look like, and their statuses."""

    vertical: str
    path: str
    order_type: type[OrderT]
    status_type: type[OpenEnum]
    pages: PageSpec
    create_read_timeout: Callable[[Timeouts], float] | None = None


class Orders(Resource, Generic[OrderT]):
    """The order verbs every vertical shares; each vertical adds its typed `create`,
    `submit` and `create_and_wait`."""

    def __init__(self, requester: Requester, endpoint: OrderEndpoint[OrderT], waits: Waits) -> None:
        super().__init__(requester)
        self._endpoint = endpoint
        self._waits = waits

    def wait(
        self,
        order: OrderT | int,
        *,
        timeout: float | None = None,
        accept_partial: bool = False,
    ) -> PendingOrder[OrderT]:
        """A waiter for an existing order (or its id) that resolves once it settles.

        A settled order resolves at once, with no request. Without `timeout` the wait
        lasts `PollPolicy.default_timeout` (11 minutes).
        """
        return self._wait(self._endpoint.vertical, order, timeout, accept_partial)

    def _wait(
        self, vertical: str, order: OrderT | int, timeout: float | None, accept_partial: bool
    ) -> PendingOrder[OrderT]:
        if isinstance(order, int):
            require_id(order, "order")
            known, order_id, reference = None, order, None
        else:
            known, order_id, reference = order, order.id, order.client_reference
        return self._waits.watch(
            vertical,
            order=known,
            order_id=order_id,
            client_reference=reference,
            timeout=timeout,
            accept_partial=accept_partial,
        )

    def _received(self, order: OrderT) -> OrderT:
        """Every order this resource hands out passes here; a vertical may complete it with
        what the server stopped sending (eSIM activation codes)."""
        return order

    async def sweep_page(self, number: int) -> Page[Mapping[str, Any]]:
        """Page `number` of all orders, newest first, as large as the endpoint allows (D31).

        The items are left as JSON objects: a sweep reads only the orders it watches
        (with `read_row`), which saves structuring hundreds it does not.
        """
        endpoint = self._endpoint
        size = endpoint.pages.max_size
        response = await self._requester.request(
            "GET",
            endpoint.path,
            params={"page": number, endpoint.pages.size_param: size},
            sensitive=True,
        )
        rows = response.data
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise response.invalid("expected a JSON array of objects")
        return Page(tuple(rows), number, size, response)

    def read_row(self, page: Page[Mapping[str, Any]], index: int) -> OrderT:
        """Item `index` of a `sweep_page`, as an order."""
        order = page.response.parse_part(page.items[index], self._endpoint.order_type, f"[{index}]")
        return self._received(order)

    def server_time(self) -> datetime:
        """Now, by the server's clock (as its `Date` headers tell)."""
        return self._requester.server_time()

    def from_json(self, data: Mapping[str, Any]) -> OrderT:
        """An order from its JSON as the server sent it (`order.raw`, as a journal keeps it).

        Read as tolerantly as an answer; JSON without a readable `id` and `status` raises
        `ValueError`.
        """
        return self._received(structure(data, self._endpoint.order_type))

    async def get(self, order_id: int) -> OrderT:
        """The order as the server reports it now."""
        require_id(order_id, "order_id")
        endpoint = self._endpoint
        order = await self._requester.get(
            f"{endpoint.path}/{order_id}", endpoint.order_type, sensitive=True
        )
        return self._received(order)

    async def find(self, client_reference: str) -> OrderT | None:
        """The order created with this `client_reference`, or None when there is none."""
        check_client_reference(client_reference)
        endpoint = self._endpoint
        orders = await self._requester.get(
            endpoint.path,
            tuple[endpoint.order_type, ...],  # type: ignore[name-defined]
            {"client_reference": client_reference},
            sensitive=True,
        )
        # Exact match even if a server ignored the filter and sent other orders too.
        found: OrderT | None = next(
            (order for order in orders if order.client_reference == client_reference), None
        )
        return None if found is None else self._received(found)

    def _status(self, status: str | None) -> str | None:
        """A status filter: one of the vertical's known statuses, in any letter case."""
        if status is None:
            return None
        known = self._endpoint.status_type
        value = known.lookup(status) if isinstance(status, str) else None
        if value is None or not value.is_known:
            raise InvalidRequestError(
                f"status must be one of {', '.join(sorted(known.known()))}, got {status!r}",
                param="status",
            )
        return value

    def _list(self, filters: Mapping[str, Any], page_size: int | None) -> AsyncPaginator[OrderT]:
        endpoint = self._endpoint
        return self._requester.paginate(
            endpoint.path,
            endpoint.order_type,
            endpoint.pages,
            params=filters,
            page_size=page_size,
            sensitive=True,
            transform=self._received,
        )

    async def _create(self, body: Mapping[str, Any], client_reference: str | None) -> OrderT:
        """Create an order from `body` (validated by the caller) exactly once."""
        return await self._create_as(body, _reference(client_reference))

    def _submit(
        self,
        body: Mapping[str, Any],
        client_reference: str | None,
        *,
        timeout: float | None,
        accept_partial: bool,
    ) -> PendingOrder[OrderT]:
        """A waiter that creates the order from `body`, then waits for it to settle."""
        reference = _reference(client_reference)
        return self._waits.submit(
            self._endpoint.vertical,
            lambda may_exist: self._create_as(body, reference, may_exist=may_exist),
            client_reference=reference,
            timeout=timeout,
            accept_partial=accept_partial,
        )

    async def _create_as(
        self, body: Mapping[str, Any], reference: str, *, may_exist: bool = False
    ) -> OrderT:
        """Every error raised here carries the order's `client_reference`.

        With `may_exist` (an earlier create of this order ended with an unknown outcome)
        the reference is looked up first, and the create is sent again only if no order
        shows (D25); no error afterwards says the order was refused.
        """
        try:
            if may_exist:
                earlier = "an earlier create of unknown outcome"
                existing = await self._lookup(reference, f"after {earlier}")
                if existing is not None:
                    return await self._recovered(existing, earlier)
            payload = {**body, "client_reference": reference}
            return await self._send_create(payload, reference, may_exist=may_exist)
        except OctopusError as error:
            error.client_reference = reference
            raise
        except Exception as defect:
            # Met while the request may have been in flight: not a refusal.
            raise OrderOutcomeUnknownError(
                f"an unexpected {type(defect).__name__}",
                client_reference=reference,
                last_error=defect,
            ) from defect

    async def _send_create(
        self, payload: Mapping[str, Any], reference: str, *, may_exist: bool
    ) -> OrderT:
        """Send the create, and again while no lookup shows it (D25). `may_exist`: an
        attempt may have reached the server and created the order."""
        endpoint = self._endpoint
        options = self._requester.options
        read_timeout = (
            endpoint.create_read_timeout(options.timeouts) if endpoint.create_read_timeout else None
        )
        retries = 0
        while True:
            try:
                response = await self._requester.request(
                    "POST",
                    endpoint.path,
                    json=payload,
                    read_timeout=read_timeout,
                    sensitive=True,
                    idempotent=False,
                )
                order = response.parse(endpoint.order_type)
            except APIResponseValidationError as unreadable:
                # A 2xx: created, but the answer is unreadable (truncated by a proxy, say).
                return await self._recover(reference, unreadable, "an unreadable answer")
            except DuplicateClientReferenceError as duplicate:
                if not may_exist:
                    duplicate.order = await self._find_quietly(reference)
                    raise
                # An earlier attempt of this call created it; its answer was lost (D24).
                return await self._recover(reference, duplicate, "a re-sent create's duplicate")
            except (APIConnectionError, ServerError) as failure:
                if isinstance(failure, APIConnectionError) and not failure.sent:
                    if may_exist:
                        raise _unknown(
                            reference, "a re-send could not connect", failure
                        ) from failure
                    raise  # never reached the server: nothing was created
                # The server may have committed the order before failing to answer (D25).
                may_exist = True
                existing = await self._lookup(reference, f"after {type(failure).__name__}")
                if existing is not None:
                    return await self._recovered(
                        existing, f"a lost answer ({type(failure).__name__})"
                    )
                # No lookup shows it, so a re-send cannot duplicate it.
                delay = options.retry.delay(
                    retries,
                    status=getattr(failure, "status", None),
                    retry_after=getattr(failure, "retry_after", None),
                    rand=self._requester.clock.random,
                )
                if delay is None:
                    raise _unknown(reference, "its answer was lost", failure) from failure
                retries += 1
                logger.info(
                    "order %s: no lookup shows it; sending the create again in %.2f s",
                    reference,
                    delay,
                )
                await self._requester.clock.sleep(delay)
                continue
            except OctopusError as refusal:
                if may_exist:
                    # Refused now, but an earlier attempt may have landed (and, say, spent
                    # the balance this one lacked).
                    raise _unknown(reference, "a re-send was refused", refusal) from refusal
                raise
            return self._received(order)

    async def _recover(self, reference: str, cause: OctopusError, after: str) -> OrderT:
        """The order that `cause` shows exists, found by its reference with backoff (lists
        may lag), or `OrderOutcomeUnknownError`."""
        existing = await self._lookup(reference, f"after {type(cause).__name__}")
        retry, clock = self._requester.options.retry, self._requester.clock
        lookups = 0
        while existing is None:
            delay = retry.delay(lookups, rand=clock.random)
            if delay is None:
                break
            await clock.sleep(delay)
            lookups += 1
            existing = await self._lookup(reference, f"after {type(cause).__name__}")
        if existing is None:
            raise _unknown(reference, f"{after}, and lookups do not show it yet", cause)
        return await self._recovered(existing, after)

    async def _lookup(self, reference: str, after: str) -> OrderT | None:
        """`find`, for an order that may exist (`after` says why): a lookup that fails
        leaves it unknown."""
        try:
            return await self.find(reference)
        except OctopusError as failure:
            raise _unknown(
                reference, f"{after}, the lookup failed ({type(failure).__name__})", failure
            ) from failure

    async def _find_quietly(self, reference: str) -> OrderT | None:
        """The order a first-attempt duplicate names, if a lookup can show it."""
        try:
            return await self.find(reference)
        except OctopusError as failure:
            logger.info("order %s: the lookup after a duplicate failed (%s)", reference, failure)
            return None

    async def _recovered(self, order: OrderT, after: str) -> OrderT:
        logger.info(
            "order %s recovered by its client_reference after %s", order.client_reference, after
        )
        try:
            order = await self._complete(order)
        except OctopusError as error:
            # Found is found: the list's copy beats an error for an order that exists.
            logger.warning(
                "order %s: could not fetch it whole (%s); returning the listed copy",
                order.client_reference,
                error,
            )
        return evolve(order, recovered=True)

    async def _complete(self, order: OrderT) -> OrderT:
        """An order found in a list, with what only its single GET carries."""
        return await self.get(order.id) if self.lacks_detail(order) else order

    def lacks_detail(self, order: OrderT) -> bool:
        """True when `order` (read from a list) has settled but lacks what only its single
        GET carries (the codes a list may leave out); a sweep fetches such orders."""
        return False


def _unknown(reference: str, what: str, cause: BaseException) -> OrderOutcomeUnknownError:
    return OrderOutcomeUnknownError(what, client_reference=reference, last_error=cause)


def _reference(client_reference: str | None) -> str:
    if client_reference is None:
        return new_client_reference()
    return check_client_reference(client_reference)
