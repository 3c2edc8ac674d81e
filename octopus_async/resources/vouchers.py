"""`client.vouchers`: the gift card catalogue and voucher orders (API.md 8)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from ..errors import InvalidRequestError
from ..models.charges import ChargesQuote
from ..models.vouchers import Availability, VoucherOrder, VoucherOrderStatus, VoucherProduct
from ..pagination import AsyncPaginator, PageSpec
from ._base import (
    Requester,
    Resource,
    require_amount,
    require_count,
    require_email,
    require_id,
)
from ._orders import OrderEndpoint, Orders, PendingOrder, Waits

__all__ = ["VoucherOrders", "VoucherProducts", "Vouchers"]

MAX_QUANTITY = 5_000
_MAX_DENOMINATION = Decimal(1_000_000_000)
_PRODUCTS = PageSpec(size_param="limit", max_size=500)
_ORDERS = OrderEndpoint(
    "vouchers",
    "/api/v1/orders",
    VoucherOrder,
    VoucherOrderStatus,
    PageSpec(size_param="limit", max_size=500),
)
_DELIVERED = (VoucherOrderStatus.DELIVERED, VoucherOrderStatus.PARTIALLY_DELIVERED)


def _denomination(value: object) -> Decimal:
    denomination = require_amount(value, "denomination")
    if denomination > _MAX_DENOMINATION:
        raise InvalidRequestError(
            f"denomination must be at most {_MAX_DENOMINATION:,}", param="denomination"
        )
    return denomination


class VoucherProducts(Resource):
    """The voucher catalogue: products, real-time availability and price quotes."""

    def list(
        self,
        *,
        category: str | None = None,
        country_id: int | None = None,
        currency_id: int | None = None,
        search: str | None = None,
        sort_by: Literal["name", "category", "id"] | None = None,
        sort_dir: Literal["asc", "desc"] | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[VoucherProduct]:
        """Active products with stock, filtered by category name, country, currency or name."""
        for value, name in ((country_id, "country_id"), (currency_id, "currency_id")):
            if value is not None:
                require_id(value, name)
        if sort_by not in (None, "name", "category", "id"):
            raise InvalidRequestError(
                f"sort_by must be 'name', 'category' or 'id', got {sort_by!r}", param="sort_by"
            )
        if sort_dir not in (None, "asc", "desc"):
            raise InvalidRequestError(
                f"sort_dir must be 'asc' or 'desc', got {sort_dir!r}", param="sort_dir"
            )
        filters = {
            "category": category,
            "country_id": country_id,
            "currency_id": currency_id,
            "search": search,
            "sort_by": sort_by,
            "sort_dir": sort_dir,
        }
        return self._requester.paginate(
            "/api/v1/products", VoucherProduct, _PRODUCTS, params=filters, page_size=page_size
        )

    async def get(self, product_id: int) -> VoucherProduct:
        require_id(product_id, "product_id")
        return await self._requester.get(f"/api/v1/products/{product_id}", VoucherProduct)

    async def availability(
        self, product_id: int, denomination: Decimal | int | str, quantity: int
    ) -> Availability:
        """Whether stock can fill `quantity` vouchers of `denomination` right now."""
        require_id(product_id, "product_id")
        body = {
            "denomination": _denomination(denomination),
            "quantity": require_count(quantity, "quantity", MAX_QUANTITY),
        }
        response = await self._requester.request(
            "POST", f"/api/v1/products/{product_id}/availability", json=body
        )
        return response.parse(Availability)


class VoucherOrders(Orders[VoucherOrder]):
    """Voucher orders: 1-5 vouchers are delivered in the create's answer, more later."""

    def __init__(self, requester: Requester, waits: Waits) -> None:
        super().__init__(requester, _ORDERS, waits)

    async def create(
        self,
        product_id: int,
        denomination: Decimal | int | str,
        quantity: int,
        *,
        client_reference: str | None = None,
        wallet_id: int | None = None,
        email: str | None = None,
    ) -> VoucherOrder:
        """Order `quantity` vouchers of face value `denomination`, exactly once.

        The wallet is debited at once; orders of more than 5 vouchers come back PENDING
        and are fulfilled in the background. Without a `client_reference` one is
        generated; either way it is on the returned order and on any error raised.
        `OrderOutcomeUnknownError` means the order may exist; any other error means this
        call created nothing.
        """
        body = _order_body(product_id, denomination, quantity, wallet_id, email)
        return await self._create(body, client_reference)

    def submit(
        self,
        product_id: int,
        denomination: Decimal | int | str,
        quantity: int,
        *,
        client_reference: str | None = None,
        wallet_id: int | None = None,
        email: str | None = None,
        timeout: float | None = None,
        accept_partial: bool = False,
    ) -> PendingOrder[VoucherOrder]:
        """`create` in the background; returns at once a waiter for the settled order.

        Arguments are checked before this returns. PARTIALLY_DELIVERED ends the wait only
        with `accept_partial=True`; otherwise the wait goes on to its deadline (D27).
        """
        body = _order_body(product_id, denomination, quantity, wallet_id, email)
        return self._submit(body, client_reference, timeout=timeout, accept_partial=accept_partial)

    async def create_and_wait(
        self,
        product_id: int,
        denomination: Decimal | int | str,
        quantity: int,
        *,
        client_reference: str | None = None,
        wallet_id: int | None = None,
        email: str | None = None,
        timeout: float | None = None,
        accept_partial: bool = False,
    ) -> VoucherOrder:
        """`create`, then wait until the order settles: the delivered order, or it raises."""
        return await self.submit(
            product_id,
            denomination,
            quantity,
            client_reference=client_reference,
            wallet_id=wallet_id,
            email=email,
            timeout=timeout,
            accept_partial=accept_partial,
        )

    def list(
        self, *, client_reference: str | None = None, page_size: int | None = None
    ) -> AsyncPaginator[VoucherOrder]:
        """Voucher orders, newest first; `client_reference` is the one filter the docs give."""
        return self._list({"client_reference": client_reference}, page_size)

    def lacks_detail(self, order: VoucherOrder) -> bool:
        # The docs promise codes from the order endpoint (API.md 8.7); a list row that
        # reports a delivery without them is completed by that GET.
        delivered = order.status in _DELIVERED
        return delivered and not order.vouchers


