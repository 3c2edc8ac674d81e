"""The sandbox's eSIM: plans, the held create, background fulfilment, and the device lifecycle.

A create is debited and recorded PENDING at once; fulfilment finishes after a delay drawn
from `esim_fulfilment_delay` (or `esim_slow_delay` for an `esim_slow_share` of orders). The
request is held until then, for at most `esim_hold` (60 s), and answers DELIVERED (with the
activation code and ICCID) or PENDING. After delivery a simulated device installs the
profile (`esim_install_delay`), uses it (`esim_activation_delay`), and the plan expires
`validity_days` after that. Only a single GET reveals those device-side changes; lists show
what a GET last revealed, and never the activation code.
"""

from __future__ import annotations

import asyncio
import contextlib
import string
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ._http import ApiError, rfc3339
from .ledger import WalletRecord
from .orders import VariantDesk
from .pricing import Quote, quote

if TYPE_CHECKING:
    from .state import SandboxState

__all__ = ["PRODUCTS", "EsimDesk", "EsimOrderRecord", "EsimProductRecord", "EsimVariantRecord"]

OUTCOMES = ("DELIVERED", "FAILED", "CANCELLED")
_DAY = 86_400.0


@attrs.frozen
class EsimVariantRecord:
    id: int
    product_id: int
    name: str
    amount: Decimal
    data_amount_gb: Decimal
    validity_days: int
    client_discount: Decimal
    description: str | None = None

    def as_json(self, currency: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "esim_product_id": self.product_id,
            "name": self.name,
            "description": self.description,
            "currency_code": currency,
            "amount": self.amount,
            "data_amount_gb": self.data_amount_gb,
            "validity_days": self.validity_days,
            "client_discount": self.client_discount,
        }


@attrs.frozen
class EsimProductRecord:
    id: int
    name: str
    country_code: str
    currency_code: str
    variants: tuple[EsimVariantRecord, ...]

    def as_json(self, *, detail: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "country_code": self.country_code,
            "currency_code": self.currency_code,
            "image_url": f"https://cdn.sandbox.octopuscards.io/esim/{self.id}.png",
        }
        if detail:
            document["variants"] = [v.as_json(self.currency_code) for v in self.variants]
        return document


def _plan(
    id: int, product: int, name: str, amount: str, gb: str, days: int, discount: str
) -> EsimVariantRecord:
    return EsimVariantRecord(
        id, product, name, Decimal(amount), Decimal(gb), days, Decimal(discount)
    )


PRODUCTS: dict[int, EsimProductRecord] = {
    product.id: product
    for product in [
        EsimProductRecord(
            712,
            "Japan eSIM",
            "JPN",
            "USD",
            (
                attrs.evolve(
                    _plan(5511, 712, "Japan 1 GB / 7 days", "4.50", "1.0", 7, "5.0"),
                    description="Data-only eSIM for short trips",
                ),
                _plan(5512, 712, "Japan 5 GB / 30 days", "16.00", "5.0", 30, "5.0"),
            ),
        ),
        EsimProductRecord(
            713,
            "USA eSIM",
            "USA",
            "USD",
            (_plan(5521, 713, "USA 3 GB / 15 days", "9.00", "3.0", 15, "4.0"),),
        ),
        EsimProductRecord(
            904,
            "Global Roaming",
            "GLO",
            "USD",
            (_plan(5901, 904, "Global 1 GB / 7 days", "9.90", "1.0", 7, "3.0"),),
        ),
    ]
}


@attrs.define
class EsimOrderRecord:
    id: int
    product: EsimProductRecord
    variant: EsimVariantRecord
    quote: Quote
    client_reference: str | None
    wallet: WalletRecord
    created_at: float
    transaction_id: int
    status: str = "PENDING"
    status_text: str = "Order accepted; provisioning the eSIM"
    activation_code: str | None = None
    iccid: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    installed_at: float | None = None  # what a GET last revealed
    activated_at: float | None = None
    expired: bool = False
    device_installed_at: float | None = None  # what happened on the device
    device_activated_at: float | None = None
    device_expired: bool = False
    notification_email: str | None = None
    settled: asyncio.Event = attrs.Factory(asyncio.Event)

    @property
    def activation_status(self) -> str | None:
        if self.status != "DELIVERED":
            return None
        if self.expired:
            return "EXPIRED"
        return "ACTIVE" if self.installed_at is not None else "NOT_INSTALLED"

    def as_json(self, *, listed: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "client_reference": self.client_reference,
            "status": self.status,
            "status_text": self.status_text,
            "product_name": self.product.name,
            "country_code": self.product.country_code,
            "data_amount_gb": self.variant.data_amount_gb,
            "validity_days": self.variant.validity_days,
            "amount": self.quote.total_amount,
            "currency": self.product.currency_code,
            "activation_status": self.activation_status,
            "is_installed": self.installed_at is not None,
            "installed_at": None if self.installed_at is None else rfc3339(self.installed_at),
            "activated_at": None if self.activated_at is None else rfc3339(self.activated_at),
            "transaction_id": self.transaction_id,
            "created_at": rfc3339(self.created_at),
        }
        if not listed and self.iccid is not None:
            document["iccid"] = self.iccid
            if self.installed_at is None:
                document["activation_code"] = self.activation_code
        if self.failure_code is not None:
            document["failure_code"] = self.failure_code
            document["failure_reason"] = self.failure_reason
            document["is_user_fixable"] = True
        return document


