"""Response helpers of the sandbox: JSON bodies, documented error bodies, pagination."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
from aiohttp import web

from .._transport.wire import encode_json
from ..config import EndpointClass

__all__ = [
    "ERROR_NAMES",
    "ApiError",
    "Route",
    "error_body",
    "json_response",
    "paginated",
    "query_int",
    "read_json",
]

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


def error_body(name: str, code: str, message: str) -> bytes:
    return encode_json({"error": {"name": name, "code": code, "message": message}})


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, body=encode_json(data), content_type="application/json", headers=headers
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 validation error."""
    try:
        document = json.loads(await request.read() or b"{}", parse_float=Decimal)
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
    items: Sequence[Mapping[str, Any]],
    *,
    size_param: str,
    default_size: int,
    max_size: int,
    with_headers: bool,
) -> web.Response:
    """One page of `items` as a bare array, with the documented X-* headers (API.md 2.2)."""
    page = query_int(request, "page", 1, 1, 2_147_483_647)
    size = query_int(request, size_param, default_size, 1, max_size)
    total = len(items)
    total_pages = max(1, -(-total // size))
    chunk = list(items[(page - 1) * size : page * size])
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
