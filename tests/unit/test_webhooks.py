"""Webhooks (API.md 11; D35-D39): verification, typed events, event stores and the receiver.

`verify_webhook` gets deliveries signed here with `sign`: what it accepts (header case, hex
case, str or bytes secrets, rotation) and every rejection, with its reason and HTTP status
and a message that never quotes the secret; hypothesis checks the HMAC and that one flipped
bit is always caught. Events parse into typed models with exact values, unknown types kept
whole. The event stores run on fake clocks; the receiver runs on aiohttp's test server; the
routing of `client.webhooks` is checked by recording `scheduler.nudge`. The documented
payloads are also covered in test_docs_examples.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aiohttp import StreamReader, web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st

from octopus_async import InvalidRequestError, OctopusClient, WebhookVerificationError
from octopus_async.models import (
    ActivationStatus,
    EsimEvent,
    EsimEventData,
    EsimOrderStatus,
    EventType,
    OrderEvent,
    OrderEventData,
    TopupEvent,
    TopupEventData,
    TopupOrderStatus,
    UnknownEvent,
    VoucherOrderStatus,
    WalletEvent,
    WalletEventData,
)
from octopus_async.webhooks import (
    EventOrder,
    MemoryEventStore,
    ReceiverStats,
    SQLiteEventStore,
    WebhookReceiver,
    event_order,
    parse_event,
    receiver_app,
    sign,
    verify_webhook,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "docs_examples"
UTC = timezone.utc

SECRET = "whsec_unit_7Hq2Zp9Lx4Vb"
NOW = 1_736_951_400.0  # 2025-01-15T14:30:00Z
FORGED = "3f" * 32  # well-formed hex, but not the HMAC of anything here

ORDER_DATA = {
    "id": 12345,
    "reference_code": "MY_ORDER_001",
    "status": "DELIVERED",
    "product_name": "Steam Wallet Card",
    "denomination": 50.00,
    "quantity": 5,
    "amount": 250.00,
    "delivered_quantity": 5,
    "delivered_on": "2025-01-15T14:30:00Z",
    "created_at": "2025-01-15T14:00:00Z",
}

# SQLite works on a thread; the event loop waits for the thread at its close with a
# timeout that virtual time would run out at once (Python 3.13): these run on the wall clock.
THREADS = pytest.mark.real_time


def envelope(
    event_type: str = "order.delivered",
    data: Any = None,
    *,
    event_id: str = "evt_1",
    created_at: Any = "2025-01-15T14:30:00Z",
) -> bytes:
    document = {
        "id": event_id,
        "type": event_type,
        "created_at": created_at,
        "data": ORDER_DATA if data is None else data,
    }
    return json.dumps(document).encode()


def signed(
    body: bytes,
    secret: str | bytes = SECRET,
    *,
    timestamp: float | str = NOW,
    event_id: str = "evt_1",
    event_type: str = "order.delivered",
) -> dict[str, str]:
    """The headers Octopus sends with `body`."""
    return {
        "Content-Type": "application/json",
        "X-Signature": sign(body, secret),
        "X-Timestamp": timestamp if isinstance(timestamp, str) else str(int(timestamp)),
        "X-Event-ID": event_id,
        "X-Event-Type": event_type,
    }


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


def flip_byte(body: bytes, position: int) -> bytes:
    tampered = bytearray(body)
    tampered[position] ^= 0xFF
    return bytes(tampered)


GOOD = envelope()
HEADERS = signed(GOOD)
SIGNATURE = HEADERS["X-Signature"]


# --- accepted deliveries ------------------------------------------------------------------


def test_correctly_signed_delivery_returns_the_typed_event() -> None:
    event = verify_webhook(GOOD, HEADERS, SECRET, tolerance=300, now=NOW)
    assert isinstance(event, OrderEvent)
    assert (event.id, event.type) == ("evt_1", EventType.ORDER_DELIVERED)
    assert (event.order.id, event.order.reference_code) == (12345, "MY_ORDER_001")
    assert event.order.status == VoucherOrderStatus.DELIVERED


@pytest.mark.parametrize(
    "rename", [str.lower, str.upper, str.swapcase], ids=["lower", "upper", "swapped"]
)
def test_header_names_are_case_insensitive(rename: Callable[[str], str]) -> None:
    headers = {rename(name): value for name, value in HEADERS.items()}
    assert verify_webhook(GOOD, headers, SECRET, now=NOW).id == "evt_1"


def test_upper_case_hex_signature_is_accepted() -> None:
    headers = {**HEADERS, "X-Signature": SIGNATURE.upper()}
    assert verify_webhook(GOOD, headers, SECRET, now=NOW).id == "evt_1"


@pytest.mark.parametrize(
    ("signed_with", "verified_with"),
    [
        ("sécret-ünïcode", "sécret-ünïcode"),
        ("sécret-ünïcode", "sécret-ünïcode".encode()),
        (b"plain-secret", "plain-secret"),
        (b"\x00\xff\x80binary", b"\x00\xff\x80binary"),
    ],
    ids=["str", "str-then-bytes", "bytes-then-str", "binary"],
)
def test_secret_may_be_str_or_bytes(signed_with: str | bytes, verified_with: str | bytes) -> None:
    headers = signed(GOOD, signed_with)
    assert verify_webhook(GOOD, headers, verified_with, now=NOW).id == "evt_1"


@pytest.mark.parametrize(
    "secrets",
    [["old-secret", SECRET], [SECRET, "old-secret"], ("old-secret", SECRET)],
    ids=["new-second", "new-first", "tuple"],
)
def test_secret_rotation_accepts_any_listed_secret(secrets: Sequence[str]) -> None:
    assert verify_webhook(GOOD, HEADERS, secrets, now=NOW).id == "evt_1"


def test_secret_rotation_rejects_when_no_secret_matches() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(GOOD, HEADERS, ["old-secret", "other-secret"], now=NOW)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("secrets", [[], ()], ids=["list", "tuple"])
def test_empty_list_of_secrets_is_a_programming_error(secrets: Sequence[str]) -> None:
    with pytest.raises(ValueError, match="secret"):
        verify_webhook(GOOD, HEADERS, secrets, now=NOW)


@pytest.mark.parametrize("secret", ["", b"", [SECRET, ""]], ids=["str", "bytes", "in-list"])
def test_empty_secret_is_refused(secret: Any) -> None:
    # A forgery needs no knowledge at all when the key is empty (say, an unset env var).
    forged = signed(GOOD, "")
    with pytest.raises(ValueError, match="secret"):
        verify_webhook(GOOD, forged, secret, now=NOW)


@pytest.mark.parametrize(
    ("tolerance", "offset", "accepted"),
    [
        (300, 0, True),
        (300, -300, True),
        (300, 300, True),
        (300, -301, False),
        (300, 301, False),
        (60, -61, False),
        (3600, -3000, True),
    ],
)
def test_timestamp_tolerance(tolerance: float, offset: int, accepted: bool) -> None:
    headers = signed(GOOD, timestamp=NOW + offset)
    if accepted:
        assert verify_webhook(GOOD, headers, SECRET, tolerance=tolerance, now=NOW).id == "evt_1"
    else:
        with pytest.raises(WebhookVerificationError) as caught:
            verify_webhook(GOOD, headers, SECRET, tolerance=tolerance, now=NOW)
        assert caught.value.reason == "stale_timestamp"


def test_without_now_the_wall_clock_is_used() -> None:
    assert verify_webhook(GOOD, signed(GOOD, timestamp=time.time()), SECRET).id == "evt_1"
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(GOOD, signed(GOOD, timestamp=time.time() - 3600), SECRET)
    assert caught.value.reason == "stale_timestamp"


# --- rejected deliveries ------------------------------------------------------------------

HTTP_STATUS = {
    "missing_header": 401,
    "bad_signature": 401,
    "stale_timestamp": 401,
    "malformed": 400,
}


def resigned(body: bytes, **headers: Any) -> tuple[bytes, dict[str, str]]:
    return body, signed(body, **headers)


def parsed_wrongly(**changes: Any) -> tuple[bytes, dict[str, str]]:
    return resigned(envelope(data={**ORDER_DATA, **changes}))


@pytest.mark.parametrize(
    ("changes", "read_as"),
    [
        ({"id": "12345"}, {"id": 12345}),
        ({"quantity": "5"}, {"quantity": 5}),
        ({"amount": "250.00"}, {"amount": Decimal("250.00")}),
        ({"status": "delivered"}, {"status": VoucherOrderStatus.DELIVERED}),
        ({"delivered_on": "soon"}, {"delivered_on": None}),
        ({"delivered_on": "2025-01-15"}, {"delivered_on": datetime(2025, 1, 15, tzinfo=UTC)}),
        ({"product_name": 7}, {"product_name": "7"}),
        ({"quantity": {"n": 5}}, {"quantity": None}),
    ],
    ids=repr,
)
def test_an_order_payload_is_read_tolerantly(changes: Any, read_as: dict[str, Any]) -> None:
    """D40: what can be read is coerced, what cannot is None; the event stays typed."""
    body, headers = parsed_wrongly(**changes)
    event = verify_webhook(body, headers, SECRET, now=NOW)
    assert isinstance(event, OrderEvent)
    for name, value in read_as.items():
        assert getattr(event.data, name) == value
    assert event.data.raw == json.loads(body, parse_float=Decimal)["data"]


@pytest.mark.parametrize(
    "changes",
    [{"id": None}, {"id": "abc"}, {"status": None}, {"status": ["DELIVERED"]}],
    ids=["id-null", "id-not-a-number", "status-null", "status-a-list"],
)
def test_an_order_payload_without_readable_ids_is_kept_as_an_unknown_event(changes: Any) -> None:
    """D39: never dropped. The SDK cannot type it, so it hands over the data as it came."""
    body, headers = parsed_wrongly(**changes)
    event = verify_webhook(body, headers, SECRET, now=NOW)
    assert type(event) is UnknownEvent
    assert event.type == "order.delivered"
    assert event.data == json.loads(body, parse_float=Decimal)["data"]


@pytest.mark.parametrize(
    ("body", "data"),
    [
        (b'{"id": "evt_1", "type": "order.delivered", "created_at": "2025-01-15T14:30:00Z"}', {}),
        (envelope(data=[ORDER_DATA]), {}),
        (envelope(data="12345"), {}),
    ],
    ids=["no-data", "data-a-list", "data-a-string"],
)
def test_an_event_without_a_readable_payload_is_kept_as_an_unknown_event(
    body: bytes, data: Any
) -> None:
    event = verify_webhook(body, signed(body), SECRET, now=NOW)
    assert type(event) is UnknownEvent
    assert event.data == data
    assert event.raw == json.loads(body, parse_float=Decimal)


@pytest.mark.parametrize("created_at", ["garbage", None, 1736951400, "9999-12-31T23:59:59-23:59"])
def test_an_unreadable_event_time_is_none(created_at: Any) -> None:
    body = envelope(created_at=created_at)
    event = verify_webhook(body, signed(body), SECRET, now=NOW)
    assert isinstance(event, OrderEvent)
    assert event.created_at is None
    assert event.data.id == 12345


def test_event_ids_sent_as_numbers_are_read_as_their_text() -> None:
    body = (
        b'{"id": 1, "type": "order.delivered", "created_at": "2025-01-15T14:30:00Z",'
        b' "data": {"id": 1, "status": "DELIVERED"}}'
    )
    event = verify_webhook(body, signed(body, event_id="1"), SECRET, now=NOW)
    assert event.id == "1"


REJECTIONS = [
    # Signature
    pytest.param(GOOD, {**HEADERS, "X-Signature": FORGED}, "bad_signature", id="forged"),
    pytest.param(GOOD, signed(GOOD, "another-secret"), "bad_signature", id="wrong-secret"),
    pytest.param(GOOD, {**HEADERS, "X-Signature": "zz" * 32}, "bad_signature", id="non-hex"),
    pytest.param(GOOD, {**HEADERS, "X-Signature": SIGNATURE[:-2]}, "bad_signature", id="short"),
    pytest.param(GOOD, {**HEADERS, "X-Signature": SIGNATURE + "00"}, "bad_signature", id="long"),
    pytest.param(GOOD, {**HEADERS, "X-Signature": SIGNATURE[:-1]}, "bad_signature", id="odd"),
    pytest.param(
        GOOD, {**HEADERS, "X-Signature": "sha256=" + SIGNATURE}, "bad_signature", id="prefixed"
    ),
    pytest.param(
        GOOD,
        {**HEADERS, "X-Signature": hmac.new(SECRET.encode(), GOOD, hashlib.sha1).hexdigest()},
        "bad_signature",
        id="sha1",
    ),
    # The token header is never enough (D36).
    pytest.param(
        GOOD,
        {**without(HEADERS, "X-Signature"), "X-OCTOPUS-WEBHOOK-TOKEN": SECRET},
        "missing_header",
        id="token-without-signature",
    ),
    pytest.param(
        GOOD,
        {**HEADERS, "X-Signature": FORGED, "X-OCTOPUS-WEBHOOK-TOKEN": SECRET},
        "bad_signature",
        id="token-with-forged-signature",
    ),
    # Missing headers
    pytest.param(GOOD, without(HEADERS, "X-Signature"), "missing_header", id="no-signature"),
    pytest.param(GOOD, without(HEADERS, "X-Timestamp"), "missing_header", id="no-timestamp"),
    pytest.param(GOOD, without(HEADERS, "X-Event-ID"), "missing_header", id="no-event-id"),
    pytest.param(GOOD, {**HEADERS, "X-Signature": ""}, "missing_header", id="empty-signature"),
    pytest.param(GOOD, {**HEADERS, "X-Event-ID": ""}, "missing_header", id="empty-event-id"),
    # Timestamp
    pytest.param(*resigned(GOOD, timestamp=NOW - 301), "stale_timestamp", id="stale"),
    pytest.param(*resigned(GOOD, timestamp=NOW + 301), "stale_timestamp", id="future"),
    pytest.param(*resigned(GOOD, timestamp="yesterday"), "malformed", id="timestamp-not-a-number"),
    # Headers that disagree with the signed body
    pytest.param(*resigned(GOOD, event_id="evt_other"), "malformed", id="event-id-differs"),
    pytest.param(*resigned(GOOD, event_type="order.failed"), "malformed", id="event-type-differs"),
    # Signed, but unreadable
    pytest.param(*resigned(b"not json"), "malformed", id="not-json"),
    pytest.param(*resigned(b""), "malformed", id="empty-body"),
    pytest.param(*resigned(b"\xff\xfe{}"), "malformed", id="not-utf8"),
    pytest.param(*resigned(b'[{"id": "evt_1"}]'), "malformed", id="json-array"),
    pytest.param(*resigned(b'"evt_1"'), "malformed", id="json-string"),
    pytest.param(*resigned(b'{"type": "order.delivered", "data": {}}'), "malformed", id="no-id"),
    pytest.param(
        *resigned(b'{"id": {"x": 1}, "type": "order.delivered", "data": {}}'),
        "malformed",
        id="id-an-object",
    ),
    pytest.param(*resigned(b'{"id": "evt_1", "data": {}}'), "malformed", id="no-type"),
    pytest.param(
        *resigned(b'{"id": "evt_1", "type": "", "data": {}}'), "malformed", id="type-empty"
    ),
    # Hostile bodies, signed by someone holding the secret (or replayed): typed errors only.
    pytest.param(*resigned(b"[" * 100_000), "malformed", id="deeply-nested"),
    pytest.param(
        *resigned(b'{"id": "evt_1", "type": "order.delivered", "data": ' + b"[" * 100_000),
        "malformed",
        id="deeply-nested-data",
    ),
    pytest.param(*resigned(b'{"id": 1e999999999999999999999}'), "malformed", id="huge-number"),
]


@pytest.mark.parametrize(("body", "headers", "reason"), REJECTIONS)
def test_rejected_delivery(body: bytes, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(body, headers, SECRET, tolerance=300, now=NOW)
    error = caught.value
    assert error.reason == reason
    assert error.http_status == HTTP_STATUS[reason]
    for text in (str(error), error.message, repr(error)):
        assert SECRET not in text


@pytest.mark.parametrize("position", [0, 1, len(GOOD) // 2, len(GOOD) - 2, len(GOOD) - 1])
def test_tampered_body_is_a_bad_signature(position: int) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(flip_byte(GOOD, position), HEADERS, SECRET, now=NOW)
    assert caught.value.reason == "bad_signature"
    assert caught.value.http_status == 401


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b"", *(flip_byte(GOOD, i) for i in (0, len(GOOD) - 1))],
    ids=["text", "empty", "broken-json-start", "broken-json-end"],
)
def test_signature_is_checked_before_the_body_is_parsed(body: bytes) -> None:
    # Signed for other bytes: whatever the body is, it is a bad signature, not malformed.
    headers = signed(b"something else that was signed")
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(body, headers, SECRET, now=NOW)
    assert caught.value.reason == "bad_signature"


def test_bad_signature_is_reported_before_a_stale_timestamp() -> None:
    headers = {**signed(GOOD, timestamp=NOW - 3600), "X-Signature": FORGED}
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(GOOD, headers, SECRET, now=NOW)
    assert caught.value.reason == "bad_signature"


def test_deeply_nested_json_is_malformed() -> None:
    body = b'{"id": "evt_1", "type": "payout.sent", "created_at": "2025-01-15T14:30:00Z", '
    body += b'"data": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(body, signed(body, event_type="payout.sent"), SECRET, now=NOW)
    assert caught.value.reason == "malformed"


# --- typed events -------------------------------------------------------------------------

DELIVERED = OrderEvent(
    id="evt_abc123",
    type=EventType.ORDER_DELIVERED,
    created_at=datetime(2025, 1, 15, 14, 30, tzinfo=UTC),
    data=OrderEventData(
        id=12345,
        status=VoucherOrderStatus.DELIVERED,
        reference_code="MY_ORDER_001",
        product_name="Steam Wallet Card",
        denomination=Decimal("50.00"),
        quantity=5,
        amount=Decimal("250.00"),
        delivered_quantity=5,
        delivered_on=datetime(2025, 1, 15, 14, 30, tzinfo=UTC),
        created_at=datetime(2025, 1, 15, 14, 0, tzinfo=UTC),
    ),
)
PARTIALLY_DELIVERED = OrderEvent(
    id="evt_def456",
    type=EventType.ORDER_PARTIALLY_DELIVERED,
    created_at=datetime(2025, 1, 15, 14, 35, tzinfo=UTC),
    data=OrderEventData(
        id=12346,
        status=VoucherOrderStatus.PARTIALLY_DELIVERED,
        reference_code="BULK_ORDER_001",
        product_name="Google Play Gift Card",
        denomination=Decimal("25.00"),
        quantity=100,
        amount=Decimal("2500.00"),
        delivered_quantity=87,
        delivered_on=datetime(2025, 1, 15, 14, 35, tzinfo=UTC),
        created_at=datetime(2025, 1, 15, 13, 0, tzinfo=UTC),
    ),
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("webhook.order.delivered.json", DELIVERED),
        ("webhook.order.partially_delivered.json", PARTIALLY_DELIVERED),
    ],
    ids=["delivered", "partially-delivered"],
)
def test_documented_payloads_verify_and_parse(name: str, expected: OrderEvent) -> None:
    body = (EXAMPLES / name).read_bytes()
    headers = signed(body, event_id=expected.id, event_type=expected.type)
    event = verify_webhook(body, headers, SECRET, now=NOW)
    assert type(event) is OrderEvent
    assert event == expected
    assert event.type.is_known
    assert event.order.status.is_known
    assert event.created_at.tzinfo == UTC
    assert event.order.delivered_on is not None
    assert event.order.delivered_on.tzinfo == UTC
    assert event.raw == json.loads(body)
    assert event.order.raw == json.loads(body)["data"]


def test_event_money_is_exact() -> None:
    body = envelope(data={**ORDER_DATA, "amount": "AMOUNT"}).replace(
        b'"AMOUNT"', b"12345678901234567.89"
    )
    event = verify_webhook(body, signed(body), SECRET, now=NOW)
    assert isinstance(event, OrderEvent)
    assert event.order.amount == Decimal("12345678901234567.89")


@pytest.mark.parametrize(
    ("constant", "value"),
    [
        (EventType.ORDER_DELIVERED, "order.delivered"),
        (EventType.ORDER_PARTIALLY_DELIVERED, "order.partially_delivered"),
        (EventType.ORDER_FAILED, "order.failed"),
        (EventType.ORDER_CANCELLED, "order.cancelled"),
        (EventType.WALLET_CREDITED, "wallet.credited"),
        (EventType.WALLET_DEBITED, "wallet.debited"),
    ],
)
def test_event_type_constants(constant: EventType, value: str) -> None:
    assert constant == value
    assert constant.is_known


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("order.failed", "FAILED"),
        ("order.cancelled", "CANCELLED"),
        ("order.refunded", "REFUNDED"),  # a type (and status) the SDK does not know yet
    ],
)
def test_other_order_events_are_order_events(event_type: str, status: str) -> None:
    body = envelope(event_type, {"id": 77, "status": status, "reference_code": "R-77"})
    event = verify_webhook(body, signed(body, event_type=event_type), SECRET, now=NOW)
    assert isinstance(event, OrderEvent)
    assert (event.type, event.order.id, event.order.status) == (event_type, 77, status)
    assert event.type.is_known == (event_type != "order.refunded")
    assert event.order.delivered_quantity is None


@pytest.mark.parametrize("event_type", ["wallet.credited", "wallet.debited"])
def test_wallet_events(event_type: str) -> None:
    data = {
        "wallet_id": 1,
        "transaction_id": 456,
        "amount": "50.00",
        "currency": "USD",
        "balance": 950,
        "remarks": "USD Wallet debited by amount 50.00 - Order #12345",
        "ledger_note": "kept in raw",
    }
    body = envelope(event_type, data, event_id="evt_w1")
    headers = signed(body, event_id="evt_w1", event_type=event_type)
    event = verify_webhook(body, headers, SECRET, now=NOW)
    assert type(event) is WalletEvent
    assert event == WalletEvent(
        id="evt_w1",
        type=EventType(event_type),
        created_at=datetime(2025, 1, 15, 14, 30, tzinfo=UTC),
        data=WalletEventData(
            wallet_id=1,
            transaction_id=456,
            amount=Decimal("50.00"),
            currency="USD",
            balance=Decimal("950"),
            remarks="USD Wallet debited by amount 50.00 - Order #12345",
        ),
    )
    assert event.type.is_known
    assert str(event.wallet.amount) == "50.00"
    assert event.wallet.raw["ledger_note"] == "kept in raw"


UNKNOWN_DATA = {
    "id": 9123456,
    "client_reference": "CAMPAIGN_DEC_24",
    "status": "DELIVERED",
    "amount": "4.7405",
    "nested": {"list": [1, "two", None, True], "empty": {}},
    "note": None,
}


@pytest.mark.parametrize(
    ("event_type", "cls", "data", "expected"),
    [
        (
            "topup.delivered",
            TopupEvent,
            {"id": 9123456, "client_reference": "CAMPAIGN_DEC_24", "status": "DELIVERED"},
            TopupEventData(
                id=9123456,
                status=TopupOrderStatus.DELIVERED,
                client_reference="CAMPAIGN_DEC_24",
            ),
        ),
        (
            "topup.failed",
            TopupEvent,
            {
                "id": "9123460",
                "reference_code": "CAMPAIGN_DEC_25",
                "status": "failed",
                "failure_reason": "Unknown player",
                "is_user_fixable": True,
            },
            TopupEventData(
                id=9123460,
                status=TopupOrderStatus.FAILED,
                client_reference="CAMPAIGN_DEC_25",
                failure_reason="Unknown player",
                is_user_fixable=True,
            ),
        ),
        (
            "esim.installed",
            EsimEvent,
            {
                "id": 9302481,
                "client_reference": "TRIP_TOKYO_OCT",
                "status": "DELIVERED",
                "activation_status": "ACTIVE",
                "installed_at": "2026-05-15T18:42:11Z",
            },
            EsimEventData(
                id=9302481,
                status=EsimOrderStatus.DELIVERED,
                client_reference="TRIP_TOKYO_OCT",
                activation_status=ActivationStatus.ACTIVE,
                installed_at=datetime(2026, 5, 15, 18, 42, 11, tzinfo=UTC),
            ),
        ),
    ],
    ids=["topup", "topup-reference-code", "esim"],
)
def test_topup_and_esim_events_are_typed_like_voucher_order_events(
    event_type: str, cls: type[Any], data: dict[str, Any], expected: Any
) -> None:
    body = envelope(event_type, data, event_id="evt_t1")
    event = verify_webhook(
        body, signed(body, event_id="evt_t1", event_type=event_type), SECRET, now=NOW
    )
    assert type(event) is cls
    assert event.data == expected
    assert event.order is event.data  # the alias every order event has
    assert event.data.raw == data
    assert not event.type.is_known  # not live yet (D39): kept as the string it was


def test_every_event_carries_its_payload_on_data() -> None:
    order = verify_webhook(GOOD, HEADERS, SECRET, now=NOW)
    assert isinstance(order, OrderEvent)
    assert order.data is order.order
    wallet_body = envelope("wallet.credited", {"wallet_id": 1}, event_id="evt_w")
    wallet = verify_webhook(
        wallet_body,
        signed(wallet_body, event_id="evt_w", event_type="wallet.credited"),
        SECRET,
        now=NOW,
    )
    assert isinstance(wallet, WalletEvent)
    assert wallet.data is wallet.wallet
    assert wallet.data.wallet_id == 1


@pytest.mark.parametrize("event_type", ["payout.sent", "orders.delivered", "account.updated"])
def test_unknown_event_types_are_kept_whole(event_type: str) -> None:
    body = envelope(event_type, UNKNOWN_DATA, event_id="evt_u1")
    headers = signed(body, event_id="evt_u1", event_type=event_type)
    event = verify_webhook(body, headers, SECRET, now=NOW)
    assert type(event) is UnknownEvent
    assert (event.id, event.type) == ("evt_u1", event_type)
    assert isinstance(event.type, EventType)
    assert not event.type.is_known
    assert event.created_at == datetime(2025, 1, 15, 14, 30, tzinfo=UTC)
    assert event.data == UNKNOWN_DATA
    assert event.raw == json.loads(body)


def test_raw_is_the_whole_envelope() -> None:
    document = {**json.loads(GOOD), "api_version": "2025-01", "livemode": False}
    body = json.dumps(document).encode()
    event = verify_webhook(body, signed(body), SECRET, now=NOW)
    assert event.raw == document
    assert event.raw["api_version"] == "2025-01"


def test_x_event_type_header_is_optional() -> None:
    event = verify_webhook(GOOD, without(HEADERS, "X-Event-Type"), SECRET, now=NOW)
    assert event.type == EventType.ORDER_DELIVERED


# --- properties ---------------------------------------------------------------------------

secrets = st.one_of(st.text(min_size=1, max_size=64), st.binary(min_size=1, max_size=64))
# Any type the SDK does not type; a blank one is unreadable (tested apart).
unknown_types = st.text(min_size=1, max_size=24).filter(
    lambda text: (
        text.strip() and not text.lower().startswith(("order.", "wallet.", "topup.", "esim."))
    )
)
payloads = st.dictionaries(
    st.text(max_size=12), st.one_of(st.text(max_size=24), st.integers()), max_size=8
)
PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(body=st.binary(max_size=512), secret=secrets)
def test_property_sign_is_hex_hmac_sha256_of_the_raw_body(body: bytes, secret: str | bytes) -> None:
    key = secret.encode() if isinstance(secret, str) else secret
    signature = sign(body, secret)
    assert signature == hmac.new(key, body, hashlib.sha256).hexdigest()
    assert len(signature) == 64
    assert signature == signature.lower()


@PROPERTY
@given(body=st.binary(max_size=512), secret=secrets)
def test_property_any_signed_body_passes_the_signature_check(
    body: bytes, secret: str | bytes
) -> None:
    # Arbitrary bytes are rarely an event, but the signature must never be the complaint.
    try:
        verify_webhook(body, signed(body, secret), secret, now=NOW)
    except WebhookVerificationError as error:
        reason = error.reason
    else:
        reason = None
    assert reason in (None, "malformed")


@PROPERTY
@given(
    event_id=st.text(min_size=1, max_size=32),
    event_type=unknown_types,
    data=payloads,
    secret=secrets,
    ascii_only=st.booleans(),
)
def test_property_signed_envelope_verifies_and_keeps_its_data(
    event_id: str, event_type: str, data: dict[str, Any], secret: str | bytes, ascii_only: bool
) -> None:
    document = {"id": event_id, "type": event_type, "created_at": "2025-01-15T14:30:00Z"}
    body = json.dumps({**document, "data": data}, ensure_ascii=ascii_only).encode()
    headers = signed(body, secret, event_id=event_id, event_type=event_type)
    event = verify_webhook(body, headers, secret, now=NOW)
    assert isinstance(event, UnknownEvent)
    assert (event.id, event.type, event.data) == (event_id, event_type, data)


@PROPERTY
@given(body=st.binary(min_size=1, max_size=512), secret=secrets, choice=st.data())
def test_property_any_flipped_body_bit_is_a_bad_signature(
    body: bytes, secret: str | bytes, choice: st.DataObject
) -> None:
    bit = choice.draw(st.integers(0, len(body) * 8 - 1))
    tampered = bytearray(body)
    tampered[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(bytes(tampered), signed(body, secret), secret, now=NOW)
    assert caught.value.reason == "bad_signature"


@PROPERTY
@given(secret=secrets, bit=st.integers(0, 255), upper=st.booleans())
def test_property_any_flipped_signature_bit_is_a_bad_signature(
    secret: str | bytes, bit: int, upper: bool
) -> None:
    digest = bytearray(bytes.fromhex(sign(GOOD, secret)))
    digest[bit // 8] ^= 1 << (bit % 8)
    forged = digest.hex().upper() if upper else digest.hex()
    headers = {**signed(GOOD, secret), "X-Signature": forged}
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(GOOD, headers, secret, now=NOW)
    assert caught.value.reason == "bad_signature"


# --- event stores -------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_memory_store_remembers_an_id() -> None:
    store = MemoryEventStore()
    assert await store.add("evt_1") is True
    assert await store.add("evt_1") is False
    assert await store.add("evt_2") is True


async def test_memory_store_forgets_after_the_ttl() -> None:
    clock = FakeClock()
    store = MemoryEventStore(ttl=60, clock=clock)
    assert await store.add("evt_1") is True
    clock.now += 30
    assert await store.add("evt_2") is True
    clock.now += 29.9
    assert await store.add("evt_1") is False
    clock.now += 0.2  # evt_1 is 60.1 s old, evt_2 30.1 s
    assert await store.add("evt_1") is True
    assert await store.add("evt_2") is False


async def test_memory_store_evicts_the_oldest_beyond_capacity() -> None:
    store = MemoryEventStore(capacity=3)
    for event_id in ("evt_1", "evt_2", "evt_3", "evt_4"):
        assert await store.add(event_id) is True
    assert await store.add("evt_4") is False
    assert await store.add("evt_1") is True  # the oldest made room for evt_4


@pytest.mark.parametrize("capacity", [1, 2, 3])
async def test_memory_store_at_capacity_still_catches_a_duplicate_of_the_oldest(
    capacity: int,
) -> None:
    store = MemoryEventStore(capacity=capacity)
    for index in range(capacity):
        assert await store.add(f"evt_{index}") is True
    assert await store.add("evt_0") is False


@pytest.fixture
async def open_stores() -> AsyncIterator[Callable[..., SQLiteEventStore]]:
    stores: list[SQLiteEventStore] = []

    def open_store(path: Path, **options: Any) -> SQLiteEventStore:
        store = SQLiteEventStore(path, **options)
        stores.append(store)
        return store

    yield open_store
    for store in stores:
        store.close()


@THREADS
async def test_sqlite_store_catches_duplicates(
    tmp_path: Path, open_stores: Callable[..., SQLiteEventStore]
) -> None:
    store = open_stores(tmp_path / "events.db")
    assert await store.add("evt_1") is True
    assert await store.add("evt_1") is False
    assert await store.add("evt_2") is True


@THREADS
async def test_sqlite_store_catches_duplicates_across_a_restart(
    tmp_path: Path, open_stores: Callable[..., SQLiteEventStore]
) -> None:
    first = open_stores(tmp_path / "events.db")
    assert await first.add("evt_1") is True
    first.close()
    restarted = open_stores(tmp_path / "events.db")
    assert await restarted.add("evt_1") is False
    assert await restarted.add("evt_2") is True


@THREADS
async def test_sqlite_store_accepts_expired_ids_again(
    tmp_path: Path, open_stores: Callable[..., SQLiteEventStore]
) -> None:
    clock = FakeClock()
    store = open_stores(tmp_path / "events.db", ttl=60, clock=clock)
    assert await store.add("evt_1") is True
    clock.now += 59.9
    assert await store.add("evt_1") is False
    clock.now += 0.2
    assert await store.add("evt_1") is True
    assert await store.add("evt_1") is False  # remembered again, for another ttl


@THREADS
async def test_sqlite_store_concurrent_adds_of_one_id_accept_it_once(
    tmp_path: Path, open_stores: Callable[..., SQLiteEventStore]
) -> None:
    store = open_stores(tmp_path / "events.db")
    results = await asyncio.gather(*(store.add("evt_1") for _ in range(50)))
    assert results.count(True) == 1
    fresh = await asyncio.gather(*(store.add(f"evt_{i}") for i in range(2, 52)))
    assert all(fresh)


@THREADS
async def test_sqlite_stores_on_one_file_share_what_they_saw(
    tmp_path: Path, open_stores: Callable[..., SQLiteEventStore]
) -> None:
    # Two workers (two connections) on one file: a redelivery to either is caught once.
    first, second = open_stores(tmp_path / "events.db"), open_stores(tmp_path / "events.db")
    results = await asyncio.gather(
        *(store.add("evt_1") for _ in range(25) for store in (first, second))
    )
    assert results.count(True) == 1


@THREADS
async def test_sqlite_store_close_releases_the_connection(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "events.db")
    assert await store.add("evt_1") is True
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        await store.add("evt_2")


# --- the receiver -------------------------------------------------------------------------


def delivery(
    event_id: str = "evt_1",
    event_type: str = "order.delivered",
    data: Any = None,
    *,
    sent_at: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A delivery as Octopus would send it now."""
    body = envelope(event_type, data, event_id=event_id)
    headers = signed(
        body,
        timestamp=time.time() if sent_at is None else sent_at,
        event_id=event_id,
        event_type=event_type,
    )
    return body, headers


