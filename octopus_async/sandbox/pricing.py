"""Prices and FX: the charges shape shared by every vertical (API.md 2.8)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

__all__ = ["Quote", "fx_rate", "money", "quote", "tidy"]

_CENT = Decimal("0.01")
_RATE = _BASIS = Decimal("0.0001")


def money(amount: Decimal) -> Decimal:
    """`amount` rounded half-up to cents."""
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def tidy(amount: Decimal) -> Decimal:
    """`amount` to at most four decimals, shown with two unless it needs more (0.2495)."""
    exact = amount.quantize(_BASIS, rounding=ROUND_HALF_UP)
    cents = exact.quantize(_CENT)
    return cents if cents == exact else exact.normalize()


def fx_rate(per_usd: Mapping[str, Decimal], source: str, destination: str) -> Decimal:
    """Units of `destination` per unit of `source`, from rates against the US dollar."""
    return (per_usd[destination] / per_usd[source]).quantize(_RATE, rounding=ROUND_HALF_UP)


@attrs.frozen
class Quote:
    """What an order costs: face value and discount in the source (product) currency, the
    payable amount in the destination (wallet) currency."""

    non_discounted_total: Decimal
    discount_percent: Decimal
    discount_amount: Decimal
    total_amount: Decimal
    source_currency: str
    destination_currency: str
    forex_rate: Decimal | None
    net_amount: Decimal
    handling_fee_amount: Decimal
    total_payable: Decimal

    def as_json(self, **extra: Any) -> dict[str, Any]:
        cross = self.forex_rate is not None
        return {
            "non_discounted_total": self.non_discounted_total,
            "discount_amount": self.discount_amount,
            "total_amount": self.total_amount,
            "discount": self.discount_percent,
            "gst_amount": Decimal("0.00"),
            "total_payable": self.total_payable,
            "net_amount": self.net_amount,
            "handling_fee_amount": self.handling_fee_amount,
            **extra,
            "charges_details": {
                "source_currency": self.source_currency,
                "destination_currency": self.destination_currency,
                "forex_rate": self.forex_rate,
                "conversion_fee": Decimal("0.0") if cross else None,
            },
        }


def quote(
    face: Decimal,
    discount_percent: Decimal,
    source_currency: str,
    destination_currency: str,
    per_usd: Mapping[str, Decimal],
) -> Quote:
    """Price `face` with a percentage discount, converting into the wallet's currency.

    The discount keeps up to four decimals (4.99 at 5 % is 0.2495, as the docs show); an
    FX conversion is rounded to cents.
    """
    discount_amount = tidy(face * discount_percent / 100)
    total = tidy(face - discount_amount)
    rate = None
    net = total
    if source_currency != destination_currency:
        rate = fx_rate(per_usd, source_currency, destination_currency)
        net = money(total * rate)
    fee = Decimal("0.00")
    return Quote(
        non_discounted_total=face,
        discount_percent=discount_percent,
        discount_amount=discount_amount,
        total_amount=total,
        source_currency=source_currency,
        destination_currency=destination_currency,
        forex_rate=rate,
        net_amount=net,
        handling_fee_amount=fee,
        total_payable=net + fee,
    )
