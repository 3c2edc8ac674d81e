"""Identifiers the client mints: request ids (D10) and order references (D23)."""

from __future__ import annotations

import os
import time
import uuid

from ..errors import InvalidRequestError

__all__ = ["check_client_reference", "new_client_reference", "new_request_id"]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Two base62 digits per division halves the work of encoding 160 bits.
_DIGIT_PAIRS = [high + low for high in _BASE62 for low in _BASE62]
_KSUID_EPOCH = 1_400_000_000


def new_request_id() -> str:
    """A KSUID: 4 bytes of seconds since the KSUID epoch and 16 random bytes, in base62.

    Ids sort by creation time (to the second), which keeps server logs readable.
    """
    timestamp = int(time.time()) - _KSUID_EPOCH
    number = int.from_bytes(timestamp.to_bytes(4, "big") + os.urandom(16), "big")
    pairs = []
    for _ in range(14):
        number, pair = divmod(number, 3844)
        pairs.append(_DIGIT_PAIRS[pair])
    # 14 pairs give 28 digits; 2**160 < 62**27, so the first is always "0".
    return "".join(reversed(pairs))[1:]


def new_client_reference() -> str:
    """A fresh `client_reference` for an order the caller did not name (D23)."""
    return f"oc_{uuid.uuid4().hex}"


def check_client_reference(reference: object) -> str:
    """`reference` if it is a valid client_reference (1-255 printable ASCII characters, D23)."""
    if not isinstance(reference, str) or not 1 <= len(reference) <= 255:
        raise InvalidRequestError(
            "client_reference must be a string of 1 to 255 characters", param="client_reference"
        )
    if not all(" " <= character <= "~" for character in reference):
        raise InvalidRequestError(
            "client_reference may hold printable ASCII characters only (0x20-0x7E)",
            param="client_reference",
        )
    return reference
