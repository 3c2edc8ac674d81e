"""Response helpers of the sandbox: JSON bodies, documented error bodies, pagination."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

import attrs
from aiohttp import hdrs, web
from multidict import CIMultiDict

from ..config import EndpointClass
from ._json import decode_json, encode_json

__all__ = [
    "ERROR_NAMES",
    "ApiError",
    "Route",
    "body_amount",
    "body_int",
    "body_str",
    "error_body",
    "json_response",
    "paginated",
    "query_int",
    "read_json",
    "response_document",
    "rfc3339",
    "with_body",
]

T = TypeVar("T")

ERROR_NAMES = {
    400: ("BadRequestError", "BAD_REQUEST"),
    401: ("UnauthorizedError", "UNAUTHORIZED"),
    403: ("ForbiddenError", "FORBIDDEN"),
    404: ("NotFoundError", "NOT_FOUND"),
    429: ("TooManyRequestsError", "TOO_MANY_REQUESTS"),
    500: ("InternalServerError", "INTERNAL_SERVER_ERROR"),
}


@attrs.frozen
class Route:
    """One endpoint: its handler, rate-limit class, and whether it needs a bearer token."""

    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    endpoint: EndpointClass | None
    authenticated: bool = True


class ApiError(Exception):
    """Raised by a handler to answer with the documented error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        default_name, default_code = ERROR_NAMES.get(status, ("Error", "ERROR"))
        self.status = status
        self.message = message
        self.code = code or default_code
        self.name = name or default_name
        self.headers = dict(headers or {})

    @classmethod
    def validation(cls, message: str) -> ApiError:
        return cls(400, message, code="VALIDATION_FAILURE", name="ValidationException")

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            body=error_body(self.name, self.code, self.message),
            content_type="application/json",
            headers=self.headers,
        )


def rfc3339(moment: float, timespec: str = "seconds") -> str:
    """A Unix time as the API writes times: RFC 3339 in UTC with a Z."""
    text = datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec=timespec)
    return text.replace("+00:00", "Z")


def error_body(name: str, code: str, message: str) -> bytes:
    return encode_json({"error": {"name": name, "code": code, "message": message}})


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, body=encode_json(data), content_type="application/json", headers=headers
    )


def response_document(response: web.StreamResponse) -> Any:
    """The JSON document of an answer, decoded afresh; None when it is empty or not JSON."""
    body = response.body if isinstance(response, web.Response) else None
    if not isinstance(body, bytes) or not body or response.content_type != "application/json":
        return None
    try:
        return decode_json(body)
    except ValueError:
        return None


def with_body(response: web.StreamResponse, body: bytes) -> web.Response:
    """`response` with `body` as its JSON body: same status and headers."""
    headers = CIMultiDict(response.headers)
    headers.popall(hdrs.CONTENT_TYPE, None)
    headers.popall(hdrs.CONTENT_LENGTH, None)
    return web.Response(
        status=response.status,
        reason=response.reason,
        body=body,
        content_type="application/json",
        headers=headers,
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 validation error."""
    try:
        document = decode_json(await request.read() or b"{}")
    except ValueError:
        raise ApiError.validation("Request body must be valid JSON") from None
    if not isinstance(document, dict):
        raise ApiError.validation("Request body must be a JSON object")
    return document


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], or a 400 validation error."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError.validation(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError.validation(f"{name} must be between {low} and {high}")
    return value


def paginated(
    request: web.Request,
    records: Sequence[T],
    serialize: Callable[[T], Mapping[str, Any]],
    *,
    size_param: str,
    default_size: int,
    max_size: int,
    with_headers: bool,
) -> web.Response:
    """One page of `records` as a bare array, with the documented X-* headers (API.md 2.2).

    Only the records on the page are serialised, so a long list stays cheap to page.
    """
    page = query_int(request, "page", 1, 1, 2_147_483_647)
    size = query_int(request, size_param, default_size, 1, max_size)
    total = len(records)
    total_pages = max(1, -(-total // size))
    chunk = [serialize(record) for record in records[(page - 1) * size : page * size]]
    headers: dict[str, str] = {}
    if with_headers:
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(size),
            "X-Total-Count": str(total),
            "X-Total-Pages": str(total_pages),
            "X-Page-Size": str(len(chunk)),
            "X-Has-More": "true" if page < total_pages else "false",
        }
    return json_response(chunk, headers=headers)


def body_int(body: Mapping[str, Any], name: str, *, required: bool = True) -> int | None:
    """A positive integer field of a request body (None when absent and optional)."""
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError.validation(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError.validation(f"{name} must be a positive integer")
    return value


def body_amount(body: Mapping[str, Any], name: str) -> Decimal:
    """A required positive number field of a request body."""
    value = body.get(name)
    if value is None:
        raise ApiError.validation(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value <= 0:
        raise ApiError.validation(f"{name} must be a positive number")
    return Decimal(value)


def body_str(body: Mapping[str, Any], name: str) -> str | None:
    """An optional string field of a request body."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError.validation(f"{name} must be a string")
    return value
