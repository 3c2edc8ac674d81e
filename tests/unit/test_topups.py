"""Topups (API.md 9): the models, and `client.topups` on the wire.

Models are read from JSON with exact values (Decimal money, UTC datetimes, open enums).
Calls run against aioresponses at `API`; each test checks the request sent (method, path,
query, body as JSON with numbers as written) and, for arguments refused before sending,
that nothing was sent at all. The documented request bodies are compared with what the SDK
sends in test_docs_examples.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support import API, FAST_RETRY, CompatAioresponses, bodies, steps

from octopus_async import (
    InvalidRequestError,
    OctopusClient,
    OrderFailedError,
    RequestEvent,
    ValidationError,
)
from octopus_async.models import (
    ChargesDetails,
    ChargesQuote,
    InputField,
    OperatorMatch,
    Region,
    TopupOrder,
    TopupOrderStatus,
    TopupProduct,
    TopupType,
    TopupVariant,
)
from octopus_async.models._convert import structure

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "docs_examples"
UTC = timezone.utc

PRODUCTS = f"{API}/api/v1/topups/products"
ORDERS = f"{API}/api/v1/topups/orders"
LOOKUP = f"{API}/api/v1/topups/lookup"
CHARGES = f"{API}/api/v1/topups/charges"
PRODUCTS_QUERY = re.compile(r"^http://api\.test/api/v1/topups/products\?")
ORDERS_QUERY = re.compile(r"^http://api\.test/api/v1/topups/orders\?")
GENERATED = re.compile(r"oc_[0-9a-f]{32}")

SECRET = "s3cr3t-topups-0001"
REF = "CAMPAIGN_DEC_24"
PLAYER = {"player_id": "5123456789"}


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(), parse_float=Decimal)


def text_numbers(body: bytes) -> Any:
    """A sent body with fractions kept as their text: 4.99 stays "4.99", 200 stays 200."""
    return json.loads(body, parse_float=str)


# --- fixtures and wire helpers -------------------------------------------------------------


@pytest.fixture
def events() -> list[RequestEvent]:
    return []


@pytest.fixture
async def octo(events: list[RequestEvent]) -> AsyncIterator[OctopusClient]:
    """A client for `API` that records its request events."""
    async with OctopusClient(
        "key-topups", SECRET, base_url=API, retry=FAST_RETRY, hooks=[events.append]
    ) as client:
        yield client


def query_sent(wire: CompatAioresponses, path: str) -> dict[str, str]:
    [url] = [url for (method, url) in wire.requests if method == "GET" and url.path == path]
    return dict(url.query)


def order_json(ref: str | None = REF, **changes: Any) -> dict[str, Any]:
    """The order of the docs' create answer (API.md 9.8), PENDING."""
    order = {
        "id": 9123456,
        "client_reference": ref,
        "product_id": 4218,
        "product_name": "PUBG Mobile UC",
        "variant_name": "325 UC",
        "country_code": "GLO",
        "amount": 4.7405,
        "currency": "USD",
        "status": "PENDING",
        "status_text": "Order submitted for fulfilment",
        "created_at": "2026-05-19T14:30:00Z",
        **changes,
    }
    return {k: v for k, v in order.items() if v is not None}


def answer_create(wire: CompatAioresponses, **changes: Any) -> None:
    wire.post(ORDERS, status=201, payload=order_json(**changes))


# --- models ---------------------------------------------------------------------------------

PRODUCT_BASE = {
    "id": 4218,
    "name": "PUBG Mobile UC",
    "topup_type": "GAMING",
    "country_code": "GLO",
    "currency_code": "USD",
}


@pytest.mark.parametrize(
    ("input_fields", "expected"),
    [
        (
            ["player_id", "server"],
            (InputField(name="player_id"), InputField(name="server")),
        ),
        (
            [
                {"name": "player_id", "required": True, "pattern": "^[0-9]{6,12}$"},
                {"name": "server", "required": False, "label": "Server"},
            ],
            (
                InputField(name="player_id", required=True, pattern="^[0-9]{6,12}$"),
                InputField(name="server", required=False, label="Server"),
            ),
        ),
        (
            ["player_id", {"name": "server", "required": False}],
            (InputField(name="player_id"), InputField(name="server", required=False)),
        ),
        ([], ()),
        (None, ()),
    ],
    ids=["strings", "objects", "mixed", "empty", "absent"],
)
def test_product_input_fields(input_fields: Any, expected: tuple[InputField, ...]) -> None:
    document = dict(PRODUCT_BASE)
    if input_fields is not None:
        document["input_fields"] = input_fields

    product = structure(document, TopupProduct)

    assert product == TopupProduct(
        id=4218,
        name="PUBG Mobile UC",
        topup_type=TopupType.GAMING,
        country_code="GLO",
        currency_code="USD",
        input_fields=expected,
    )
    assert product.image_url is None
    assert product.raw == document