@contextlib.asynccontextmanager
async def serving(receiver: WebhookReceiver) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(receiver_app(receiver))) as http:
        yield http


async def until(condition: Callable[[], bool], turns: int = 10_000) -> None:
    """Let the loop run until `condition` holds (a bounded number of turns, not a time)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


class Recorder:
    """An `on_event` that remembers the events it was given."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    async def __call__(self, event: Any) -> None:
        self.events.append(event)


async def test_receiver_accepts_and_processes_a_good_delivery_once() -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(secret=SECRET, on_event=recorder)
    body, headers = delivery()
    async with serving(receiver) as http:
        response = await http.post("/webhooks", data=body, headers=headers)
        assert response.status == 200
        assert await response.json() == {"status": "accepted"}
        await receiver.aclose()
    [event] = recorder.events
    assert isinstance(event, OrderEvent)
    assert (event.id, event.order.id) == ("evt_1", 12345)
    assert receiver.stats == ReceiverStats(accepted=1)


UNAUTHORIZED = [
    pytest.param({"X-Signature": FORGED}, "bad_signature", id="bad-signature"),
    pytest.param({"X-Timestamp": str(int(NOW))}, "stale_timestamp", id="stale"),
    pytest.param({"X-Event-ID": None}, "missing_header", id="no-event-id"),
    pytest.param({"X-Signature": None}, "missing_header", id="no-signature"),
    pytest.param(
        {"X-Signature": None, "X-OCTOPUS-WEBHOOK-TOKEN": SECRET},
        "missing_header",
        id="token-only",
    ),
]


