"""Topup products, variants, lookup, charges and orders (API.md 9)."""

from __future__ import annotations

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
from ..state import state_of
from ..topups import TopupOrderRecord, TopupProductRecord

__all__ = ["ROUTES"]

_STATUSES = ("PENDING", "DELIVERED", "FAILED", "CANCELLED", "RECHARGED")


async def list_products(request: web.Request) -> web.Response:
    state = state_of(request)
    products = sorted(state.topups.catalog.values(), key=lambda p: p.id)
    if "type" in request.query:
        products = [p for p in products if p.topup_type == request.query["type"]]
    if "search" in request.query:
        needle = request.query["search"].lower()
        products = [p for p in products if needle in p.name.lower()]
    return paginated(
        request,
        products,
        TopupProductRecord.as_json,
        size_param="per_page",
        default_size=50,
        max_size=500,
        with_headers=state.pagination_headers,
    )


async def get_product(request: web.Request) -> web.Response:
    product = state_of(request).topups.product(request.match_info["id"])
    return json_response(product.as_json(detail=True))


async def list_variants(request: web.Request) -> web.Response:
    product = state_of(request).topups.product(request.match_info["id"])
    return json_response([v.as_json(product.country_code) for v in product.variants])


async def get_variant(request: web.Request) -> web.Response:
    product, variant = state_of(request).topups.variant(request.match_info["id"])
    return json_response(variant.as_json(product.country_code))


async def lookup(request: web.Request) -> web.Response:
    body = await read_json(request)
    number = body_str(body, "mobile_number")
    if not number:
        raise ApiError.validation("mobile_number is required")
    return json_response(state_of(request).topups.lookup(number))


def _input_data(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ApiError.validation("input_data must be an object of strings")
    return value


async def charges(request: web.Request) -> web.Response:
    body = await read_json(request)
    product_id = body_int(body, "product_id")
    assert product_id is not None
    quote = state_of(request).topups.charges(
        product_id,
        body_amount(body, "amount"),
        body_int(body, "wallet_id", required=False),
        body_str(body, "category"),
    )
    return json_response(quote)


async def create_order(request: web.Request) -> web.Response:
    body = await read_json(request)
    product_id = body_int(body, "product_id")
    assert product_id is not None
    order = state_of(request).topups.create(
        product_id,
        body_amount(body, "amount"),
        _input_data(body.get("input_data")),
        check_reference(body.get("client_reference")),
        body_int(body, "wallet_id", required=False),
        body_str(body, "category"),
    )
    return json_response(order.as_json(), status=201)


async def get_order(request: web.Request) -> web.Response:
    desk = state_of(request).topups
    order = desk.refresh(desk.orders.get(request.match_info["id"]))
    return json_response(order.as_json())


async def list_orders(request: web.Request) -> web.Response:
    state = state_of(request)
    query = request.query
    status = query.get("status")
    if status is not None and status not in _STATUSES:
        raise ApiError.validation(f"status must be one of {', '.join(_STATUSES)}")
    product_id = (
        query_int(request, "product_id", 0, 1, 2_147_483_647) if "product_id" in query else None
    )
    country = query.get("country")
    reference = query.get("client_reference")

    def keep(order: TopupOrderRecord) -> bool:
        return (
            (status is None or order.status == status)
            and (product_id is None or order.product.id == product_id)
            and (country is None or order.product.country_code == country)
            and (reference is None or order.client_reference == reference)
        )

    return paginated(
        request,
        list(state.topups.orders.newest_first(keep)),
        TopupOrderRecord.as_json,
        size_param="per_page",
        default_size=50,
        max_size=500,
        with_headers=state.pagination_headers,
    )


async def notification_email(request: web.Request) -> web.Response:
    desk = state_of(request).topups
    order = desk.orders.get(request.match_info["id"])
    email = body_str(await read_json(request), "email")
    if not email or "@" not in email:
        raise ApiError.validation("email must be an email address")
    desk.set_notification_email(order, email)
    return json_response({"id": order.id, "notification_email": email})


ROUTES = [
    Route("GET", "/api/v1/topups/products", list_products, "read"),
    Route("GET", "/api/v1/topups/products/{id}", get_product, "read"),
    Route("GET", "/api/v1/topups/products/{id}/variants", list_variants, "read"),
    Route("GET", "/api/v1/topups/variants/{id}", get_variant, "read"),
    Route("POST", "/api/v1/topups/lookup", lookup, None),
    Route("POST", "/api/v1/topups/charges", charges, "topups.charges"),
    Route("POST", "/api/v1/topups/orders", create_order, "topups.create"),
    Route("GET", "/api/v1/topups/orders", list_orders, "read"),
    Route("GET", "/api/v1/topups/orders/{id}", get_order, "read"),
    Route("PATCH", "/api/v1/topups/orders/{id}/notification-email", notification_email, None),
]
