"""Webhooks: verify deliveries, de-duplicate them, and let them speed up waiters."""

from .dedupe import EventStore, MemoryEventStore, SQLiteEventStore
from .handler import (
    EventOrder,
    ReceiverStats,
    WebhookReceiver,
    Webhooks,
    event_order,
    receiver_app,
)
from .verify import parse_event, sign, verify_webhook

__all__ = [
    "EventOrder",
    "EventStore",
    "MemoryEventStore",
    "ReceiverStats",
    "SQLiteEventStore",
    "WebhookReceiver",
    "Webhooks",
    "event_order",
    "parse_event",
    "receiver_app",
    "sign",
    "verify_webhook",
]
