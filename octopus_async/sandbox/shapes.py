"""Shape variants: `/api/v1` answers written the ways a real server may differ from the docs.

By default the sandbox answers in the documented shapes (API.md). Each variant models one
plausible difference; it changes only how an answer is written, never what the sandbox
holds, and it is deterministic, so a test knows what comes back. `/auth/*` answers, error
bodies and webhook deliveries are never varied.

- ``nulls``: fields the docs show filled arrive as null (`NULLED_FIELDS`), as from a
  backend whose columns are nullable.
- ``missing``: fields the docs show are left out (`MISSING_FIELDS`), as from a backend
  that omits empty values.
- ``wallet_naming``: wallets of ``GET /api/v1/wallets`` under the names of another
  service (`WALLET_NAMES`), since the docs do not show that shape (OQ-30).
- ``lowercase_enums``: the values of `ENUM_FIELDS` in lower case.
- ``time_forms``: timestamps in other ISO 8601 forms than ``2026-05-19T14:30:00Z``
  (API.md 2.6 leaves them open): the n-th timestamp of an answer, counting records in
  document order and each before those inside it, takes the n-th of `TIME_FORMS`, cycling.
- ``extra_fields``: ``"_links": {"self": <path>}`` and ``"schema_version": 2`` in every
  record (not in free-form maps such as a topup variant's ``fields``), the additive
  change the compatibility promise allows (API.md 2.9).
- ``numbers_as_strings``: every number as a string of its exact digits, as backends wary
  of float rounding write money.
- ``secrets_as_numbers``: voucher PINs and eSIM ICCIDs made of digits (no leading zero)
  as JSON numbers, as a loosely typed backend writes them.
- ``envelope``: the answer wrapped as ``{"data": ...}``, then ``{"success": true,
  "data": ...}``, alternately from the first answer after the variants were set (OQ-3).

Variants compose in the order listed (`SHAPE_VARIANTS_IN_ORDER`): ``nulls`` and
``missing`` name documented fields, so they come before ``wallet_naming`` renames any;
``extra_fields`` come before ``numbers_as_strings`` so their numbers become strings too;
``secrets_as_numbers`` comes after it so secrets stay numbers; ``envelope`` wraps the
finished answer.

``nulls`` and ``missing`` never touch an identifying field: ids, order ``status`` and
``client_reference``, voucher codes, PINs and claim URLs, activation codes, ICCIDs, order
amounts, wallet balances, ``is_available``, ``total_payable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs

__all__ = [
    "ENUM_FIELDS",
    "MISSING_FIELDS",
    "NULLED_FIELDS",
    "RECORD_KINDS",
    "SHAPE_VARIANTS",
    "SHAPE_VARIANTS_IN_ORDER",
    "TIME_FORMS",
    "WALLET_NAMES",
    "ShapePresenter",
    "shape_variant_names",
]

# The kind of record each endpoint answers with, alone or in a list. An endpoint not
# listed gets the kind "": only the variants that need no kind apply to it.
RECORD_KINDS: dict[str, str] = {
    "/api/v1/countries": "country",
    "/api/v1/countries/{id}": "country",
    "/api/v1/currencies": "currency",
    "/api/v1/categories": "category",
    "/api/v1/categories/{id}": "category",
    "/api/v1/subcategories": "category",
    "/api/v1/subcategories/{id}": "category",
    "/api/v1/wallets": "wallet",
    "/api/v1/transactions": "transaction",
    "/api/v1/transactions/{id}": "transaction",
    "/api/v1/products": "voucher_product",
    "/api/v1/products/{id}": "voucher_product",
    "/api/v1/products/{id}/availability": "availability",
    "/api/v1/products/{id}/charges": "charges",
    "/api/v1/orders": "voucher_order",
    "/api/v1/orders/{id}": "voucher_order",
    "/api/v1/topups/products": "topup_product",
    "/api/v1/topups/products/{id}": "topup_product",
    "/api/v1/topups/products/{id}/variants": "topup_variant",
    "/api/v1/topups/variants/{id}": "topup_variant",
    "/api/v1/topups/lookup": "operator_match",
    "/api/v1/topups/charges": "charges",
    "/api/v1/topups/orders": "topup_order",
    "/api/v1/topups/orders/{id}": "topup_order",
    "/api/v1/topups/orders/{id}/notification-email": "notification_email",
    "/api/v1/esim/products": "esim_product",
    "/api/v1/esim/products/{id}": "esim_product",
    "/api/v1/esim/products/{id}/variants": "esim_variant",
    "/api/v1/esim/variants/{id}": "esim_variant",
    "/api/v1/esim/charges": "charges",
    "/api/v1/esim/orders": "esim_order",
    "/api/v1/esim/orders/{id}": "esim_order",
    "/api/v1/esim/orders/{id}/notification-email": "notification_email",
}

# Records held in a field of a record, by kind. Other objects in a record (a topup
# variant's `fields`) are free-form maps, not records, and keep their keys.
_NESTED_RECORDS: dict[str, dict[str, str]] = {
    "voucher_product": {"available_denominations": "denomination"},
    "voucher_order": {"vouchers": "voucher"},
    "charges": {"charges_details": "charges_details"},
    "topup_product": {"input_fields": "input_field"},
    "topup_variant": {"available_in": "region"},
    "esim_product": {"variants": "esim_variant"},
}

# nulls: set to null where present.
NULLED_FIELDS: dict[str, tuple[str, ...]] = {
    "country": ("official_name", "numeric_code", "dialing_prefix"),
    "transaction": ("source_currency", "remarks"),
    "voucher_product": ("sub_category", "image_url", "delivery_time", "validity"),
    "topup_product": ("image_url",),
    "esim_product": ("image_url",),
    "esim_variant": ("description",),
    "charges": ("discount", "gst_amount", "net_amount", "handling_fee_amount"),
    "voucher_order": (
        "product_name",
        "wallet_id",
        "base_currency",
        "deduction_currency",
        "message",
        "email",
    ),
    "voucher": ("voucher_reference_number",),
    "topup_order": ("product_name", "status_text"),
    "esim_order": ("product_name", "status_text"),
}

# missing: left out.
MISSING_FIELDS: dict[str, tuple[str, ...]] = {
    "currency": ("name",),
    "wallet": ("currency_id", "type", "created_at", "updated_at"),
    "voucher_product": ("delivery_mode",),
    "topup_variant": ("available_in",),
    "esim_variant": ("esim_product_id",),
    "charges": ("total_amount", "max_quantity"),
    "charges_details": ("conversion_fee",),
    "voucher_order": ("product_id", "denomination", "quantity", "discount"),
    "topup_order": ("country_code", "transaction_id"),
    "esim_order": ("country_code", "transaction_id"),
}

# wallet_naming: documented name -> the other service's name, in its order; fields not
# named here (currency_id) are dropped.
WALLET_NAMES: dict[str, str] = {
    "id": "wallet_id",
    "currency": "currency_code",
    "balance": "available_balance",
    "type": "wallet_type",
    "created_at": "created_at",
    "updated_at": "updated_at",
}

ENUM_FIELDS = ("status", "transaction_type", "activation_status", "topup_type")

_INDIA = timezone(timedelta(hours=5, minutes=30))

# time_forms, for 2026-05-19T14:30:00Z. The date-only and minutes-only forms lose
# precision on purpose: a client must not need it to work.
TIME_FORMS: tuple[Callable[[datetime], str], ...] = (
    lambda moment: moment.date().isoformat(),  # 2026-05-19
    lambda moment: moment.isoformat(timespec="seconds"),  # 2026-05-19T14:30:00+00:00
    lambda moment: moment.astimezone(_INDIA).isoformat(timespec="seconds"),  # ...T20:00:00+05:30
    lambda moment: moment.strftime("%Y-%m-%d %H:%M:%SZ"),  # 2026-05-19 14:30:00Z
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),  # 2026-05-19T14:30:00.000Z
    lambda moment: moment.strftime("%Y-%m-%dT%H:%MZ"),  # 2026-05-19T14:30Z
)

# secrets_as_numbers: the secret field of each kind of record that has one.
_SECRET_FIELDS = {"voucher": "pin_code", "esim_order": "iccid"}


def shape_variant_names(names: Iterable[str]) -> frozenset[str]:
    """`names` as a frozenset, or ValueError naming those that are not shape variants."""
    chosen = frozenset(names)
    unknown = chosen - SHAPE_VARIANTS
    if unknown:
        raise ValueError(
            f"unknown shape variant(s) {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(SHAPE_VARIANTS_IN_ORDER)}"
        )
    return chosen


@attrs.frozen
class _Answer:
    """What a variant knows of the answer it rewrites."""

    kind: str  # of the records it holds (RECORD_KINDS)
    path: str
    sequence: int  # answers shaped before it since the variants were last set


class ShapePresenter:
    """Writes `/api/v1` answers in the shape variants in force (`variants`, settable)."""

    def __init__(self, variants: Iterable[str] = ()) -> None:
        self.variants = variants

    @property
    def variants(self) -> frozenset[str]:
        return self._variants

    @variants.setter
    def variants(self, names: Iterable[str]) -> None:
        self._variants = shape_variant_names(names)
        # Restarted so that the first answer after a switch is the bare {"data": ...}.
        self._shaped = 0

    def present(self, document: Any, route: str, path: str) -> Any:
        """`document`, an answer of the endpoint `route` (as routed, e.g.
        ``/api/v1/orders/{id}``) at `path`, in the variants in force.

        `document` is changed in place: it must be a fresh copy, decoded from the answer.
        """
        answer = _Answer(RECORD_KINDS.get(route, ""), path, self._shaped)
        self._shaped += 1
        for name, rewrite in _REWRITES:
            if name in self._variants:
                document = rewrite(document, answer)
        return document


def _records(value: Any, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every record in `value` with its kind, in document order, each before those inside it.

    A record is yielded before its nested records are looked up, so a caller may change it.
    """
    if isinstance(value, list):
        for item in value:
            yield from _records(item, kind)
    elif isinstance(value, dict):
        yield kind, value
        for field, inner_kind in _NESTED_RECORDS.get(kind, {}).items():
            if field in value:
                yield from _records(value[field], inner_kind)


