"""Verifying and reading webhook deliveries (D36, D37, D39)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime

from multidict import CIMultiDict

from .._transport.wire import decode_json
from ..errors import WebhookVerificationError
from ..models._convert import ShapeError, structure
from ..models.webhooks import (
    EventType,
    OrderEvent,
    OrderEventData,
    UnknownEvent,
    WalletEvent,
    WalletEventData,
    WebhookEvent,
)

__all__ = ["parse_event", "sign", "verify_webhook"]

logger = logging.getLogger("octopus_async.webhooks")

Secret = str | bytes


def sign(body: bytes, secret: Secret) -> str:
    """The `X-Signature` of `body`: hex HMAC-SHA256 with the webhook secret (D36)."""
    return hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secret: Secret | Sequence[Secret],
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> WebhookEvent:
    """Check a delivery and return its typed event, or raise `WebhookVerificationError`.

    `body` must be the raw bytes as received. The signature is checked against each secret
    in turn (give the old and the new one while rotating), in constant time, before the
    body is parsed. `X-Timestamp` must be within `tolerance` seconds of `now`, and
    `X-Event-ID` must be the body's event id. `X-OCTOPUS-WEBHOOK-TOKEN` is not looked at:
    it is never enough on its own. The signature does not cover `X-Timestamp` (D36), so a
    replayed body passes here with a fresh timestamp: de-duplicate by event id (the
    receiver's `EventStore`) to refuse replays.
    """
    fields = CIMultiDict(headers)
    signature = _header(fields, "X-Signature")
    timestamp = _header(fields, "X-Timestamp")
    event_id = _header(fields, "X-Event-ID")
    secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    if not secrets or not all(secrets):
        # An empty key signs for anyone: refuse it rather than verify against it.
        raise ValueError("verify_webhook needs the webhook secret (an empty one is refused)")
    try:
        given = bytes.fromhex(signature.strip())
    except ValueError:
        raise WebhookVerificationError("bad_signature", "X-Signature is not hex") from None
    matched = False
    for candidate in secrets:
        expected = hmac.new(_key(candidate), body, hashlib.sha256).digest()
        # Every secret is tried, so the time taken does not tell which one matched.
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise WebhookVerificationError("bad_signature", "X-Signature does not match the body")
    try:
        sent_at = float(timestamp)
    except ValueError:
        raise WebhookVerificationError("malformed", "X-Timestamp is not a Unix time") from None
    skew = (time.time() if now is None else now) - sent_at
    if not abs(skew) <= tolerance:
        age = f"{skew:.0f} s old" if skew > 0 else f"{-skew:.0f} s in the future"
        raise WebhookVerificationError("stale_timestamp", f"X-Timestamp is {age}")
    event = parse_event(body)
    if event.id != event_id:
        raise WebhookVerificationError("malformed", "X-Event-ID differs from the body's id")
    event_type = fields.get("X-Event-Type")
    if event_type is not None and event_type != event.type:
        raise WebhookVerificationError("malformed", "X-Event-Type differs from the body's type")
    return event


def parse_event(body: bytes) -> WebhookEvent:
    """The typed event of a delivery body; unknown types become an `UnknownEvent` (D39)."""
    try:
        document = decode_json(body)
    except (ValueError, RecursionError):
        raise WebhookVerificationError("malformed", "the body is not JSON") from None
    if not isinstance(document, dict):
        raise WebhookVerificationError("malformed", "the body is not a JSON object")
    data = document.get("data")
    if not isinstance(data, dict):
        raise WebhookVerificationError("malformed", "the body has no data object")
    try:
        event_id = structure(document.get("id"), str)
        event_type = structure(document.get("type"), EventType)
        created_at = structure(document.get("created_at"), datetime)
    except ShapeError as error:
        raise WebhookVerificationError("malformed", f"unreadable event: {error}") from None
    event: WebhookEvent = UnknownEvent(event_id, event_type, created_at, data)
    try:
        if event_type.startswith("order."):
            event = OrderEvent(event_id, event_type, created_at, structure(data, OrderEventData))
        elif event_type.startswith("wallet."):
            event = WalletEvent(event_id, event_type, created_at, structure(data, WalletEventData))
    except ShapeError as error:
        # A payload of another shape than the SDK knows is kept, not dropped (D39).
        logger.debug("%s event %s kept as an unknown event: %s", event_type, event_id, error)
    object.__setattr__(event, "raw", document)
    return event


def _header(fields: CIMultiDict[str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise WebhookVerificationError("missing_header", f"no {name} header")
    return value


def _key(secret: Secret) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret
