"""Models and the converter (octopus_async.models, octopus_async.models._convert).

Covers RFC 3339 times as aware UTC datetimes (D7), exact Decimal money (D6), strict
scalar types, unknown fields kept in `.raw` (D8), open enums (D9), `ShapeError` paths that
never leak the offending value (D17), and the helpers on Transaction, ChargesQuote and
TokenSet.
"""

from __future__ import annotations

import json
import pickle
import traceback
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from octopus_async.models import (
    ChargesDetails,
    ChargesQuote,
    Country,
    Currency,
    OpenEnum,
    TokenSet,
    Transaction,
    TransactionStatus,
    TransactionType,
    Wallet,
    WalletType,
)
from octopus_async.models._convert import ShapeError, structure

UTC = timezone.utc
SECRET = "PIN-9999-SECRET"

TX: dict[str, Any] = {
    "id": 456,
    "wallet_id": 1,
    "currency_id": 1,
    "amount": Decimal("50.00"),
    "transaction_type": "DEBIT",
    "status": "COMPLETED",
    "source_currency": None,
    "destination_currency": None,
    "forex_rate": None,
    "conversion_charges": None,
    "remarks": "USD Wallet debited by amount 50.00 - Order #12345",
    "created_at": "2025-01-15T14:30:00Z",
}

QUOTE: dict[str, Any] = {
    "non_discounted_total": Decimal("250.00"),
    "discount_amount": Decimal("8.75"),
    "total_amount": Decimal("241.25"),
    "net_amount": Decimal("282.26"),
    "handling_fee_amount": Decimal("0.00"),
    "total_payable": Decimal("282.26"),
    "charges_details": {
        "source_currency": "GBP",
        "destination_currency": "EUR",
        "forex_rate": Decimal("1.1700"),
        "conversion_fee": Decimal("0.0"),
    },
}


def tx(**changes: Any) -> dict[str, Any]:
    return {**TX, **changes}


# --- RFC 3339 (D7) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-15T14:30:00Z", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2025-01-15T14:30:00z", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2025-01-15t14:30:00Z", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2025-01-15T14:30:00+00:00", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2025-01-15T14:30:00-00:00", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2025-01-15T20:00:00+05:30", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2025-01-15T06:30:00-08:00", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2025-01-01T01:00:00+05:30", datetime(2024, 12, 31, 19, 30, tzinfo=UTC)),
        ("2024-12-31T20:00:00-08:00", datetime(2025, 1, 1, 4, 0, tzinfo=UTC)),
        ("2025-01-15T14:30:00", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
        ("2025-01-15T20:00:00.5+05:30", datetime(2025, 1, 15, 14, 30, 0, 500000, tzinfo=UTC)),
    ],
)
def test_rfc3339_instant_in_utc(text: str, expected: datetime) -> None:
    parsed = structure(text, datetime)
    assert parsed == expected
    assert parsed.tzinfo is not None
    assert parsed.utcoffset() == timedelta(0)
    # Same wall-clock fields as the UTC instant, not just an equal instant in another zone.
    assert parsed.replace(tzinfo=None) == expected.replace(tzinfo=None)


@settings(max_examples=300, deadline=None)
@given(
    wall=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30)),
    offset_minutes=st.integers(-(23 * 60 + 59), 23 * 60 + 59),
    digits=st.integers(0, 9),
    separator=st.sampled_from("Tt "),
    colon=st.booleans(),
    zulu=st.sampled_from(["Z", "z", None]),
)
def test_any_rfc3339_text_reads_as_its_instant(
    wall: datetime, offset_minutes: int, digits: int, separator: str, colon: bool, zulu: str | None
) -> None:
    fraction = f"{wall.microsecond:06d}000"[:digits]
    kept = int(fraction[:6].ljust(6, "0")) if digits else 0
    if zulu:
        offset_minutes, suffix = 0, zulu
    else:
        sign = "-" if offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(offset_minutes), 60)
        suffix = f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"
    text = wall.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + (f".{fraction}" if digits else "")
    expected = wall.replace(microsecond=kept, tzinfo=UTC) - timedelta(minutes=offset_minutes)

    assert structure(text + suffix, datetime) == expected


