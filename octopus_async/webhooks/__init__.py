"""Webhooks: verify deliveries, de-duplicate them, and let them speed up waiters."""

from .dedupe import EventStore, MemoryEventStore, SQLiteEventStore
from .handler import ReceiverStats, WebhookReceiver, Webhooks, receiver_app
from .verify import parse_event, sign, verify_webhook

__all__ = [
    "EventStore",
    "MemoryEventStore",
    "ReceiverStats",
    "SQLiteEventStore",
    "WebhookReceiver",
    "Webhooks",
    "parse_event",
    "receiver_app",
    "sign",
    "verify_webhook",
]