def test_input_field_object_keeps_its_raw_json() -> None:
    field = {"name": "player_id", "required": True, "hint": "Find it in your profile"}
    [parsed] = structure({**PRODUCT_BASE, "input_fields": [field]}, TopupProduct).input_fields
    assert parsed.raw == field


@pytest.mark.parametrize(
    ("value", "known"),
    [("GAMING", True), ("MOBILE", True), ("UTILITY", True), ("GIFT_CARD", False)],
)
def test_topup_type_is_open(value: str, known: bool) -> None:
    product = structure({**PRODUCT_BASE, "topup_type": value}, TopupProduct)
    assert product.topup_type == value
    assert isinstance(product.topup_type, TopupType)
    assert product.topup_type.is_known is known


FIXED = {
    "id": 88412,
    "name": "60 UC",
    "category": "In-Game Currency",
    "currency_code": "USD",
    "fixed_amounts": ["0.99", "4.990"],
    "available_in": [{"code": "GLO", "name": "Global"}],
    "fields": {"par_value": "60 UC", "delivery_time": "Instant", "validity_days": "365"},
}
RANGE = {
    "id": 90001,
    "name": "Airtime",
    "category": "Airtime",
    "currency_code": "INR",
    "min_amount": 10,
    "max_amount": 1000.50,
}
NEITHER = {"id": 90002, "name": "Unpriced", "currency_code": "USD"}


def test_variant_fixed_amounts_are_exact_decimals_and_fields_are_kept() -> None:
    variant = structure(FIXED, TopupVariant)

    assert variant == TopupVariant(
        id=88412,
        name="60 UC",
        category="In-Game Currency",
        currency_code="USD",
        fixed_amounts=(Decimal("0.99"), Decimal("4.990")),
        available_in=(Region(code="GLO", name="Global"),),
        fields={"par_value": "60 UC", "delivery_time": "Instant", "validity_days": "365"},
    )
    assert [str(amount) for amount in variant.fixed_amounts] == ["0.99", "4.990"]
    assert variant.min_amount is None
    assert variant.max_amount is None
    assert variant.fields["validity_days"] == "365"


def test_variant_range_and_defaults() -> None:
    variant = structure(RANGE, TopupVariant)
    assert (variant.min_amount, variant.max_amount) == (Decimal("10"), Decimal("1000.5"))
    assert variant.fixed_amounts == ()
    assert variant.available_in == ()
    assert variant.fields == {}
    assert structure(NEITHER, TopupVariant).category is None


@pytest.mark.parametrize(
    ("document", "amount", "accepted"),
    [
        (FIXED, Decimal("0.99"), True),
        (FIXED, Decimal("0.990"), True),
        (FIXED, Decimal("4.99"), True),
        (FIXED, Decimal("1.00"), False),
        (FIXED, Decimal("0.98"), False),
        (RANGE, Decimal("10"), True),
        (RANGE, Decimal("500.25"), True),
        (RANGE, Decimal("1000.50"), True),
        (RANGE, Decimal("9.99"), False),
        (RANGE, Decimal("1000.51"), False),
        (NEITHER, Decimal("1"), False),
    ],
)
def test_variant_accepts(document: dict[str, Any], amount: Decimal, accepted: bool) -> None:
    assert structure(document, TopupVariant).accepts(amount) is accepted


def test_variant_with_fixed_amounts_and_a_range_accepts_both() -> None:
    variant = structure({**RANGE, "fixed_amounts": ["2000"]}, TopupVariant)
    assert variant.accepts(Decimal("2000"))
    assert variant.accepts(Decimal("20"))
    assert not variant.accepts(Decimal("1999"))


def test_operator_match() -> None:
    document = {
        "product_id": 4219,
        "name": "Airtel India",
        "country_code": "IND",
        "identified": True,
    }
    match = structure(document, OperatorMatch)
    assert match == OperatorMatch(
        product_id=4219, name="Airtel India", country_code="IND", identified=True
    )
    assert match.raw == document


FAILED_ORDER = {
    "id": 9123460,
    "client_reference": "CAMPAIGN_DEC_25",
    "product_id": 4218,
    "product_name": "PUBG Mobile UC",
    "variant_name": "325 UC",
    "country_code": "GLO",
    "amount": Decimal("4.7405"),
    "currency": "USD",
    "status": "FAILED",
    "status_text": "Invalid player ID",
    "transaction_id": 7401121,
    "failure_code": "INVALID_RECIPIENT",
    "failure_reason": "The player ID does not exist.",
    "is_user_fixable": True,
    "created_at": "2026-05-19T14:30:00Z",
    "completed_at": "2026-05-19T16:30:09.250+02:00",
}


