"""What every resource shares: the requester bound to per-call options, and raw responses."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

import attrs
from multidict import CIMultiDictProxy

from .._transport.http import APIResponse, RequestOptions, Transport
from ..errors import InvalidRequestError
from ..pagination import AsyncPaginator, PageSpec

__all__ = [
    "RawResponse",
    "Requester",
    "Resource",
    "capture_responses",
    "record_response",
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

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        read_timeout: float | None = None,
    ) -> APIResponse:
        response = await self.transport.request(
            method, path, options=self.options, params=params, json=json, read_timeout=read_timeout
        )
        record_response(response)
        return response

    async def get(self, path: str, cls: type[T], params: Mapping[str, Any] | None = None) -> T:
        """GET `path` and parse the body as `cls`."""
        response = await self.request("GET", path, params=params)
        return response.parse(cls)

    def paginate(
        self,
        path: str,
        item_type: type[T],
        spec: PageSpec,
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[T]:
        """A paginator over the list at `path`; None-valued `params` are not sent."""
        filters = dict(params or {})

        async def fetch(page: Mapping[str, Any]) -> APIResponse:
            return await self.request("GET", path, params={**filters, **page})

        return AsyncPaginator(fetch, item_type, spec, page_size=page_size)


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
