"""Batch input files: JSON Lines or CSV rows, read one at a time into order requests.

Columns (JSON keys): `vertical` (`vouchers`, `topups` or `esim`), `product_id`,
`denomination` and `quantity` (vouchers), `amount` (topups, eSIM), `input_data` (topups:
a JSON object; in CSV, that object as JSON text), and optionally `client_reference` and
`wallet_id`. A row's number is its line in the file (in CSV the header is line 1). A row
that cannot be read becomes an `InputRow` with an error naming the field; the rows after
it are read as usual. Unknown columns are refused rather than ignored: a misspelt
`wallet_id` must not send an order from the default wallet.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import attrs

from ..errors import InvalidRequestError, OctopusError
from .requests import EsimOrderRequest, OrderRequest, TopupOrderRequest, VoucherOrderRequest

__all__ = ["InputError", "InputRow", "describe_input", "each_input", "read_rows"]

T = TypeVar("T")

_FIELDS: Mapping[str, frozenset[str]] = {
    "vouchers": frozenset({"product_id", "denomination", "quantity"}),
    "topups": frozenset({"product_id", "amount", "input_data"}),
    "esim": frozenset({"product_id", "amount"}),
}
_COMMON = frozenset({"vertical", "client_reference", "wallet_id"})
_ALL = _COMMON.union(*_FIELDS.values())


class InputError(OctopusError):
    """The input file cannot be read at all (missing, not UTF-8 CSV, no header)."""


@attrs.frozen
class InputRow:
    """Row `row` of an input: its order request, or the error that kept it from being one."""

    row: int
    request: OrderRequest | None = None
    error: InvalidRequestError | None = None


def describe_input(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The SHA-256 of the file at `path` and its number of non-blank lines."""
    digest, lines = hashlib.sha256(), 0
    try:
        with open(path, "rb") as file:
            for line in file:
                digest.update(line)
                lines += bool(line.strip())
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    return digest.hexdigest(), lines


def read_rows(path: str | os.PathLike[str]) -> Iterator[InputRow]:
    """The rows of a `.csv` file, or of a JSON Lines file (any other name), in order."""
    location = Path(path)
    if location.suffix.lower() == ".csv":
        return _csv_rows(location)
    return _jsonl_rows(location)


def _jsonl_rows(path: Path) -> Iterator[InputRow]:
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed by the generator
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    with file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                fields = json.loads(line, parse_float=Decimal)
            except (ValueError, RecursionError):
                yield _invalid(number, "not a JSON object on one line", None)
                continue
            if not isinstance(fields, dict):
                yield _invalid(number, "not a JSON object", None)
                continue
            yield _row(number, fields)


def _csv_rows(path: Path) -> Iterator[InputRow]:
    try:
        file = open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed by the generator
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    with file:
        try:
            reader = csv.reader(file)
            header = [name.strip() for name in next(reader, [])]
            if not header:
                raise InputError(f"{path} has no header line")
            line = reader.line_num
            for record in reader:
                number, line = line + 1, reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) != len(header):
                    yield _invalid(number, f"{len(record)} cells for {len(header)} columns", None)
                    continue
                cells = {name: cell for name, cell in zip(header, record, strict=True) if cell}
                yield _row(number, _from_csv(cells))
        except UnicodeDecodeError:
            raise InputError(f"{path} is not UTF-8 text") from None
        except csv.Error as error:
            raise InputError(f"{path} line {reader.line_num}: {error}") from None


def _from_csv(cells: dict[str, str]) -> dict[str, Any]:
    """CSV cells as the JSON values they stand for: only `input_data` is JSON text."""
    fields: dict[str, Any] = dict(cells)
    if "input_data" in fields:
        try:
            fields["input_data"] = json.loads(cells["input_data"])
        except ValueError:
            fields["input_data"] = _NOT_JSON
    return fields


_NOT_JSON = object()


def _row(number: int, fields: dict[str, Any]) -> InputRow:
    try:
        return InputRow(number, _request(fields))
    except InvalidRequestError as error:
        return InputRow(number, error=error)


def _invalid(number: int, message: str, field: str | None) -> InputRow:
    return InputRow(number, error=InvalidRequestError(message, param=field))


def _request(fields: dict[str, Any]) -> OrderRequest:
    unknown = sorted(set(fields) - _ALL)
    if unknown:
        raise InvalidRequestError(f"unknown column {unknown[0]!r}", param=unknown[0])
    vertical = fields.get("vertical")
    if not isinstance(vertical, str) or vertical not in _FIELDS:
        raise InvalidRequestError(
            f"vertical must be one of vouchers, topups, esim; got {_shown(vertical)}",
            param="vertical",
        )
    required = _FIELDS[vertical]
    missing = sorted(required - set(fields))
    if missing:
        raise InvalidRequestError(f"{missing[0]} is required for {vertical}", param=missing[0])
    foreign = sorted(set(fields) - required - _COMMON)
    if foreign:
        raise InvalidRequestError(f"{foreign[0]} does not apply to {vertical}", param=foreign[0])
    reference = _text(fields, "client_reference")
    wallet_id = _integer(fields, "wallet_id")
    product_id = _integer(fields, "product_id")
    assert product_id is not None
    if vertical == "vouchers":
        quantity = _integer(fields, "quantity")
        assert quantity is not None
        return VoucherOrderRequest(
            product_id,
            _money(fields, "denomination"),
            quantity,
            client_reference=reference,
            wallet_id=wallet_id,
        )
    if vertical == "topups":
        return TopupOrderRequest(
            product_id,
            _money(fields, "amount"),
            _input_data(fields),
            client_reference=reference,
            wallet_id=wallet_id,
        )
    return EsimOrderRequest(
        product_id, _money(fields, "amount"), client_reference=reference, wallet_id=wallet_id
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _integer(fields: Mapping[str, Any], name: str) -> int | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidRequestError(f"{name} must be a whole number, got {_shown(value)}", param=name)


def _money(fields: Mapping[str, Any], name: str) -> Decimal:
    value = fields.get(name)
    if isinstance(value, (Decimal, int, str)) and not isinstance(value, bool):
        try:
            amount = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            pass
        else:
            if amount.is_finite():
                return amount
    raise InvalidRequestError(f"{name} must be a decimal number, got {_shown(value)}", param=name)


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidRequestError(f"{name} must be text, got {_shown(value)}", param=name)


def _input_data(fields: Mapping[str, Any]) -> dict[str, str]:
    value = fields.get("input_data")
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise InvalidRequestError(
            'input_data must be a JSON object of text values, such as {"player_id": "5123456789"}',
            param="input_data",
        )
    return value


async def each_input(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    """The items of an iterable or an async iterable, read one at a time as they are asked for."""
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