def test_order_with_every_documented_field_failed() -> None:
    order = structure(FAILED_ORDER, TopupOrder)

    assert order == TopupOrder(
        id=9123460,
        status=TopupOrderStatus.FAILED,
        amount=Decimal("4.7405"),
        currency="USD",
        product_id=4218,
        product_name="PUBG Mobile UC",
        variant_name="325 UC",
        country_code="GLO",
        status_text="Invalid player ID",
        client_reference="CAMPAIGN_DEC_25",
        transaction_id=7401121,
        created_at=datetime(2026, 5, 19, 14, 30, tzinfo=UTC),
        completed_at=datetime(2026, 5, 19, 14, 30, 9, 250000, tzinfo=UTC),
        failure_code="INVALID_RECIPIENT",
        failure_reason="The player ID does not exist.",
        is_user_fixable=True,
    )
    assert str(order.amount) == "4.7405"
    assert order.completed_at.utcoffset().total_seconds() == 0
    assert order.recovered is False
    assert order.raw == FAILED_ORDER


def test_order_minimal_has_none_for_what_is_omitted() -> None:
    order = structure({"id": 1, "status": "PENDING", "amount": 200}, TopupOrder)
    assert order == TopupOrder(id=1, status=TopupOrderStatus.PENDING, amount=Decimal("200"))
    assert (order.client_reference, order.transaction_id, order.completed_at) == (None,) * 3
    assert (order.failure_code, order.failure_reason, order.is_user_fixable) == (None,) * 3


@pytest.mark.parametrize(
    ("value", "known"),
    [
        ("PENDING", True),
        ("DELIVERED", True),
        ("RECHARGED", True),
        ("FAILED", True),
        ("CANCELLED", True),
        ("ON_HOLD", False),
    ],
)
def test_order_status_is_open(value: str, known: bool) -> None:
    order = structure({"id": 1, "status": value, "amount": 1}, TopupOrder)
    assert order.status == value
    assert isinstance(order.status, TopupOrderStatus)
    assert order.status.is_known is known


@pytest.mark.parametrize("value", ["delivered", "Delivered", " DELIVERED "])
def test_a_known_status_in_another_letter_case_is_the_known_status(value: str) -> None:
    order = structure({"id": 1, "status": value}, TopupOrder)
    assert order.status is TopupOrderStatus.DELIVERED
    assert order.raw["status"] == value


def test_recovered_is_never_read_from_the_json() -> None:
    document = {"id": 1, "status": "DELIVERED", "amount": 1, "recovered": True}
    order = structure(document, TopupOrder)
    assert order.recovered is False
    assert order.raw["recovered"] is True


# --- lookup -----------------------------------------------------------------------------------

LOOKUP_ANSWER = example("topups.lookup.response.json")


@pytest.mark.parametrize(
    "number", ["+918879685100", "+1234567", "+123456789012345"], ids=["docs", "7-digits", "15"]
)
async def test_lookup_sends_the_number_and_parses_the_matches(wire, octo, events, number):
    wire.post(LOOKUP, payload=LOOKUP_ANSWER)

    matches = await octo.topups.lookup(number)

    [body] = bodies(wire, "POST", LOOKUP)
    assert body == json.dumps({"mobile_number": number}, separators=(",", ":")).encode()
    assert matches == (
        OperatorMatch(product_id=4219, name="Airtel India", country_code="IND", identified=True),
        OperatorMatch(
            product_id=4231, name="Vi (Vodafone Idea) India", country_code="IND", identified=False
        ),
    )
    assert steps(events) == ["POST /api/v1/topups/lookup 200"]


async def test_lookup_of_an_unknown_number_is_empty(wire, octo):
    wire.post(LOOKUP, payload=[])

    assert await octo.topups.lookup("+918879685100") == ()


NOT_E164 = [
    "918879685100",
    "+91 8879685100",
    "+91-88796",
    "+0123456789",
    "+123456",
    "+1234567890123456",
    "+91887968510O",
    " +918879685100",
    "+918879685100\n",
    "",
    "+",
    None,
    12345,
    918879685100,
]


@pytest.mark.parametrize("number", NOT_E164, ids=[repr(n) for n in NOT_E164])
async def test_lookup_refuses_a_number_not_in_e164_before_sending(wire, octo, number):
    with pytest.raises(InvalidRequestError) as caught:
        await octo.topups.lookup(number)

    error = caught.value
    assert error.param == "mobile_number"
    assert "E.164" in error.message
    assert wire.requests == {}  # not even a login
    # The message may show the number given, and nothing else of the caller's.
    for text in (str(error), repr(error)):
        assert SECRET not in text
        assert "key-topups" not in text


# --- charges ----------------------------------------------------------------------------------

