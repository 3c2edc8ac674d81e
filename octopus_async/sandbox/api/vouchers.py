"""Voucher products, availability, charges and orders (API.md 8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from .._http import (
    ApiError,
    Route,
    body_amount,
    body_int,
    body_str,
    json_response,
    paginated,
    query_int,
    read_json,
)
from ..orders import check_reference
from ..reference import COUNTRIES, CURRENCIES
from ..state import state_of
from ..vouchers import VoucherOrderRecord, VoucherProductRecord

__all__ = ["ROUTES"]

_SORT_KEYS: dict[str, Callable[[VoucherProductRecord], Any]] = {
    "name": lambda p: p.name.lower(),
    "category": lambda p: (p.category.lower(), p.name.lower()),
    "id": lambda p: p.id,
}


async def list_products(request: web.Request) -> web.Response:
    state = state_of(request)
    query = request.query
    products = state.vouchers.listed()
    if "category" in query:
        products = [p for p in products if p.category == query["category"]]
    if "country_id" in query:
        country_id = query_int(request, "country_id", 0, 1, 2_147_483_647)
        codes = {c["alpha_2"] for c in COUNTRIES if c["id"] == country_id}
        products = [p for p in products if p.country_code in codes]
    if "currency_id" in query:
        currency_id = query_int(request, "currency_id", 0, 1, 2_147_483_647)
        codes = {code for code, c in CURRENCIES.items() if c["id"] == currency_id}
        products = [p for p in products if p.currency_code in codes]
    if "search" in query:
        needle = query["search"].lower()
        products = [p for p in products if needle in p.name.lower()]
    sort_by = query.get("sort_by", "name")
    sort_dir = query.get("sort_dir", "asc")
    if sort_by not in _SORT_KEYS or sort_dir not in ("asc", "desc"):
        raise ApiError.validation("sort_by must be name, category or id; sort_dir asc or desc")
    products.sort(key=_SORT_KEYS[sort_by], reverse=sort_dir == "desc")
    return paginated(
        request,
        products,
        VoucherProductRecord.as_json,
        size_param="limit",
        default_size=10,
        max_size=500,
        with_headers=state.pagination_headers,
    )


async def get_product(request: web.Request) -> web.Response:
    product = state_of(request).vouchers.product(request.match_info["id"])
    return json_response(product.as_json())


async def availability(request: web.Request) -> web.Response:
    desk = state_of(request).vouchers
    product = desk.product(request.match_info["id"], missing=400)
    body = await read_json(request)
    denomination = body_amount(body, "denomination")
    body_int(body, "quantity")
    return json_response({"is_available": desk.is_available(product, denomination)})


async def charges(request: web.Request) -> web.Response:
    desk = state_of(request).vouchers
    product = desk.product(request.match_info["id"], missing=400)
    body = await read_json(request)
    denomination = body_amount(body, "denomination")
    quantity = body_int(body, "quantity")
    assert quantity is not None
    return json_response(
        desk.charges(product, denomination, quantity, body_int(body, "wallet_id", required=False))
    )


async def create_order(request: web.Request) -> web.Response:
    desk = state_of(request).vouchers
    body = await read_json(request)
    product_id = body_int(body, "product_id")
    quantity = body_int(body, "quantity")
    assert product_id is not None
    assert quantity is not None
    order = desk.create(
        product_id,
        body_amount(body, "denomination"),
        quantity,
        check_reference(body.get("client_reference")),
        body_int(body, "wallet_id", required=False),
        body_str(body, "email"),
    )
    return json_response(order.as_json(), status=201)


async def get_order(request: web.Request) -> web.Response:
    order = state_of(request).vouchers.orders.get(request.match_info["id"])
    return json_response(order.as_json())


async def list_orders(request: web.Request) -> web.Response:
    state = state_of(request)
    reference = request.query.get("client_reference")
    orders = state.vouchers.orders.newest_first(
        lambda order: reference is None or order.client_reference == reference
    )
    return paginated(
        request,
        list(orders),
        VoucherOrderRecord.as_json,
        size_param="limit",
        default_size=50,
        max_size=500,
        with_headers=state.pagination_headers,
    )


ROUTES = [
    Route("GET", "/api/v1/products", list_products, "read"),
    Route("GET", "/api/v1/products/{id}", get_product, "read"),
    Route("POST", "/api/v1/products/{id}/availability", availability, None),
    Route("POST", "/api/v1/products/{id}/charges", charges, "vouchers.charges"),
    Route("POST", "/api/v1/orders", create_order, "vouchers.create"),
    Route("GET", "/api/v1/orders", list_orders, "read"),
    Route("GET", "/api/v1/orders/{id}", get_order, "read"),
]