@pytest.mark.parametrize(("changes", "reason"), UNAUTHORIZED)
async def test_receiver_answers_401_and_never_processes(
    changes: dict[str, str | None], reason: str
) -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(secret=SECRET, on_event=recorder)
    body, headers = delivery()
    for name, value in changes.items():
        headers = without(headers, name) if value is None else {**headers, name: value}
    async with serving(receiver) as http:
        response = await http.post("/webhooks", data=body, headers=headers)
        assert response.status == 401
        answer = await response.json()
        assert answer["error"] == reason
        assert SECRET not in await response.text()
        await receiver.aclose()
    assert recorder.events == []
    assert receiver.stats == ReceiverStats(rejected=1)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[" * 100_000, b'{"id": "evt_1", "type": "order.delivered", "data": {}} x'],
    ids=["not-json", "deeply-nested", "trailing-garbage"],
)
async def test_receiver_answers_400_for_a_signed_but_malformed_body(body: bytes) -> None:
    """A poison event answers 400 (the sender may stop), never 500 (it would retry forever)."""
    recorder = Recorder()
    receiver = WebhookReceiver(secret=SECRET, on_event=recorder)
    headers = signed(body, timestamp=time.time())
    async with serving(receiver) as http:
        response = await http.post("/webhooks", data=body, headers=headers)
        assert response.status == 400
        assert (await response.json())["error"] == "malformed"
        await receiver.aclose()
    assert recorder.events == []
    assert receiver.stats == ReceiverStats(rejected=1)