TOPUP_QUOTE = {
    "non_discounted_total": 4.99,
    "discount_amount": 0.2495,
    "total_amount": 4.7405,
    "discount": 5,
    "gst_amount": 0.00,
    "total_payable": 4.7405,
    "net_amount": 4.7405,
    "handling_fee_amount": 0.00,
    "charges_details": {
        "source_currency": "USD",
        "destination_currency": "USD",
        "forex_rate": None,
        "conversion_fee": None,
    },
}


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((4218, Decimal("4.99")), {}, {"product_id": 4218, "amount": "4.99"}),
        (
            (4218, Decimal("4.99")),
            {"wallet_id": 1},
            {"product_id": 4218, "amount": "4.99", "wallet_id": 1},
        ),
        (
            (4219, 200),
            {"category": "Airtime"},
            {"product_id": 4219, "amount": 200, "category": "Airtime"},
        ),
        (
            (4219, "10.50"),
            {"wallet_id": 2, "category": "Data"},
            {"product_id": 4219, "amount": "10.50", "wallet_id": 2, "category": "Data"},
        ),
        (
            (4219, Decimal("0.2495")),
            {"category": "Bundle"},
            {"product_id": 4219, "amount": "0.2495", "category": "Bundle"},
        ),
    ],
    ids=["amount", "wallet", "int-category", "string-both", "fraction-bundle"],
)
async def test_charges_body_is_exact(wire, octo, args, kwargs, expected):
    wire.post(CHARGES, payload=TOPUP_QUOTE)

    quote = await octo.topups.charges(*args, **kwargs)

    [body] = bodies(wire, "POST", CHARGES)
    assert text_numbers(body) == expected
    assert quote == ChargesQuote(
        non_discounted_total=Decimal("4.99"),
        discount_amount=Decimal("0.2495"),
        total_amount=Decimal("4.7405"),
        discount=Decimal("5"),
        gst_amount=Decimal("0.00"),
        total_payable=Decimal("4.7405"),
        net_amount=Decimal("4.7405"),
        handling_fee_amount=Decimal("0.00"),
        charges_details=ChargesDetails(source_currency="USD", destination_currency="USD"),
    )
    assert quote.max_quantity is None


CHARGES_INVALID = [
    ("category", "airtime"),
    ("category", "Voice"),
    ("category", "In-Game Currency"),
    ("category", ""),
    ("category", 1),
    ("amount", 4.99),
    ("amount", 0),
    ("amount", -1),
    ("amount", Decimal("-0.01")),
    ("amount", "abc"),
    ("amount", "NaN"),
    ("amount", True),
    ("amount", None),
    ("product_id", 0),
    ("product_id", "4218"),
    ("wallet_id", 0),
]


@pytest.mark.parametrize(
    ("param", "value"), CHARGES_INVALID, ids=[f"{p}={v!r}" for p, v in CHARGES_INVALID]
)
async def test_charges_refuse_an_invalid_argument_before_sending(wire, octo, param, value):
    arguments = {"product_id": 4218, "amount": Decimal("4.99"), param: value}

    with pytest.raises(InvalidRequestError) as caught:
        await octo.topups.charges(**arguments)

    assert caught.value.param == param
    assert wire.requests == {}


# --- products and variants ----------------------------------------------------------------------

PRODUCTS_ANSWER = example("topups.products.list.response.json")


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({}, {"page": "1", "per_page": "100"}),
        ({"type": "GAMING"}, {"page": "1", "per_page": "100", "type": "GAMING"}),
        (
            {"type": "MOBILE", "search": "airtel india"},
            {"page": "1", "per_page": "100", "type": "MOBILE", "search": "airtel india"},
        ),
        (
            {"type": "UTILITY", "page_size": 50},
            {"page": "1", "per_page": "50", "type": "UTILITY"},
        ),
        ({"search": "PUBG", "page_size": 500}, {"page": "1", "per_page": "500", "search": "PUBG"}),
    ],
    ids=["none", "type", "type-search", "page-size", "max-page-size"],
)
async def test_products_list_query(wire, octo, kwargs, query):
    wire.get(PRODUCTS_QUERY, payload=PRODUCTS_ANSWER)

    products = [product async for product in octo.topups.products.list(**kwargs)]

    assert query_sent(wire, "/api/v1/topups/products") == query
    assert [(p.id, p.topup_type) for p in products] == [
        (4218, TopupType.GAMING),
        (4219, TopupType.MOBILE),
    ]


async def test_products_list_follows_pages_by_per_page(wire, octo):
    wire.get(
        f"{PRODUCTS}?page=1&per_page=1&type=GAMING",
        payload=PRODUCTS_ANSWER[:1],
        headers={"X-Has-More": "true"},
    )
    wire.get(
        f"{PRODUCTS}?page=2&per_page=1&type=GAMING",
        payload=PRODUCTS_ANSWER[1:],
        headers={"X-Has-More": "false"},
    )

    products = [p async for p in octo.topups.products.list(type="GAMING", page_size=1)]

    assert [p.id for p in products] == [4218, 4219]


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"type": "gaming"}, "type"),
        ({"type": "VOUCHER"}, "type"),
        ({"type": ""}, "type"),
        ({"type": 1}, "type"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 501}, "page_size"),
    ],
)
async def test_products_list_refuses_before_sending(wire, octo, kwargs, param):
    with pytest.raises(InvalidRequestError) as caught:
        octo.topups.products.list(**kwargs)

    assert caught.value.param == param
    assert wire.requests == {}


