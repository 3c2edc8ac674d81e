"""The SDK's JSON writer and the sandbox's own (octopus_async.sandbox._json) agree.

The sandbox writes JSON with code of its own so that it can disagree with the SDK on
purpose; on plain JSON values with exact Decimal money the two must write the same
values. hypothesis checks that both outputs read back (fractions as Decimal) as the value
written, digit for digit, and both refuse NaN and Infinity. The sandbox writer's own rules
(floats and unknown types refused, exponents expanded) are checked by example.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octopus_async._transport.wire import encode_json as sdk_encode_json
from octopus_async.sandbox._json import decode_json, encode_json

ENCODERS: dict[str, Callable[[Any], bytes]] = {"sdk": sdk_encode_json, "sandbox": encode_json}


def read_back(body: bytes) -> Any:
    return json.loads(body, parse_float=Decimal)


def assert_same(decoded: Any, written: Any) -> None:
    """`decoded` is `written` read back: equal values, Decimals with their exact digits."""
    if isinstance(written, Decimal):
        assert isinstance(decoded, (int, Decimal))
        assert not isinstance(decoded, bool)
        assert Decimal(decoded) == written
        exponent = written.as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            # A fraction keeps every digit, trailing zeros included (4.7400 is not 4.74).
            assert isinstance(decoded, Decimal)
            assert decoded.as_tuple() == written.as_tuple()
    elif isinstance(written, (list, tuple)):
        assert isinstance(decoded, list)
        assert len(decoded) == len(written)
        for decoded_item, written_item in zip(decoded, written, strict=True):
            assert_same(decoded_item, written_item)
    elif isinstance(written, dict):
        assert isinstance(decoded, dict)
        assert decoded.keys() == written.keys()
        for key, item in written.items():
            assert_same(decoded[key], item)
    else:
        assert type(decoded) is type(written)
        assert decoded == written


decimals = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=40),
    st.integers(-80, 80),
)
# Text of any Unicode character but lone surrogates, control characters included.
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), decimals, texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=6).map(tuple),
        st.dictionaries(texts, children, max_size=6),
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_property_both_writers_write_the_same_values(value: Any) -> None:
    for encode in ENCODERS.values():
        assert_same(read_back(encode(value)), value)


@pytest.mark.parametrize(
    "number",
    [
        Decimal("4.7405"),
        Decimal("50.00"),
        Decimal("-0"),
        Decimal("-0.00"),
        Decimal("0E-8"),
        Decimal("1E+3"),
        Decimal("1.0E-7"),
        Decimal("123456789012345678901234567890.123456789"),
        Decimal("9" * 60 + "E+40"),
        Decimal("1E-60"),
    ],
    ids=str,
)
def test_both_writers_write_decimals_exactly(number: Decimal) -> None:
    for encode in ENCODERS.values():
        assert_same(read_back(encode({"amount": number})), {"amount": number})


@pytest.mark.parametrize(
    "bad", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")], ids=str
)
@pytest.mark.parametrize("name", ENCODERS)
def test_both_writers_refuse_non_finite_decimals(name: str, bad: Decimal) -> None:
    with pytest.raises(ValueError, match=r"non-finite|cannot write"):
        ENCODERS[name]({"amounts": [1, bad]})


# --- the sandbox's writer by example ----------------------------------------------------


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (Decimal("4.7405"), b"4.7405"),
        (Decimal("50.00"), b"50.00"),
        (Decimal("-0"), b"-0"),
        (Decimal("1E+3"), b"1000"),
        (Decimal("1.0E-7"), b"0.00000010"),
        (Decimal("0E-8"), b"0.00000000"),
    ],
    ids=str,
)
def test_sandbox_writes_decimals_with_their_digits_and_no_exponent(
    number: Decimal, text: bytes
) -> None:
    assert encode_json(number) == text


def test_sandbox_writes_compact_json() -> None:
    document = {"id": 1, "ok": True, "gone": None, "tags": ("a", "b"), "empty": {}, "none": []}
    assert encode_json(document) == (
        b'{"id":1,"ok":true,"gone":null,"tags":["a","b"],"empty":{},"none":[]}'
    )


def test_sandbox_escapes_strings_as_ascii_json() -> None:
    text = 'quote " backslash \\ newline \n nul \x00 é 😀'
    assert encode_json({text: text}) == json.dumps({text: text}, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "value",
    [
        0.1,
        float("nan"),
        {"rate": 1.5},
        {1: "int key"},
        {"when": datetime(2025, 1, 15, tzinfo=timezone.utc)},
        {"ids": {1, 2}},
        b"bytes",
    ],
    ids=repr,
)
def test_sandbox_refuses_floats_and_what_json_cannot_hold(value: Any) -> None:
    with pytest.raises(TypeError):
        encode_json(value)


def test_sandbox_reads_fractions_as_decimal_and_refuses_nan() -> None:
    assert decode_json(b'{"amount":4.7405,"id":7}') == {"amount": Decimal("4.7405"), "id": 7}
    with pytest.raises(ValueError, match="NaN is not JSON"):
        decode_json(b'{"amount":NaN}')
    with pytest.raises(UnicodeDecodeError):
        decode_json(b'{"name":"\xff"}')
