"""What every resource shares: the requester bound to per-call options, and raw responses."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

import attrs
from multidict import CIMultiDictProxy

from .._transport.http import APIResponse, Transport
from ..config import RequestOptions
from ..errors import InvalidRequestError
from ..pagination import AsyncPaginator, PageSpec

__all__ = [
    "RawResponse",
    "Requester",
    "Resource",
    "capture_responses",
    "record_response",
    "require_amount",
    "require_count",
    "require_email",
    "require_id",
]

T = TypeVar("T")

_captured: ContextVar[list[APIResponse] | None] = ContextVar("octopus_captured", default=None)


def record_response(response: APIResponse) -> None:
    """Note a response that a `with_raw_response` call in this context should report."""
    captured = _captured.get()
    if captured is not None:
        captured.append(response)


@attrs.frozen
class RawResponse(Generic[T]):
    """A parsed result with the HTTP response it came from.

    `responses` lists every API response the call used, in order (a paginated or cached
    call may use one that an earlier call fetched); `http` is the last one.
    """

    parsed: T
    responses: tuple[APIResponse, ...]

    @property
    def http(self) -> APIResponse:
        return self.responses[-1]

    @property
    def status(self) -> int:
        return self.http.status

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return self.http.headers

    @property
    def request_id(self) -> str | None:
        return self.http.request_id


async def capture_responses(call: Awaitable[T]) -> RawResponse[T]:
    """Await `call` and return its result together with the responses it used."""
    captured: list[APIResponse] = []
    token = _captured.set(captured)
    try:
        parsed = await call
    finally:
        _captured.reset(token)
    if not captured:
        raise RuntimeError("the call made no API request, so there is no raw response")
    return RawResponse(parsed, tuple(captured))


class Requester:
    """The transport as a resource sees it: bound to one set of per-call options."""

    def __init__(self, transport: Transport, options: RequestOptions) -> None:
        self.transport = transport
        self.options = options
        self.clock = transport.clock

    def server_time(self) -> datetime:
        """Now, by the server's clock."""
        return self.transport.server_time()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        read_timeout: float | None = None,
        sensitive: bool = False,
        idempotent: bool = True,
    ) -> APIResponse:
        response = await self.transport.request(
            method,
            path,
            options=self.options,
            params=params,
            json=json,
            read_timeout=read_timeout,
            sensitive=sensitive,
            idempotent=idempotent,
        )
        record_response(response)
        return response

    async def get(
        self,
        path: str,
        cls: type[T],
        params: Mapping[str, Any] | None = None,
        *,
        sensitive: bool = False,
    ) -> T:
        """GET `path` and parse the body as `cls`."""
        response = await self.request("GET", path, params=params, sensitive=sensitive)
        return response.parse(cls)

    def paginate(
        self,
        path: str,
        item_type: type[T],
        spec: PageSpec,
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int | None = None,
        start_page: int = 1,
        sensitive: bool = False,
        transform: Callable[[T], T] | None = None,
    ) -> AsyncPaginator[T]:
        """A paginator over the list at `path`; None-valued `params` are not sent."""
        filters = dict(params or {})

        async def fetch(page: Mapping[str, Any]) -> APIResponse:
            return await self.request("GET", path, params={**filters, **page}, sensitive=sensitive)

        return AsyncPaginator(
            fetch, item_type, spec, page_size=page_size, start_page=start_page, transform=transform
        )


class Resource:
    """Base of the API namespaces (`client.wallets`, `client.data`, ...)."""

    def __init__(self, requester: Requester) -> None:
        self._requester = requester


_MAX_ID = 2_147_483_647


def require_id(value: object, param: str) -> int:
    """`value` as a server id (1 to 2**31-1), or `InvalidRequestError` naming `param`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_ID:
        raise InvalidRequestError(
            f"{param} must be an integer from 1 to {_MAX_ID}, got {value!r}", param=param
        )
    return value


def require_amount(value: object, param: str) -> Decimal:
    """`value` as a positive, finite Decimal; a Decimal, int or numeric string.

    A float is refused: it may already have lost the cents the caller meant.
    """
    if isinstance(value, (bool, float)) or not isinstance(value, (Decimal, int, str)):
        raise InvalidRequestError(
            f"{param} must be a Decimal, an int or a numeric string, got {value!r}", param=param
        )
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise InvalidRequestError(f"{param} is not a number: {value!r}", param=param) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidRequestError(f"{param} must be a positive number, got {value!r}", param=param)
    return amount


def require_count(value: object, param: str, maximum: int) -> int:
    """`value` as an integer from 1 to `maximum`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidRequestError(
            f"{param} must be an integer from 1 to {maximum:,}, got {value!r}", param=param
        )
    return value


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def require_email(value: object, param: str = "email") -> str:
    """`value` if it looks like an email address of at most 254 characters."""
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        raise InvalidRequestError(f"{param} must be an email address", param=param)
    return value
