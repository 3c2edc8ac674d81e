"""eSIM (API.md 10): the models, local QR codes, and `client.esim` on the wire.

Models are read from JSON text with exact values (Decimal money, UTC datetimes, open
enums). Calls run against aioresponses at `API`; each test checks what was sent (path,
query, body bytes, read timeout) and what came back, and for arguments refused before
sending that nothing was sent at all. Waits use a poll policy scaled to milliseconds.
Activation codes are secrets (D17) that the SDK keeps once seen (D34). The documented
bodies themselves are compared in test_docs_examples.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support import API, FAST_RETRY, CompatAioresponses, bodies, calls, steps
from yarl import URL

from octopus_async import (
    APIResponseValidationError,
    InvalidRequestError,
    OctopusClient,
    OrderFailedError,
    OrderWaitTimeout,
    PollPolicy,
    RequestEvent,
    Timeouts,
)
from octopus_async.models import (
    ActivationStatus,
    ChargesDetails,
    ChargesQuote,
    EsimOrder,
    EsimOrderStatus,
    EsimProduct,
    EsimVariant,
    LpaCode,
    parse_lpa,
)
from octopus_async.models._convert import evolve, structure
from octopus_async.qr import qr_png, qr_svg
from octopus_async.resources.esim import ActivationCodes

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "docs_examples"
UTC = timezone.utc

PRODUCTS = f"{API}/api/v1/esim/products"
VARIANTS = f"{API}/api/v1/esim/variants"
ORDERS = f"{API}/api/v1/esim/orders"
CHARGES = f"{API}/api/v1/esim/charges"
ORDERS_PATH = "/api/v1/esim/orders"
PRODUCTS_QUERY = re.compile(r"^http://api\.test/api/v1/esim/products\?")
ORDERS_QUERY = re.compile(r"^http://api\.test/api/v1/esim/orders\?")
GENERATED = re.compile(r"oc_[0-9a-f]{32}")

ORDER_ID = 9302481
ORDER_URL = f"{ORDERS}/{ORDER_ID}"
REF = "TRIP_TOKYO_OCT"
MATCHING_ID = "MATCHINGID123"
CODE = f"LPA:1$smdp.example.com${MATCHING_ID}"
LPA = LpaCode(smdp_address="smdp.example.com", matching_id=MATCHING_ID)
ICCID = "8981000000000000000"
SECRET = "s3cr3t-esim-0001"
FAST_POLL = PollPolicy().scaled(0.001)  # install checks every ~45 ms, fulfilment ~5-30 ms


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def parse(text: str | bytes, cls: Any) -> Any:
    """`text` read as the transport reads a body: fractions as exact Decimals."""
    return structure(json.loads(text, parse_float=Decimal), cls)


# --- fixtures and wire helpers -------------------------------------------------------------


@pytest.fixture
def events() -> list[RequestEvent]:
    return []


@pytest.fixture
async def octo(events: list[RequestEvent]) -> AsyncIterator[OctopusClient]:
    """A client for `API` that records its request events and polls in milliseconds."""
    async with OctopusClient(
        "key-esim", SECRET, base_url=API, retry=FAST_RETRY, poll=FAST_POLL, hooks=[events.append]
    ) as client:
        yield client


def query_sent(wire: CompatAioresponses, path: str) -> dict[str, str]:
    [url] = [url for (method, url) in wire.requests if method == "GET" and url.path == path]
    return dict(url.query)


def list_requests(wire: CompatAioresponses) -> list[URL]:
    return [url for (method, url) in wire.requests if method == "GET" and url.path == ORDERS_PATH]


def order_json(order_id: int = ORDER_ID, **changes: Any) -> dict[str, Any]:
    """The delivered order of the docs' create answer (API.md 10.7), not yet installed.

    Another `order_id` gets another client_reference: a reference names one order.
    """
    order = {
        "id": order_id,
        "client_reference": REF if order_id == ORDER_ID else f"{REF}_{order_id}",
        "status": "DELIVERED",
        "status_text": "eSIM delivered",
        "product_name": "Japan eSIM",
        "country_code": "JPN",
        "data_amount_gb": 1.0,
        "validity_days": 7,
        "amount": 4.275,
        "currency": "USD",
        "activation_status": "NOT_INSTALLED",
        "is_installed": False,
        "activation_code": CODE,
        "iccid": ICCID,
        "transaction_id": 7402011,
        "created_at": "2026-05-15T14:30:00Z",
        **changes,
    }
    return {key: value for key, value in order.items() if value is not None}


def order_model(order_id: int = ORDER_ID, **changes: Any) -> EsimOrder:
    order: EsimOrder = parse(json.dumps(order_json(order_id, **changes)), EsimOrder)
    return order


# The server stops sending the code once the profile is installed (API.md 10.9).
INSTALLED = {
    "activation_status": "ACTIVE",
    "is_installed": True,
    "installed_at": "2026-05-15T18:42:11Z",
    "activation_code": None,
}
NOT_DELIVERED = {
    "activation_status": None,
    "is_installed": None,
    "activation_code": None,
    "iccid": None,
    "transaction_id": None,
}
PENDING = {**NOT_DELIVERED, "status": "PENDING", "status_text": "Order submitted for fulfilment"}
FAILURE = {
    "failure_code": "PLAN_UNAVAILABLE",
    "failure_reason": "This plan is no longer available.",
    "is_user_fixable": True,
}
FAILED = {**NOT_DELIVERED, "status": "FAILED", "status_text": "Plan unavailable", **FAILURE}


# --- models ---------------------------------------------------------------------------------

VARIANT_TEXT = """{"id": 5511, "esim_product_id": 712, "name": "Japan 1 GB / 7 days",
 "description": "Data-only eSIM for short trips", "currency_code": "USD", "amount": 4.50,
 "data_amount_gb": 1.0, "validity_days": 7, "client_discount": 5.0}"""
UNLIMITED_TEXT = """{"id": 5512, "name": "Japan unlimited / 3 days", "currency_code": "USD",
 "amount": 12.00, "data_amount_gb": 0, "validity_days": 3, "client_discount": 2.5}"""
JAPAN_1GB = EsimVariant(
    id=5511,
    name="Japan 1 GB / 7 days",
    currency_code="USD",
    amount=Decimal("4.50"),
    data_amount_gb=Decimal("1.0"),
    validity_days=7,
    client_discount=Decimal("5.0"),
    esim_product_id=712,
    description="Data-only eSIM for short trips",
)
JAPAN_UNLIMITED = EsimVariant(
    id=5512,
    name="Japan unlimited / 3 days",
    currency_code="USD",
    amount=Decimal("12.00"),
    data_amount_gb=Decimal("0"),
    validity_days=3,
    client_discount=Decimal("2.5"),
)
PRODUCT_TEXT = """{"id": 712, "name": "Japan eSIM", "country_code": "JPN", "currency_code": "USD",
 "image_url": "https://cdn.example.com/esim/japan.png"}"""
PRODUCT_WITH_VARIANTS_TEXT = (
    PRODUCT_TEXT[:-1] + f', "variants": [{VARIANT_TEXT}, {UNLIMITED_TEXT}]}}'
).encode()
JAPAN = EsimProduct(
    id=712,
    name="Japan eSIM",
    country_code="JPN",
    currency_code="USD",
    image_url="https://cdn.example.com/esim/japan.png",
)


def test_product_of_a_list_has_no_variants() -> None:
    product = parse(PRODUCT_TEXT, EsimProduct)

    assert product == JAPAN
    assert product.variants == ()
    assert product.raw == json.loads(PRODUCT_TEXT)


def test_product_get_inlines_its_variants_with_exact_values() -> None:
    product = parse(PRODUCT_WITH_VARIANTS_TEXT, EsimProduct)

    assert product == evolve(JAPAN, variants=(JAPAN_1GB, JAPAN_UNLIMITED))
    assert [str(variant.amount) for variant in product.variants] == ["4.50", "12.00"]
    assert product.variants[0].raw == json.loads(VARIANT_TEXT, parse_float=Decimal)


@pytest.mark.parametrize(
    ("text", "expected", "exact"),
    [
        (VARIANT_TEXT, JAPAN_1GB, ("4.50", "1.0", "5.0")),
        (UNLIMITED_TEXT, JAPAN_UNLIMITED, ("12.00", "0", "2.5")),
    ],
    ids=["docs", "unlimited-no-description"],
)
def test_variant_values_are_exact(text: str, expected: EsimVariant, exact: tuple) -> None:
    variant = parse(text, EsimVariant)

    assert variant == expected
    # The amount goes back unchanged as the plan selector: it must keep its digits.
    assert (str(variant.amount), str(variant.data_amount_gb), str(variant.client_discount)) == (
        exact
    )
    assert type(variant.validity_days) is int


DELIVERED_INSTALLED_TEXT = """{"id": 9302481, "client_reference": "TRIP_TOKYO_OCT",
 "status": "DELIVERED", "status_text": "eSIM delivered", "product_name": "Japan eSIM",
 "country_code": "JPN", "data_amount_gb": 1.0, "validity_days": 7, "amount": 4.275,
 "currency": "USD", "activation_status": "ACTIVE", "is_installed": true,
 "installed_at": "2026-05-15T18:42:11Z", "activated_at": "2026-05-15T21:01:08.500+02:00",
 "transaction_id": 7402011, "created_at": "2026-05-15T14:30:00Z",
 "activation_code": "LPA:1$smdp.example.com$MATCHINGID123", "iccid": "8981000000000000000"}"""


def test_order_with_every_documented_field() -> None:
    order = parse(DELIVERED_INSTALLED_TEXT, EsimOrder)

    assert order == EsimOrder(
        id=9302481,
        status=EsimOrderStatus.DELIVERED,
        amount=Decimal("4.275"),
        currency="USD",
        client_reference="TRIP_TOKYO_OCT",
        status_text="eSIM delivered",
        product_name="Japan eSIM",
        country_code="JPN",
        data_amount_gb=Decimal("1.0"),
        validity_days=7,
        activation_status=ActivationStatus.ACTIVE,
        is_installed=True,
        installed_at=datetime(2026, 5, 15, 18, 42, 11, tzinfo=UTC),
        activated_at=datetime(2026, 5, 15, 19, 1, 8, 500000, tzinfo=UTC),
        transaction_id=7402011,
        created_at=datetime(2026, 5, 15, 14, 30, tzinfo=UTC),
        activation_code=CODE,
        iccid=ICCID,
    )
    assert (str(order.amount), str(order.data_amount_gb)) == ("4.275", "1.0")
    assert order.activated_at.utcoffset().total_seconds() == 0
    assert (order.failure_code, order.failure_reason, order.is_user_fixable) == (None,) * 3
    assert order.recovered is False
    assert order.raw == json.loads(DELIVERED_INSTALLED_TEXT, parse_float=Decimal)


def test_failed_order_carries_its_failure_and_no_profile() -> None:
    order = order_model(**FAILED)

    assert order.status == EsimOrderStatus.FAILED
    assert (order.failure_code, order.failure_reason, order.is_user_fixable) == (
        "PLAN_UNAVAILABLE",
        "This plan is no longer available.",
        True,
    )
    assert (order.activation_code, order.iccid, order.lpa) == (None, None, None)
    assert order.installed is False


def test_minimal_order_has_none_for_what_is_omitted() -> None:
    order = parse('{"id": 1, "status": "PENDING", "amount": 4.275}', EsimOrder)

    assert order == EsimOrder(id=1, status=EsimOrderStatus.PENDING, amount=Decimal("4.275"))
    assert (order.activation_status, order.is_installed, order.installed_at) == (None,) * 3
    assert (order.activated_at, order.activation_code, order.iccid) == (None,) * 3
    assert (order.installed, order.lpa) == (False, None)


@pytest.mark.parametrize(
    ("value", "known"),
    [("NOT_INSTALLED", True), ("ACTIVE", True), ("EXPIRED", True), ("SUSPENDED", False)],
)
def test_activation_status_is_open(value: str, known: bool) -> None:
    order = order_model(activation_status=value)
    assert order.activation_status == value
    assert isinstance(order.activation_status, ActivationStatus)
    assert order.activation_status.is_known is known


@pytest.mark.parametrize(
    ("value", "known"),
    [
        ("PENDING", True),
        ("DELIVERED", True),
        ("FAILED", True),
        ("CANCELLED", True),
        ("REFUNDED", False),
    ],
)
def test_order_status_is_open(value: str, known: bool) -> None:
    order = order_model(status=value)
    assert order.status == value
    assert isinstance(order.status, EsimOrderStatus)
    assert order.status.is_known is known


@pytest.mark.parametrize(
    ("is_installed", "activation_status", "installed"),
    [
        (True, None, True),
        (True, "NOT_INSTALLED", True),
        (False, "ACTIVE", True),
        (None, "ACTIVE", True),
        (None, "EXPIRED", True),
        (False, "NOT_INSTALLED", False),
        (None, None, False),
        (False, "SUSPENDED", False),
    ],
)
def test_installed(is_installed: bool | None, activation_status: str | None, installed: bool):
    order = order_model(is_installed=is_installed, activation_status=activation_status)
    assert order.installed is installed


def test_recovered_is_never_read_from_the_json() -> None:
    order = order_model(recovered=True)
    assert order.recovered is False
    assert order.raw["recovered"] is True


def test_repr_never_shows_the_activation_code() -> None:
    order = order_model()
    assert order.activation_code == CODE

    texts = [repr(order), str(order), repr([order]), repr(evolve(order, recovered=True))]

    for text in texts:
        assert MATCHING_ID not in text
        assert "activation_code='***'" in text
    assert "activation_code=None" in repr(order_model(**INSTALLED))


def test_repr_of_the_lpa_parts_hides_the_matching_id() -> None:
    assert MATCHING_ID not in repr(order_model().lpa)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (CODE, ("smdp.example.com", MATCHING_ID)),
        # SGP.22 allows optional parts after the matching id (SM-DP+ OID, confirmation flag).
        ("LPA:1$a$b$c", ("a", "b")),
        ("LPA:1$rsp.example.com$JQ-209U6H$1.3.6.1.4.1.31746$1", ("rsp.example.com", "JQ-209U6H")),
        ("LPA:1$a$b$", ("a", "b")),
        (None, None),
        ("", None),
        ("LPA:2$a$b", None),
        ("LPA:1$$b", None),
        ("LPA:1$a$", None),
        ("LPA:1$a", None),
        ("LPA:1", None),
        ("$a$b", None),
        ("random text", None),
    ],
    ids=repr,
)
def test_lpa_parts(code: str | None, expected: tuple[str, str] | None) -> None:
    want = None if expected is None else LpaCode(*expected)

    assert parse_lpa(code) == want
    assert order_model(activation_code=code).lpa == want


# --- QR codes -------------------------------------------------------------------------------


def svg_width(svg: str) -> int:
    match = re.search(r'<svg[^>]*\swidth="(\d+)"', svg)
    assert match is not None, svg[:200]
    return int(match.group(1))


def png_width(png: bytes) -> int:
    assert png[12:16] == b"IHDR"
    return int.from_bytes(png[16:20], "big")


def test_qr_svg_is_an_svg_document_scaled_as_asked() -> None:
    svg = qr_svg(CODE)

    assert isinstance(svg, str)
    assert "<svg" in svg
    assert svg_width(qr_svg(CODE, scale=8)) == 2 * svg_width(svg)
    assert qr_svg("LPA:1$smdp.example.com$OTHER") != svg


def test_qr_png_is_a_png_image_scaled_as_asked() -> None:
    png = qr_png(CODE)

    assert isinstance(png, bytes)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_width(qr_png(CODE, scale=8)) == 2 * png_width(png)
    assert qr_png("LPA:1$smdp.example.com$OTHER") != png


@pytest.mark.parametrize(
    "width",
    [lambda code: svg_width(qr_svg(code, scale=1)), lambda c: png_width(qr_png(c, scale=1))],
    ids=["svg", "png"],
)
def test_a_short_code_still_makes_a_full_qr_code_a_phone_can_scan(width: Any) -> None:
    # 21 modules (version 1) plus a 4-module quiet zone each side; a Micro QR would be
    # smaller, and phone cameras do not read Micro QR.
    assert width("LPA:1$a$b") == 29


@pytest.mark.parametrize("render", [qr_svg, qr_png])
def test_qr_refuses_an_empty_code(render: Callable[[str], Any]) -> None:
    with pytest.raises(ValueError, match="activation code"):
        render("")


@pytest.mark.parametrize("render", [qr_svg, qr_png])
def test_qr_without_segno_names_the_extra(
    render: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "segno", None)

    with pytest.raises(ImportError) as caught:
        render(CODE)

    assert "'qr' extra" in str(caught.value)
    assert "pip install 'octopus-async[qr]'" in str(caught.value)


# --- products and variants ------------------------------------------------------------------

PRODUCTS_ANSWER = example("esim.products.list.response.json")
GLOBAL = EsimProduct(
    id=904,
    name="Global Roaming",
    country_code="GLO",
    currency_code="USD",
    image_url="https://cdn.example.com/esim/global.png",
)


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({}, {}),
        ({"country_code": "JPN"}, {"country_code": "JPN"}),
        ({"country_code": "GLO"}, {"country_code": "GLO"}),
        ({"search": "japan"}, {"search": "japan"}),
        (
            {"country_code": "USA", "search": "east coast", "page_size": 500},
            {"country_code": "USA", "search": "east coast", "per_page": "500"},
        ),
    ],
    ids=["none", "country", "global", "search", "all"],
)
async def test_products_list_query_and_parse(wire, octo, kwargs, query):
    wire.get(PRODUCTS_QUERY, body=PRODUCTS_ANSWER)

    products = [product async for product in octo.esim.products.list(**kwargs)]

    assert query_sent(wire, "/api/v1/esim/products") == {"page": "1", "per_page": "100", **query}
    assert products == [JAPAN, GLOBAL]


COUNTRY_CODES_REFUSED = ["jp", "JP", "jpn", "Jpn", "JAPAN", "", "J N", "JPN\n", 392, b"JPN"]


@pytest.mark.parametrize("country_code", COUNTRY_CODES_REFUSED, ids=repr)
async def test_products_list_refuses_a_country_code_before_sending(wire, octo, country_code):
    with pytest.raises(InvalidRequestError) as caught:
        octo.esim.products.list(country_code=country_code)

    assert caught.value.param == "country_code"
    assert "alpha-3" in caught.value.message
    assert wire.requests == {}


@pytest.mark.parametrize("page_size", [0, 501, True])
async def test_products_list_refuses_a_page_size_before_sending(wire, octo, page_size):
    with pytest.raises(InvalidRequestError) as caught:
        octo.esim.products.list(page_size=page_size)

    assert caught.value.param == "page_size"
    assert wire.requests == {}


async def test_products_get_renders_a_plan_picker_in_one_call(wire, octo, events):
    wire.get(f"{PRODUCTS}/712", body=PRODUCT_WITH_VARIANTS_TEXT)

    product = await octo.esim.products.get(712)

    assert product.variants == (JAPAN_1GB, JAPAN_UNLIMITED)
    assert str(product.variants[0].amount) == "4.50"
    assert steps(events) == ["GET /api/v1/esim/products/712 200"]


async def test_products_variants(wire, octo, events):
    wire.get(f"{PRODUCTS}/712/variants", body=example("esim.variants.list.response.json"))

    assert await octo.esim.products.variants(712) == (JAPAN_1GB,)
    assert steps(events) == ["GET /api/v1/esim/products/712/variants 200"]


async def test_variants_get(wire, octo, events):
    wire.get(f"{VARIANTS}/5511", body=VARIANT_TEXT)

    variant = await octo.esim.variants.get(5511)

    assert variant == JAPAN_1GB
    assert str(variant.amount) == "4.50"
    assert steps(events) == ["GET /api/v1/esim/variants/5511 200"]


async def test_a_fractional_validity_is_read_as_unknown(wire, octo, caplog):
    wire.get(
        f"{VARIANTS}/5511", body=VARIANT_TEXT.replace('"validity_days": 7', '"validity_days": 7.5')
    )

    variant = await octo.esim.variants.get(5511)

    assert variant.validity_days is None  # not a whole number of days: not guessed (D40)
    assert variant.amount == Decimal("4.50")
    assert "EsimVariant.validity_days could not be read (expected an integer)" in caplog.text


IDS_REFUSED = [
    (lambda client: client.esim.products.get(0), "product_id"),
    (lambda client: client.esim.products.get("712"), "product_id"),
    (lambda client: client.esim.products.variants(True), "product_id"),
    (lambda client: client.esim.variants.get(-1), "variant_id"),
    (lambda client: client.esim.orders.get(0), "order_id"),
    (lambda client: client.esim.orders.get(str(ORDER_ID)), "order_id"),
]


@pytest.mark.parametrize(("call", "param"), IDS_REFUSED)
async def test_ids_are_checked_before_sending(wire, octo, call, param):
    with pytest.raises(InvalidRequestError) as caught:
        await call(octo)

    assert caught.value.param == param
    assert wire.requests == {}


# --- charges --------------------------------------------------------------------------------

# API.md 10.6, the assembled same-currency answer.
ESIM_QUOTE = b"""{"non_discounted_total": 4.50, "discount_amount": 0.225, "total_amount": 4.275,
 "discount": 5.0, "total_payable": 4.275, "charges_details": {"source_currency": "USD",
 "destination_currency": "USD", "forex_rate": null, "conversion_fee": null}}"""


@pytest.mark.parametrize(
    ("args", "kwargs", "sent"),
    [
        ((712, Decimal("4.50")), {}, b'{"product_id":712,"amount":4.50}'),
        ((712, "4.50"), {"wallet_id": 3}, b'{"product_id":712,"amount":4.50,"wallet_id":3}'),
        ((904, 20), {"wallet_id": None}, b'{"product_id":904,"amount":20}'),
    ],
    ids=["decimal", "string-wallet", "int-no-wallet"],
)
async def test_charges_body_is_exact_and_the_quote_parses(wire, octo, events, args, kwargs, sent):
    wire.post(CHARGES, body=ESIM_QUOTE)

    quote = await octo.esim.charges(*args, **kwargs)

    assert bodies(wire, "POST", CHARGES) == [sent]
    assert quote == ChargesQuote(
        non_discounted_total=Decimal("4.50"),
        discount_amount=Decimal("0.225"),
        total_amount=Decimal("4.275"),
        discount=Decimal("5.0"),
        total_payable=Decimal("4.275"),
        charges_details=ChargesDetails(source_currency="USD", destination_currency="USD"),
    )
    assert (str(quote.discount_amount), str(quote.total_payable)) == ("0.225", "4.275")
    assert (quote.max_quantity, quote.gst_amount, quote.net_amount) == (None, None, None)
    assert quote.is_cross_currency is False
    assert steps(events) == ["POST /api/v1/esim/charges 200"]


CHARGES_INVALID = [
    ("amount", 4.50),
    ("amount", 0),
    ("amount", Decimal("-4.50")),
    ("amount", "abc"),
    ("amount", "NaN"),
    ("amount", True),
    ("amount", None),
    ("product_id", 0),
    ("product_id", "712"),
    ("wallet_id", 0),
    ("wallet_id", True),
]


@pytest.mark.parametrize(
    ("param", "value"), CHARGES_INVALID, ids=[f"{p}={v!r}" for p, v in CHARGES_INVALID]
)
async def test_charges_refuse_an_invalid_argument_before_sending(wire, octo, param, value):
    arguments = {"product_id": 712, "amount": Decimal("4.50"), param: value}

    with pytest.raises(InvalidRequestError) as caught:
        await octo.esim.charges(**arguments)

    assert caught.value.param == param
    assert wire.requests == {}


# --- orders.create --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "sent"),
    [
        (
            (712, Decimal("4.50")),
            {"client_reference": REF},
            b'{"product_id":712,"amount":4.50,"quantity":1,"client_reference":"TRIP_TOKYO_OCT"}',
        ),
        (
            (712, "4.50"),
            {"client_reference": REF, "quantity": 1},
            b'{"product_id":712,"amount":4.50,"quantity":1,"client_reference":"TRIP_TOKYO_OCT"}',
        ),
        (
            (904, 20),
            {"client_reference": REF, "wallet_id": 2},
            b'{"product_id":904,"amount":20,"quantity":1,"wallet_id":2,'
            b'"client_reference":"TRIP_TOKYO_OCT"}',
        ),
    ],
    ids=["docs", "string-amount", "int-amount-wallet"],
)
async def test_create_body_is_exact(wire, octo, events, args, kwargs, sent):
    wire.post(ORDERS, payload=order_json())

    order = await octo.esim.orders.create(*args, **kwargs)

    assert bodies(wire, "POST", ORDERS) == [sent]
    assert order == order_model()
    assert (order.activation_code, order.lpa, order.iccid) == (CODE, LPA, ICCID)
    assert order.recovered is False
    assert steps(events) == ["POST /api/v1/esim/orders 200"]


async def test_create_sends_the_documented_request_for_the_same_arguments(wire, octo):
    wire.post(ORDERS, payload=order_json())

    await octo.esim.orders.create(712, Decimal("4.50"), client_reference="TRIP_TOKYO_OCT")

    [body] = bodies(wire, "POST", ORDERS)
    documented = example("esim.orders.create.request.json")
    assert json.loads(body, parse_float=str) == json.loads(documented, parse_float=str)
    assert list(json.loads(body)) == list(json.loads(documented))


async def test_create_generates_a_reference_when_none_is_given(wire, octo):
    wire.post(ORDERS, payload=order_json())

    await octo.esim.orders.create(712, Decimal("4.50"))

    [body] = bodies(wire, "POST", ORDERS)
    assert GENERATED.fullmatch(json.loads(body)["client_reference"])


@pytest.mark.parametrize("quantity", [2, 0, -1, True, "1", None], ids=repr)
async def test_create_refuses_any_quantity_but_one_before_sending(wire, octo, quantity):
    with pytest.raises(InvalidRequestError) as caught:
        await octo.esim.orders.create(712, Decimal("4.50"), client_reference=REF, quantity=quantity)

    assert caught.value.param == "quantity"
    assert "quantity=1" in caught.value.message
    assert wire.requests == {}


async def test_submit_and_create_and_wait_refuse_a_quantity_too(wire, octo):
    with pytest.raises(InvalidRequestError) as submitted:
        octo.esim.orders.submit(712, Decimal("4.50"), quantity=2)
    with pytest.raises(InvalidRequestError) as waited:
        await octo.esim.orders.create_and_wait(712, Decimal("4.50"), quantity=2)

    assert submitted.value.param == waited.value.param == "quantity"
    assert wire.requests == {}


CREATE_INVALID = [
    ("amount", 4.50),
    ("amount", 0),
    ("amount", "abc"),
    ("amount", Decimal("Infinity")),
    ("product_id", 0),
    ("product_id", "712"),
    ("wallet_id", 0),
    ("client_reference", ""),
    ("client_reference", "x" * 256),
    ("client_reference", "tab\there"),
]


@pytest.mark.parametrize(
    ("param", "value"), CREATE_INVALID, ids=[f"{p}={v!r:.20}" for p, v in CREATE_INVALID]
)
async def test_create_refuses_an_invalid_argument_before_sending(wire, octo, param, value):
    arguments = {"product_id": 712, "amount": Decimal("4.50"), "client_reference": REF}

    with pytest.raises(InvalidRequestError) as caught:
        await octo.esim.orders.create(**{**arguments, param: value})

    assert caught.value.param == param
    assert wire.requests == {}


@pytest.mark.parametrize(
    ("timeouts", "create_read", "read", "connect"),
    [(Timeouts(), 75, 30, 10), (Timeouts(connect=3, read=12, esim_create_read=90), 90, 12, 3)],
    ids=["defaults", "configured"],
)
@pytest.mark.parametrize("method", ["create", "create_and_wait"])
async def test_create_waits_longer_for_its_answer_than_other_calls(
    wire, method, timeouts, create_read, read, connect
):
    # The server may hold the create for 60 s (API.md 10.7, D22).
    wire.post(ORDERS, payload=order_json())
    wire.get(ORDER_URL, payload=order_json())
    wire.post(CHARGES, body=ESIM_QUOTE)

    async with OctopusClient(
        "key", "secret", base_url=API, retry=FAST_RETRY, timeouts=timeouts
    ) as client:
        await getattr(client.esim.orders, method)(712, Decimal("4.50"), client_reference=REF)
        await client.esim.orders.get(ORDER_ID)
        await client.esim.charges(712, Decimal("4.50"))

    [create] = calls(wire, "POST", ORDERS)
    [get] = calls(wire, "GET", ORDER_URL)
    [charges] = calls(wire, "POST", CHARGES)
    assert create.kwargs["timeout"].sock_read == create_read
    assert get.kwargs["timeout"].sock_read == read
    assert charges.kwargs["timeout"].sock_read == read
    assert {call.kwargs["timeout"].sock_connect for call in (create, get, charges)} == {connect}


async def test_create_returns_a_pending_answer_as_pending(wire, octo, events):
    wire.post(ORDERS, payload=order_json(**PENDING))

    order = await octo.esim.orders.create(712, Decimal("4.50"), client_reference=REF)

    assert order == order_model(**PENDING)
    assert order.status == EsimOrderStatus.PENDING
    assert (order.activation_code, order.lpa, order.installed) == (None, None, False)
    assert steps(events) == ["POST /api/v1/esim/orders 200"]


async def test_create_returns_a_failed_answer_without_raising(wire, octo, events):
    wire.post(ORDERS, payload=order_json(**FAILED))

    order = await octo.esim.orders.create(712, Decimal("4.50"), client_reference=REF)

    assert order.status == EsimOrderStatus.FAILED
    assert (order.failure_code, order.failure_reason, order.is_user_fixable) == (
        "PLAN_UNAVAILABLE",
        "This plan is no longer available.",
        True,
    )
    assert steps(events) == ["POST /api/v1/esim/orders 200"]


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED"])
async def test_create_and_wait_raises_a_failure_without_polling(wire, octo, events, status):
    wire.post(ORDERS, payload=order_json(**{**FAILED, "status": status}))

    with pytest.raises(OrderFailedError) as caught:
        await octo.esim.orders.create_and_wait(712, Decimal("4.50"), client_reference=REF)

    error = caught.value
    assert (error.failure_code, error.failure_reason, error.is_user_fixable) == (
        "PLAN_UNAVAILABLE",
        "This plan is no longer available.",
        True,
    )
    assert error.status == status
    assert error.order.id == ORDER_ID
    assert error.client_reference == REF
    assert steps(events) == ["POST /api/v1/esim/orders 200"]


async def test_create_and_wait_returns_a_delivered_answer_without_polling(wire, octo, events):
    wire.post(ORDERS, payload=order_json())

    order = await octo.esim.orders.create_and_wait(712, Decimal("4.50"), client_reference=REF)

    assert order == order_model()
    assert order.activation_code == CODE
    assert steps(events) == ["POST /api/v1/esim/orders 200"]


async def test_create_and_wait_polls_a_pending_order_by_id_until_delivered(wire, octo, events):
    wire.post(ORDERS, payload=order_json(**PENDING))
    wire.get(ORDER_URL, payload=order_json(**PENDING))
    wire.get(ORDER_URL, payload=order_json())

    order = await octo.esim.orders.create_and_wait(712, Decimal("4.50"), client_reference=REF)

    assert order == order_model()
    assert order.lpa == LPA
    assert steps(events) == [
        "POST /api/v1/esim/orders 200",
        f"GET {ORDERS_PATH}/{ORDER_ID} 200",
        f"GET {ORDERS_PATH}/{ORDER_ID} 200",
    ]


async def test_many_fulfilment_waits_still_resolve_with_their_activation_codes(wire, octo):
    # Four waits reach PollPolicy.sweep_threshold: the scheduler reads the list, which never
    # carries activation_code (API.md 10.8); only the single GET does (10.9).
    ids = [ORDER_ID + n for n in range(4)]
    wire.get(ORDERS_QUERY, payload=[order_json(i, activation_code=None) for i in ids], repeat=True)
    for i in ids:
        wire.get(f"{ORDERS}/{i}", payload=order_json(i, activation_code=f"{CODE}{i}"), repeat=True)

    waiters = [octo.esim.orders.wait(order_model(i, **PENDING)) for i in ids]
    orders = await asyncio.gather(*waiters)

    assert [order.status for order in orders] == ["DELIVERED"] * 4
    assert [order.activation_code for order in orders] == [f"{CODE}{i}" for i in ids]


# --- a lost create answer ---------------------------------------------------------------------


async def test_a_lost_create_answer_is_settled_by_the_reference(wire, octo, events):
    # The read timeout ran out while the server held the create.
    wire.post(ORDERS, exception=asyncio.TimeoutError())
    wire.post(ORDERS, payload=order_json())  # a second create would be answered: not sent
    wire.get(f"{ORDERS}?client_reference={REF}", payload=[order_json(**PENDING)])

    order = await octo.esim.orders.create(712, Decimal("4.50"), client_reference=REF)

    assert steps(events)[:2] == [
        "POST /api/v1/esim/orders TimeoutError",
        "GET /api/v1/esim/orders 200",
    ]
    assert len(bodies(wire, "POST", ORDERS)) == 1
    assert query_sent(wire, ORDERS_PATH) == {"client_reference": REF}
    assert order.recovered is True
    assert (order.id, order.client_reference, order.status) == (ORDER_ID, REF, "PENDING")


async def test_a_lost_create_answer_with_no_order_sends_the_same_create_again(wire, octo, events):
    wire.post(ORDERS, exception=asyncio.TimeoutError())
    wire.get(f"{ORDERS}?client_reference={REF}", payload=[])
    wire.post(ORDERS, payload=order_json())

    order = await octo.esim.orders.create(712, Decimal("4.50"), client_reference=REF)

    first, second = bodies(wire, "POST", ORDERS)
    assert first == second
    assert json.loads(first)["client_reference"] == REF
    assert order == order_model()
    assert order.recovered is False
    assert steps(events) == [
        "POST /api/v1/esim/orders TimeoutError",
        "GET /api/v1/esim/orders 200",
        "POST /api/v1/esim/orders 200",
    ]


@pytest.mark.parametrize("method", ["create", "create_and_wait"])
async def test_a_recovered_delivered_order_still_has_its_activation_code(wire, octo, method):
    wire.post(ORDERS, exception=asyncio.TimeoutError())
    # The list never sends the code (API.md 10.8); the single GET does until install (10.9).
    wire.get(f"{ORDERS}?client_reference={REF}", payload=[order_json(activation_code=None)])
    wire.get(ORDER_URL, payload=order_json(), repeat=True)

    order = await getattr(octo.esim.orders, method)(712, Decimal("4.50"), client_reference=REF)

    assert order.recovered is True
    assert order.activation_code == CODE


# --- activation codes are kept (D34) ----------------------------------------------------------


async def later_by_get(wire: CompatAioresponses, client: OctopusClient, _: EsimOrder) -> EsimOrder:
    wire.get(ORDER_URL, payload=order_json(**INSTALLED))
    return await client.esim.orders.get(ORDER_ID)


async def later_by_find(wire: CompatAioresponses, client: OctopusClient, _: EsimOrder) -> EsimOrder:
    wire.get(f"{ORDERS}?client_reference={REF}", payload=[order_json(**INSTALLED)])
    found = await client.esim.orders.find(REF)
    assert found is not None
    return found


async def later_by_list(wire: CompatAioresponses, client: OctopusClient, _: EsimOrder) -> EsimOrder:
    other = order_json(ORDER_ID - 1, **INSTALLED, client_reference="OTHER")
    wire.get(ORDERS_QUERY, payload=[order_json(**INSTALLED), other])
    orders = [order async for order in client.esim.orders.list()]
    assert orders[1].activation_code is None  # nothing was ever seen for that one
    return orders[0]


async def later_by_wait(wire: CompatAioresponses, client: OctopusClient, made: EsimOrder):
    wire.get(ORDER_URL, payload=order_json(**INSTALLED))
    return await client.esim.orders.wait_installed(made)


Later = Callable[[CompatAioresponses, OctopusClient, EsimOrder], Awaitable[EsimOrder]]


@pytest.mark.parametrize(
    "later", [later_by_get, later_by_find, later_by_list, later_by_wait], ids=lambda f: f.__name__
)
async def test_the_code_stays_on_later_copies_after_install(wire, octo, later: Later):
    wire.post(ORDERS, payload=order_json())
    made = await octo.esim.orders.create(712, Decimal("4.50"), client_reference=REF)

    order = await later(wire, octo, made)

    assert order.installed is True
    assert order.activation_code == CODE
    assert order.lpa == LPA
    assert "activation_code" not in order.raw  # the server's answer, as it was
    assert order == order_model(**{**INSTALLED, "activation_code": CODE})


async def test_a_code_first_seen_on_a_get_is_kept_too(wire, octo):
    wire.get(ORDER_URL, payload=order_json())
    wire.get(ORDER_URL, payload=order_json(**INSTALLED))

    first = await octo.esim.orders.get(ORDER_ID)
    later = await octo.esim.orders.get(ORDER_ID)

    assert first.activation_code == later.activation_code == CODE


async def test_the_code_is_kept_for_its_order_only(wire, octo):
    other_url = f"{ORDERS}/{ORDER_ID + 1}"
    wire.post(ORDERS, payload=order_json())
    wire.get(other_url, payload=order_json(ORDER_ID + 1, **INSTALLED))
    await octo.esim.orders.create(712, Decimal("4.50"), client_reference=REF)

    other = await octo.esim.orders.get(ORDER_ID + 1)

    assert other.activation_code is None


async def test_views_of_a_client_share_its_codes_and_other_clients_do_not(wire, octo):
    wire.post(ORDERS, payload=order_json())
    wire.get(ORDER_URL, payload=order_json(**INSTALLED), repeat=True)
    await octo.esim.orders.create(712, Decimal("4.50"), client_reference=REF)

    view = octo.with_options(max_retries=0)
    async with OctopusClient("key", "secret", base_url=API, retry=FAST_RETRY) as stranger:
        strangers_copy = await stranger.esim.orders.get(ORDER_ID)

    assert (await view.esim.orders.get(ORDER_ID)).activation_code == CODE
    assert strangers_copy.activation_code is None


def test_activation_codes_keep_the_most_recent_orders() -> None:
    codes = ActivationCodes(capacity=2)
    for order_id in (1, 2, 3):
        codes.complete(order_model(order_id, activation_code=f"{CODE}{order_id}"))

    kept = [codes.complete(order_model(i, **INSTALLED)).activation_code for i in (1, 2, 3)]

    assert kept == [None, f"{CODE}2", f"{CODE}3"]


def test_activation_codes_keep_the_first_code_seen() -> None:
    codes = ActivationCodes()
    codes.complete(order_model(1, activation_code=f"{CODE}first"))

    later = codes.complete(order_model(1, activation_code=f"{CODE}other"))
    installed = codes.complete(order_model(1, **INSTALLED))

    assert later.activation_code == f"{CODE}other"  # what the server sent stands
    assert installed.activation_code == f"{CODE}first"


async def test_the_code_never_shows_in_logs_events_or_errors(wire, octo, events, caplog):
    caplog.set_level(logging.DEBUG, logger="octopus_async")
    wire.post(ORDERS, exception=asyncio.TimeoutError())
    wire.get(f"{ORDERS}?client_reference={REF}", payload=[order_json()])
    wire.get(ORDER_URL, payload=order_json(id="not-an-id"))

    await octo.esim.orders.create(712, Decimal("4.50"), client_reference=REF)
    with pytest.raises(APIResponseValidationError) as caught:
        await octo.esim.orders.get(ORDER_ID)

    error = caught.value
    texts = [caplog.text, *map(repr, events), str(error), repr(error), error.body or ""]
    assert "recovered" in caplog.text  # the logs did speak about this order
    for text in texts:
        assert MATCHING_ID not in text


# --- waiting for install and first use ------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"is_installed": True},
        {"activation_status": "ACTIVE"},
        {"activation_status": "EXPIRED", "is_installed": None},
    ],
    ids=["is_installed", "active", "expired"],
)
async def test_wait_installed_on_an_installed_order_resolves_at_once(wire, octo, changes):
    order = order_model(**changes)

    assert await octo.esim.orders.wait_installed(order) is order
    assert wire.requests == {}


@pytest.mark.parametrize(
    "changes",
    [
        {**INSTALLED, "activated_at": "2026-05-15T19:01:08Z"},
        {**INSTALLED, "activation_status": "EXPIRED"},
        {"activation_status": "EXPIRED", "is_installed": None},
    ],
    ids=["activated_at", "expired", "expired-without-install-flag"],
)
async def test_wait_active_on_a_used_order_resolves_at_once(wire, octo, changes):
    order = order_model(**changes)

    assert await octo.esim.orders.wait_active(order) is order
    assert wire.requests == {}


async def test_wait_installed_polls_the_single_order_until_installed(wire, octo, events):
    wire.get(ORDER_URL, payload=order_json())
    wire.get(ORDER_URL, payload=order_json(**INSTALLED))

    order = await octo.esim.orders.wait_installed(order_model())

    assert order.installed is True
    assert order.installed_at == datetime(2026, 5, 15, 18, 42, 11, tzinfo=UTC)
    assert order.activation_code == CODE
    assert steps(events) == [f"GET {ORDERS_PATH}/{ORDER_ID} 200"] * 2
    assert list_requests(wire) == []


async def test_wait_installed_by_id_looks_at_once(wire, octo, events):
    wire.get(ORDER_URL, payload=order_json(**INSTALLED))

    order = await octo.esim.orders.wait_installed(ORDER_ID)

    assert order.installed is True
    assert steps(events) == [f"GET {ORDERS_PATH}/{ORDER_ID} 200"]


async def test_many_install_waits_still_use_single_gets_never_the_list(wire, octo, events):
    # The list does not refresh install state (API.md 10.8), so no sweep, however many wait.
    ids = [ORDER_ID + n for n in range(6)]
    for i in ids:
        wire.get(f"{ORDERS}/{i}", payload=order_json(i))
        wire.get(f"{ORDERS}/{i}", payload=order_json(i, **INSTALLED))

    orders = await asyncio.gather(*(octo.esim.orders.wait_installed(order_model(i)) for i in ids))

    assert [order.installed for order in orders] == [True] * 6
    assert list_requests(wire) == []
    assert sorted(steps(events)) == sorted(f"GET {ORDERS_PATH}/{i} 200" for i in ids * 2)


@pytest.mark.parametrize(
    "used",
    [{"activated_at": "2026-05-15T19:01:08Z"}, {"activation_status": "EXPIRED"}],
    ids=["activated_at", "expired"],
)
async def test_wait_active_polls_until_first_use_or_expiry(wire, octo, events, used):
    wire.get(ORDER_URL, payload=order_json(**INSTALLED))
    wire.get(ORDER_URL, payload=order_json(**{**INSTALLED, **used}))

    order = await octo.esim.orders.wait_active(order_model(**INSTALLED))

    assert order == order_model(**{**INSTALLED, **used})
    assert steps(events) == [f"GET {ORDERS_PATH}/{ORDER_ID} 200"] * 2
    assert list_requests(wire) == []


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED"])
@pytest.mark.parametrize("method", ["wait_installed", "wait_active"])
async def test_install_waits_raise_for_a_failed_order_at_once(wire, octo, method, status):
    order = order_model(**{**FAILED, "status": status})

    with pytest.raises(OrderFailedError) as caught:
        await getattr(octo.esim.orders, method)(order)

    assert caught.value.order is order
    assert (caught.value.status, caught.value.failure_code) == (status, "PLAN_UNAVAILABLE")
    assert caught.value.is_user_fixable is True
    assert wire.requests == {}


@pytest.mark.parametrize("method", ["wait_installed", "wait_active"])
async def test_install_waits_raise_when_the_order_fails_meanwhile(wire, octo, events, method):
    wire.get(ORDER_URL, payload=order_json(**FAILED))

    with pytest.raises(OrderFailedError) as caught:
        await getattr(octo.esim.orders, method)(order_model(**PENDING))

    assert caught.value.failure_reason == "This plan is no longer available."
    assert steps(events) == [f"GET {ORDERS_PATH}/{ORDER_ID} 200"]


async def test_wait_installed_gives_up_at_its_timeout_with_the_last_order(wire, octo):
    wire.get(ORDER_URL, payload=order_json(), repeat=True)

    with pytest.raises(OrderWaitTimeout) as caught:
        await octo.esim.orders.wait_installed(order_model(**PENDING), timeout=0.2)

    assert caught.value.order.activation_status == "NOT_INSTALLED"
    assert caught.value.order.activation_code == CODE
    assert caught.value.resume_token


async def test_install_waits_last_an_hour_by_default_not_the_fulfilment_eleven_minutes(wire):
    async with OctopusClient("key", "secret", base_url=API) as client:
        started = datetime.now(UTC)
        install = client.esim.orders.wait_installed(order_model())
        active = client.esim.orders.wait_active(order_model())
        fulfilment = client.esim.orders.wait(order_model(**PENDING))
        lengths = [
            round((w.deadline - started).total_seconds()) for w in (install, active, fulfilment)
        ]
        for waiter in (install, active, fulfilment):
            waiter.cancel()

    assert lengths == [3600, 3600, 660]
    assert wire.requests == {}


# --- orders.list ------------------------------------------------------------------------------

LISTED = EsimOrder(
    id=9302481,
    status=EsimOrderStatus.DELIVERED,
    amount=Decimal("4.275"),
    currency="USD",
    client_reference="TRIP_TOKYO_OCT",
    product_name="Japan eSIM",
    country_code="JPN",
    data_amount_gb=Decimal("1.0"),
    validity_days=7,
    activation_status=ActivationStatus.ACTIVE,
    is_installed=True,
    installed_at=datetime(2026, 5, 15, 18, 42, 11, tzinfo=UTC),
    activated_at=datetime(2026, 5, 15, 19, 1, 8, tzinfo=UTC),
    transaction_id=7402011,
    created_at=datetime(2026, 5, 15, 14, 30, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("kwargs", "filters"),
    [
        ({}, {}),
        ({"status": "DELIVERED"}, {"status": "DELIVERED"}),
        ({"status": "CANCELLED"}, {"status": "CANCELLED"}),
        ({"client_reference": REF}, {"client_reference": REF}),
        (
            {"status": "PENDING", "client_reference": REF, "page_size": 500},
            {"status": "PENDING", "client_reference": REF, "per_page": "500"},
        ),
    ],
    ids=["none", "status", "cancelled", "reference", "all"],
)
async def test_orders_list_query_and_parse(wire, octo, kwargs, filters):
    wire.get(ORDERS_QUERY, body=example("esim.orders.list.response.json"))

    orders = [order async for order in octo.esim.orders.list(**kwargs)]

    assert query_sent(wire, ORDERS_PATH) == {"page": "1", "per_page": "100", **filters}
    assert orders == [LISTED]


ORDERS_LIST_INVALID = [
    ("status", "INSTALLED"),
    ("status", "RECHARGED"),
    ("status", "PARTIALLY_DELIVERED"),
    ("status", ""),
    ("page_size", 0),
    ("page_size", 501),
]


@pytest.mark.parametrize(
    ("param", "value"), ORDERS_LIST_INVALID, ids=[f"{p}={v!r}" for p, v in ORDERS_LIST_INVALID]
)
async def test_orders_list_refuses_before_sending(wire, octo, param, value):
    with pytest.raises(InvalidRequestError) as caught:
        octo.esim.orders.list(**{param: value})

    assert caught.value.param == param
    assert wire.requests == {}


# --- notification email -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [{"status": 204, "body": ""}, {"status": 200, "payload": {"email": "customer@example.com"}}],
    ids=["204-empty", "200-json"],
)
async def test_set_notification_email(wire, octo, events, answer):
    url = f"{ORDER_URL}/notification-email"
    wire.patch(url, **answer)

    result = await octo.esim.orders.set_notification_email(ORDER_ID, "customer@example.com")

    assert result is None
    assert bodies(wire, "PATCH", url) == [b'{"email":"customer@example.com"}']
    assert steps(events) == [
        f"PATCH {ORDERS_PATH}/{ORDER_ID}/notification-email {answer['status']}"
    ]


@pytest.mark.parametrize(
    ("order_id", "email", "param"),
    [
        (ORDER_ID, "not-an-email", "email"),
        (ORDER_ID, "a@b", "email"),
        (ORDER_ID, "a b@example.com", "email"),
        (ORDER_ID, "", "email"),
        (ORDER_ID, None, "email"),
        (ORDER_ID, "a" * 243 + "@example.com", "email"),
        (0, "customer@example.com", "order_id"),
        (str(ORDER_ID), "customer@example.com", "order_id"),
    ],
    ids=["no-at", "no-dot", "space", "empty", "none", "too-long", "zero-id", "string-id"],
)
async def test_set_notification_email_refuses_before_sending(wire, octo, order_id, email, param):
    with pytest.raises(InvalidRequestError) as caught:
        await octo.esim.orders.set_notification_email(order_id, email)

    assert caught.value.param == param
    assert wire.requests == {}
