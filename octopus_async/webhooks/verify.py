"""Verifying and reading webhook deliveries (D36, D37, D39)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping, Sequence
from typing import cast

from multidict import CIMultiDict

from .._transport.wire import decode_json
from ..errors import InvalidRequestError, WebhookVerificationError
from ..models._convert import FieldWarnings, ShapeError, read
from ..models.webhooks import EVENT_CLASSES, UnknownEvent, WebhookEvent

__all__ = ["parse_event", "sign", "verify_webhook"]

logger = logging.getLogger("octopus_async.webhooks")

Secret = str | bytes

# For `verify_webhook` called on its own; a client's receivers report to the client's.
_FIELD_WARNINGS = FieldWarnings()


def webhook_secrets(secret: Secret | Sequence[Secret]) -> list[Secret]:
    """The secrets to try, in order; an empty one is refused, since it signs for anyone."""
    secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    if not secrets or not all(isinstance(s, (str, bytes)) and s for s in secrets):
        raise InvalidRequestError(
            "webhooks need the webhook secret (not an empty one)", param="secret"
        )
    return secrets


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
    receiver's `EventStore`) to refuse replays. An empty secret raises
    `InvalidRequestError`, as it does for a receiver.
    """
    return check_delivery(body, headers, webhook_secrets(secret), tolerance, now, _FIELD_WARNINGS)


def check_delivery(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[Secret],
    tolerance: float,
    now: float | None,
    field_warnings: FieldWarnings,
) -> WebhookEvent:
    """`verify_webhook` with the secrets checked already, reporting unreadable payload
    fields to `field_warnings` (a receiver passes its client's)."""
    fields = CIMultiDict(headers)
    signature = _header(fields, "X-Signature")
    timestamp = _header(fields, "X-Timestamp")
    event_id = _header(fields, "X-Event-ID")
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
    event = _parse(body, field_warnings)
    if event.id != event_id:
        raise WebhookVerificationError("malformed", "X-Event-ID differs from the body's id")
    event_type = fields.get("X-Event-Type")
    if event_type is not None and event_type.strip().casefold() != event.type.strip().casefold():
        raise WebhookVerificationError("malformed", "X-Event-Type differs from the body's type")
    return event


def parse_event(body: bytes) -> WebhookEvent:
    """The typed event of a delivery body, read tolerantly (D40); a type the SDK does not
    know, or a payload it cannot read, becomes an `UnknownEvent` (D39).

    Raises `WebhookVerificationError` ("malformed") for a body that is not a JSON object
    with an event `id` and `type`.
    """
    return _parse(body, _FIELD_WARNINGS)


def _parse(body: bytes, field_warnings: FieldWarnings) -> WebhookEvent:
    try:
        document = decode_json(body)
    except ValueError:
        raise WebhookVerificationError("malformed", "the body is not JSON") from None
    if not isinstance(document, dict):
        raise WebhookVerificationError("malformed", "the body is not a JSON object")
    kind = document.get("type")
    cls = next(
        (
            cls
            for prefix, cls in EVENT_CLASSES.items()
            if isinstance(kind, str) and kind.lower().startswith(prefix)
        ),
        UnknownEvent,
    )
    try:
        event, problems = read(document, cls)
    except ShapeError as error:
        if cls is UnknownEvent:
            raise WebhookVerificationError("malformed", f"unreadable event: {error}") from None
        # A payload of another shape than the SDK knows is kept, not dropped (D39).
        logger.debug("a %s event kept as an unknown event: %s", cls.__name__, error)
        try:
            event, problems = read(document, UnknownEvent)
        except ShapeError as unreadable:
            raise WebhookVerificationError("malformed", f"unreadable event: {unreadable}") from None
    field_warnings.report(problems)
    return cast(WebhookEvent, event)


def _header(fields: CIMultiDict[str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise WebhookVerificationError("missing_header", f"no {name} header")
    return value


def _key(secret: Secret) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret
