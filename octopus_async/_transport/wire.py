"""The wire format: exact JSON both ways, the envelope, error bodies and Retry-After."""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

from ..models._convert import OutOfRangeNumber

__all__ = [
    "MAX_RETRY_AFTER",
    "ErrorBody",
    "decode_json",
    "encode_json",
    "encode_query",
    "parse_error_body",
    "parse_retry_after",
    "unwrap_envelope",
]


def encode_json(value: Any) -> bytes:
    """Serialise a request body; Decimals are written as exact JSON numbers."""
    try:
        text = json.dumps(value, default=_mark_decimal, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise ValueError("cannot send a non-finite number") from None
    return _MARKED.sub(r"\1", text).encode()


# json.dumps cannot write a Decimal as a number without going through float, so each is
# written as a marked string first (the NUL is escaped as \u0000, the nonce makes the mark
# impossible to meet in real text) and unmarked into a bare number afterwards.
_NONCE = secrets.token_hex(8)
_MARKED = re.compile(r'"\\u0000' + _NONCE + r'([-+.0-9E]+)\\u0000"')


def _mark_decimal(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite")
        return f"\x00{_NONCE}{format(value, 'f')}\x00"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_query(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as strings; None values are left out."""
    query: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            query[key] = "true" if value else "false"
        elif isinstance(value, Decimal):
            query[key] = format(value, "f")
        else:
            query[key] = str(value)
    return query


def _fraction(text: str) -> Decimal | OutOfRangeNumber:
    try:
        return Decimal(text)
    except InvalidOperation:  # an exponent beyond what Decimal can hold
        return OutOfRangeNumber(text)


def _integer(text: str) -> int | OutOfRangeNumber:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return OutOfRangeNumber(text)


# One decoder for every response: json.loads would build a new one per call. Numbers that
# no Python number holds exactly (and the non-standard NaN and Infinity) are kept as their
# text, so one absurd value costs its field, not the whole answer.
_DECODER = json.JSONDecoder(
    parse_float=_fraction, parse_int=_integer, parse_constant=OutOfRangeNumber
)
# The common case first, without the hooks above: integers are read in C and fractions by
# Decimal itself. A number that they cannot hold raises, and any failure, or whitespace
# around the document, leaves the body to `_DECODER`, which decides.
_COMMON = json.JSONDecoder(parse_float=Decimal, parse_constant=OutOfRangeNumber)


def decode_json(body: bytes) -> Any:
    """Parse a UTF-8 body; JSON fractions become Decimal, never float (D6).

    Raises `ValueError` for anything that is not JSON, including invalid UTF-8 and
    nesting deeper than the parser can follow.
    """
    text = body.decode("utf-8")
    try:
        document, end = _COMMON.raw_decode(text)
        if end == len(text):
            return document
    except (ValueError, ArithmeticError, RecursionError):
        pass
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


_ENVELOPE_KEYS = frozenset({"data", "success", "message", "meta"})


def unwrap_envelope(document: Any) -> tuple[Any, bool | None]:
    """Strip a ``{"success": bool, "data": ...}`` or ``{"data": ...}`` wrapper (D2).

    An object is an envelope when it has `data` and a boolean `success`, or `data` and no
    other keys but `success`, `message` and `meta`. Returns the payload and the envelope's
    `success` flag (None when it had none).
    """
    if not (isinstance(document, dict) and "data" in document):
        return document, None
    success = document.get("success")
    if isinstance(success, bool):
        return document["data"], success
    if document.keys() <= _ENVELOPE_KEYS:
        return document["data"], None
    return document, None


class ErrorBody(NamedTuple):
    name: str | None
    code: str | None
    message: str | None


_NO_ERROR_BODY = ErrorBody(None, None, None)


def parse_error_body(body: bytes) -> ErrorBody:
    """Read ``{"error": {"name", "code", "message"}}``; any other body gives all None (D3)."""
    try:
        document = decode_json(body)
    except ValueError:
        return _NO_ERROR_BODY
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return _NO_ERROR_BODY

    def text(key: str) -> str | None:
        value = error.get(key)
        # A number no Python number holds (NaN, 1e999999999999) is kept as its text by the
        # decoder, but it was no string: like any other number, it is no code or message.
        return value if isinstance(value, str) and type(value) is not OutOfRangeNumber else None

    return ErrorBody(text("name"), text("code"), text("message"))


_RETRY_IN_MESSAGE = re.compile(r"retry after (\d+(?:\.\d+)?) seconds?", re.IGNORECASE | re.ASCII)
# No server means a wait of more than a day; a larger figure is garbage, read as a day.
MAX_RETRY_AFTER = 86_400.0


def parse_retry_after(
    header: str | None, message: str | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or HTTP date) or the 429 message (D20).

    Decimal seconds are accepted too: the local sandbox sends them when it runs time-scaled.
    The result is finite, from 0 to `MAX_RETRY_AFTER`.
    """
    seconds: float | None = None
    if header:
        header = header.strip()
        try:
            seconds = float(header)
        except ValueError:
            seconds = _seconds_until(header, time.time() if now is None else now)
    if (seconds is None or not math.isfinite(seconds)) and message:
        match = _RETRY_IN_MESSAGE.search(message[:1000])
        if match:
            seconds = float(match.group(1))
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _seconds_until(http_date: str, now: float) -> float | None:
    try:
        when: datetime = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return when.timestamp() - now
