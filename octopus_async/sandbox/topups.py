"""The sandbox's topups: products and variants, operator lookup, quotes, orders that settle later.

An order is accepted PENDING and settles upstream after a delay: most within 5-30 s, a tail
within minutes (`SandboxConfig.topup_*`). A settled order shows its new status at once to
single GETs; to list calls it shows it too, except for the share of orders
(`topup_get_only_share`) whose new status only a single GET reveals, as the API's live
refresh of in-flight orders does.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ._http import ApiError, rfc3339
from .ledger import WalletRecord
from .orders import VariantDesk
from .pricing import Quote, quote

if TYPE_CHECKING:
    from .state import SandboxState

__all__ = ["PRODUCTS", "TopupDesk", "TopupOrderRecord", "TopupProductRecord"]

OUTCOMES = ("DELIVERED", "FAILED", "CANCELLED")
_FAILURES = (
    ("INVALID_PLAYER_ID", "The player ID was not found. Check it and try again."),
    ("PLAN_UNAVAILABLE", "This plan is not available for this recipient."),
)
_UNKNOWN_PLAYER = "0000000000"


@attrs.frozen
class TopupVariantRecord:
    id: int
    name: str
    category: str
    currency_code: str
    fixed: tuple[Decimal, ...] = ()
    low: Decimal | None = None
    high: Decimal | None = None
    fields: tuple[tuple[str, str], ...] = ()

    def accepts(self, amount: Decimal, category: str | None) -> bool:
        if category is not None and category != self.category:
            return False
        if amount in self.fixed:
            return True
        return self.low is not None and self.high is not None and self.low <= amount <= self.high

    def as_json(self, country_code: str) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "currency_code": self.currency_code,
            "available_in": [{"code": country_code, "name": _REGION_NAMES[country_code]}],
            "fields": dict(self.fields),
        }
        if self.fixed:
            document["fixed_amounts"] = [str(amount) for amount in self.fixed]
        if self.low is not None:
            document["min_amount"] = self.low
            document["max_amount"] = self.high
        return document


@attrs.frozen
class TopupProductRecord:
    id: int
    name: str
    topup_type: str
    country_code: str
    currency_code: str
    input_fields: tuple[tuple[str, bool, str | None], ...]  # (name, required, pattern)
    discount: Decimal
    variants: tuple[TopupVariantRecord, ...]
    instant: bool = False  # delivered within the create request

    def as_json(self, *, detail: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "topup_type": self.topup_type,
            "country_code": self.country_code,
            "currency_code": self.currency_code,
            "image_url": f"https://cdn.sandbox.octopuscards.io/topups/{self.id}.png",
        }
        if detail:
            document["input_fields"] = [
                {"name": name, "required": required, "pattern": pattern}
                for name, required, pattern in self.input_fields
            ]
        return document


_REGION_NAMES = {"GLO": "Global", "IND": "India", "USA": "United States"}
_PLAYER = (("player_id", True, r"^[0-9]{6,12}$"), ("server", False, None))
_PHONE = (("phone_number", True, r"^\+[1-9][0-9]{6,14}$"),)


def _fixed(id: int, name: str, amount: str, par: str) -> TopupVariantRecord:
    return TopupVariantRecord(
        id,
        name,
        "In-Game Currency",
        "USD",
        fixed=(Decimal(amount),),
        fields=(("par_value", par), ("delivery_time", "Instant"), ("validity_days", "365")),
    )


PRODUCTS: dict[int, TopupProductRecord] = {
    product.id: product
    for product in [
        TopupProductRecord(
            4218,
            "PUBG Mobile UC",
            "GAMING",
            "GLO",
            "USD",
            _PLAYER,
            Decimal("5"),
            (
                _fixed(88412, "60 UC", "0.99", "60 UC"),
                _fixed(88413, "325 UC", "4.99", "325 UC"),
                _fixed(88414, "660 UC", "9.99", "660 UC"),
            ),
        ),
        TopupProductRecord(
            4240,
            "Free Fire Diamonds",
            "GAMING",
            "GLO",
            "USD",
            _PLAYER,
            Decimal("4"),
            (_fixed(88601, "100 Diamonds", "0.99", "100 Diamonds"),),
            instant=True,
        ),
        TopupProductRecord(
            4219,
            "Airtel India",
            "MOBILE",
            "IND",
            "INR",
            _PHONE,
            Decimal("3"),
            (
                TopupVariantRecord(
                    88501, "Airtime", "Airtime", "INR", low=Decimal("10"), high=Decimal("5000")
                ),
                TopupVariantRecord(
                    88502,
                    "1 GB / 28 days",
                    "Data",
                    "INR",
                    fixed=(Decimal("179"),),
                    fields=(("validity_days", "28"),),
                ),
            ),
        ),
        TopupProductRecord(
            4231,
            "Vi (Vodafone Idea) India",
            "MOBILE",
            "IND",
            "INR",
            _PHONE,
            Decimal("2.5"),
            (
                TopupVariantRecord(
                    88511, "Airtime", "Airtime", "INR", low=Decimal("10"), high=Decimal("2000")
                ),
            ),
        ),
        TopupProductRecord(
            4250,
            "Tata Power Mumbai",
            "UTILITY",
            "IND",
            "INR",
            (("account_number", True, r"^[0-9]{9,12}$"),),
            Decimal("1"),
            (
                TopupVariantRecord(
                    88701,
                    "Bill payment",
                    "Bundle",
                    "INR",
                    low=Decimal("100"),
                    high=Decimal("50000"),
                ),
            ),
        ),
    ]
}

# Mobile numbers the sandbox identifies: prefix -> (identified product, alternatives).
_OPERATORS = {"+9188": (4219, (4231,)), "+9198": (4231, (4219,)), "+91": (4219, (4231,))}


@attrs.define
class TopupOrderRecord:
    id: int
    product: TopupProductRecord
    variant: TopupVariantRecord
    quote: Quote
    client_reference: str | None
    wallet: WalletRecord
    input_data: dict[str, str]
    created_at: float
    transaction_id: int
    get_only: bool = False
    status: str = "PENDING"
    status_text: str = "Order submitted for fulfilment"
    upstream: str | None = None  # settled status not yet visible to lists
    settled_at: float | None = None
    completed_at: float | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    notification_email: str | None = None

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "product_id": self.product.id,
            "product_name": self.product.name,
            "variant_name": self.variant.name,
            "country_code": self.product.country_code,
            "amount": self.quote.total_amount,
            "currency": self.variant.currency_code,
            "status": self.status,
            "status_text": self.status_text,
            "created_at": rfc3339(self.created_at),
        }
        if self.client_reference is not None:
            document["client_reference"] = self.client_reference
        if self.status == "DELIVERED":
            document["transaction_id"] = self.transaction_id
        if self.completed_at is not None:
            document["completed_at"] = rfc3339(self.completed_at)
        if self.failure_code is not None:
            document["failure_code"] = self.failure_code
            document["failure_reason"] = self.failure_reason
            document["is_user_fixable"] = True
        return document


class TopupDesk(VariantDesk[TopupProductRecord, TopupOrderRecord]):
    """Topups in the sandbox; `force_outcome` settles an order as a test wants."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state, PRODUCTS, first_order_id=9123456, outcomes=OUTCOMES)

    def lookup(self, number: str) -> list[dict[str, Any]]:
        for prefix in sorted(_OPERATORS, key=len, reverse=True):
            if number.startswith(prefix):
                primary, alternatives = _OPERATORS[prefix]
                return [
                    self._match(primary, identified=True),
                    *(self._match(other, identified=False) for other in alternatives),
                ]
        return []

    def _match(self, product_id: int, *, identified: bool) -> dict[str, Any]:
        product = self.catalog[product_id]
        return {
            "product_id": product.id,
            "name": product.name,
            "country_code": product.country_code,
            "identified": identified,
        }

    def charges(
        self, product_id: int, amount: Decimal, wallet_id: int | None, category: str | None
    ) -> dict[str, Any]:
        product = self.product(product_id, missing=400)
        variant = self._variant_for(product, amount, category)
        priced = self._price(
            product, variant, amount, self._wallet(variant.currency_code, wallet_id, fallback=True)
        )
        return priced.as_json()

    def create(
        self,
        product_id: int,
        amount: Decimal,
        input_data: dict[str, str],
        reference: str | None,
        wallet_id: int | None,
        category: str | None,
    ) -> TopupOrderRecord:
        """Validate, debit and record an order in one step (nothing interleaves)."""
        self.orders.ensure_new(reference)
        product = self.product(product_id, missing=400)
        self._check_input(product, input_data)
        variant = self._variant_for(product, amount, category)
        wallet = self._wallet(variant.currency_code, wallet_id, fallback=True)
        priced = self._price(product, variant, amount, wallet)
        order_id = self.orders.next_id()
        debit = self._debit(wallet, priced.total_payable, order_id)
        config = self._state.config
        rng = self._state.rng
        order = self.orders.add(
            TopupOrderRecord(
                order_id,
                product,
                variant,
                priced,
                reference,
                wallet,
                input_data,
                self._state.clock(),
                debit.id,
                get_only=rng.random() < config.topup_get_only_share,
            )
        )
        # A forced FAILED or CANCELLED stays for `settle`: instant products settle later then.
        if (
            product.instant
            and not self._held_back(reference)
            and self._outcome(order) == "DELIVERED"
        ):
            self._settle(order, "DELIVERED")
            self._reveal(order)
        else:
            low, high = (
                config.topup_slow_delay
                if rng.random() < config.topup_slow_share
                else config.topup_settle_delay
            )
            self._state.schedule(rng.uniform(low, high), lambda: self.settle(order.id))
        return order

    def settle(self, order_id: int) -> None:
        """Settle a pending order upstream now (tests may call this to skip the delay)."""
        order = self.orders.by_id[order_id]
        if order.status != "PENDING" or order.upstream is not None:
            return
        self._settle(order, self._outcome(order))
        if not order.get_only:
            self._reveal(order)

    def refresh(self, order: TopupOrderRecord) -> TopupOrderRecord:
        """What a single GET does: fetch the live status of an in-flight order."""
        self._reveal(order)
        return order

    def set_notification_email(self, order: TopupOrderRecord, email: str) -> None:
        order.notification_email = email

    def _outcome(self, order: TopupOrderRecord) -> str:
        forced = self._forced(order.client_reference)
        if forced is not None:
            return forced
        if order.input_data.get("player_id") == _UNKNOWN_PLAYER:
            return "FAILED"
        failed = self._state.rng.random() < self._state.config.topup_failure_share
        return "FAILED" if failed else "DELIVERED"

    def _settle(self, order: TopupOrderRecord, outcome: str) -> None:
        order.upstream = outcome
        order.settled_at = self._state.clock()
        self._state.webhooks.emit(
            f"topup.{outcome.lower()}",
            {"id": order.id, "client_reference": order.client_reference, "status": outcome},
        )
        if outcome != "DELIVERED":
            self._refund(order.wallet, order.quote.total_payable, order.id)
        if outcome == "FAILED":
            unknown_player = order.input_data.get("player_id") == _UNKNOWN_PLAYER
            order.failure_code, order.failure_reason = _FAILURES[0 if unknown_player else 1]

    def _reveal(self, order: TopupOrderRecord) -> None:
        if order.upstream is None or order.status != "PENDING":
            return
        order.status = order.upstream
        order.completed_at = order.settled_at
        order.status_text = {
            "DELIVERED": "Top-up delivered",
            "FAILED": "Top-up failed",
            "CANCELLED": "Order cancelled and refunded",
        }[order.status]

    def _check_input(self, product: TopupProductRecord, input_data: dict[str, str]) -> None:
        fields = {name: (required, pattern) for name, required, pattern in product.input_fields}
        unknown = sorted(set(input_data) - set(fields))
        if unknown:
            raise ApiError.validation(f"Unknown input_data fields: {', '.join(unknown)}")
        for name, (required, pattern) in fields.items():
            value = input_data.get(name)
            if value is None:
                if required:
                    raise ApiError.validation(f"input_data.{name} is required")
            elif pattern is not None and not re.fullmatch(pattern.strip("^$"), value):
                raise ApiError.validation(f"input_data.{name} is not valid")

    def _variant_for(
        self, product: TopupProductRecord, amount: Decimal, category: str | None
    ) -> TopupVariantRecord:
        for variant in product.variants:
            if variant.accepts(amount, category):
                return variant
        raise ApiError(400, "No variant of this product matches the amount")

    def _price(
        self,
        product: TopupProductRecord,
        variant: TopupVariantRecord,
        amount: Decimal,
        wallet: WalletRecord,
    ) -> Quote:
        return quote(
            amount, product.discount, variant.currency_code, wallet.currency, self._state.fx_per_usd
        )
