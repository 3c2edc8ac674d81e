"""Vouchers: products with their denominations, and orders with their codes (API.md 8)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from ._base import OpenEnum, local_field, raw_field, secret_field
from ._convert import read_bare_text_as

__all__ = [
    "Availability",
    "Denomination",
    "Voucher",
    "VoucherOrder",
    "VoucherOrderStatus",
    "VoucherProduct",
]


@attrs.frozen
class Denomination:
    """Face values a product accepts: one value when `min_value == max_value`, else a range.

    `discount` is a percentage off the face value (the best rate for this client).
    """

    min_value: Decimal | None = None
    max_value: Decimal | None = None
    discount: Decimal | None = None
    raw: Mapping[str, Any] = raw_field()

    @property
    def is_fixed(self) -> bool:
        return self.min_value is not None and self.min_value == self.max_value

    def accepts(self, value: Decimal) -> bool:
        """Whether `value` is a face value this denomination allows."""
        low = self.min_value if self.min_value is not None else self.max_value
        high = self.max_value if self.max_value is not None else self.min_value
        return low is not None and high is not None and low <= value <= high


@attrs.frozen
class VoucherProduct:
    """A gift card product; its denominations are inline (there is no variants call)."""

    id: int
    name: str | None = None
    category: str | None = None
    country_code: str | None = None
    currency_code: str | None = None
    available_denominations: tuple[Denomination, ...] = ()
    sub_category: str | None = None
    image_url: str | None = None
    delivery_mode: str | None = None
    delivery_time: str | None = None
    validity: str | None = None
    raw: Mapping[str, Any] = raw_field()

    def denomination_for(self, value: Decimal) -> Denomination | None:
        """The denomination that accepts face value `value`, or None."""
        return next((d for d in self.available_denominations if d.accepts(value)), None)


@attrs.frozen
class Availability:
    """Real-time stock for a denomination and quantity (never cached by the server)."""

    is_available: bool | None = None
    raw: Mapping[str, Any] = raw_field()


class VoucherOrderStatus(OpenEnum):
    """PENDING until fulfilled; DELIVERED, FAILED and CANCELLED are final (D27).

    PARTIALLY_DELIVERED means some vouchers are delivered and others are not.
    """

    PENDING: ClassVar[VoucherOrderStatus]
    DELIVERED: ClassVar[VoucherOrderStatus]
    PARTIALLY_DELIVERED: ClassVar[VoucherOrderStatus]
    FAILED: ClassVar[VoucherOrderStatus]
    CANCELLED: ClassVar[VoucherOrderStatus]


@attrs.frozen
class Voucher:
    """One delivered gift card. Its code, PIN and claim URL never show in `repr`."""

    card_number: str | None = secret_field()
    pin_code: str | None = secret_field()
    claim_url: str | None = secret_field()
    expires_at: datetime | None = None
    voucher_reference_number: str | None = None
    raw: Mapping[str, Any] = raw_field()


# A voucher sent as a bare string is its code.
read_bare_text_as(Voucher, "card_number")


@attrs.frozen
class VoucherOrder:
    """A voucher order as the server last reported it.

    `amount` is the total face value (denomination times quantity) and `discount` the absolute
    discount on it, both in the product currency (`base_currency`); neither is the wallet
    debit, which the ledger shows. `vouchers` is empty until the order is delivered.
    `recovered` is True when the SDK found this order by its `client_reference` after the
    create's answer was lost, instead of reading it from that answer.
    """

    id: int
    status: VoucherOrderStatus
    amount: Decimal | None = None
    discount: Decimal | None = None
    vouchers: tuple[Voucher, ...] = ()
    client_reference: str | None = None
    product_id: int | None = None
    product_name: str | None = None
    denomination: Decimal | None = None
    quantity: int | None = None
    wallet_id: int | None = None
    base_currency: str | None = None
    deduction_currency: str | None = None
    message: str | None = None
    email: str | None = None
    recovered: bool = local_field(False)
    raw: Mapping[str, Any] = raw_field()
