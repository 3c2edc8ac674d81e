"""The sandbox's JSON, both ways, written apart from the SDK's so the two can disagree.

Money is Decimal on both sides: request bodies are read with fractions as Decimal, and a
Decimal is written as an exact JSON number, never through float.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

__all__ = ["decode_json", "encode_json"]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# One decoder for every body: json.loads would build a new one per call. NaN and Infinity,
# which Python's parser accepts as floats, are refused: they are not JSON.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)


def decode_json(body: bytes) -> Any:
    """A JSON body, with fractions as Decimal; ValueError when it is not JSON in UTF-8."""
    return _DECODER.decode(body.decode("utf-8"))


def encode_json(value: Any) -> bytes:
    """`value` as compact JSON: Decimals are exact numbers, floats and other types refused.

    Accepts None, bool, int, str, finite Decimal, lists and tuples, and dicts with str keys;
    raises TypeError for anything else (floats included: the sandbox has none) and
    ValueError for a NaN or infinite Decimal.
    """
    pieces: list[str] = []
    _write(value, pieces.append)
    return "".join(pieces).encode("ascii")


# Dispatch on the exact type: one dict lookup is faster than a chain of isinstance calls,
# and a bool, being an int subclass, would otherwise be written as 1 or 0.
_SCALARS: dict[type, Callable[[Any], str]] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    bool: lambda flag: "true" if flag else "false",
    type(None): lambda _: "null",
}


def _write(value: Any, emit: Callable[[str], None]) -> None:
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        emit(scalar(value))
    elif type(value) is Decimal:
        emit(_number(value))
    elif type(value) is dict:
        _write_object(value, emit)
    elif type(value) is list or type(value) is tuple:
        _write_array(value, emit)
    else:
        raise TypeError(f"the sandbox cannot write {type(value).__name__} as JSON")


def _write_object(document: dict[Any, Any], emit: Callable[[str], None]) -> None:
    separator = "{"
    for key, item in document.items():
        if type(key) is not str:
            raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
        emit(separator)
        emit(encode_basestring_ascii(key))
        emit(":")
        _write(item, emit)
        separator = ","
    emit("}" if separator == "," else "{}")


def _write_array(items: list[Any] | tuple[Any, ...], emit: Callable[[str], None]) -> None:
    separator = "["
    for item in items:
        emit(separator)
        _write(item, emit)
        separator = ","
    emit("]" if separator == "," else "[]")


def _number(value: Decimal) -> str:
    text = str(value)
    # str() is the fast path but writes an exponent for very large or small numbers (1E+3)
    # and a name for the non-finite ones, so those take the slow path.
    if text[-1].isdigit() and "E" not in text and "e" not in text:
        return text
    if not value.is_finite():
        raise ValueError(f"cannot write {value} as a JSON number")
    return format(value, "f")