LIMIT = 2048


def padded(size: int) -> tuple[bytes, dict[str, str]]:
    """A good delivery whose body is `size` bytes (JSON allows trailing spaces)."""
    body, _ = delivery()
    body += b" " * (size - len(body))
    return body, signed(body, timestamp=time.time())


async def in_chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 512):
        yield body[start : start + 512]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("size", "status"), [(LIMIT, 200), (LIMIT + 1, 413), (4 * LIMIT, 413)])
async def test_receiver_body_size_limit(size: int, status: int, chunked: bool) -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(secret=SECRET, on_event=recorder, max_body_size=LIMIT)
    body, headers = padded(size)
    async with serving(receiver) as http:
        data = in_chunks(body) if chunked else body
        response = await http.post("/webhooks", data=data, headers=headers)
        sent = response.request_info.headers
        assert ("Content-Length" in sent) is not chunked
        assert response.status == status
        answer = await response.json()
        await receiver.aclose()
    if status == 413:
        assert answer["error"] == "too_large"
        assert recorder.events == []
        assert receiver.stats == ReceiverStats(rejected=1)
    else:
        assert answer == {"status": "accepted"}
        assert [event.id for event in recorder.events] == ["evt_1"]


async def test_receiver_answers_200_to_a_duplicate_without_processing_it() -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(secret=SECRET, on_event=recorder)
    body, headers = delivery()
    async with serving(receiver) as http:
        first = await http.post("/webhooks", data=body, headers=headers)
        await receiver.aclose()
        # Redelivered later: same event id, a fresh timestamp.
        _, resent_headers = delivery(sent_at=time.time() + 1)
        again = await http.post("/webhooks", data=body, headers=resent_headers)
        assert (first.status, again.status) == (200, 200)
        assert await again.json() == {"status": "duplicate"}
        await receiver.aclose()
    assert [event.id for event in recorder.events] == ["evt_1"]
    assert receiver.stats == ReceiverStats(accepted=1, duplicates=1)


