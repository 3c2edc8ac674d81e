"""The sandbox's voucher business: catalogue, quotes, orders, fulfilment and refunds."""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ._http import ApiError, rfc3339
from .ledger import WalletRecord
from .orders import Desk
from .pricing import Quote, money, quote

if TYPE_CHECKING:
    from .state import SandboxState

__all__ = ["CATALOG", "VoucherDesk", "VoucherOrderRecord", "VoucherProductRecord"]

SYNC_LIMIT = 5  # orders of up to 5 vouchers are delivered inline (API.md 8.1)
MAX_QUANTITY = 5_000
OUTCOMES = ("DELIVERED", "PARTIALLY_DELIVERED", "FAILED", "CANCELLED")


@attrs.frozen
class VoucherProductRecord:
    id: int
    name: str
    category: str
    sub_category: str | None
    country_code: str
    currency_code: str
    denominations: tuple[tuple[Decimal, Decimal, Decimal], ...]  # (min, max, discount %)
    delivery_mode: str = "Code with PIN"
    code_prefix: str = "CODE"
    in_stock: bool = True

    def discount_for(self, denomination: Decimal) -> Decimal | None:
        """The discount percentage of the range holding `denomination`, or None."""
        for low, high, discount in self.denominations:
            if low <= denomination <= high:
                return discount
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "sub_category": self.sub_category,
            "country_code": self.country_code,
            "currency_code": self.currency_code,
            "image_url": f"https://cdn.sandbox.octopuscards.io/products/{self.id}.png",
            "delivery_mode": self.delivery_mode,
            "delivery_time": "Instant",
            "validity": "12 months",
            "available_denominations": [
                {"min_value": low, "max_value": high, "discount": discount}
                for low, high, discount in self.denominations
            ],
        }


def _fixed(*values: str, discount: str) -> tuple[tuple[Decimal, Decimal, Decimal], ...]:
    return tuple((Decimal(v), Decimal(v), Decimal(discount)) for v in values)


CATALOG: dict[int, VoucherProductRecord] = {
    product.id: product
    for product in [
        VoucherProductRecord(
            123,
            "Steam Wallet Card",
            "Gaming",
            "Steam",
            "US",
            "USD",
            _fixed("10.00", "20.00", "50.00", "100.00", discount="3.5"),
            code_prefix="STEAM",
        ),
        VoucherProductRecord(
            124,
            "PlayStation Store Gift Card",
            "Gaming",
            "PlayStation",
            "US",
            "USD",
            _fixed("25.00", "50.00", discount="2.0"),
            code_prefix="PSN",
        ),
        VoucherProductRecord(
            125,
            "Xbox Gift Card",
            "Gaming",
            "Xbox",
            "US",
            "USD",
            _fixed("15.00", "25.00", discount="2.5"),
            code_prefix="XBOX",
            in_stock=False,
        ),
        VoucherProductRecord(
            130,
            "Amazon.com Gift Card",
            "Shopping",
            "Amazon",
            "US",
            "USD",
            ((Decimal("1.00"), Decimal("500.00"), Decimal("1.5")),),
            code_prefix="AMZN",
        ),
        VoucherProductRecord(
            140,
            "Netflix Gift Card",
            "Entertainment",
            "Netflix",
            "GB",
            "GBP",
            _fixed("15.00", "25.00", "50.00", discount="3.0"),
            delivery_mode="URL",
        ),
        VoucherProductRecord(
            150,
            "Uber Eats Voucher",
            "Food & Dining",
            "Uber Eats",
            "DE",
            "EUR",
            ((Decimal("10.00"), Decimal("200.00"), Decimal("4.0")),),
            code_prefix="UBER",
        ),
        VoucherProductRecord(
            160,
            "Google Play Gift Code",
            "Entertainment",
            None,
            "IN",
            "INR",
            _fixed("500.00", "1000.00", discount="2.0"),
            code_prefix="GPLAY",
        ),
    ]
}


