"""Webhook events: order events of each vertical, wallet events, and every other type kept as
it came (D39). Every event carries its payload on `data`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from ._base import OpenEnum, aliased_field, raw_field
from .esim import ActivationStatus, EsimOrderStatus
from .topups import TopupOrderStatus
from .vouchers import VoucherOrderStatus

__all__ = [
    "EsimEvent",
    "EsimEventData",
    "EventType",
    "OrderEvent",
    "OrderEventData",
    "TopupEvent",
    "TopupEventData",
    "UnknownEvent",
    "WalletEvent",
    "WalletEventData",
    "WebhookEvent",
]


class EventType(OpenEnum):
    """The documented event types; `topup.*`, `esim.*` and others arrive as they are."""

    _values: ClassVar[Mapping[str, str]] = {
        "ORDER_DELIVERED": "order.delivered",
        "ORDER_PARTIALLY_DELIVERED": "order.partially_delivered",
        "ORDER_FAILED": "order.failed",
        "ORDER_CANCELLED": "order.cancelled",
        "WALLET_CREDITED": "wallet.credited",
        "WALLET_DEBITED": "wallet.debited",
    }
    ORDER_DELIVERED: ClassVar[EventType]
    ORDER_PARTIALLY_DELIVERED: ClassVar[EventType]
    ORDER_FAILED: ClassVar[EventType]
    ORDER_CANCELLED: ClassVar[EventType]
    WALLET_CREDITED: ClassVar[EventType]
    WALLET_DEBITED: ClassVar[EventType]


@attrs.frozen
class OrderEventData:
    """A voucher order's new state (API.md 11.6). No codes or PINs: fetch the order for those.

    `reference_code` is the order's `client_reference` (D35), also read under that name.
    """

    id: int
    status: VoucherOrderStatus
    reference_code: str | None = aliased_field("client_reference")
    product_name: str | None = None
    denomination: Decimal | None = None
    quantity: int | None = None
    amount: Decimal | None = None
    delivered_quantity: int | None = None
    delivered_on: datetime | None = None
    created_at: datetime | None = None
    raw: Mapping[str, Any] = raw_field()

    @property
    def client_reference(self) -> str | None:
        return self.reference_code


@attrs.frozen
class TopupEventData:
    """A topup order's new state. `topup.*` events are not live yet (OQ-47): the fields are
    the order's own, each None when absent; fetch the order for the rest."""

    id: int
    status: TopupOrderStatus
    client_reference: str | None = aliased_field("reference_code")
    product_name: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    status_text: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    is_user_fixable: bool | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class EsimEventData:
    """An eSIM order's new state, fulfilment or install. `esim.*` events are not live yet
    (OQ-61): the fields are the order's own, each None when absent. Never a code."""

    id: int
    status: EsimOrderStatus
    client_reference: str | None = aliased_field("reference_code")
    status_text: str | None = None
    activation_status: ActivationStatus | None = None
    is_installed: bool | None = None
    installed_at: datetime | None = None
    activated_at: datetime | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    created_at: datetime | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class WalletEventData:
    """A wallet movement. The docs do not show this payload (OQ-72); the fields the SDK
    reads are the ledger's, everything else stays in `raw`."""

    wallet_id: int | None = None
    transaction_id: int | None = None
    amount: Decimal | None = None
    currency: str | None = None
    balance: Decimal | None = None
    remarks: str | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class OrderEvent:
    """`order.delivered`, `order.partially_delivered`, `order.failed`, `order.cancelled`:
    a voucher order changed."""

    id: str
    type: EventType
    data: OrderEventData
    created_at: datetime | None = None
    raw: Mapping[str, Any] = raw_field()

    @property
    def order(self) -> OrderEventData:
        """`data`, by the name the payload has."""
        return self.data


@attrs.frozen
class TopupEvent:
    """`topup.*`: a topup order changed (not live on the service yet, D39)."""

    id: str
    type: EventType
    data: TopupEventData
    created_at: datetime | None = None
    raw: Mapping[str, Any] = raw_field()

    @property
    def order(self) -> TopupEventData:
        return self.data


@attrs.frozen
class EsimEvent:
    """`esim.*`: an eSIM order changed (not live on the service yet, D39)."""

    id: str
    type: EventType
    data: EsimEventData
    created_at: datetime | None = None
    raw: Mapping[str, Any] = raw_field()

    @property
    def order(self) -> EsimEventData:
        return self.data


@attrs.frozen
class WalletEvent:
    """`wallet.credited`, `wallet.debited`."""

    id: str
    type: EventType
    data: WalletEventData
    created_at: datetime | None = None
    raw: Mapping[str, Any] = raw_field()

    @property
    def wallet(self) -> WalletEventData:
        return self.data


@attrs.frozen
class UnknownEvent:
    """An event of a type the SDK was not written for, or whose payload it could not read:
    never dropped, its payload kept in `data` as it came."""

    id: str
    type: EventType
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    created_at: datetime | None = None
    raw: Mapping[str, Any] = raw_field()


OrderEvents = OrderEvent | TopupEvent | EsimEvent
WebhookEvent = OrderEvent | TopupEvent | EsimEvent | WalletEvent | UnknownEvent

# Which typed event a type prefix announces; any other type is an UnknownEvent.
EVENT_CLASSES: Mapping[str, type[OrderEvents | WalletEvent]] = {
    "order.": OrderEvent,
    "topup.": TopupEvent,
    "esim.": EsimEvent,
    "wallet.": WalletEvent,
}
