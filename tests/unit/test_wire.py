"""The wire format (octopus_async._transport.wire).

Covers exact JSON encoding of request bodies (D6), query strings, Decimal-only decoding,
the `{success, data}` envelope (D2), error bodies of any shape (D3) and `Retry-After`
parsing, including the fallback to the 429 message (D20).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import pytest

from octopus_async._transport.wire import (
    ErrorBody,
    decode_json,
    encode_json,
    encode_query,
    parse_error_body,
    parse_retry_after,
    unwrap_envelope,
)
from octopus_async.models import TransactionType
from octopus_async.models._convert import OutOfRangeNumber


def _floats(value: Any) -> list[float]:
    """Every float anywhere inside a decoded JSON document."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for item in value.values() for f in _floats(item)]
    if isinstance(value, list):
        return [f for item in value for f in _floats(item)]
    return []


# --- encode_json ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (Decimal("50.00"), b"50.00"),
        (Decimal("1.0850"), b"1.0850"),
        (Decimal("0.1"), b"0.1"),
        (Decimal("-0.50"), b"-0.50"),
        (Decimal("0"), b"0"),
        (Decimal("1E+2"), b"100"),
        (Decimal("1.5E+3"), b"1500"),
        (Decimal("1E-7"), b"0.0000001"),
        (
            Decimal("123456789012345678901234567890.123456789"),
            b"123456789012345678901234567890.123456789",
        ),
    ],
)
def test_encode_json_writes_decimals_exactly(number: Decimal, expected: bytes) -> None:
    assert encode_json(number) == expected
    assert encode_json({"amount": number}) == b'{"amount":' + expected + b"}"


def test_encode_json_docs_request_body_keeps_money_formatting() -> None:
    body = {"denomination": Decimal("50.00"), "quantity": 5, "wallet_id": 1}
    assert encode_json(body) == b'{"denomination":50.00,"quantity":5,"wallet_id":1}'


def test_encode_json_nested_structures() -> None:
    document = {
        "a": [Decimal("1.10"), {"b": Decimal("2.5"), "c": [None, True, False]}],
        "d": {"e": {"f": "g"}},
        "h": 3,
        "i": [],
        "j": {},
    }
    encoded = encode_json(document)
    assert encoded == (
        b'{"a":[1.10,{"b":2.5,"c":[null,true,false]}],"d":{"e":{"f":"g"}},"h":3,"i":[],"j":{}}'
    )
    assert json.loads(encoded, parse_float=Decimal) == document


def test_encode_json_tuple_is_an_array() -> None:
    assert encode_json({"ids": (1, 2, Decimal("3.0"))}) == b'{"ids":[1,2,3.0]}'


def test_encode_json_finite_float_is_a_number() -> None:
    assert encode_json({"rate": 0.1}) == b'{"rate":0.1}'


def test_encode_json_open_enum_is_a_plain_string() -> None:
    assert encode_json({"type": TransactionType.DEBIT}) == b'{"type":"DEBIT"}'
    assert encode_json([TransactionType("REVERSAL")]) == b'["REVERSAL"]'


@pytest.mark.parametrize(
    "bad",
    [
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        float("nan"),
        float("inf"),
        float("-inf"),
    ],
    ids=repr,
)
@pytest.mark.parametrize(
    "wrap",
    [lambda v: v, lambda v: {"amount": v}, lambda v: [1, v], lambda v: {"a": [{"b": v}]}],
    ids=["bare", "in-object", "in-array", "deep"],
)
def test_encode_json_rejects_non_finite_numbers(bad: Any, wrap: Any) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        encode_json(wrap(bad))


def test_encode_json_refuses_values_json_cannot_hold() -> None:
    # Not silently str()-ed: a datetime must be formatted by the caller.
    with pytest.raises(TypeError):
        encode_json({"when": datetime(2025, 1, 15, tzinfo=timezone.utc)})


STRINGS = [
    "plain",
    'quote " and backslash \\',
    "newline\n tab\t return\r",
    "control \x00 \x1f",
    "unicode é € 中文",
    "emoji 😀",
    "</script>",
    "eyJ…",
    "",
]


@pytest.mark.parametrize("text", STRINGS)
def test_encode_json_escapes_strings_like_json_dumps(text: str) -> None:
    assert encode_json(text) == json.dumps(text).encode()
    assert encode_json({text: text}) == json.dumps({text: text}, separators=(",", ":")).encode()
    assert json.loads(encode_json({"k": text})) == {"k": text}


# --- encode_query -----------------------------------------------------------------------


def test_encode_query_converts_values_to_strings() -> None:
    query = encode_query(
        {
            "wallet_id": 1,
            "page": 2,
            "skip": None,
            "active": True,
            "archived": False,
            "min_amount": Decimal("1E+2"),
            "max_amount": Decimal("50.00"),
            "country": "USA",
        }
    )
    assert query == {
        "wallet_id": "1",
        "page": "2",
        "active": "true",
        "archived": "false",
        "min_amount": "100",
        "max_amount": "50.00",
        "country": "USA",
    }