@THREADS
async def test_receivers_sharing_a_sqlite_store_catch_a_redelivery_after_a_restart(
    tmp_path: Path, open_stores: Callable[..., SQLiteEventStore]
) -> None:
    body, headers = delivery()
    before = WebhookReceiver(secret=SECRET, store=open_stores(tmp_path / "events.db"))
    async with serving(before) as http:
        assert (await http.post("/webhooks", data=body, headers=headers)).status == 200
    recorder = Recorder()
    after = WebhookReceiver(
        secret=SECRET, on_event=recorder, store=open_stores(tmp_path / "events.db")
    )
    async with serving(after) as http:
        response = await http.post("/webhooks", data=body, headers=headers)
        assert await response.json() == {"status": "duplicate"}
    assert recorder.events == []


async def test_receiver_answers_before_on_event_runs() -> None:
    answered = asyncio.Event()
    finished: list[str] = []

    async def on_event(event: Any) -> None:
        await answered.wait()
        finished.append(event.id)

    receiver = WebhookReceiver(secret=SECRET, on_event=on_event)
    body, headers = delivery()
    async with serving(receiver) as http:
        # Would time out if the receiver waited for on_event before answering.
        response = await asyncio.wait_for(http.post("/webhooks", data=body, headers=headers), 5)
        assert response.status == 200
        assert await response.json() == {"status": "accepted"}
        assert finished == []
        answered.set()
        await receiver.aclose()
        assert finished == ["evt_1"]