def product_json(input_fields: Any = None, product_id: int = 4218) -> dict[str, Any]:
    document = {**PRODUCT_BASE, "id": product_id, "image_url": ""}
    if input_fields is not None:
        document["input_fields"] = input_fields
    return document


GAMING_FIELDS = [
    {"name": "player_id", "required": True, "pattern": "^[0-9]{6,12}$"},
    {"name": "server", "required": False},
]


async def test_products_get(wire, octo):
    wire.get(f"{PRODUCTS}/4218", payload=product_json(GAMING_FIELDS))

    product = await octo.topups.products.get(4218)

    assert product.id == 4218
    assert product.image_url == ""
    assert product.input_fields == (
        InputField(name="player_id", required=True, pattern="^[0-9]{6,12}$"),
        InputField(name="server", required=False),
    )


VARIANTS_ANSWER = example("topups.variants.list.response.json")


async def test_products_variants_and_variants_get(wire, octo, events):
    wire.get(f"{PRODUCTS}/4218/variants", payload=[FIXED])
    wire.get(f"{API}/api/v1/topups/variants/88412", payload=FIXED)

    variants = await octo.topups.products.variants(4218)
    variant = await octo.topups.variants.get(88412)

    assert variants == (structure(FIXED, TopupVariant),)
    assert variant == variants[0]
    assert variant.fixed_amounts == (Decimal("0.99"), Decimal("4.990"))
    assert steps(events) == [
        "GET /api/v1/topups/products/4218/variants 200",
        "GET /api/v1/topups/variants/88412 200",
    ]


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda t: t.products.get(0), "product_id"),
        (lambda t: t.products.get("4218"), "product_id"),
        (lambda t: t.products.variants(-1), "product_id"),
        (lambda t: t.variants.get(True), "variant_id"),
        (lambda t: t.orders.get(2**31), "order_id"),
    ],
    ids=["get-0", "get-str", "variants-negative", "variant-bool", "order-too-big"],
)
async def test_an_invalid_id_is_refused_before_sending(wire, octo, call, param):
    with pytest.raises(InvalidRequestError) as caught:
        await call(octo.topups)

    assert caught.value.param == param
    assert wire.requests == {}


# --- input_data checked against the product's input_fields -------------------------------------


@pytest.mark.parametrize(
    ("input_data", "named"),
    [
        ({"player_id": "5123456789", "zone": "1"}, "zone"),
        ({"playerId": "5123456789"}, "playerId"),
        ({"phone_number": "+918879685100", "player_id": "5123456789"}, "phone_number"),
        ({"server": "asia"}, "player_id"),
        ({}, "player_id"),
    ],
    ids=["unknown-extra", "misspelt", "other-vertical", "required-missing", "empty"],
)
async def test_after_products_get_bad_input_data_is_refused_before_sending(
    wire, octo, events, input_data, named
):
    wire.get(f"{PRODUCTS}/4218", payload=product_json(GAMING_FIELDS))
    answer_create(wire)  # must not be sent
    await octo.topups.products.get(4218)

    with pytest.raises(InvalidRequestError) as caught:
        await octo.topups.orders.create(
            4218, Decimal("4.99"), input_data=input_data, client_reference=REF
        )

    assert caught.value.param == "input_data"
    assert named in caught.value.message
    assert steps(events) == ["GET /api/v1/topups/products/4218 200"]
    assert bodies(wire, "POST", ORDERS) == []


@pytest.mark.parametrize(
    "input_data",
    [PLAYER, {"player_id": "5123456789", "server": "asia"}, {"server": "asia", **PLAYER}],
    ids=["required-only", "both", "other-order"],
)
async def test_after_products_get_valid_input_data_is_sent_unchanged(wire, octo, input_data):
    wire.get(f"{PRODUCTS}/4218", payload=product_json(GAMING_FIELDS))
    answer_create(wire)
    await octo.topups.products.get(4218)

    order = await octo.topups.orders.create(
        4218, Decimal("4.99"), input_data=input_data, client_reference=REF
    )

    [body] = bodies(wire, "POST", ORDERS)
    sent = json.loads(body)
    assert sent["input_data"] == input_data
    assert list(sent["input_data"]) == list(input_data)
    assert order.id == 9123456


