"""Identifiers the client mints: request ids (D10)."""

from __future__ import annotations

import os
import time

__all__ = ["new_request_id"]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KSUID_EPOCH = 1_400_000_000
_KSUID_LENGTH = 27


def new_request_id() -> str:
    """A KSUID: 4 bytes of seconds since the KSUID epoch and 16 random bytes, in base62.

    Ids sort by creation time (to the second), which keeps server logs readable.
    """
    timestamp = int(time.time()) - _KSUID_EPOCH
    number = int.from_bytes(timestamp.to_bytes(4, "big") + os.urandom(16), "big")
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits)).rjust(_KSUID_LENGTH, "0")
