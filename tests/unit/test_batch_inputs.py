"""Batch input files: JSON Lines and CSV rows into order requests, bad rows into errors."""

from __future__ import annotations

import hashlib
import json
import pickle
from decimal import Decimal

import pytest

from octopus_async.batch import (
    EsimOrderRequest,
    InputError,
    JournaledError,
    JournalError,
    TopupOrderRequest,
    VoucherOrderRequest,
    describe_input,
    read_rows,
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_json_lines_become_typed_requests(tmp_path):
    path = write(
        tmp_path,
        "orders.jsonl",
        '{"vertical": "vouchers", "product_id": 123, "denomination": 10.10, "quantity": 2}\n'
        "\n"
        '{"vertical": "topups", "product_id": "4218", "amount": "4.99", '
        '"input_data": {"player_id": "5123456789"}, "client_reference": "pay-7", "wallet_id": 2}\n'
        '{"vertical": "esim", "product_id": 712, "amount": 4.5}\n',
    )
    rows = list(read_rows(path))

    assert [row.row for row in rows] == [1, 3, 4]  # a row's number is its line
    assert [row.error for row in rows] == [None, None, None]
    assert rows[0].request == VoucherOrderRequest(123, Decimal("10.10"), 2)
    assert rows[1].request == TopupOrderRequest(
        4218, Decimal("4.99"), {"player_id": "5123456789"}, client_reference="pay-7", wallet_id=2
    )
    assert rows[2].request == EsimOrderRequest(712, Decimal("4.5"))
    assert str(rows[0].request.denomination) == "10.10"  # never through a float


def test_csv_rows_carry_input_data_as_json_text(tmp_path):
    path = write(
        tmp_path,
        "orders.csv",
        "vertical,product_id,denomination,quantity,amount,input_data,client_reference\n"
        "vouchers,123,50.00,1,,,gift-1\n"
        'topups,4218,,,4.99,"{""player_id"": ""5123456789""}",\n'
        "esim,712,,,4.50,,\n",
    )
    rows = list(read_rows(path))

    assert [row.row for row in rows] == [2, 3, 4]  # the header is line 1
    assert [row.request for row in rows] == [
        VoucherOrderRequest(123, Decimal("50.00"), 1, client_reference="gift-1"),
        TopupOrderRequest(4218, Decimal("4.99"), {"player_id": "5123456789"}),
        EsimOrderRequest(712, Decimal("4.50")),
    ]


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ('{"vertical": "vouchers", "prodct_id": 123}', "prodct_id", "unknown column"),
        ('{"vertical": "bikes", "product_id": 1}', "vertical", "vertical must be"),
        ('{"product_id": 1}', "vertical", "vertical must be"),
        ('{"vertical": "vouchers", "product_id": 123, "quantity": 1}', "denomination", "required"),
        (
            '{"vertical": "esim", "product_id": 712, "amount": 4.5, "quantity": 2}',
            "quantity",
            "does not apply to esim",
        ),
        (
            '{"vertical": "vouchers", "product_id": 123, "denomination": 10, "quantity": 1.5}',
            "quantity",
            "whole number",
        ),
        (
            '{"vertical": "vouchers", "product_id": true, "denomination": 10, "quantity": 1}',
            "product_id",
            "whole number",
        ),
        ('{"vertical": "esim", "product_id": 712, "amount": "lots"}', "amount", "decimal number"),
        ('{"vertical": "esim", "product_id": 712, "amount": "NaN"}', "amount", "decimal number"),
        (
            '{"vertical": "topups", "product_id": 4218, "amount": 5, "input_data": {"id": 5}}',
            "input_data",
            "JSON object of text values",
        ),
        (
            '{"vertical": "esim", "product_id": 712, "amount": 4.5, "client_reference": 7}',
            "client_reference",
            "must be text",
        ),
        ("{not json", None, "not a JSON object"),
        ("[1, 2]", None, "not a JSON object"),
    ],
)
def test_a_bad_row_names_its_field_and_the_next_rows_are_read(tmp_path, line, field, message):
    good = '{"vertical": "esim", "product_id": 712, "amount": 4.5}'
    rows = list(read_rows(write(tmp_path, "orders.jsonl", f"{good}\n{line}\n{good}\n")))

    assert [row.row for row in rows] == [1, 2, 3]
    bad = rows[1]
    assert bad.request is None
    assert bad.error.param == field
    assert message in str(bad.error)
    assert rows[0].request == rows[2].request == EsimOrderRequest(712, Decimal("4.5"))


def test_a_csv_record_with_the_wrong_number_of_cells_is_one_bad_row(tmp_path):
    path = write(
        tmp_path,
        "orders.csv",
        "vertical,product_id,amount\nesim,712,4.50,extra\nesim,712,4.50\nesim,712,x\n",
    )
    rows = list(read_rows(path))

    assert [(row.row, row.error is None) for row in rows] == [(2, False), (3, True), (4, False)]
    assert "4 cells for 3 columns" in str(rows[0].error)
    assert rows[2].error.param == "amount"


def test_a_long_bad_value_is_shortened_in_the_message(tmp_path):
    line = json.dumps({"vertical": "x" * 500, "product_id": 1})
    (row,) = read_rows(write(tmp_path, "orders.jsonl", line + "\n"))
    assert len(str(row.error)) < 120


def test_unreadable_files_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        describe_input(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="cannot read"):
        list(read_rows(tmp_path / "missing.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("vertical,product_id,amount\nesim,712,4.50 \xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_rows(latin))
    with pytest.raises(InputError, match="no header"):
        list(read_rows(write(tmp_path, "empty.csv", "")))


def test_describe_input_hashes_the_bytes_and_counts_lines(tmp_path):
    text = '{"a": 1}\n\n{"b": 2}\n'
    digest, lines = describe_input(write(tmp_path, "orders.jsonl", text))
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert lines == 2


def test_requests_have_a_fingerprint_of_every_field():
    first = VoucherOrderRequest(123, "10.00", 1)
    assert first.fingerprint() == VoucherOrderRequest(123, "10.00", 1).fingerprint()
    others = [
        VoucherOrderRequest(123, "10.00", 2),
        VoucherOrderRequest(123, "10.00", 1, wallet_id=2),
        VoucherOrderRequest(123, "10.00", 1, client_reference="x"),
        EsimOrderRequest(123, "10.00"),
    ]
    assert len({first.fingerprint(), *(other.fingerprint() for other in others)}) == 5


@pytest.mark.parametrize(
    "error",
    [
        InputError("orders.csv is not UTF-8 text"),
        JournalError("campaign.db is the journal of another input", mismatch=True),
        JournaledError("order 7 FAILED", kind="OrderFailedError", param=None),
    ],
    ids=lambda error: type(error).__name__,
)
def test_batch_errors_cross_processes(error):
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is type(error)
    assert str(restored) == str(error)
    assert vars(restored) == vars(error)
