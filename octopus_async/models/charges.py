"""Price quotes: the charges shape shared by all three verticals (API.md 2.8)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from ._base import raw_field

__all__ = ["ChargesDetails", "ChargesQuote"]


@attrs.frozen
class ChargesDetails:
    """Currencies of a quote; `forex_rate` and `conversion_fee` are None without FX."""

    source_currency: str
    destination_currency: str
    forex_rate: Decimal | None = None
    conversion_fee: Decimal | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class ChargesQuote:
    """What an order would cost.

    `non_discounted_total`, `discount_amount` and `total_amount` are in the source
    (product) currency; `net_amount`, `handling_fee_amount` and `total_payable` in the
    destination (wallet) currency. `discount` is a percentage. The docs show fields missing
    from some examples (OQ-27); those are None when absent.
    """

    non_discounted_total: Decimal
    discount_amount: Decimal
    total_payable: Decimal
    charges_details: ChargesDetails
    total_amount: Decimal | None = None
    discount: Decimal | None = None
    gst_amount: Decimal | None = None
    net_amount: Decimal | None = None
    handling_fee_amount: Decimal | None = None
    max_quantity: int | None = None
    raw: Mapping[str, Any] = raw_field()

    @property
    def source_currency(self) -> str:
        return self.charges_details.source_currency

    @property
    def destination_currency(self) -> str:
        return self.charges_details.destination_currency

    @property
    def is_cross_currency(self) -> bool:
        """Whether the wallet pays in another currency than the product's (FX applies)."""
        return self.source_currency != self.destination_currency