@pytest.mark.parametrize("digits", range(1, 10))
def test_rfc3339_fractional_seconds(digits: int) -> None:
    fraction = "123456789"[:digits]
    parsed = structure(f"2025-01-15T14:30:00.{fraction}Z", datetime)
    micro = int(fraction[:6].ljust(6, "0"))
    assert parsed == datetime(2025, 1, 15, 14, 30, 0, micro, tzinfo=UTC)


def test_rfc3339_in_a_model_field() -> None:
    model = structure(tx(created_at="2025-01-15T09:30:00.250-05:00"), Transaction)
    assert model.created_at == datetime(2025, 1, 15, 14, 30, 0, 250000, tzinfo=UTC)
    assert model.created_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "2025-02-30T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-01-32T00:00:00Z",
        "2025-01-15T24:00:00Z",
        "2025-01-15T14:60:00Z",
        "2025-01-15T14:30:00+24:00",
        "2025-01-15",
        "2025-01-15T14:30Z",
        "2025-01-15T14:30:00.Z",
        "2025-01-15T14:30:00+5:30",
        "2025-01-15T14:30:00 UTC",
        "15/01/2025 14:30:00",
        "garbage",
        "",
        1736951400,
        Decimal("1736951400.5"),
        None,
        ["2025-01-15T14:30:00Z"],
    ],
    ids=repr,
)
def test_rfc3339_rejects(value: Any) -> None:
    with pytest.raises(ShapeError):
        structure(value, datetime)
    with pytest.raises(ShapeError) as info:
        structure(tx(created_at=value), Transaction)
    assert info.value.field == "created_at"


@pytest.mark.parametrize("offset", ["+05:60", "+05:99", "-00:75"])
def test_rfc3339_rejects_offset_minutes_above_59(offset: str) -> None:
    with pytest.raises(ShapeError):
        structure(f"2025-01-15T14:30:00{offset}", datetime)


# --- Decimal (D6) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (50, "50"),
        (0, "0"),
        (-3, "-3"),
        (Decimal("50.00"), "50.00"),
        (Decimal("1.0850"), "1.0850"),
        ("50.00", "50.00"),
        ("4.7405", "4.7405"),
        (" 12.5 ", "12.5"),
        ("-0.25", "-0.25"),
        (0.1, "0.1"),  # via repr, not the float's binary expansion
    ],
    ids=repr,
)
def test_decimal_field_accepts(value: Any, expected: str) -> None:
    amount = structure(tx(amount=value), Transaction).amount
    assert type(amount) is Decimal
    assert str(amount) == expected


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        "abc",
        "",
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        Decimal("NaN"),
        Decimal("Infinity"),
        float("nan"),
        float("inf"),
        {},
        {"value": 1},
        [1],
        None,
    ],
    ids=repr,
)
def test_decimal_field_rejects(value: Any) -> None:
    with pytest.raises(ShapeError) as info:
        structure(tx(amount=value), Transaction)
    assert info.value.field == "amount"


def test_optional_decimal_field_accepts_null_and_rejects_junk() -> None:
    assert structure(tx(forex_rate=None), Transaction).forex_rate is None
    assert structure(tx(forex_rate=Decimal("1.0850")), Transaction).forex_rate == Decimal("1.0850")
    with pytest.raises(ShapeError) as info:
        structure(tx(forex_rate="abc"), Transaction)
    assert info.value.field == "forex_rate"


# --- strict str / int / bool ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("remarks", None),
        ("remarks", 1),
        ("remarks", Decimal("1.5")),
        ("remarks", True),
        ("remarks", ["x"]),
        ("source_currency", 840),
        ("id", True),
        ("id", False),
        ("id", "456"),
        ("id", Decimal("456")),
        ("id", Decimal("456.0")),
        ("id", 456.0),
        ("id", None),
        ("wallet_id", {"id": 1}),
        ("transaction_type", 1),
        ("transaction_type", None),
        ("status", True),
    ],
)
def test_strict_scalar_types(field: str, value: Any) -> None:
    with pytest.raises(ShapeError) as info:
        structure(tx(**{field: value}), Transaction)
    assert info.value.field == field


