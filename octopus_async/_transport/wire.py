"""The wire format: exact JSON both ways, the envelope, error bodies and Retry-After."""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

__all__ = [
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON number: {name}")


# One decoder for every response: json.loads would build a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def decode_json(body: bytes) -> Any:
    """Parse a UTF-8 response body; JSON fractions become Decimal, never float (D6).

    The non-standard literals NaN and Infinity, which Python's parser would turn into
    floats, make the body invalid.
    """
    return _DECODER.decode(body.decode("utf-8"))


def unwrap_envelope(document: Any) -> tuple[Any, bool | None]:
    """Strip a ``{"success": bool, "data": ...}`` wrapper (D2).

    Returns the payload and the envelope's `success` flag (None when there was no envelope).
    """
    if (
        isinstance(document, dict)
        and isinstance(document.get("success"), bool)
        and "data" in document
    ):
        return document["data"], document["success"]
    return document, None


class ErrorBody(NamedTuple):
    name: str | None
    code: str | None
    message: str | None


_NO_ERROR_BODY = ErrorBody(None, None, None)


def parse_error_body(body: bytes) -> ErrorBody:
    """Read ``{"error": {"name", "code", "message"}}``; any other body gives all None (D3)."""
    try:
        document = json.loads(body)
    except ValueError:
        return _NO_ERROR_BODY
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return _NO_ERROR_BODY

    def text(key: str) -> str | None:
        value = error.get(key)
        return value if isinstance(value, str) else None

    return ErrorBody(text("name"), text("code"), text("message"))


_RETRY_IN_MESSAGE = re.compile(r"retry after (\d+(?:\.\d+)?) seconds?", re.IGNORECASE | re.ASCII)


def parse_retry_after(
    header: str | None, message: str | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or HTTP date) or the 429 message (D20).

    Decimal seconds are accepted too: the local sandbox sends them when it runs time-scaled.
    """
    if header:
        header = header.strip()
        try:
            seconds: float | None = float(header)
        except ValueError:
            seconds = _seconds_until(header, time.time() if now is None else now)
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
    if message:
        match = _RETRY_IN_MESSAGE.search(message)
        if match:
            return float(match.group(1))
    return None


def _seconds_until(http_date: str, now: float) -> float | None:
    try:
        when: datetime = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return when.timestamp() - now
