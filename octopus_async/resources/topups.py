"""`client.topups`: mobile, gaming and utility topups (API.md 9)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from ..errors import InvalidRequestError
from ..models.charges import ChargesQuote
from ..models.topups import (
    InputField,
    OperatorMatch,
    TopupOrder,
    TopupOrderStatus,
    TopupProduct,
    TopupVariant,
)
from ..pagination import AsyncPaginator, PageSpec
from ._base import Requester, Resource, require_amount, require_email, require_id
from ._orders import OrderEndpoint, Orders, PendingOrder, Waits

__all__ = ["TopupOrders", "TopupProducts", "TopupVariants", "Topups"]

Category = Literal["Airtime", "Data", "Bundle"]

_PRODUCTS = PageSpec(size_param="per_page", max_size=500)
_ORDERS = OrderEndpoint(
    "topups",
    "/api/v1/topups/orders",
    TopupOrder,
    TopupOrderStatus,
    PageSpec(size_param="per_page", max_size=500),
)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_CATEGORIES = ("Airtime", "Data", "Bundle")


def _category(value: str | None) -> str | None:
    if value is not None and value not in _CATEGORIES:
        raise InvalidRequestError(
            f"category must be one of {', '.join(_CATEGORIES)}, got {value!r}", param="category"
        )
    return value


def require_e164(value: object, param: str) -> str:
    """`value` if it is an E.164 number: "+", country code, digits; no spaces or dashes."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise InvalidRequestError(
            f"{param} must be an E.164 number such as +918879685100, got {value!r}", param=param
        )
    return value


class KnownInputFields:
    """The `input_fields` of every product this client has fetched, to check orders early."""

    def __init__(self) -> None:
        self._fields: dict[int, tuple[InputField, ...]] = {}

    def remember(self, product: TopupProduct) -> None:
        if product.input_fields:
            self._fields[product.id] = product.input_fields

    def check(self, product_id: int, input_data: Mapping[str, str]) -> None:
        """Reject keys the product does not take, and missing required ones, before sending."""
        fields = self._fields.get(product_id)
        if fields is None:
            return
        known = {field.name for field in fields}
        unknown = sorted(set(input_data) - known)
        if unknown:
            raise InvalidRequestError(
                f"input_data keys {unknown} are not input fields of product {product_id} "
                f"(it takes {sorted(known)})",
                param="input_data",
            )
        missing = sorted(f.name for f in fields if f.required and f.name not in input_data)
        if missing:
            raise InvalidRequestError(
                f"input_data lacks the required fields {missing}", param="input_data"
            )