def _nulls(document: Any, answer: _Answer) -> Any:
    for kind, record in _records(document, answer.kind):
        for field in NULLED_FIELDS.get(kind, ()):
            if field in record:
                record[field] = None
    return document


def _missing(document: Any, answer: _Answer) -> Any:
    for kind, record in _records(document, answer.kind):
        for field in MISSING_FIELDS.get(kind, ()):
            record.pop(field, None)
    return document


def _wallet_naming(document: Any, answer: _Answer) -> Any:
    for kind, record in _records(document, answer.kind):
        if kind == "wallet":
            renamed = {new: record[old] for old, new in WALLET_NAMES.items() if old in record}
            record.clear()
            record.update(renamed)
    return document


def _lowercase_enums(document: Any, answer: _Answer) -> Any:
    for _, record in _records(document, answer.kind):
        for field in ENUM_FIELDS:
            value = record.get(field)
            if isinstance(value, str):
                record[field] = value.lower()
    return document


def _time_forms(document: Any, answer: _Answer) -> Any:
    occurrence = 0
    for _, record in _records(document, answer.kind):
        for field, value in record.items():
            if not (field.endswith("_at") or field == "delivered_on") or not isinstance(value, str):
                continue
            try:
                # The sandbox writes whole seconds with a Z; fromisoformat reads Z from 3.11 on.
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            record[field] = TIME_FORMS[occurrence % len(TIME_FORMS)](moment)
            occurrence += 1
    return document