async def test_bare_string_input_fields_check_names_but_not_presence(wire, octo):
    wire.get(f"{PRODUCTS}/4218", payload=product_json(["player_id", "server"]))
    answer_create(wire)
    await octo.topups.products.get(4218)

    with pytest.raises(InvalidRequestError):
        await octo.topups.orders.create(4218, Decimal("4.99"), input_data={"zone": "1"})
    await octo.topups.orders.create(4218, Decimal("4.99"), input_data={"server": "asia"})

    [body] = bodies(wire, "POST", ORDERS)
    assert json.loads(body)["input_data"] == {"server": "asia"}


@pytest.mark.parametrize(
    "fetched",
    [None, product_json(None), product_json(GAMING_FIELDS, product_id=4219)],
    ids=["never-fetched", "fetched-without-input-fields", "another-product-fetched"],
)
async def test_unknown_keys_are_left_to_the_server_when_the_fields_are_unknown(
    wire, octo, events, fetched
):
    if fetched is not None:
        wire.get(f"{PRODUCTS}/{fetched['id']}", payload=fetched)
        await octo.topups.products.get(fetched["id"])
    message = "input_data.zone is not an input field"
    wire.post(
        ORDERS,
        status=400,
        payload={
            "error": {
                "name": "ValidationException",
                "code": "VALIDATION_FAILURE",
                "message": message,
            }
        },
    )

    with pytest.raises(ValidationError) as caught:
        await octo.topups.orders.create(
            4218, Decimal("4.99"), input_data={"zone": "1"}, client_reference=REF
        )

    assert caught.value.message == message
    [body] = bodies(wire, "POST", ORDERS)
    assert json.loads(body)["input_data"] == {"zone": "1"}
    assert steps(events)[-1] == "POST /api/v1/topups/orders 400"


async def test_fields_learnt_through_one_view_are_checked_in_another(wire, octo):
    wire.get(f"{PRODUCTS}/4218", payload=product_json(GAMING_FIELDS))
    await octo.with_options(max_retries=0).topups.products.get(4218)

    with pytest.raises(InvalidRequestError):
        await octo.topups.orders.create(4218, Decimal("4.99"), input_data={"zone": "1"})

    assert bodies(wire, "POST", ORDERS) == []


async def test_after_products_get_omitted_input_data_misses_the_required_field(wire, octo):
    wire.get(f"{PRODUCTS}/4218", payload=product_json(GAMING_FIELDS))
    answer_create(wire)
    await octo.topups.products.get(4218)

    with pytest.raises(InvalidRequestError) as caught:
        await octo.topups.orders.create(4218, Decimal("4.99"), client_reference=REF)

    assert caught.value.param == "input_data"
    assert bodies(wire, "POST", ORDERS) == []


@pytest.mark.parametrize(
    "input_data",
    [
        {"player_id": 5123456789},
        {"player_id": None},
        {"player_id": "5123456789", "server": ["asia"]},
        {1: "5123456789"},
    ],
    ids=["int-value", "none-value", "list-value", "int-key"],
)
async def test_input_data_must_map_names_to_strings(wire, octo, input_data):
    with pytest.raises(InvalidRequestError) as caught:
        await octo.topups.orders.create(4218, Decimal("4.99"), input_data=input_data)

    assert caught.value.param == "input_data"
    assert wire.requests == {}


@pytest.mark.parametrize("input_data", ['{"player_id": "5123456789"}', [("player_id", "1")]])
async def test_input_data_that_is_not_a_mapping_is_refused(wire, octo, input_data):
    with pytest.raises(InvalidRequestError) as caught:
        await octo.topups.orders.create(4218, Decimal("4.99"), input_data=input_data)

    assert caught.value.param == "input_data"
    assert wire.requests == {}


# --- orders.create ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((4218, Decimal("4.99")), {}, {"product_id": 4218, "amount": "4.99"}),
        ((4219, 200), {}, {"product_id": 4219, "amount": 200}),
        ((4219, "10.50"), {}, {"product_id": 4219, "amount": "10.50"}),
        (
            (4219, 200),
            {"category": "Data", "wallet_id": 3},
            {"product_id": 4219, "amount": 200, "category": "Data", "wallet_id": 3},
        ),
        (
            (4218, Decimal("4.99")),
            {"input_data": PLAYER, "wallet_id": 1},
            {"product_id": 4218, "amount": "4.99", "input_data": PLAYER, "wallet_id": 1},
        ),
    ],
    ids=["decimal", "int", "string", "category-wallet", "input-wallet"],
)
async def test_create_body_is_exact(wire, octo, events, args, kwargs, expected):
    answer_create(wire)

    order = await octo.topups.orders.create(*args, client_reference=REF, **kwargs)

    [body] = bodies(wire, "POST", ORDERS)
    assert text_numbers(body) == {**expected, "client_reference": REF}
    assert order == structure(order_json(), TopupOrder)
    assert order.recovered is False
    assert steps(events) == ["POST /api/v1/topups/orders 201"]


async def test_create_generates_a_reference_when_none_is_given(wire, octo):
    answer_create(wire)

    await octo.topups.orders.create(4218, Decimal("4.99"), input_data=PLAYER)

    [body] = bodies(wire, "POST", ORDERS)
    assert GENERATED.fullmatch(json.loads(body)["client_reference"])


