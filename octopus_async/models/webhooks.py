"""Webhook events: order and wallet events, and every other type kept as it came (D39)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from ._base import OpenEnum, raw_field
from .vouchers import VoucherOrderStatus

__all__ = [
    "EventType",
    "OrderEvent",
    "OrderEventData",
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
    """A voucher order's new state. No codes or PINs: fetch the order for those.

    `reference_code` is the order's `client_reference` (D35).
    """

    id: int
    status: VoucherOrderStatus
    reference_code: str | None = None
    product_name: str | None = None
    denomination: Decimal | None = None
    quantity: int | None = None
    amount: Decimal | None = None
    delivered_quantity: int | None = None
    delivered_on: datetime | None = None
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
    """`order.delivered`, `order.partially_delivered`, `order.failed`, `order.cancelled`."""

    id: str
    type: EventType
    created_at: datetime
    order: OrderEventData
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class WalletEvent:
    """`wallet.credited`, `wallet.debited`."""

    id: str
    type: EventType
    created_at: datetime
    wallet: WalletEventData
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class UnknownEvent:
    """An event type the SDK was not written for (`topup.*`, `esim.*`, ...): never dropped,
    its payload kept in `data`."""

    id: str
    type: EventType
    created_at: datetime
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    raw: Mapping[str, Any] = raw_field()


WebhookEvent = OrderEvent | WalletEvent | UnknownEvent