def _extra_fields(document: Any, answer: _Answer) -> Any:
    for _, record in _records(document, answer.kind):
        record["_links"] = {"self": answer.path}
        record["schema_version"] = 2
    return document


def _numbers_as_strings(value: Any, answer: _Answer) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return [_numbers_as_strings(item, answer) for item in value]
    if isinstance(value, dict):
        return {key: _numbers_as_strings(item, answer) for key, item in value.items()}
    return value


def _secrets_as_numbers(document: Any, answer: _Answer) -> Any:
    for kind, record in _records(document, answer.kind):
        field = _SECRET_FIELDS.get(kind)
        if field is None:
            continue
        secret = record.get(field)
        # A leading zero would be lost in a number, so such secrets stay strings.
        if isinstance(secret, str) and secret.isascii() and secret.isdigit() and secret[0] != "0":
            record[field] = int(secret)
    return document


def _envelope(document: Any, answer: _Answer) -> Any:
    if answer.sequence % 2 == 0:
        return {"data": document}
    return {"success": True, "data": document}


# Every variant, in the order they compose (see the module docstring for why).
_REWRITES: tuple[tuple[str, Callable[[Any, _Answer], Any]], ...] = (
    ("nulls", _nulls),
    ("missing", _missing),
    ("wallet_naming", _wallet_naming),
    ("lowercase_enums", _lowercase_enums),
    ("time_forms", _time_forms),
    ("extra_fields", _extra_fields),
    ("numbers_as_strings", _numbers_as_strings),
    ("secrets_as_numbers", _secrets_as_numbers),
    ("envelope", _envelope),
)
SHAPE_VARIANTS_IN_ORDER: tuple[str, ...] = tuple(name for name, _ in _REWRITES)
SHAPE_VARIANTS: frozenset[str] = frozenset(SHAPE_VARIANTS_IN_ORDER)