def _order_body(
    product_id: int,
    denomination: Decimal | int | str,
    quantity: int,
    wallet_id: int | None,
    email: str | None,
) -> dict[str, object]:
    body: dict[str, object] = {
        "product_id": require_id(product_id, "product_id"),
        "denomination": _denomination(denomination),
        "quantity": require_count(quantity, "quantity", MAX_QUANTITY),
    }
    if wallet_id is not None:
        body["wallet_id"] = require_id(wallet_id, "wallet_id")
    if email is not None:
        body["email"] = require_email(email)
    return body


class Vouchers(Resource):
    """`client.vouchers`: `products`, `orders` and `charges`."""

    def __init__(self, requester: Requester, waits: Waits) -> None:
        super().__init__(requester)
        self.products = VoucherProducts(requester)
        self.orders = VoucherOrders(requester, waits)

    async def charges(
        self,
        product_id: int,
        denomination: Decimal | int | str,
        quantity: int,
        *,
        wallet_id: int | None = None,
    ) -> ChargesQuote:
        """What an order would cost; a `wallet_id` in another currency quotes the FX."""
        require_id(product_id, "product_id")
        body = {
            "denomination": _denomination(denomination),
            "quantity": require_count(quantity, "quantity", MAX_QUANTITY),
        }
        if wallet_id is not None:
            body["wallet_id"] = require_id(wallet_id, "wallet_id")
        response = await self._requester.request(
            "POST", f"/api/v1/products/{product_id}/charges", json=body
        )
        return response.parse(ChargesQuote)