def test_encode_query_all_none_is_empty() -> None:
    assert encode_query({"a": None, "b": None}) == {}


# --- decode_json ------------------------------------------------------------------------


def test_decode_json_fractions_are_decimal_ints_stay_int() -> None:
    data = decode_json(
        b'{"amount": 50.00, "rate": 1.0850, "fee": 0.0, "exp": 1e2, "neg": -0.5,'
        b' "n": 3, "big": 12345678901234567890, "nested": [{"x": 4.7405}, 2.25]}'
    )
    assert _floats(data) == []
    assert data["amount"] == Decimal("50.00")
    assert str(data["amount"]) == "50.00"
    assert str(data["rate"]) == "1.0850"
    assert str(data["fee"]) == "0.0"
    assert data["exp"] == Decimal(100)
    assert data["neg"] == Decimal("-0.5")
    assert type(data["n"]) is int
    assert data["n"] == 3
    assert type(data["big"]) is int
    assert data["big"] == 12345678901234567890
    assert data["nested"] == [{"x": Decimal("4.7405")}, Decimal("2.25")]


def test_decode_json_is_not_lossy_where_float_would_be() -> None:
    data = decode_json(b"[0.1, 1.00000000000000000001]")
    assert data == [Decimal("0.1"), Decimal("1.00000000000000000001")]


@pytest.mark.parametrize(
    "number",
    [b"NaN", b"Infinity", b"-Infinity", b"1e999999999999999999999", b"-1E+99999999999999999999"],
)
def test_decode_json_keeps_numbers_no_python_number_holds_as_text(number: bytes) -> None:
    # Python's parser would turn the literals into floats (breaking D6), and Decimal refuses
    # the exponent: one absurd value costs its field, not the whole body.
    data = decode_json(b'{"amount": ' + number + b', "id": 7}')
    assert data == {"amount": number.decode(), "id": 7}
    assert type(data["amount"]) is OutOfRangeNumber


def test_decode_json_keeps_integers_beyond_the_conversion_limit_as_text() -> None:
    digits = "9" * 5000  # over sys.get_int_max_str_digits()
    assert decode_json(f"[{digits}, 1]".encode()) == [OutOfRangeNumber(digits), 1]


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_decode_json_deep_nesting_is_not_json(depth: int) -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        decode_json(b"[" * depth)
    with pytest.raises(ValueError, match="nested too deeply"):
        decode_json(b'{"a":' * depth + b"1" + b"}" * depth)


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b"", b"{", b"\xff\xfe"])
def test_decode_json_raises_value_error_on_non_json(body: bytes) -> None:
    # The transport relies on ValueError to report "the body is not JSON".
    with pytest.raises(ValueError):  # noqa: PT011 - ValueError is exactly the contract
        decode_json(body)


# --- unwrap_envelope --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "payload", "success"),
    [
        ({"success": True, "data": {"access_token": "a"}}, {"access_token": "a"}, True),
        ({"success": True, "data": {"message": "ok"}, "extra": 1}, {"message": "ok"}, True),
        ({"success": False, "data": None}, None, False),
        ({"success": True, "data": [1, 2]}, [1, 2], True),
        ({"success": True, "data": {"status": "PENDING"}}, {"status": "PENDING"}, True),
        # The bare `data` wrapper the docs' polling samples read (D2), with or without a
        # success flag, a message or meta.
        ({"data": {"id": 1}}, {"id": 1}, None),
        ({"data": None}, None, None),
        ({"data": [1], "meta": {"page": 1}, "message": "ok"}, [1], None),
        ({"success": "yes", "data": {"id": 1}}, {"id": 1}, None),
        ({"success": 1, "data": {"id": 1}}, {"id": 1}, None),
        ({"success": None, "data": {"id": 1}}, {"id": 1}, None),
    ],
    ids=repr,
)
def test_unwrap_envelope_unwraps(document: Any, payload: Any, success: bool | None) -> None:
    assert unwrap_envelope(document) == (payload, success)


@pytest.mark.parametrize(
    "document",
    [
        {"id": 1, "status": "DELIVERED"},
        [{"id": 1}, {"id": 2}],
        [],
        {"success": True},
        {"data": {"id": 1}, "id": 5},  # an object that has a `data` field is not a wrapper
        {"data": [1], "links": {}},
        "text",
        None,
        Decimal("1.5"),
    ],
    ids=repr,
)
def test_unwrap_envelope_leaves_other_documents_untouched(document: Any) -> None:
    payload, success = unwrap_envelope(document)
    assert payload is document
    assert success is None


