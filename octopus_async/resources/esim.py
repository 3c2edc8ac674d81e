"""`client.esim`: eSIM data plans, the 60-second hybrid create, and the install lifecycle."""

from __future__ import annotations

import re
from collections import OrderedDict
from decimal import Decimal

from ..errors import InvalidRequestError
from ..models._convert import evolve
from ..models.charges import ChargesQuote
from ..models.esim import EsimOrder, EsimOrderStatus, EsimProduct, EsimVariant
from ..pagination import AsyncPaginator, PageSpec
from ._base import Requester, Resource, require_amount, require_email, require_id
from ._orders import OrderEndpoint, Orders, PendingOrder, Waits

__all__ = ["ActivationCodes", "Esim", "EsimOrders", "EsimProducts", "EsimVariants"]

_PRODUCTS = PageSpec(size_param="per_page", max_size=500)
_ORDERS = OrderEndpoint(
    "esim",
    "/api/v1/esim/orders",
    EsimOrder,
    EsimOrderStatus,
    PageSpec(size_param="per_page", max_size=500),
    # The server may hold the create for 60 s before answering (D22).
    create_read_timeout=lambda timeouts: timeouts.esim_create_read,
)


class ActivationCodes:
    """The activation code first seen for each eSIM order (D34), for this client only.

    The server stops sending an order's code once the profile is installed; the SDK puts
    it back on later copies of the order. The most recent `capacity` orders are kept.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._codes: OrderedDict[int, str] = OrderedDict()

    def complete(self, order: EsimOrder) -> EsimOrder:
        if order.activation_code:
            self._codes.setdefault(order.id, order.activation_code)
            self._codes.move_to_end(order.id)
            while len(self._codes) > self._capacity:
                self._codes.popitem(last=False)
            return order
        code = self._codes.get(order.id)
        return order if code is None else evolve(order, activation_code=code)


class EsimProducts(Resource):
    def list(
        self,
        *,
        country_code: str | None = None,
        search: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[EsimProduct]:
        """Countries and regions, optionally one (ISO 3166-1 alpha-3, or GLO for global)."""
        if country_code is not None and not (
            isinstance(country_code, str) and re.fullmatch(r"[A-Z]{3}", country_code)
        ):
            raise InvalidRequestError(
                f"country_code must be an upper-case alpha-3 code or GLO, got {country_code!r}",
                param="country_code",
            )
        return self._requester.paginate(
            "/api/v1/esim/products",
            EsimProduct,
            _PRODUCTS,
            params={"country_code": country_code, "search": search},
            page_size=page_size,
        )

    async def get(self, product_id: int) -> EsimProduct:
        """One product with its plans inlined: one call renders a plan picker."""
        require_id(product_id, "product_id")
        return await self._requester.get(f"/api/v1/esim/products/{product_id}", EsimProduct)

    async def variants(self, product_id: int) -> tuple[EsimVariant, ...]:
        require_id(product_id, "product_id")
        return await self._requester.get(
            f"/api/v1/esim/products/{product_id}/variants", tuple[EsimVariant, ...]
        )


class EsimVariants(Resource):
    async def get(self, variant_id: int) -> EsimVariant:
        require_id(variant_id, "variant_id")
        return await self._requester.get(f"/api/v1/esim/variants/{variant_id}", EsimVariant)


class EsimOrders(Orders[EsimOrder]):
    """eSIM orders: the create is held up to 60 s and answers DELIVERED or PENDING.

    `wait`, `submit` and `create_and_wait` follow fulfilment; `wait_installed` and
    `wait_active` follow the device side afterwards, by single GETs on the install cadence.
    """

    def __init__(self, requester: Requester, waits: Waits, codes: ActivationCodes) -> None:
        super().__init__(requester, _ORDERS, waits)
        self._codes = codes

    async def create(
        self,
        product_id: int,
        amount: Decimal | int | str,
        *,
        client_reference: str | None = None,
        wallet_id: int | None = None,
        quantity: int = 1,
    ) -> EsimOrder:
        """Order one eSIM of the plan whose price is `amount`, exactly once.

        The answer can take up to 60 s (the read timeout is `Timeouts.esim_create_read`).
        A lost answer is settled by looking the reference up, never by sending again blind.
        `OrderOutcomeUnknownError` means the order may exist; any other error means this
        call created nothing.
        """
        return await self._create(_body(product_id, amount, wallet_id, quantity), client_reference)

    def submit(
        self,
        product_id: int,
        amount: Decimal | int | str,
        *,
        client_reference: str | None = None,
        wallet_id: int | None = None,
        quantity: int = 1,
        timeout: float | None = None,
    ) -> PendingOrder[EsimOrder]:
        """`create` in the background, raced against `timeout`; returns a waiter at once.

        A DELIVERED answer resolves it with no poll; a PENDING one hands over to polling.
        """
        body = _body(product_id, amount, wallet_id, quantity)
        return self._submit(body, client_reference, timeout=timeout, accept_partial=False)

    async def create_and_wait(
        self,
        product_id: int,
        amount: Decimal | int | str,
        *,
        client_reference: str | None = None,
        wallet_id: int | None = None,
        quantity: int = 1,
        timeout: float | None = None,
    ) -> EsimOrder:
        """`create`, then wait: the delivered eSIM, or `OrderFailedError`/`OrderWaitTimeout`."""
        return await self.submit(
            product_id,
            amount,
            client_reference=client_reference,
            wallet_id=wallet_id,
            quantity=quantity,
            timeout=timeout,
        )

    def wait_installed(
        self, order: EsimOrder | int, *, timeout: float | None = None
    ) -> PendingOrder[EsimOrder]:
        """A waiter that resolves once the profile is on a device (ACTIVE, or EXPIRED since).

        Only single GETs refresh install state; they follow the install cadence (D30) for
        at most `PollPolicy.install_timeout` (an hour) unless `timeout` says otherwise.
        """
        return self._wait("esim.installed", order, timeout, False)

    def wait_active(
        self, order: EsimOrder | int, *, timeout: float | None = None
    ) -> PendingOrder[EsimOrder]:
        """A waiter that resolves once the eSIM was first used (`activated_at`) or expired."""
        return self._wait("esim.activated", order, timeout, False)

    def list(
        self,
        *,
        status: str | None = None,
        client_reference: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[EsimOrder]:
        """Orders, newest first, as stored (lists never refresh install state); filtered by
        status (an `EsimOrderStatus`) or reference."""
        filters = {"status": self._status(status), "client_reference": client_reference}
        return self._list(filters, page_size)

    async def set_notification_email(self, order_id: int, email: str) -> None:
        """Email a receipt to `email` when the order reaches a final state."""
        require_id(order_id, "order_id")
        await self._requester.request(
            "PATCH",
            f"/api/v1/esim/orders/{order_id}/notification-email",
            json={"email": require_email(email)},
        )

    def _received(self, order: EsimOrder) -> EsimOrder:
        return self._codes.complete(order)

    def lacks_detail(self, order: EsimOrder) -> bool:
        # Lists never carry the activation code; the single GET does until installation.
        return order.status == EsimOrderStatus.DELIVERED and order.activation_code is None


def _body(
    product_id: int, amount: Decimal | int | str, wallet_id: int | None, quantity: int
) -> dict[str, object]:
    if quantity != 1 or isinstance(quantity, bool):
        raise InvalidRequestError(
            f"an eSIM order is for exactly one eSIM (quantity=1), got {quantity!r}",
            param="quantity",
        )
    body: dict[str, object] = {
        "product_id": require_id(product_id, "product_id"),
        "amount": require_amount(amount, "amount"),
        "quantity": 1,
    }
    if wallet_id is not None:
        body["wallet_id"] = require_id(wallet_id, "wallet_id")
    return body


class Esim(Resource):
    """`client.esim`: `products`, `variants`, `orders` and `charges`."""

    def __init__(self, requester: Requester, waits: Waits, codes: ActivationCodes) -> None:
        super().__init__(requester)
        self.products = EsimProducts(requester)
        self.variants = EsimVariants(requester)
        self.orders = EsimOrders(requester, waits, codes)

    async def charges(
        self, product_id: int, amount: Decimal | int | str, *, wallet_id: int | None = None
    ) -> ChargesQuote:
        """What an eSIM of the plan priced `amount` would cost from the given wallet."""
        body: dict[str, object] = {
            "product_id": require_id(product_id, "product_id"),
            "amount": require_amount(amount, "amount"),
        }
        if wallet_id is not None:
            body["wallet_id"] = require_id(wallet_id, "wallet_id")
        response = await self._requester.request("POST", "/api/v1/esim/charges", json=body)
        return response.parse(ChargesQuote)