@pytest.mark.parametrize("field", ["id", "remarks", "amount", "created_at", "transaction_type"])
def test_required_field_missing(field: str) -> None:
    document = {k: v for k, v in TX.items() if k != field}
    with pytest.raises(ShapeError) as info:
        structure(document, Transaction)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("value", "ok"), [(True, True), (False, True), (1, False), (0, False), ("true", False)]
)
def test_strict_bool(value: Any, ok: bool) -> None:
    if ok:
        assert structure(value, bool) is value
    else:
        with pytest.raises(ShapeError):
            structure(value, bool)


def test_currency_precision_must_be_an_integer() -> None:
    document = {"id": 2, "name": "Euro", "currency": "EUR", "precision": "2"}
    with pytest.raises(ShapeError) as info:
        structure(document, Currency)
    assert info.value.field == "precision"


# --- unknown fields and .raw (D8) -------------------------------------------------------


def test_unknown_fields_ignored_and_kept_in_raw() -> None:
    document = {
        "id": 1,
        "name": "United States",
        "official_name": "United States of America",
        "alpha_2": "US",
        "alpha_3": "USA",
        "numeric_code": "840",
        "dialing_prefix": "+1",
        "flag": "🇺🇸",
        "regions": [{"id": 7, "rate": Decimal("0.5")}],
    }
    country = structure(document, Country)
    assert country.raw is document
    assert country.raw["flag"] == "🇺🇸"
    assert country.raw["regions"] == [{"id": 7, "rate": Decimal("0.5")}]
    assert not hasattr(country, "flag")
    assert country.alpha_3 == "USA"


def test_raw_is_the_exact_input_at_every_level() -> None:
    documents = [tx(id=1, extra="a"), tx(id=2, extra="b")]
    transactions = structure(documents, tuple[Transaction, ...])
    assert [t.raw for t in transactions] == documents
    assert all(t.raw is d for t, d in zip(transactions, documents, strict=True))

    quote = structure(QUOTE, ChargesQuote)
    assert quote.raw is QUOTE
    assert quote.charges_details.raw is QUOTE["charges_details"]


def test_input_key_named_raw_does_not_replace_raw() -> None:
    document = {"id": 1, "name": "US Dollar", "currency": "USD", "precision": 2, "raw": "x"}
    currency = structure(document, Currency)
    assert currency.raw is document


def test_raw_is_not_part_of_equality() -> None:
    a = structure(tx(extra=1), Transaction)
    b = structure(tx(extra=2), Transaction)
    assert a == b
    assert a.raw != b.raw


# --- open enums (D9) --------------------------------------------------------------------


def test_open_enum_keeps_unknown_value() -> None:
    value = TransactionType("REVERSAL")
    assert value == "REVERSAL"
    assert isinstance(value, TransactionType)
    assert isinstance(value, str)
    assert value.is_known is False
    assert repr(value) == "TransactionType('REVERSAL')"
    assert value not in (TransactionType.CREDIT, TransactionType.DEBIT)


@pytest.mark.parametrize(
    ("constant", "wire"),
    [
        (TransactionType.CREDIT, "CREDIT"),
        (TransactionType.DEBIT, "DEBIT"),
        (TransactionStatus.COMPLETED, "COMPLETED"),
        (TransactionStatus.PENDING, "PENDING"),
        (TransactionStatus.FAILED, "FAILED"),
        (WalletType.PREPAID, "PREPAID"),
        (WalletType.POSTPAID, "POSTPAID"),
    ],
)
def test_open_enum_known_constants(constant: OpenEnum, wire: str) -> None:
    assert constant == wire
    assert type(constant)(wire) == constant
    assert type(constant)(wire).is_known is True
    assert constant.is_known is True
    assert hash(constant) == hash(wire)
    assert {wire: 1}[constant] == 1
    assert repr(constant) == f"{type(constant).__name__}({wire!r})"
    assert pickle.loads(pickle.dumps(constant)) == constant


def test_open_enum_known_values_are_per_class() -> None:
    assert TransactionType("COMPLETED").is_known is False
    assert TransactionStatus("DEBIT").is_known is False


