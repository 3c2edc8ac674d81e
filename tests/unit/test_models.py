"""Models and the converter (octopus_async.models, octopus_async.models._convert).

Covers RFC 3339 and other ISO 8601 times as aware UTC datetimes (D7), exact Decimal money
(D6), the tolerant reader (D40: identifying fields refuse, every other field is coerced or
None and reported once per client), unknown fields kept in `.raw` (D8), open enums (D9),
errors and warnings that never leak the offending value (D17), and the helpers on
Transaction, ChargesQuote and TokenSet.
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
    OperatorMatch,
    TokenSet,
    TopupVariant,
    Transaction,
    TransactionStatus,
    TransactionType,
    Wallet,
    WalletType,
)
from octopus_async.models._convert import (
    FieldWarnings,
    OutOfRangeNumber,
    Problem,
    ShapeError,
    read,
    structure,
)

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
    ("text", "expected"),
    [
        ("2025-01-15", datetime(2025, 1, 15, tzinfo=UTC)),
        ("20250115", datetime(2025, 1, 15, tzinfo=UTC)),
        ("2025-01-15T14:30Z", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2025-01-15T14Z", datetime(2025, 1, 15, 14, tzinfo=UTC)),
        ("2025-01-15 14:30:00+0530", datetime(2025, 1, 15, 9, 0, tzinfo=UTC)),
        ("2025-01-15T14:30:00+05", datetime(2025, 1, 15, 9, 30, tzinfo=UTC)),
        ("20250115T143000Z", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
        ("2025-01-15T14:30:00,25Z", datetime(2025, 1, 15, 14, 30, 0, 250000, tzinfo=UTC)),
        ("  2025-01-15T14:30:00Z  ", datetime(2025, 1, 15, 14, 30, tzinfo=UTC)),
    ],
)
def test_other_iso8601_forms_read_as_their_instant(text: str, expected: datetime) -> None:
    # A date alone is midnight UTC; a time without an offset is UTC (D40).
    assert structure(text, datetime) == expected
    assert structure(tx(created_at=text), Transaction).created_at == expected


UNREADABLE_TIMES = [
    "2025-02-30T00:00:00Z",
    "2025-13-01T00:00:00Z",
    "2025-01-32T00:00:00Z",
    "2025-01-15T24:00:00Z",
    "2025-01-15T14:60:00Z",
    "2025-01-15T14:30:00+24:00",
    "2025-01-15T14:30:00.Z",
    "2025-01-15T14:30:00+5:30",
    "2025-01-15T14:30:00 UTC",
    "15/01/2025 14:30:00",
    "9999-12-31T23:59:59-23:59",  # past the largest datetime once in UTC
    "0001-01-01T00:00:00+01:00",  # before the smallest
    "garbage",
    "",
    1736951400,
    Decimal("1736951400.5"),
    ["2025-01-15T14:30:00Z"],
]


@pytest.mark.parametrize("value", UNREADABLE_TIMES, ids=repr)
def test_an_unreadable_time_is_none_and_reported(value: Any) -> None:
    model, problems = read(tx(created_at=value), Transaction)
    assert model.created_at is None
    assert model.raw["created_at"] == value
    assert problems == [Problem("Transaction", "created_at", "an ISO 8601 timestamp")]
    with pytest.raises(ShapeError):
        structure(value, datetime)  # a time on its own has nothing else to give


@pytest.mark.parametrize("offset", ["+05:60", "+05:99", "-00:75"])
def test_offset_minutes_above_59_are_unreadable(offset: str) -> None:
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
        (Decimal("1E+2"), "1E+2"),
        ("50.00", "50.00"),
        ("4.7405", "4.7405"),
        (" 12.5 ", "12.5"),
        ("-0.25", "-0.25"),
        ("1e2", "1E+2"),
        (".5", "0.5"),
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
        "1,50",
        "0x10",
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1e41"),  # not an amount: arithmetic on it would overflow the caller's
        Decimal("1e-41"),
        OutOfRangeNumber("1e999999999999999999999"),
        float("nan"),
        float("inf"),
        {},
        {"value": 1},
        [1],
    ],
    ids=repr,
)
def test_an_unreadable_amount_is_none_and_reported(value: Any) -> None:
    model, problems = read(tx(amount=value), Transaction)
    assert model.amount is None
    assert model.signed_amount is None
    assert problems == [Problem("Transaction", "amount", "a number")]


def test_null_is_none_and_no_problem() -> None:
    model, problems = read(tx(forex_rate=None, remarks=None), Transaction)
    assert (model.forex_rate, model.remarks, model.order_id) == (None, None, None)
    assert problems == []
    assert structure(tx(forex_rate=Decimal("1.0850")), Transaction).forex_rate == Decimal("1.0850")


# --- identifying fields refuse; every other field is read leniently (D40) ---------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("remarks", 1, "1"),  # a number where text is expected: its exact text
        ("remarks", Decimal("1.50"), "1.50"),
        ("remarks", True, None),
        ("remarks", ["x"], None),
        ("source_currency", 840, "840"),
        ("wallet_id", "7", 7),
        ("wallet_id", " 7 ", 7),
        ("wallet_id", Decimal("7.0"), 7),
        ("wallet_id", 7.0, None),  # a float never comes from our decoder: not trusted
        ("wallet_id", Decimal("7.5"), None),
        ("wallet_id", "7.5", None),
        ("wallet_id", True, None),
        ("wallet_id", {"id": 1}, None),
        ("wallet_id", "9" * 31, None),
        ("transaction_type", "debit", TransactionType.DEBIT),
        ("transaction_type", " Credit ", TransactionType.CREDIT),
        ("transaction_type", 1, TransactionType("1")),
        ("transaction_type", "", None),
        ("status", True, None),
    ],
    ids=repr,
)
def test_lenient_fields(field: str, value: Any, expected: Any) -> None:
    model, problems = read(tx(**{field: value}), Transaction)
    assert getattr(model, field) == expected
    assert type(getattr(model, field)) is type(expected)
    assert model.raw[field] == value
    assert [p.field for p in problems] == ([] if expected is not None else [field])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(456, 456), ("456", 456), (Decimal("456.0"), 456), ("+456", 456)],
    ids=repr,
)
def test_identifying_id_is_coerced_when_unambiguous(value: Any, expected: int) -> None:
    assert structure(tx(id=value), Transaction).id == expected


@pytest.mark.parametrize(
    "value", [True, False, None, "abc", "4.5", Decimal("4.5"), 456.0, [456], {"id": 1}], ids=repr
)
def test_identifying_id_unreadable_refuses_the_answer(value: Any) -> None:
    with pytest.raises(ShapeError) as info:
        structure(tx(id=value), Transaction)
    assert info.value.field == "id"


def test_only_the_identifying_field_is_required() -> None:
    assert structure({"id": 456}, Transaction) == Transaction(id=456)
    with pytest.raises(ShapeError) as info:
        structure({k: v for k, v in TX.items() if k != "id"}, Transaction)
    assert info.value.field == "id"
    assert info.value.reason == "expected a value"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("FALSE", False),
        (1, True),
        (0, False),
        ("yes", None),
        (2, None),
        ("", None),
    ],
    ids=repr,
)
def test_bool_reading(value: Any, expected: bool | None) -> None:
    model, problems = read({"id": 1, "identified": value, "product_id": 1}, OperatorMatch)
    assert model.identified is expected
    assert len(problems) == (expected is None)


def test_currency_precision_sent_as_text() -> None:
    document = {"id": 2, "name": "Euro", "currency": "EUR", "precision": "2"}
    assert structure(document, Currency).precision == 2


def test_a_list_item_without_a_readable_id_is_left_out_and_reported() -> None:
    documents = [TX, tx(id=None), "not an object", tx(id="455")]
    transactions, problems = read(documents, tuple[Transaction, ...])
    assert [t.id for t in transactions] == [456, 455]
    assert problems == [
        Problem("Transaction", "id", "a value", dropped=True),
        Problem("Transaction", "", "a JSON object", dropped=True),
    ]


def test_a_nested_object_that_cannot_be_read_is_none() -> None:
    quote, problems = read({**QUOTE, "charges_details": "GBP->EUR"}, ChargesQuote)
    assert quote.charges_details is None
    assert (quote.source_currency, quote.destination_currency) == (None, None)
    assert quote.is_cross_currency is None
    assert quote.total_payable == Decimal("282.26")
    assert problems == [Problem("ChargesQuote", "charges_details", "a JSON object")]


def test_unreadable_list_elements_are_named_by_their_field() -> None:
    variant, problems = read(
        {"id": 5, "fixed_amounts": ["0.99", "free"], "fields": {"par_value": "60 UC", "x": [1]}},
        TopupVariant,
    )
    assert variant.fixed_amounts == (Decimal("0.99"),)
    assert variant.fields == {"par_value": "60 UC"}
    assert problems == [
        Problem("TopupVariant", "fixed_amounts", "a number", dropped=True),
        Problem("TopupVariant", "fields", "strings as values", dropped=True),
    ]


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


def test_wallet_type_unknown_when_absent() -> None:
    wallet = structure({"id": 1, "currency": "USD", "balance": Decimal("1.50")}, Wallet)
    assert wallet.type is None
    assert wallet.balance == Decimal("1.50")
    other = structure({"id": 1, "currency": "USD", "balance": 0, "type": "CREDIT_LINE"}, Wallet)
    assert other.type == "CREDIT_LINE"
    assert other.type.is_known is False


def test_wallet_read_under_another_naming() -> None:
    document = {
        "wallet_id": "7",
        "currency_code": "EUR",
        "available_balance": "12.50",
        "wallet_type": "postpaid",
    }
    wallet, problems = read(document, Wallet)
    assert wallet == Wallet(
        id=7, currency="EUR", balance=Decimal("12.50"), type=WalletType.POSTPAID
    )
    assert wallet.raw is document
    assert problems == []
    # The documented name wins when both are there.
    assert structure({"id": 1, "wallet_id": 2}, Wallet).id == 1


# --- ShapeError and problems never carry the value (D17) ---------------------------------


@pytest.mark.parametrize(
    ("document", "cls", "path"),
    [
        (tx(id=SECRET), Transaction, "id"),
        ({"access_token": {"t": SECRET}, "refresh_token": "r"}, TokenSet, "access_token"),
        ({"access_token": "a"}, TokenSet, "refresh_token"),
        (SECRET, tuple[Transaction, ...], ""),
        (SECRET, Transaction, ""),
    ],
)
def test_shape_error_names_the_field_not_the_value(document: Any, cls: Any, path: str) -> None:
    with pytest.raises(ShapeError) as info:
        structure(document, cls)
    exc = info.value
    assert isinstance(exc, ValueError)
    assert exc.field == path
    assert exc.reason
    assert str(exc) == f"{path or 'body'}: {exc.reason}"
    for text in (str(exc), repr(exc), exc.reason, *map(str, exc.args)):
        assert SECRET not in text
    # The converter's chain is suppressed, so logged tracebacks don't show it either.
    assert exc.__cause__ is None
    assert exc.__suppress_context__ is True
    assert SECRET not in "".join(traceback.format_exception(exc))


def test_field_warnings_name_model_and_field_once_never_the_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    documents = [tx(amount=SECRET, remarks={"pin": SECRET}), tx(amount=SECRET), tx(id=SECRET)]
    warnings = FieldWarnings()
    for _ in range(3):
        transactions, problems = read(documents, tuple[Transaction, ...])
        warnings.report(problems)
    assert len(transactions) == 2
    messages = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(messages) == 3  # amount, remarks, id: once each, however often met
    assert any(
        m.startswith("Transaction.amount could not be read (expected a number)") for m in messages
    )
    assert any("Transaction.id" in m and "left out" in m for m in messages)
    assert not any(SECRET in m for m in messages)
    # Another client warns again: once per client, not once per process.
    FieldWarnings().report(problems)
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 6


# --- tuples -----------------------------------------------------------------------------


def test_one_object_where_a_list_is_expected_is_a_list_of_one() -> None:
    assert structure(TX, tuple[Transaction, ...]) == (structure(TX, Transaction),)


@pytest.mark.parametrize("value", [{"0": TX}, {"items": [TX]}, "abc", 5, None], ids=repr)
def test_a_list_answer_that_is_not_an_array_is_refused(value: Any) -> None:
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
        ("debit", "50.00", Decimal("-50.00")),
        ("REVERSAL", "5.00", None),  # a direction the SDK does not know: no sign to give
    ],
)
def test_transaction_signed_amount(kind: str, amount: str, signed: Decimal | None) -> None:
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
