"""eSIM: country and region products, data plans, and orders with two lifecycles (API.md 10)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from ._base import OpenEnum, local_field, raw_field, secret_field

__all__ = [
    "ActivationStatus",
    "EsimOrder",
    "EsimOrderStatus",
    "EsimProduct",
    "EsimVariant",
    "LpaCode",
    "parse_lpa",
]


@attrs.frozen
class EsimVariant:
    """One data plan. Send `amount` back unchanged to charges and orders: it selects the plan."""

    id: int
    name: str | None = None
    currency_code: str | None = None
    amount: Decimal | None = None
    data_amount_gb: Decimal | None = None
    validity_days: int | None = None
    client_discount: Decimal | None = None
    esim_product_id: int | None = None
    description: str | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class EsimProduct:
    """A country or region; `products.get` inlines its `variants`."""

    id: int
    name: str | None = None
    country_code: str | None = None
    currency_code: str | None = None
    image_url: str | None = None
    variants: tuple[EsimVariant, ...] = ()
    raw: Mapping[str, Any] = raw_field()


class EsimOrderStatus(OpenEnum):
    """PENDING while being fulfilled; DELIVERED, FAILED and CANCELLED are final."""

    PENDING: ClassVar[EsimOrderStatus]
    DELIVERED: ClassVar[EsimOrderStatus]
    FAILED: ClassVar[EsimOrderStatus]
    CANCELLED: ClassVar[EsimOrderStatus]


class ActivationStatus(OpenEnum):
    """The device side: NOT_INSTALLED until the profile is downloaded, then ACTIVE, EXPIRED."""

    NOT_INSTALLED: ClassVar[ActivationStatus]
    ACTIVE: ClassVar[ActivationStatus]
    EXPIRED: ClassVar[ActivationStatus]


@attrs.frozen
class LpaCode:
    """The parts of an `LPA:1$<SM-DP+ address>$<matching id>` activation code."""

    smdp_address: str
    matching_id: str = attrs.field(repr=lambda _: "'***'")  # with the address, it is the code


def parse_lpa(activation_code: str | None) -> LpaCode | None:
    """Split an activation code of the LPA:1 form; None for any other form (OQ-63)."""
    if not activation_code:
        return None
    parts = activation_code.split("$")
    if len(parts) < 3 or parts[0] != "LPA:1" or not parts[1] or not parts[2]:
        return None
    return LpaCode(parts[1], parts[2])


@attrs.frozen
class EsimOrder:
    """An eSIM order as the server last reported it, with its activation state.

    `amount` is the discounted amount debited (4.275 for a 4.50 plan at 5 %). The server
    sends `activation_code` (an LPA string) only until the profile is installed; the SDK
    keeps the first one it saw on later copies of the order (D34). It never shows in
    `repr`. `recovered` is True when the SDK found the order by its reference after the
    create's answer was lost.
    """

    id: int
    status: EsimOrderStatus
    amount: Decimal | None = None
    currency: str | None = None
    client_reference: str | None = None
    status_text: str | None = None
    product_name: str | None = None
    country_code: str | None = None
    data_amount_gb: Decimal | None = None
    validity_days: int | None = None
    activation_status: ActivationStatus | None = None
    is_installed: bool | None = None
    installed_at: datetime | None = None
    activated_at: datetime | None = None
    transaction_id: int | None = None
    created_at: datetime | None = None
    activation_code: str | None = secret_field()
    iccid: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    is_user_fixable: bool | None = None
    recovered: bool = local_field(False)
    raw: Mapping[str, Any] = raw_field()

    @property
    def installed(self) -> bool:
        """Whether the profile is on a device (or was: an expired plan was installed)."""
        return bool(self.is_installed) or self.activation_status in (
            ActivationStatus.ACTIVE,
            ActivationStatus.EXPIRED,
        )

    @property
    def lpa(self) -> LpaCode | None:
        """The SM-DP+ address and matching id of the activation code, when it has that form."""
        return parse_lpa(self.activation_code)