CREATE_INVALID = [
    ("product_id", 0),
    ("product_id", "4218"),
    ("amount", 4.99),
    ("amount", 0),
    ("amount", -5),
    ("amount", "abc"),
    ("amount", Decimal("Infinity")),
    ("category", "airtime"),
    ("category", "In-Game Currency"),
    ("wallet_id", 0),
    ("client_reference", ""),
    ("client_reference", "x" * 256),
    ("client_reference", "tab\there"),
]


@pytest.mark.parametrize(
    ("param", "value"), CREATE_INVALID, ids=[f"{p}={v!r:.20}" for p, v in CREATE_INVALID]
)
async def test_create_refuses_an_invalid_argument_before_sending(wire, octo, param, value):
    arguments = {"product_id": 4218, "amount": Decimal("4.99"), "input_data": PLAYER}

    with pytest.raises(InvalidRequestError) as caught:
        await octo.topups.orders.create(**{**arguments, param: value})

    assert caught.value.param == param
    assert wire.requests == {}


async def test_a_lost_create_answer_is_recovered_by_client_reference(wire, octo, events):
    wire.post(ORDERS, exception=aiohttp.ServerDisconnectedError())
    answer_create(wire)  # a second create would be answered: it must not be sent
    wire.get(f"{ORDERS}?client_reference={REF}", payload=[order_json()])

    order = await octo.topups.orders.create(
        4218, Decimal("4.99"), input_data=PLAYER, client_reference=REF
    )

    assert steps(events) == [
        "POST /api/v1/topups/orders ServerDisconnectedError",
        "GET /api/v1/topups/orders 200",
    ]
    assert len(bodies(wire, "POST", ORDERS)) == 1
    assert query_sent(wire, "/api/v1/topups/orders") == {"client_reference": REF}
    assert order.recovered is True
    assert order.id == 9123456
    assert order.client_reference == REF


@pytest.mark.parametrize("status", ["DELIVERED", "RECHARGED"])
async def test_create_and_wait_returns_a_settled_success_without_polling(
    wire, octo, events, status
):
    answer_create(wire, status=status, completed_at="2026-05-19T14:30:08Z")

    order = await octo.topups.orders.create_and_wait(4218, Decimal("4.99"), input_data=PLAYER)

    assert order.status == status
    assert steps(events) == ["POST /api/v1/topups/orders 201"]


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED"])
async def test_create_and_wait_raises_a_settled_failure_with_its_reason(wire, octo, events, status):
    failure = {
        "failure_code": "INVALID_RECIPIENT",
        "failure_reason": "The player ID does not exist.",
        "is_user_fixable": True,
    }
    answer_create(wire, status=status, **failure)

    with pytest.raises(OrderFailedError) as caught:
        await octo.topups.orders.create_and_wait(
            4218, Decimal("4.99"), input_data=PLAYER, client_reference=REF
        )

    error = caught.value
    assert (error.failure_code, error.failure_reason, error.is_user_fixable) == (
        "INVALID_RECIPIENT",
        "The player ID does not exist.",
        True,
    )
    assert error.status == status
    assert error.order.id == 9123456
    assert error.client_reference == REF
    assert steps(events) == ["POST /api/v1/topups/orders 201"]


# --- orders.list, get and find ------------------------------------------------------------------