def test_open_enum_wire_value_mapping() -> None:
    class Colour(OpenEnum):
        _values: ClassVar[dict[str, str]] = {"RED": "red"}
        RED: ClassVar[Colour]
        BLUE: ClassVar[Colour]

    assert Colour.RED == "red"
    assert Colour.BLUE == "BLUE"
    assert Colour("red").is_known is True
    assert Colour("RED").is_known is False


def test_structured_enum_fields() -> None:
    model = structure(tx(transaction_type="REVERSAL", status="ON_HOLD"), Transaction)
    assert type(model.transaction_type) is TransactionType
    assert model.transaction_type == "REVERSAL"
    assert model.transaction_type.is_known is False
    assert type(model.status) is TransactionStatus
    assert model.status.is_known is False

    known = structure(TX, Transaction)
    assert known.transaction_type == TransactionType.DEBIT
    assert known.transaction_type.is_known is True


def test_wallet_type_defaults_to_prepaid() -> None:
    wallet = structure({"id": 1, "currency": "USD", "balance": Decimal("1.50")}, Wallet)
    assert wallet.type == WalletType.PREPAID
    assert wallet.balance == Decimal("1.50")
    other = structure({"id": 1, "currency": "USD", "balance": 0, "type": "CREDIT_LINE"}, Wallet)
    assert other.type == "CREDIT_LINE"
    assert other.type.is_known is False


# --- ShapeError: dotted path, never the value (D17) -------------------------------------


@pytest.mark.parametrize(
    ("document", "cls", "path"),
    [
        ([TX, tx(amount=SECRET)], tuple[Transaction, ...], "[1].amount"),
        ([TX, TX, tx(id=SECRET)], tuple[Transaction, ...], "[2].id"),
        ([tx(remarks={"pin": SECRET})], tuple[Transaction, ...], "[0].remarks"),
        ([TX, SECRET], tuple[Transaction, ...], "[1]"),
        (tx(created_at=SECRET), Transaction, "created_at"),
        (tx(transaction_type={"code": SECRET}), Transaction, "transaction_type"),
        (
            {**QUOTE, "charges_details": {**QUOTE["charges_details"], "forex_rate": SECRET}},
            ChargesQuote,
            "charges_details.forex_rate",
        ),
        (
            {**QUOTE, "charges_details": {**QUOTE["charges_details"], "source_currency": [SECRET]}},
            ChargesQuote,
            "charges_details.source_currency",
        ),
        ({**QUOTE, "charges_details": SECRET}, ChargesQuote, "charges_details"),
        ({**QUOTE, "max_quantity": SECRET}, ChargesQuote, "max_quantity"),
        ({"access_token": {"t": SECRET}, "refresh_token": "r"}, TokenSet, "access_token"),
        (SECRET, tuple[Transaction, ...], ""),
        (SECRET, Transaction, ""),
    ],
)
def test_shape_error_names_path_not_value(document: Any, cls: Any, path: str) -> None:
    with pytest.raises(ShapeError) as info:
        structure(document, cls)
    exc = info.value
    assert isinstance(exc, ValueError)
    assert exc.field == path
    assert exc.reason
    assert str(exc) == f"{path or 'body'}: {exc.reason}"
    for text in (str(exc), repr(exc), exc.reason, *map(str, exc.args)):
        assert SECRET not in text
    # The cattrs chain is suppressed, so logged tracebacks don't show it either.
    assert exc.__cause__ is None
    assert exc.__suppress_context__ is True
    assert SECRET not in "".join(traceback.format_exception(exc))


# --- tuples -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [{"0": TX}, TX, "abc", 5, None], ids=repr)
def test_tuple_rejects_non_array(value: Any) -> None:
    with pytest.raises(ShapeError) as info:
        structure(value, tuple[Transaction, ...])
    assert info.value.field == ""
    assert "array" in info.value.reason


def test_tuple_from_array() -> None:
    result = structure([TX, tx(id=455)], tuple[Transaction, ...])
    assert type(result) is tuple
    assert [t.id for t in result] == [456, 455]
    assert structure([], tuple[Transaction, ...]) == ()


