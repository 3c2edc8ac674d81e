"""eSIM products, variants, charges and orders (API.md 10)."""

from __future__ import annotations

import functools

from aiohttp import web

from .._http import (
    ApiError,
    Route,
    body_amount,
    body_int,
    body_str,
    json_response,
    paginated,
    read_json,
)
from ..esim import EsimOrderRecord, EsimProductRecord
from ..orders import check_reference
from ..state import state_of

__all__ = ["ROUTES"]

_STATUSES = ("PENDING", "DELIVERED", "FAILED", "CANCELLED")


async def list_products(request: web.Request) -> web.Response:
    state = state_of(request)
    products = sorted(state.esim.catalog.values(), key=lambda p: p.id)
    if "country_code" in request.query:
        products = [p for p in products if p.country_code == request.query["country_code"]]
    if "search" in request.query:
        needle = request.query["search"].lower()
        products = [p for p in products if needle in p.name.lower()]
    return paginated(
        request,
        products,
        EsimProductRecord.as_json,
        size_param="per_page",
        default_size=50,
        max_size=500,
        with_headers=state.pagination_headers,
    )


async def get_product(request: web.Request) -> web.Response:
    product = state_of(request).esim.product(request.match_info["id"])
    return json_response(product.as_json(detail=True))


async def list_variants(request: web.Request) -> web.Response:
    product = state_of(request).esim.product(request.match_info["id"])
    return json_response([v.as_json(product.currency_code) for v in product.variants])


async def get_variant(request: web.Request) -> web.Response:
    product, variant = state_of(request).esim.variant(request.match_info["id"])
    return json_response(variant.as_json(product.currency_code))


async def charges(request: web.Request) -> web.Response:
    body = await read_json(request)
    product_id = body_int(body, "product_id")
    assert product_id is not None
    quote = state_of(request).esim.charges(
        product_id, body_amount(body, "amount"), body_int(body, "wallet_id", required=False)
    )
    return json_response(quote)


async def create_order(request: web.Request) -> web.Response:
    desk = state_of(request).esim
    body = await read_json(request)
    product_id = body_int(body, "product_id")
    assert product_id is not None
    body_int(body, "quantity", required=False)  # any value is clamped to 1 (OQ-64)
    order = desk.create(
        product_id,
        body_amount(body, "amount"),
        check_reference(body.get("client_reference")),
        body_int(body, "wallet_id", required=False),
    )
    # Every accepted create answers 200, whatever the order's status (API.md 10.7).
    return json_response((await desk.held(order)).as_json())


async def get_order(request: web.Request) -> web.Response:
    desk = state_of(request).esim
    return json_response(desk.refresh(desk.orders.get(request.match_info["id"])).as_json())


async def list_orders(request: web.Request) -> web.Response:
    state = state_of(request)
    status = request.query.get("status")
    if status is not None and status not in _STATUSES:
        raise ApiError.validation(f"status must be one of {', '.join(_STATUSES)}")
    reference = request.query.get("client_reference")

    def keep(order: EsimOrderRecord) -> bool:
        return (status is None or order.status == status) and (
            reference is None or order.client_reference == reference
        )

    return paginated(
        request,
        list(state.esim.orders.newest_first(keep)),
        functools.partial(EsimOrderRecord.as_json, listed=True),
        size_param="per_page",
        default_size=50,
        max_size=500,
        with_headers=state.pagination_headers,
    )


async def notification_email(request: web.Request) -> web.Response:
    order = state_of(request).esim.orders.get(request.match_info["id"])
    email = body_str(await read_json(request), "email")
    if not email or "@" not in email:
        raise ApiError.validation("email must be an email address")
    order.notification_email = email
    return json_response({"id": order.id, "notification_email": email})


ROUTES = [
    Route("GET", "/api/v1/esim/products", list_products, "read"),
    Route("GET", "/api/v1/esim/products/{id}", get_product, "read"),
    Route("GET", "/api/v1/esim/products/{id}/variants", list_variants, "read"),
    Route("GET", "/api/v1/esim/variants/{id}", get_variant, "read"),
    Route("POST", "/api/v1/esim/charges", charges, "esim.charges"),
    Route("POST", "/api/v1/esim/orders", create_order, "esim.create"),
    Route("GET", "/api/v1/esim/orders", list_orders, "read"),
    Route("GET", "/api/v1/esim/orders/{id}", get_order, "read"),
    Route("PATCH", "/api/v1/esim/orders/{id}/notification-email", notification_email, None),
]
