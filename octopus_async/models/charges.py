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

    source_currency: str | None = None
    destination_currency: str | None = None
    forex_rate: Decimal | None = None
    conversion_fee: Decimal | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class ChargesQuote:
    """What an order would cost.

    `non_discounted_total`, `discount_amount` and `total_amount` are in the source
    (product) currency; `net_amount`, `handling_fee_amount` and `total_payable` in the
    destination (wallet) currency. `discount` is a percentage. The docs show fields missing
    from some examples (OQ-27); any field that is absent or unreadable is None (D40).
    """

    non_discounted_total: Decimal | None = None
    discount_amount: Decimal | None = None
    total_payable: Decimal | None = None
    charges_details: ChargesDetails | None = None
    total_amount: Decimal | None = None
    discount: Decimal | None = None
    gst_amount: Decimal | None = None
    net_amount: Decimal | None = None
    handling_fee_amount: Decimal | None = None
    max_quantity: int | None = None
    raw: Mapping[str, Any] = raw_field()

    @property
    def source_currency(self) -> str | None:
        return None if self.charges_details is None else self.charges_details.source_currency

    @property
    def destination_currency(self) -> str | None:
        details = self.charges_details
        return None if details is None else details.destination_currency

    @property
    def is_cross_currency(self) -> bool | None:
        """Whether the wallet pays in another currency than the product's (FX applies);
        None when the quote does not say both currencies."""
        source, destination = self.source_currency, self.destination_currency
        if source is None or destination is None:
            return None
        return source != destination