ORDERS_ANSWER = json.loads((EXAMPLES / "topups.orders.list.response.json").read_text())
PENDING_ORDER = TopupOrder(
    id=9123456,
    status=TopupOrderStatus.PENDING,
    amount=Decimal("4.7405"),
    currency="USD",
    product_id=4218,
    product_name="PUBG Mobile UC",
    variant_name="325 UC",
    country_code="GLO",
    status_text="Order submitted for fulfilment",
    client_reference="CAMPAIGN_DEC_24",
    created_at=datetime(2026, 5, 19, 14, 30, tzinfo=UTC),
)
DELIVERED_ORDER = TopupOrder(
    id=9123440,
    status=TopupOrderStatus.DELIVERED,
    amount=Decimal("4.7405"),
    currency="USD",
    product_id=4218,
    product_name="PUBG Mobile UC",
    variant_name="325 UC",
    country_code="GLO",
    status_text="Top-up delivered",
    transaction_id=7401120,
    created_at=datetime(2026, 5, 19, 13, 55, tzinfo=UTC),
    completed_at=datetime(2026, 5, 19, 13, 55, 8, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("kwargs", "filters"),
    [
        ({}, {}),
        ({"status": "PENDING"}, {"status": "PENDING"}),
        ({"status": "RECHARGED"}, {"status": "RECHARGED"}),
        ({"product_id": 4218, "country": "IND"}, {"product_id": "4218", "country": "IND"}),
        ({"country": "GLO"}, {"country": "GLO"}),
        ({"client_reference": "CAMPAIGN_DEC_24"}, {"client_reference": "CAMPAIGN_DEC_24"}),
        (
            {"status": "FAILED", "product_id": 1, "country": "USA", "page_size": 500},
            {"status": "FAILED", "product_id": "1", "country": "USA", "per_page": "500"},
        ),
    ],
    ids=["none", "status", "recharged", "product-country", "global", "reference", "all"],
)
async def test_orders_list_query_and_parse(wire, octo, kwargs, filters):
    wire.get(ORDERS_QUERY, payload=ORDERS_ANSWER)

    orders = [order async for order in octo.topups.orders.list(**kwargs)]

    assert query_sent(wire, "/api/v1/topups/orders") == {
        "page": "1",
        "per_page": "100",
        **filters,
    }
    assert orders == [PENDING_ORDER, DELIVERED_ORDER]


async def test_orders_list_status_filter_is_sent_as_the_known_value(wire, octo):
    wire.get(re.compile(r"^http://api\.test/api/v1/topups/orders\?"), payload=[])

    assert [order async for order in octo.topups.orders.list(status="recharged")] == []

    [(_, url)] = [key for key in wire.requests if key[0] == "GET"]
    assert url.query["status"] == "RECHARGED"


ORDERS_LIST_INVALID = [
    ("country", "ind"),
    ("country", "IN"),
    ("country", "INDIA"),
    ("country", "I N"),
    ("country", ""),
    ("product_id", 0),
    ("product_id", -1),
    ("product_id", True),
    ("product_id", "4218"),
    ("page_size", 0),
    ("page_size", 501),
    ("status", "DELIVERD"),
]


@pytest.mark.parametrize(
    ("param", "value"), ORDERS_LIST_INVALID, ids=[f"{p}={v!r}" for p, v in ORDERS_LIST_INVALID]
)
async def test_orders_list_refuses_before_sending(wire, octo, param, value):
    with pytest.raises(InvalidRequestError) as caught:
        octo.topups.orders.list(**{param: value})

    assert caught.value.param == param
    assert wire.requests == {}


async def test_orders_list_refuses_a_country_that_is_not_a_string(wire, octo):
    with pytest.raises(InvalidRequestError) as caught:
        octo.topups.orders.list(country=356)

    assert caught.value.param == "country"
    assert wire.requests == {}


@pytest.mark.parametrize(
    ("index", "expected"), [(0, PENDING_ORDER), (1, DELIVERED_ORDER)], ids=["pending", "delivered"]
)
async def test_orders_get_parses_a_documented_order(wire, octo, index, expected):
    wire.get(f"{ORDERS}/{expected.id}", payload=ORDERS_ANSWER[index])

    order = await octo.topups.orders.get(expected.id)

    assert order == expected
    assert str(order.amount) == "4.7405"
    assert order.recovered is False


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("CAMPAIGN_DEC_24", PENDING_ORDER), ("campaign_dec_24", None), ("NOT_THERE", None)],
    ids=["match", "case-differs", "no-match"],
)
async def test_orders_find_returns_only_the_exact_match(wire, octo, reference, expected):
    wire.get(f"{ORDERS}?client_reference={reference}", payload=ORDERS_ANSWER)

    found = await octo.topups.orders.find(reference)

    assert query_sent(wire, "/api/v1/topups/orders") == {"client_reference": reference}
    assert found == expected


# --- notification email -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [{"status": 204, "body": ""}, {"status": 200, "payload": {"email": "customer@example.com"}}],
    ids=["204-empty", "200-json"],
)
async def test_set_notification_email(wire, octo, events, answer):
    url = f"{ORDERS}/9123456/notification-email"
    wire.patch(url, **answer)

    result = await octo.topups.orders.set_notification_email(9123456, "customer@example.com")

    assert result is None
    assert bodies(wire, "PATCH", url) == [b'{"email":"customer@example.com"}']
    assert steps(events) == [
        f"PATCH /api/v1/topups/orders/9123456/notification-email {answer['status']}"
    ]


@pytest.mark.parametrize(
    ("order_id", "email", "param"),
    [
        (9123456, "not-an-email", "email"),
        (9123456, "a@b", "email"),
        (9123456, "a b@example.com", "email"),
        (9123456, "", "email"),
        (9123456, None, "email"),
        (9123456, "a" * 243 + "@example.com", "email"),
        (0, "customer@example.com", "order_id"),
    ],
    ids=["no-at", "no-dot", "space", "empty", "none", "too-long", "order-id"],
)
async def test_set_notification_email_refuses_before_sending(wire, octo, order_id, email, param):
    with pytest.raises(InvalidRequestError) as caught:
        await octo.topups.orders.set_notification_email(order_id, email)

    assert caught.value.param == param
    assert wire.requests == {}