async def test_failing_on_event_is_logged_counted_and_later_deliveries_still_accepted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    async def on_event(event: Any) -> None:
        seen.append(event.id)
        if event.id == "evt_1":
            raise RuntimeError("handler bug")

    caplog.set_level(logging.ERROR, logger="octopus_async.webhooks")
    receiver = WebhookReceiver(secret=SECRET, on_event=on_event)
    async with serving(receiver) as http:
        statuses = []
        for event_id in ("evt_1", "evt_2"):
            body, headers = delivery(event_id)
            statuses.append((await http.post("/webhooks", data=body, headers=headers)).status)
            await receiver.aclose()
    assert statuses == [200, 200]
    assert seen == ["evt_1", "evt_2"]
    assert receiver.stats == ReceiverStats(accepted=2, failed=1)
    [record] = [r for r in caplog.records if r.name == "octopus_async.webhooks"]
    assert record.levelno == logging.ERROR
    assert "evt_1" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError


async def test_an_event_whose_acknowledgement_is_lost_is_still_processed() -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(secret=SECRET, on_event=recorder)
    body, headers = delivery()
    payload = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    payload.feed_data(body)
    payload.feed_eof()
    writer = mock.Mock()
    writer.write_headers = mock.AsyncMock(side_effect=ConnectionResetError("the sender left"))
    request = make_mocked_request(
        "POST", "/webhooks", headers=headers, payload=payload, writer=writer
    )

    with pytest.raises(ConnectionResetError):
        await receiver.handle(request)
    await receiver.aclose()

    # Recorded as seen (a redelivery is a duplicate), so it must not be dropped either.
    assert [event.id for event in recorder.events] == ["evt_1"]
    assert receiver.stats == ReceiverStats(accepted=1)