class EsimDesk(VariantDesk[EsimProductRecord, EsimOrderRecord]):
    """eSIM in the sandbox; `force_outcome` settles an order as a test wants."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state, PRODUCTS, first_order_id=9302481, outcomes=OUTCOMES)

    def charges(self, product_id: int, amount: Decimal, wallet_id: int | None) -> dict[str, Any]:
        product = self.product(product_id, missing=400)
        variant = self._plan(product, amount)
        return self._price(
            product, variant, self._wallet(product.currency_code, wallet_id, fallback=True)
        ).as_json()

    def create(
        self, product_id: int, amount: Decimal, reference: str | None, wallet_id: int | None
    ) -> EsimOrderRecord:
        """Validate, debit and record an order in one step; fulfilment goes on in the background."""
        self.orders.ensure_new(reference)
        product = self.product(product_id, missing=400)
        variant = self._plan(product, amount)
        wallet = self._wallet(product.currency_code, wallet_id, fallback=True)
        priced = self._price(product, variant, wallet)
        order_id = self.orders.next_id()
        debit = self._debit(wallet, priced.total_payable, order_id)
        order = self.orders.add(
            EsimOrderRecord(
                order_id,
                product,
                variant,
                priced,
                reference,
                wallet,
                self._state.clock(),
                debit.id,
            )
        )
        config = self._state.config
        rng = self._state.rng
        low, high = (
            config.esim_slow_delay
            if rng.random() < config.esim_slow_share
            else config.esim_fulfilment_delay
        )
        self._state.schedule(rng.uniform(low, high), lambda: self.settle(order.id))
        return order

    async def held(self, order: EsimOrderRecord) -> EsimOrderRecord:
        """Hold the create's answer until the order settles, for at most `esim_hold`."""
        hold = self._state.config.real_seconds(self._state.config.esim_hold)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(order.settled.wait(), hold)
        return order

    def settle(self, order_id: int) -> None:
        """Finish fulfilment now (tests may call this to skip the delay)."""
        order = self.orders.by_id[order_id]
        if order.status != "PENDING":
            return
        outcome = self._forced(order.client_reference)
        if outcome is None:
            failed = self._state.rng.random() < self._state.config.esim_failure_share
            outcome = "FAILED" if failed else "DELIVERED"
        if outcome == "DELIVERED":
            self._deliver(order)
        else:
            self._refund(order.wallet, order.quote.total_payable, order.id)
            order.status = outcome
            if outcome == "FAILED":
                order.status_text = "Provisioning failed"
                order.failure_code = "PLAN_UNAVAILABLE"
                order.failure_reason = "This plan is not available right now. Pick another plan."
            else:
                order.status_text = "Order cancelled and refunded"
        order.settled.set()
        self._announce(order, f"esim.{order.status.lower()}")

    def refresh(self, order: EsimOrderRecord) -> EsimOrderRecord:
        """What a single GET does: fetch the device-side state from upstream."""
        order.installed_at = order.device_installed_at
        order.activated_at = order.device_activated_at
        order.expired = order.device_expired
        return order

    def install_now(self, order_id: int) -> None:
        """Simulate the device installing the profile now."""
        order = self.orders.by_id[order_id]
        if order.status == "DELIVERED" and order.device_installed_at is None:
            order.device_installed_at = self._state.clock()
            self._announce(order, "esim.installed")
            low, high = self._state.config.esim_activation_delay
            self._state.schedule(
                self._state.rng.uniform(low, high), lambda: self.activate_now(order_id)
            )

    def activate_now(self, order_id: int) -> None:
        """Simulate the first data use now; the plan expires `validity_days` later."""
        order = self.orders.by_id[order_id]
        if order.device_installed_at is not None and order.device_activated_at is None:
            order.device_activated_at = self._state.clock()
            self._announce(order, "esim.activated")
            self._state.schedule(order.variant.validity_days * _DAY, lambda: self._expire(order_id))

    def _announce(self, order: EsimOrderRecord, event_type: str) -> None:
        self._state.webhooks.emit(
            event_type,
            {"id": order.id, "client_reference": order.client_reference, "status": order.status},
        )

    def _expire(self, order_id: int) -> None:
        self.orders.by_id[order_id].device_expired = True

    def _deliver(self, order: EsimOrderRecord) -> None:
        rng = self._state.rng
        matching_id = "".join(rng.choices(string.ascii_uppercase + string.digits, k=20))
        order.status = "DELIVERED"
        order.status_text = "eSIM issued"
        order.activation_code = f"LPA:1$smdp.sandbox.octopuscards.io${matching_id}"
        order.iccid = "8981" + "".join(rng.choices(string.digits, k=15))
        low, high = self._state.config.esim_install_delay
        self._state.schedule(rng.uniform(low, high), lambda: self.install_now(order.id))

    def _plan(self, product: EsimProductRecord, amount: Decimal) -> EsimVariantRecord:
        for variant in product.variants:
            if variant.amount == amount:
                return variant
        raise ApiError(400, "No plan of this product has this amount")

    def _price(
        self, product: EsimProductRecord, variant: EsimVariantRecord, wallet: WalletRecord
    ) -> Quote:
        return quote(
            variant.amount,
            variant.client_discount,
            product.currency_code,
            wallet.currency,
            self._state.fx_per_usd,
        )