class TopupProducts(Resource):
    def __init__(self, requester: Requester, known: KnownInputFields) -> None:
        super().__init__(requester)
        self._known = known

    def list(
        self,
        *,
        type: Literal["GAMING", "MOBILE", "UTILITY"] | None = None,
        search: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[TopupProduct]:
        """Products of one type (or all), optionally matching a name."""
        if type not in (None, "GAMING", "MOBILE", "UTILITY"):
            raise InvalidRequestError(
                f"type must be GAMING, MOBILE or UTILITY, got {type!r}", param="type"
            )
        return self._requester.paginate(
            "/api/v1/topups/products",
            TopupProduct,
            _PRODUCTS,
            params={"type": type, "search": search},
            page_size=page_size,
        )

    async def get(self, product_id: int) -> TopupProduct:
        """One product with its `input_fields`; later orders for it are checked against them."""
        require_id(product_id, "product_id")
        product = await self._requester.get(f"/api/v1/topups/products/{product_id}", TopupProduct)
        self._known.remember(product)
        return product

    async def variants(self, product_id: int) -> tuple[TopupVariant, ...]:
        """The product's SKUs (denominations, validity, regional pricing)."""
        require_id(product_id, "product_id")
        return await self._requester.get(
            f"/api/v1/topups/products/{product_id}/variants", tuple[TopupVariant, ...]
        )


class TopupVariants(Resource):
    async def get(self, variant_id: int) -> TopupVariant:
        require_id(variant_id, "variant_id")
        return await self._requester.get(f"/api/v1/topups/variants/{variant_id}", TopupVariant)


class TopupOrders(Orders[TopupOrder]):
    """Topup orders: accepted PENDING, then delivered (or failed for a customer error)."""

    def __init__(self, requester: Requester, waits: Waits, known: KnownInputFields) -> None:
        super().__init__(requester, _ORDERS, waits)
        self._known = known

    async def create(
        self,
        product_id: int,
        amount: Decimal | int | str,
        *,
        input_data: Mapping[str, str] | None = None,
        client_reference: str | None = None,
        wallet_id: int | None = None,
        category: Category | None = None,
    ) -> TopupOrder:
        """Order a topup of `amount` exactly once; usually answered PENDING.

        `input_data` carries the product's input fields (`player_id`, `phone_number`);
        once the product was fetched with `products.get`, other keys are refused before
        sending. `OrderOutcomeUnknownError` means the order may exist; any other error
        means this call created nothing.
        """
        body = self._body(product_id, amount, input_data, wallet_id, category)
        return await self._create(body, client_reference)

    def submit(
        self,
        product_id: int,
        amount: Decimal | int | str,
        *,
        input_data: Mapping[str, str] | None = None,
        client_reference: str | None = None,
        wallet_id: int | None = None,
        category: Category | None = None,
        timeout: float | None = None,
    ) -> PendingOrder[TopupOrder]:
        """`create` in the background; returns at once a waiter for the settled order."""
        body = self._body(product_id, amount, input_data, wallet_id, category)
        return self._submit(body, client_reference, timeout=timeout, accept_partial=False)

    async def create_and_wait(
        self,
        product_id: int,
        amount: Decimal | int | str,
        *,
        input_data: Mapping[str, str] | None = None,
        client_reference: str | None = None,
        wallet_id: int | None = None,
        category: Category | None = None,
        timeout: float | None = None,
    ) -> TopupOrder:
        """`create`, then wait: the delivered order, or `OrderFailedError`/`OrderWaitTimeout`."""
        return await self.submit(
            product_id,
            amount,
            input_data=input_data,
            client_reference=client_reference,
            wallet_id=wallet_id,
            category=category,
            timeout=timeout,
        )

    def list(
        self,
        *,
        status: str | None = None,
        product_id: int | None = None,
        country: str | None = None,
        client_reference: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[TopupOrder]:
        """Orders, most recent first, filtered by status (a `TopupOrderStatus`), product,
        country (alpha-3) or reference."""
        if product_id is not None:
            require_id(product_id, "product_id")
        if country is not None and not (
            isinstance(country, str) and re.fullmatch(r"[A-Z]{3}", country)
        ):
            raise InvalidRequestError(
                f"country must be an upper-case ISO 3166-1 alpha-3 code, got {country!r}",
                param="country",
            )
        filters = {
            "status": self._status(status),
            "product_id": product_id,
            "country": country,
            "client_reference": client_reference,
        }
        return self._list(filters, page_size)

    async def set_notification_email(self, order_id: int, email: str) -> None:
        """Email a receipt to `email` when the order reaches a final state."""
        require_id(order_id, "order_id")
        await self._requester.request(
            "PATCH",
            f"/api/v1/topups/orders/{order_id}/notification-email",
            json={"email": require_email(email)},
        )

    def _body(
        self,
        product_id: int,
        amount: Decimal | int | str,
        input_data: Mapping[str, str] | None,
        wallet_id: int | None,
        category: str | None,
    ) -> dict[str, object]:
        body: dict[str, object] = {
            "product_id": require_id(product_id, "product_id"),
            "amount": require_amount(amount, "amount"),
        }
        if input_data is not None and not (
            isinstance(input_data, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in input_data.items())
        ):
            raise InvalidRequestError(
                "input_data must map field names to strings", param="input_data"
            )
        self._known.check(product_id, input_data or {})
        if input_data is not None:
            body["input_data"] = dict(input_data)
        if category is not None:
            body["category"] = _category(category)
        if wallet_id is not None:
            body["wallet_id"] = require_id(wallet_id, "wallet_id")
        return body


class Topups(Resource):
    """`client.topups`: `products`, `variants`, `orders`, `lookup` and `charges`."""

    def __init__(self, requester: Requester, waits: Waits, known: KnownInputFields) -> None:
        super().__init__(requester)
        self.products = TopupProducts(requester, known)
        self.variants = TopupVariants(requester)
        self.orders = TopupOrders(requester, waits, known)

    async def lookup(self, mobile_number: str) -> tuple[OperatorMatch, ...]:
        """Operators a mobile number may belong to, best guess first; empty when unknown."""
        body = {"mobile_number": require_e164(mobile_number, "mobile_number")}
        response = await self._requester.request("POST", "/api/v1/topups/lookup", json=body)
        return response.parse(tuple[OperatorMatch, ...])

    async def charges(
        self,
        product_id: int,
        amount: Decimal | int | str,
        *,
        wallet_id: int | None = None,
        category: Category | None = None,
    ) -> ChargesQuote:
        """What an order of `amount` would cost (the server picks the variant)."""
        body: dict[str, object] = {
            "product_id": require_id(product_id, "product_id"),
            "amount": require_amount(amount, "amount"),
        }
        if wallet_id is not None:
            body["wallet_id"] = require_id(wallet_id, "wallet_id")
        if category is not None:
            body["category"] = _category(category)
        response = await self._requester.request("POST", "/api/v1/topups/charges", json=body)
        return response.parse(ChargesQuote)