# --- parse_error_body -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"error":{"name":"BadRequestError","code":"BAD_REQUEST",'
            b'"message":"Duplicate client_reference"}}',
            ErrorBody("BadRequestError", "BAD_REQUEST", "Duplicate client_reference"),
        ),
        (
            b'{"error":{"code":"NOT_FOUND"}}',
            ErrorBody(None, "NOT_FOUND", None),
        ),
        (
            b'{"error":{"name":1,"code":null,"message":["not","text"]}}',
            ErrorBody(None, None, None),
        ),
        (
            b'{"error":{"name":"X","code":{"nested":true},"message":"m"}}',
            ErrorBody("X", None, "m"),
        ),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", ErrorBody(None, None, None)),
        (b"", ErrorBody(None, None, None)),
        (b"   ", ErrorBody(None, None, None)),
        (b"\xff\xfe\x00", ErrorBody(None, None, None)),
        (b'[{"error":{"code":"BAD_REQUEST"}}]', ErrorBody(None, None, None)),
        (b'{"error":"something broke"}', ErrorBody(None, None, None)),
        (b'{"error":null}', ErrorBody(None, None, None)),
        (b'{"message":"no error key"}', ErrorBody(None, None, None)),
        (b"null", ErrorBody(None, None, None)),
        (b"42", ErrorBody(None, None, None)),
    ],
    ids=[
        "documented",
        "partial",
        "non-string-fields",
        "one-bad-field",
        "html",
        "empty",
        "blank",
        "not-utf8",
        "json-array",
        "error-is-string",
        "error-is-null",
        "no-error-key",
        "json-null",
        "json-number",
    ],
)
def test_parse_error_body(body: bytes, expected: ErrorBody) -> None:
    parsed = parse_error_body(body)
    assert parsed == expected
    assert (parsed.name, parsed.code, parsed.message) == tuple(expected)


# --- parse_retry_after ------------------------------------------------------------------

NOW = datetime(2025, 1, 15, 14, 30, tzinfo=timezone.utc)
RATE_LIMIT_MESSAGE = "Rate limit exceeded. Retry after 12 seconds."


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


@pytest.mark.parametrize(
    ("header", "message", "expected"),
    [
        ("12", None, 12.0),
        ("0", None, 0.0),
        (" 7 ", None, 7.0),
        ("1.5", None, 1.5),
        ("0.25", None, 0.25),
        ("-5", None, 0.0),
        ("-0.5", None, 0.0),
        ("12", "Rate limit exceeded. Retry after 30 seconds.", 12.0),
        (None, RATE_LIMIT_MESSAGE, 12.0),
        ("", RATE_LIMIT_MESSAGE, 12.0),
        (None, "retry AFTER 1 second", 1.0),
        (None, "Retry after 2.5 seconds.", 2.5),
        ("soon", RATE_LIMIT_MESSAGE, 12.0),
        ("Thu, 99 Foo 2025 nonsense", RATE_LIMIT_MESSAGE, 12.0),
        ("nan", RATE_LIMIT_MESSAGE, 12.0),
        ("inf", RATE_LIMIT_MESSAGE, 12.0),
        ("inf", None, 86_400.0),  # finite and capped, never infinite
        ("1e400", None, 86_400.0),
        ("999999999", None, 86_400.0),
        (None, "Retry after " + "9" * 400 + " seconds.", 86_400.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None, 86_400.0),
        ("soon", None, None),
        (None, None, None),
        ("", "", None),
        (None, "Too many requests", None),
    ],
)
def test_parse_retry_after(header: str | None, message: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, message, now=NOW.timestamp()) == expected


@pytest.mark.parametrize("seconds", [1, 30, 3600])
def test_parse_retry_after_http_date_in_the_future(seconds: int) -> None:
    header = _http_date(NOW + timedelta(seconds=seconds))
    assert parse_retry_after(header, None, now=NOW.timestamp()) == pytest.approx(seconds)


def test_parse_retry_after_http_date_wins_over_message() -> None:
    header = _http_date(NOW + timedelta(seconds=5))
    assert parse_retry_after(header, RATE_LIMIT_MESSAGE, now=NOW.timestamp()) == pytest.approx(5)


@pytest.mark.parametrize("seconds_ago", [1, 3600])
def test_parse_retry_after_http_date_in_the_past_is_zero(seconds_ago: int) -> None:
    header = _http_date(NOW - timedelta(seconds=seconds_ago))
    assert parse_retry_after(header, RATE_LIMIT_MESSAGE, now=NOW.timestamp()) == 0.0


def test_parse_retry_after_literal_rfc_7231_example() -> None:
    header = "Wed, 21 Oct 2015 07:28:00 GMT"
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=timezone.utc).timestamp()
    assert parse_retry_after(header, None, now=now) == pytest.approx(30)