@pytest.mark.parametrize("mounted", ["receiver", "handle"])
async def test_the_receiver_mounts_on_an_application_of_ones_own(mounted: str) -> None:
    # The receiver itself is the handler; aiohttp takes it without a deprecation warning
    # (the suite turns warnings into errors).
    recorder = Recorder()
    receiver = WebhookReceiver(secret=SECRET, on_event=recorder)
    app = web.Application()
    app.router.add_post("/hooks/octopus", receiver if mounted == "receiver" else receiver.handle)
    body, headers = delivery()
    async with TestClient(TestServer(app)) as http:
        response = await http.post("/hooks/octopus", data=body, headers=headers)
        assert response.status == 200
        await receiver.aclose()
    assert [event.id for event in recorder.events] == ["evt_1"]


async def test_processing_is_bounded_and_a_flood_waits_for_a_slot() -> None:
    """Back-pressure: at most `max_concurrency` events are processed at once; the next
    delivery is not accepted (nor recorded as seen) until a slot frees up."""
    release = asyncio.Event()
    started: list[str] = []

    async def slow(event: Any) -> None:
        started.append(event.id)
        await release.wait()

    receiver = WebhookReceiver(secret=SECRET, on_event=slow, max_concurrency=2)
    async with serving(receiver) as http:
        first = [
            await http.post("/webhooks", data=body, headers=headers)
            for body, headers in (delivery("evt_1"), delivery("evt_2"))
        ]
        assert [r.status for r in first] == [200, 200]
        body, headers = delivery("evt_3")
        third = asyncio.ensure_future(http.post("/webhooks", data=body, headers=headers))
        await until(lambda: receiver.stats.waiting == 1)  # verified, held at the door
        assert not third.done()
        assert started == ["evt_1", "evt_2"]
        assert (receiver.stats.accepted, receiver.stats.processing) == (2, 2)
        release.set()
        assert (await third).status == 200
        await receiver.aclose()
    assert started == ["evt_1", "evt_2", "evt_3"]
    assert receiver.stats == ReceiverStats(accepted=3)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, None])
