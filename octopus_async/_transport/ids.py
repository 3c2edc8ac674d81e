"""Identifiers the client mints: request ids (D10) and order references (D23)."""

from __future__ import annotations

import os
import time
import uuid

from ..errors import InvalidRequestError

__all__ = ["check_client_reference", "new_client_reference", "new_request_id"]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Random bytes to base62 digits in one `bytes.translate` (256 = 4 * 62 + 8: the first eight
# digits come up a little more often, which costs an id under 0.2 of its 125 random bits).
_RANDOM_DIGITS = bytes(ord(_BASE62[value % 62]) for value in range(256))
_TIME_DIGITS = 6  # 62**6 seconds is over 1,700 years
_RANDOM_LENGTH = 27 - _TIME_DIGITS


class _Second:
    """The time prefix of ids, made once a second."""

    __slots__ = ("prefix", "second")

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""

    def of(self, second: int) -> str:
        if second != self.second:
            digits, rest = [], second
            for _ in range(_TIME_DIGITS):
                rest, digit = divmod(rest, 62)
                digits.append(_BASE62[digit])
            self.second, self.prefix = second, "".join(reversed(digits))
        return self.prefix


_second = _Second()


def new_request_id() -> str:
    """A KSUID-like id (D10): 27 base62 characters, the seconds since 1970 (6 characters)
    then 21 random ones, so that ids sort by creation time (to the second) and keep server
    logs readable."""
    prefix = _second.of(int(time.time()))
    return prefix + os.urandom(_RANDOM_LENGTH).translate(_RANDOM_DIGITS).decode("ascii")


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