# --- Transaction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount", "signed"),
    [
        ("DEBIT", "50.00", Decimal("-50.00")),
        ("CREDIT", "1000.00", Decimal("1000.00")),
        ("REVERSAL", "5.00", Decimal("5.00")),  # only a DEBIT is negated
    ],
)
def test_transaction_signed_amount(kind: str, amount: str, signed: Decimal) -> None:
    model = structure(tx(transaction_type=kind, amount=Decimal(amount)), Transaction)
    assert model.signed_amount == signed
    assert str(model.signed_amount) == str(signed)
    assert model.amount == Decimal(amount)


@pytest.mark.parametrize(
    ("remarks", "order_id"),
    [
        ("USD Wallet debited by amount 50.00 - Order #12345", 12345),
        ("EUR Wallet credited by amount 12.00 - Refund for Order #987", 987),
        ("Order #1", 1),
        ("FX conversion from EUR wallet", None),
        ("USD Wallet credited by amount 1000.00 - wire transfer", None),
        ("Order #", None),
        ("order 12345", None),
        ("", None),
    ],
)
def test_transaction_order_id(remarks: str, order_id: int | None) -> None:
    assert structure(tx(remarks=remarks), Transaction).order_id == order_id


# --- ChargesQuote -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "destination", "cross"),
    [("USD", "USD", False), ("GBP", "EUR", True), ("EUR", "USD", True)],
)
def test_charges_quote_is_cross_currency(source: str, destination: str, cross: bool) -> None:
    details = {**QUOTE["charges_details"], "source_currency": source}
    details["destination_currency"] = destination
    quote = structure({**QUOTE, "charges_details": details}, ChargesQuote)
    assert quote.is_cross_currency is cross
    assert quote.source_currency == source
    assert quote.destination_currency == destination
    assert isinstance(quote.charges_details, ChargesDetails)


# --- TokenSet ---------------------------------------------------------------------------

ACCESS = "eyJhbGciOiJIUzI1NiJ9.access-SECRET-token"
REFRESH = "eyJhbGciOiJIUzI1NiJ9.refresh-SECRET-token"


def _tokens(**changes: Any) -> TokenSet:
    fields: dict[str, Any] = {
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "access_expires_at": datetime(2025, 1, 15, 13, 0, 0, 123456, tzinfo=UTC),
        "refresh_expires_at": datetime(2025, 1, 22, 12, 0, tzinfo=UTC),
        "client_id": 42,
    }
    return TokenSet(**{**fields, **changes})


def test_token_set_repr_hides_tokens() -> None:
    tokens = _tokens()
    for text in (repr(tokens), str(tokens)):
        assert ACCESS not in text
        assert REFRESH not in text
        assert "SECRET" not in text
        assert "'***'" in text
        assert "client_id=42" in text


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"access_expires_at": None, "refresh_expires_at": None, "client_id": None},
        {"access_expires_at": datetime(2025, 1, 15, 18, 30, tzinfo=timezone(timedelta(hours=5)))},
    ],
    ids=["full", "minimal", "non-utc"],
)
def test_token_set_dict_round_trip(changes: dict[str, Any]) -> None:
    tokens = _tokens(**changes)
    data = tokens.to_dict()
    restored = TokenSet.from_dict(json.loads(json.dumps(data)))
    assert restored == tokens
    assert restored.access_token == ACCESS
    assert restored.refresh_token == REFRESH
    for moment in (restored.access_expires_at, restored.refresh_expires_at):
        assert moment is None or moment.utcoffset() == timedelta(0)


def test_token_set_from_dict_tolerates_missing_optional_keys() -> None:
    restored = TokenSet.from_dict({"access_token": ACCESS, "refresh_token": REFRESH})
    assert restored == TokenSet(access_token=ACCESS, refresh_token=REFRESH)


def test_token_set_structures_from_login_data() -> None:
    data = {
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "access_expires_at": "2025-01-15T13:00:00Z",
        "refresh_expires_at": "2025-01-22T12:00:00Z",
        "client_id": 42,
        "token_type": "Bearer",
    }
    tokens = structure(data, TokenSet)
    assert tokens.access_expires_at == datetime(2025, 1, 15, 13, tzinfo=UTC)
    assert tokens.refresh_expires_at == datetime(2025, 1, 22, 12, tzinfo=UTC)
    assert tokens.client_id == 42
    assert structure(tokens.to_dict(), TokenSet) == tokens