@attrs.define
class VoucherOrderRecord:
    id: int
    product: VoucherProductRecord
    denomination: Decimal
    quantity: int
    client_reference: str | None
    wallet: WalletRecord
    quote: Quote
    email: str | None
    created_at: float
    status: str = "PENDING"
    message: str = ""
    vouchers: list[dict[str, Any]] = attrs.Factory(list)
    refunded: Decimal = Decimal("0.00")
    settled_at: float | None = None

    def event_data(self) -> dict[str, Any]:
        """The webhook payload of this order: no codes, no PINs (API.md 11.6)."""
        return {
            "id": self.id,
            "reference_code": self.client_reference,
            "status": self.status,
            "product_name": self.product.name,
            "denomination": self.denomination,
            "quantity": self.quantity,
            "amount": self.quote.non_discounted_total,
            "delivered_quantity": len(self.vouchers),
            "delivered_on": None if self.settled_at is None else rfc3339(self.settled_at),
            "created_at": rfc3339(self.created_at),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "product_id": self.product.id,
            "product_name": self.product.name,
            "denomination": self.denomination,
            "quantity": self.quantity,
            "amount": self.quote.non_discounted_total,
            "discount": self.quote.discount_amount,
            "client_reference": self.client_reference,
            "wallet_id": self.wallet.id,
            "status": self.status,
            "base_currency": self.product.currency_code,
            "deduction_currency": self.wallet.currency,
            "message": self.message,
            "email": self.email,
            "vouchers": self.vouchers,
        }


