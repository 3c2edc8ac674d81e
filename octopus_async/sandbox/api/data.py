"""Reference data: countries, currencies, categories, subcategories (API.md 6)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from .._http import ApiError, Route, json_response
from ..reference import CATEGORIES, COUNTRIES, CURRENCIES, SUBCATEGORIES
from ..state import state_of

__all__ = ["ROUTES"]

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _require_vouchers(request: web.Request) -> None:
    if "vouchers" not in state_of(request).features:
        raise ApiError(
            400,
            "The requested feature is not enabled for this client",
            code="INVALID_FEATURE",
        )


def _listing(items: Sequence[dict[str, Any]], *, vouchers_only: bool) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        if vouchers_only:
            _require_vouchers(request)
        return json_response(list(items))

    return handler


def _by_id(items: Sequence[dict[str, Any]], noun: str, *, vouchers_only: bool) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        if vouchers_only:
            _require_vouchers(request)
        raw = request.match_info["id"]
        if not raw.isdigit() or not 1 <= int(raw) <= 2_147_483_647:
            raise ApiError(400, f"Invalid {noun} ID")
        for item in items:
            if item["id"] == int(raw):
                return json_response(item)
        raise ApiError(404, f"{noun.capitalize()} not found")

    return handler


ROUTES = [
    Route("GET", "/api/v1/countries", _listing(COUNTRIES, vouchers_only=False), "read"),
    Route(
        "GET", "/api/v1/countries/{id}", _by_id(COUNTRIES, "country", vouchers_only=False), "read"
    ),
    Route(
        "GET",
        "/api/v1/currencies",
        _listing(list(CURRENCIES.values()), vouchers_only=False),
        "read",
    ),
    Route("GET", "/api/v1/categories", _listing(CATEGORIES, vouchers_only=True), "read"),
    Route(
        "GET", "/api/v1/categories/{id}", _by_id(CATEGORIES, "category", vouchers_only=True), "read"
    ),
    Route("GET", "/api/v1/subcategories", _listing(SUBCATEGORIES, vouchers_only=True), "read"),
    Route(
        "GET",
        "/api/v1/subcategories/{id}",
        _by_id(SUBCATEGORIES, "subcategory", vouchers_only=True),
        "read",
    ),
]