def test_max_concurrency_must_be_a_positive_integer(value: Any) -> None:
    with pytest.raises(InvalidRequestError, match="max_concurrency"):
        WebhookReceiver(secret=SECRET, max_concurrency=value)


async def test_sync_on_event_works() -> None:
    seen: list[str] = []
    receiver = WebhookReceiver(secret=SECRET, on_event=lambda event: seen.append(event.id))
    body, headers = delivery()
    async with serving(receiver) as http:
        assert (await http.post("/webhooks", data=body, headers=headers)).status == 200
        await receiver.aclose()
    assert seen == ["evt_1"]


async def test_receiver_stats_count_every_outcome() -> None:
    receiver = WebhookReceiver(secret=SECRET, max_body_size=LIMIT)
    good, good_headers = delivery("evt_1")
    other, other_headers = delivery("evt_2")
    bad_headers = {**other_headers, "X-Signature": FORGED}
    malformed = b'{"id": "evt_3", "type": "order.delivered", "data": ' + b"[" * 10_000
    malformed_headers = signed(malformed, timestamp=time.time(), event_id="evt_3")
    big, big_headers = padded(LIMIT + 1)
    async with serving(receiver) as http:
        for body, headers in [
            (good, good_headers),
            (good, good_headers),
            (other, bad_headers),
            (malformed, malformed_headers),
            (big, big_headers),
            (other, other_headers),
        ]:
            await http.post("/webhooks", data=body, headers=headers)
    assert receiver.stats == ReceiverStats(accepted=2, duplicates=1, rejected=3, failed=0)


@pytest.mark.parametrize(
    "secret",
    [
        "",
        b"",
        [],
        [""],
    ],
    ids=["str", "bytes", "no-secrets", "empty-in-list"],
)
def test_receiver_and_verify_webhook_refuse_an_empty_secret_alike(secret: Any) -> None:
    with pytest.raises(InvalidRequestError, match="secret") as receiver:
        WebhookReceiver(secret=secret)
    with pytest.raises(InvalidRequestError, match="secret") as verifier:
        verify_webhook(GOOD, HEADERS, secret, now=NOW)
    assert str(receiver.value) == str(verifier.value)
    assert receiver.value.param == verifier.value.param == "secret"


# --- routing to waiters (client.webhooks) -------------------------------------------------


@pytest.fixture
async def octopus() -> AsyncIterator[OctopusClient]:
    async with OctopusClient("k", "s", base_url="http://api.test") as client:
        yield client


ROUTES = [
    pytest.param("order.delivered", ORDER_DATA, [("vouchers", 12345, "MY_ORDER_001")], id="order"),
    pytest.param(
        "order.partially_delivered",
        {"id": 12346, "status": "PARTIALLY_DELIVERED", "reference_code": "BULK_ORDER_001"},
        [("vouchers", 12346, "BULK_ORDER_001")],
        id="order-partial",
    ),
    pytest.param(
        "order.failed", {"id": 7, "status": "FAILED"}, [("vouchers", 7, None)], id="order-no-ref"
    ),
    pytest.param(
        "topup.delivered", {"id": 5, "client_reference": "r"}, [("topups", 5, "r")], id="topup"
    ),
    pytest.param(
        "topup.failed",
        {"id": "not-an-int", "reference_code": "r2"},
        [("topups", None, "r2")],
        id="topup-odd-id",
    ),
    pytest.param(
        "esim.installed",
        {"id": 9302481, "client_reference": "TRIP_TOKYO_OCT"},
        [
            ("esim", 9302481, "TRIP_TOKYO_OCT"),
            ("esim.installed", 9302481, "TRIP_TOKYO_OCT"),
            ("esim.activated", 9302481, "TRIP_TOKYO_OCT"),
        ],
        id="esim",
    ),
    pytest.param("wallet.credited", {"wallet_id": 1, "amount": "5.00"}, [], id="wallet"),
    pytest.param("payout.sent", {"id": 3, "client_reference": "p"}, [], id="unknown-vertical"),
]


@pytest.mark.parametrize(("event_type", "data", "nudges"), ROUTES)
async def test_handler_nudges_the_waiters_of_the_order(
    monkeypatch: pytest.MonkeyPatch,
    octopus: OctopusClient,
    event_type: str,
    data: dict[str, Any],
    nudges: list[tuple[str, int | None, str | None]],
) -> None:
    calls: list[tuple[str, int | None, str | None]] = []

    def nudge(
        vertical: str, *, order_id: int | None = None, client_reference: str | None = None
    ) -> bool:
        calls.append((vertical, order_id, client_reference))
        return False

    monkeypatch.setattr(octopus.scheduler, "nudge", nudge)
    recorder = Recorder()
    receiver = octopus.webhooks.handler(secret=SECRET, on_event=recorder)
    body, headers = delivery(event_type=event_type, data=data)
    async with serving(receiver) as http:
        assert (await http.post("/webhooks", data=body, headers=headers)).status == 200
        await receiver.aclose()
    assert calls == nudges
    assert [event.id for event in recorder.events] == ["evt_1"]


async def test_handler_with_nobody_waiting_still_runs_on_event(octopus: OctopusClient) -> None:
    recorder = Recorder()
    receiver = octopus.webhooks.handler(secret=SECRET, on_event=recorder)
    body, headers = delivery()
    async with serving(receiver) as http:
        assert (await http.post("/webhooks", data=body, headers=headers)).status == 200
        await receiver.aclose()
    assert [event.id for event in recorder.events] == ["evt_1"]
    assert receiver.stats == ReceiverStats(accepted=1)


def test_event_order_names_the_order_of_every_order_event() -> None:
    typed = parse_event(envelope("order.delivered"))
    assert event_order(typed) == EventOrder("vouchers", 12345, "MY_ORDER_001")
    # A payload the SDK could not type still names its order, from the raw ids.
    untyped = parse_event(envelope("topup.failed", {"id": "77", "reference_code": "pay-7"}))
    assert type(untyped) is UnknownEvent
    assert event_order(untyped) == EventOrder("topups", 77, "pay-7")
    assert event_order(parse_event(envelope("esim.installed", {"id": 9}))) == EventOrder(
        "esim", 9, None
    )
    assert event_order(parse_event(envelope("wallet.debited", {"id": 1}))) is None