class VoucherDesk(Desk[VoucherProductRecord, VoucherOrderRecord]):
    """Vouchers in the sandbox: the catalogue, 5-minute charges quotes, and orders.

    Orders of up to 5 vouchers are delivered inline; larger ones settle after a delay drawn
    from `SandboxConfig.voucher_fulfilment_delay`, into an outcome drawn from
    `voucher_outcomes` unless a test forced one with `force_outcome` (a small order forced
    to another outcome than DELIVERED is answered PENDING and settles later). A failed or
    cancelled order is refunded in full, a partial delivery for the vouchers not delivered,
    each as a separate ledger credit.
    """

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state, CATALOG, first_order_id=1234, outcomes=OUTCOMES)
        self._quotes: dict[tuple[int, Decimal, int, int | None], tuple[float, dict[str, Any]]] = {}

    def listed(self) -> list[VoucherProductRecord]:
        """What the catalogue shows: products in stock (API.md 8.2)."""
        return [product for product in self.catalog.values() if product.in_stock]

    def is_available(self, product: VoucherProductRecord, denomination: Decimal) -> bool:
        return product.in_stock and product.discount_for(denomination) is not None

    def charges(
        self,
        product: VoucherProductRecord,
        denomination: Decimal,
        quantity: int,
        wallet_id: int | None,
    ) -> dict[str, Any]:
        """A quote, served from the 5-minute cache when the same one was asked for."""
        key = (product.id, denomination, quantity, wallet_id)
        now = asyncio.get_running_loop().time()  # a duration: the loop's monotonic clock
        cached = self._quotes.get(key)
        ttl = self._state.config.real_seconds(self._state.config.charges_cache_ttl)
        if cached is not None and now - cached[0] < ttl:
            return cached[1]
        wallet = self._wallet(product.currency_code, wallet_id, fallback=False)
        priced = self._price(product, denomination, quantity, wallet)
        answer = priced.as_json(max_quantity=self._state.config.voucher_bulk_limit)
        self._quotes[key] = (now, answer)
        return answer

    def create(
        self,
        product_id: int,
        denomination: Decimal,
        quantity: int,
        reference: str | None,
        wallet_id: int | None,
        email: str | None,
    ) -> VoucherOrderRecord:
        """Validate, debit and record an order in one step (no await: nothing interleaves)."""
        self.orders.ensure_new(reference)
        product = self.product(product_id, missing=400)
        if quantity > min(MAX_QUANTITY, self._state.config.voucher_bulk_limit):
            raise ApiError(400, "Quantity exceeds the bulk limit")
        if not product.in_stock:
            raise ApiError(400, "Product is out of stock")
        wallet = self._wallet(product.currency_code, wallet_id, fallback=False)
        priced = self._price(product, denomination, quantity, wallet)
        order_id = self.orders.next_id()
        self._debit(wallet, priced.total_payable, order_id)
        order = self.orders.add(
            VoucherOrderRecord(
                order_id,
                product,
                denomination,
                quantity,
                reference,
                wallet,
                priced,
                email,
                self._state.clock(),
            )
        )
        if quantity <= SYNC_LIMIT and not self._held_back(reference):
            self._forced(reference)  # a forced DELIVERED is what happens anyway
            self._deliver(order, quantity)
            self._finish(order, "DELIVERED")
        else:
            low, high = self._state.config.voucher_fulfilment_delay
            self._state.schedule(self._state.rng.uniform(low, high), lambda: self.settle(order.id))
        return order

    def settle(self, order_id: int) -> None:
        """Finish a pending order: deliver, partly deliver, fail or cancel it."""
        order = self.orders.by_id[order_id]
        if order.status != "PENDING":
            return
        outcome = self._outcome(order)
        if outcome == "DELIVERED":
            self._deliver(order, order.quantity)
        elif outcome == "PARTIALLY_DELIVERED":
            delivered = (order.quantity + 1) // 2
            self._deliver(order, delivered)
            undelivered = order.quantity - delivered
            self._give_back(order, money(order.quote.total_payable * undelivered / order.quantity))
            order.message = f"{delivered} of {order.quantity} vouchers delivered"
        else:
            self._give_back(order, order.quote.total_payable)
            order.message = "Fulfilment failed" if outcome == "FAILED" else "Order cancelled"
        self._finish(order, outcome)

    def _finish(self, order: VoucherOrderRecord, status: str) -> None:
        order.status = status
        order.settled_at = self._state.clock()
        self._state.webhooks.emit(f"order.{status.lower()}", order.event_data())

    def _outcome(self, order: VoucherOrderRecord) -> str:
        forced = self._forced(order.client_reference)
        if forced is not None:
            return forced
        weights = self._state.config.voucher_outcomes
        return self._state.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _price(
        self,
        product: VoucherProductRecord,
        denomination: Decimal,
        quantity: int,
        wallet: WalletRecord,
    ) -> Quote:
        discount = product.discount_for(denomination)
        if discount is None:
            raise ApiError(400, "Invalid denomination")
        return quote(
            denomination * quantity,
            discount,
            product.currency_code,
            wallet.currency,
            self._state.fx_per_usd,
        )

    def _deliver(self, order: VoucherOrderRecord, count: int) -> None:
        expires = self._state.clock() + 365 * 86_400
        order.vouchers = [self._voucher(order.product, expires) for _ in range(count)]

    def _voucher(self, product: VoucherProductRecord, expires: float) -> dict[str, Any]:
        rng = self._state.rng
        if product.delivery_mode == "URL":
            card_number = pin_code = None
            claim_url = f"https://claim.sandbox.octopuscards.io/v/{secrets.token_urlsafe(12)}"
        else:
            alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
            groups = ("".join(rng.choices(alphabet, k=4)) for _ in range(3))
            card_number = "-".join((product.code_prefix, *groups))
            pin_code = f"{rng.randrange(10_000):04d}"
            claim_url = None
        return {
            "card_number": card_number,
            "pin_code": pin_code,
            "claim_url": claim_url,
            "expires_at": rfc3339(expires),
            "voucher_reference_number": f"SBX{rng.randrange(10**10):010d}",
        }

    def _give_back(self, order: VoucherOrderRecord, amount: Decimal) -> None:
        self._refund(order.wallet, amount, order.id)
        order.refunded += amount
