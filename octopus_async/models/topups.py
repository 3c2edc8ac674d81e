"""Topups: products, variants, operator lookup and orders (API.md 9)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from ._base import OpenEnum, local_field, raw_field
from ._convert import read_bare_text_as

__all__ = [
    "InputField",
    "OperatorMatch",
    "Region",
    "TopupOrder",
    "TopupOrderStatus",
    "TopupProduct",
    "TopupType",
    "TopupVariant",
]


class TopupType(OpenEnum):
    """GAMING (in-game currency, passes), MOBILE (airtime, data), UTILITY (bills)."""

    GAMING: ClassVar[TopupType]
    MOBILE: ClassVar[TopupType]
    UTILITY: ClassVar[TopupType]


@attrs.frozen
class InputField:
    """A key an order's `input_data` may carry (e.g. `player_id`, `phone_number`).

    The docs do not give the element schema (OQ-55): a bare string is read as the field's
    name; an object may add `label`, `required` and `pattern`.
    """

    name: str
    label: str | None = None
    required: bool | None = None
    pattern: str | None = None
    raw: Mapping[str, Any] = raw_field()


read_bare_text_as(InputField, "name")


@attrs.frozen
class TopupProduct:
    """A game, mobile operator or utility; `input_fields` come with `products.get`."""

    id: int
    name: str | None = None
    topup_type: TopupType | None = None
    country_code: str | None = None
    currency_code: str | None = None
    image_url: str | None = None
    input_fields: tuple[InputField, ...] = ()
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class Region:
    code: str
    name: str | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class TopupVariant:
    """A SKU of a product: fixed amounts, or any amount in `[min_amount, max_amount]`."""

    id: int
    name: str | None = None
    currency_code: str | None = None
    category: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    fixed_amounts: tuple[Decimal, ...] = ()
    available_in: tuple[Region, ...] = ()
    fields: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    raw: Mapping[str, Any] = raw_field()

    def accepts(self, amount: Decimal) -> bool:
        """Whether an order of `amount` would be served by this variant."""
        if amount in self.fixed_amounts:
            return True
        low, high = self.min_amount, self.max_amount
        return low is not None and high is not None and low <= amount <= high


@attrs.frozen
class OperatorMatch:
    """A product a mobile number may belong to; `identified` marks the primary match."""

    product_id: int
    name: str | None = None
    country_code: str | None = None
    identified: bool | None = None
    raw: Mapping[str, Any] = raw_field()


class TopupOrderStatus(OpenEnum):
    """PENDING until settled; DELIVERED and RECHARGED are success, FAILED and CANCELLED not."""

    PENDING: ClassVar[TopupOrderStatus]
    DELIVERED: ClassVar[TopupOrderStatus]
    RECHARGED: ClassVar[TopupOrderStatus]
    FAILED: ClassVar[TopupOrderStatus]
    CANCELLED: ClassVar[TopupOrderStatus]


@attrs.frozen
class TopupOrder:
    """A topup order as the server last reported it.

    `amount` is what was charged after the discount, in `currency` (4.7405 for a 4.99
    product at 5 %), unlike voucher orders. A FAILED order carries `failure_code`,
    `failure_reason` (safe to show the customer) and `is_user_fixable`; the refund is the
    server's. `recovered` is True when the SDK found the order by its reference after the
    create's answer was lost.
    """

    id: int
    status: TopupOrderStatus
    amount: Decimal | None = None
    currency: str | None = None
    product_id: int | None = None
    product_name: str | None = None
    variant_name: str | None = None
    country_code: str | None = None
    status_text: str | None = None
    client_reference: str | None = None
    transaction_id: int | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    is_user_fixable: bool | None = None
    recovered: bool = local_field(False)
    raw: Mapping[str, Any] = raw_field()
