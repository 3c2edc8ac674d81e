"""The payloads published in the API docs (tests/fixtures/docs_examples) read by the SDK.

Every example this part of the SDK covers is parsed into its model with exact values:
reference data, wallet transactions, charges quotes, voucher orders and availability, topup
products, variants, operator matches and orders, eSIM products, variants and orders, auth
envelopes, the error bodies (mapped to exception classes by `_status_error`) and the webhook
events (verified when signed with a test secret, then parsed). The voucher,
topup and eSIM request examples are compared with the JSON the SDK sends for the same
arguments. A manifest
test makes sure a new example file cannot be added without being covered here or listed as
pending.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from support import API, CompatAioresponses
from yarl import URL

from octopus_async import OctopusClient
from octopus_async._transport.http import APIResponse, _decode, _status_error
from octopus_async._transport.wire import unwrap_envelope
from octopus_async.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DuplicateClientReferenceError,
    RateLimitError,
    ValidationError,
    WebhookVerificationError,
)
from octopus_async.models import (
    ActivationStatus,
    Availability,
    Category,
    ChargesDetails,
    ChargesQuote,
    Country,
    Currency,
    EsimOrder,
    EsimOrderStatus,
    EsimProduct,
    EsimVariant,
    EventType,
    LpaCode,
    OperatorMatch,
    OrderEvent,
    OrderEventData,
    Region,
    Subcategory,
    TokenSet,
    TopupOrder,
    TopupOrderStatus,
    TopupProduct,
    TopupType,
    TopupVariant,
    Transaction,
    TransactionStatus,
    TransactionType,
    Voucher,
    VoucherOrder,
    VoucherOrderStatus,
)
from octopus_async.models._convert import structure
from octopus_async.webhooks import sign, verify_webhook

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "docs_examples"
UTC = timezone.utc

LOGOUT = "auth.logout.response.json"

# Files parsed by this module.
COVERED = {
    "data.countries.response.json",
    "data.countries.get.response.json",
    "data.currencies.response.json",
    "data.categories.response.json",
    "data.subcategories.response.json",
    "wallets.transactions.response.json",
    "vouchers.charges.response.json",
    "vouchers.charges.first_order.response.json",
    "vouchers.order.create.sync.response.json",
    "vouchers.order.create.async.response.json",
    "vouchers.order.create.first_order.response.json",
    "vouchers.availability.response.json",
    "vouchers.order.create.request.json",
    "vouchers.order.create.first_order.request.json",
    "vouchers.availability.request.json",
    "vouchers.charges.request.json",
    "vouchers.charges.first_order.request.json",
    "charges.fx.response.json",
    "auth.login.response.json",
    LOGOUT,
    "error.authentication_required.json",
    "error.authorization_header_required.json",
    "error.duplicate_client_reference.json",
    "error.invalid_product_id.json",
    "error.mobile_number_required.json",
    "error.rate_limited.json",
    "topups.products.list.response.json",
    "topups.variants.list.response.json",
    "topups.lookup.response.json",
    "topups.orders.list.response.json",
    "topups.lookup.request.json",
    "topups.charges.request.json",
    "topups.orders.create.gaming.request.json",
    "topups.orders.create.mobile.request.json",
    "esim.products.list.response.json",
    "esim.variants.list.response.json",
    "esim.orders.list.response.json",
    "esim.orders.create.request.json",
    "webhook.order.delivered.json",
    "webhook.order.partially_delivered.json",
}

# Request bodies the SDK builds without a test here yet.
# Move a file to COVERED when a test parses it.
PENDING = {
    "auth.refresh.request.json",
}


def raw(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def load(name: str) -> Any:
    return json.loads(raw(name).decode(), parse_float=Decimal)


def no_headers() -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict())


# --- manifest ---------------------------------------------------------------------------


def test_manifest_every_example_is_covered_or_pending() -> None:
    on_disk = {path.name for path in EXAMPLES.glob("*.json")}
    assert not COVERED & PENDING
    assert on_disk == COVERED | PENDING, (
        f"unaccounted: {sorted(on_disk - COVERED - PENDING)}; "
        f"missing: {sorted((COVERED | PENDING) - on_disk)}"
    )


def test_covered_files_are_the_ones_the_tables_parse() -> None:
    # The success, request and error tables below name every COVERED file.
    parsed = (
        {name for name, _ in SUCCESS_EXAMPLES}
        | {row[0] for row in REQUEST_EXAMPLES}
        | {row[0] for row in ERROR_EXAMPLES}
        | {row[0] for row in WEBHOOK_EXAMPLES}
        | {LOGOUT}
    )
    assert parsed == COVERED


@pytest.mark.parametrize("name", sorted(COVERED | PENDING))
def test_every_example_is_valid_json(name: str) -> None:
    assert load(name) is not None


# --- reference data ---------------------------------------------------------------------

UNITED_STATES = Country(
    id=1,
    name="United States",
    official_name="United States of America",
    alpha_2="US",
    alpha_3="USA",
    numeric_code="840",
    dialing_prefix="+1",
)


def test_countries() -> None:
    document = load("data.countries.response.json")
    countries = structure(document, tuple[Country, ...])
    assert countries == (UNITED_STATES,)
    assert countries[0].raw == document[0]


def test_country_get() -> None:
    country = structure(load("data.countries.get.response.json"), Country)
    assert country == UNITED_STATES


def test_currencies() -> None:
    currencies = structure(load("data.currencies.response.json"), tuple[Currency, ...])
    assert currencies == (
        Currency(id=1, name="US Dollar", currency="USD", precision=2),
        Currency(id=2, name="Euro", currency="EUR", precision=2),
    )


def test_categories() -> None:
    categories = structure(load("data.categories.response.json"), tuple[Category, ...])
    assert categories == (Category(id=1, name="Gaming"), Category(id=2, name="Mobile Top-Ups"))


def test_subcategories() -> None:
    subcategories = structure(load("data.subcategories.response.json"), tuple[Subcategory, ...])
    assert subcategories == (
        Subcategory(id=1, name="Steam"),
        Subcategory(id=2, name="PlayStation"),
    )


# --- wallet transactions ----------------------------------------------------------------


def test_transactions() -> None:
    transactions = structure(load("wallets.transactions.response.json"), tuple[Transaction, ...])
    assert transactions == (
        Transaction(
            id=456,
            wallet_id=1,
            currency_id=1,
            amount=Decimal("50.00"),
            transaction_type=TransactionType.DEBIT,
            status=TransactionStatus.COMPLETED,
            remarks="USD Wallet debited by amount 50.00 - Order #12345",
            created_at=datetime(2025, 1, 15, 14, 30, tzinfo=UTC),
        ),
        Transaction(
            id=455,
            wallet_id=1,
            currency_id=1,
            amount=Decimal("1000.00"),
            transaction_type=TransactionType.CREDIT,
            status=TransactionStatus.COMPLETED,
            remarks="FX conversion from EUR wallet",
            created_at=datetime(2025, 1, 15, 10, 0, tzinfo=UTC),
            source_currency="EUR",
            destination_currency="USD",
            forex_rate=Decimal("1.0850"),
            conversion_charges=Decimal("2.50"),
        ),
    )
    debit, credit = transactions
    # Exact money: the docs' formatting survives, not just the numeric value.
    assert str(debit.amount) == "50.00"
    assert str(credit.forex_rate) == "1.0850"
    assert str(credit.conversion_charges) == "2.50"
    assert debit.signed_amount == Decimal("-50.00")
    assert credit.signed_amount == Decimal("1000.00")
    assert debit.order_id == 12345
    assert credit.order_id is None
    assert debit.transaction_type.is_known
    assert debit.created_at.tzinfo is not None


# --- charges quotes ---------------------------------------------------------------------


def test_voucher_charges() -> None:
    quote = structure(load("vouchers.charges.response.json"), ChargesQuote)
    assert quote == ChargesQuote(
        non_discounted_total=Decimal("250.00"),
        discount_amount=Decimal("8.75"),
        total_amount=Decimal("241.25"),
        discount=Decimal("3.5"),
        gst_amount=Decimal("0.00"),
        total_payable=Decimal("241.25"),
        max_quantity=100,
        net_amount=Decimal("241.25"),
        handling_fee_amount=Decimal("0.00"),
        charges_details=ChargesDetails(
            source_currency="USD",
            destination_currency="USD",
            forex_rate=None,
            conversion_fee=None,
        ),
    )
    assert str(quote.non_discounted_total) == "250.00"
    assert quote.is_cross_currency is False
    assert quote.source_currency == quote.destination_currency == "USD"


def test_voucher_charges_first_order_abbreviated() -> None:
    quote = structure(load("vouchers.charges.first_order.response.json"), ChargesQuote)
    assert quote == ChargesQuote(
        non_discounted_total=Decimal("100.00"),
        discount_amount=Decimal("3.50"),
        total_payable=Decimal("96.50"),
        max_quantity=100,
        charges_details=ChargesDetails(source_currency="USD", destination_currency="USD"),
    )
    # Omitted in the docs' abbreviated example, so None rather than an error.
    assert quote.total_amount is None
    assert quote.discount is None
    assert quote.gst_amount is None
    assert quote.net_amount is None
    assert quote.handling_fee_amount is None
    assert str(quote.total_payable) == "96.50"


def test_charges_fx() -> None:
    quote = structure(load("charges.fx.response.json"), ChargesQuote)
    assert quote == ChargesQuote(
        non_discounted_total=Decimal("250.00"),
        discount_amount=Decimal("8.75"),
        total_amount=Decimal("241.25"),
        net_amount=Decimal("282.26"),
        handling_fee_amount=Decimal("0.00"),
        total_payable=Decimal("282.26"),
        charges_details=ChargesDetails(
            source_currency="GBP",
            destination_currency="EUR",
            forex_rate=Decimal("1.1700"),
            conversion_fee=Decimal("0.0"),
        ),
    )
    assert quote.discount is None
    assert quote.gst_amount is None
    assert quote.max_quantity is None
    assert quote.is_cross_currency is True
    assert (quote.source_currency, quote.destination_currency) == ("GBP", "EUR")
    assert str(quote.charges_details.forex_rate) == "1.1700"
    assert str(quote.charges_details.conversion_fee) == "0.0"


# --- voucher orders and availability ------------------------------------------------------


def code(card_number: str, pin_code: str, expires_at: datetime) -> Voucher:
    return Voucher(card_number=card_number, pin_code=pin_code, expires_at=expires_at)


def test_voucher_order_sync() -> None:
    document = load("vouchers.order.create.sync.response.json")
    order = structure(document, VoucherOrder)
    assert order == VoucherOrder(
        id=1234,
        status=VoucherOrderStatus.DELIVERED,
        amount=Decimal("100.00"),
        discount=Decimal("3.50"),
        client_reference="order-abc",
        vouchers=(code("STEAM-XXXX-XXXX", "1234", datetime(2027, 6, 1, tzinfo=UTC)),),
    )
    assert (str(order.amount), str(order.discount)) == ("100.00", "3.50")
    assert isinstance(order.status, VoucherOrderStatus)
    assert order.status.is_known
    assert order.vouchers[0].expires_at.tzinfo is not None
    # Fields the example leaves out are None; `recovered` is the SDK's, never the server's.
    assert order.product_id is None
    assert order.wallet_id is None
    assert order.recovered is False
    assert order.raw == document


def test_voucher_order_async_is_pending_without_vouchers() -> None:
    order = structure(load("vouchers.order.create.async.response.json"), VoucherOrder)
    assert order == VoucherOrder(
        id=1235,
        status=VoucherOrderStatus.PENDING,
        amount=Decimal("5000.00"),
        discount=Decimal("175.00"),
        client_reference="campaign-q1-0001",
    )
    assert order.vouchers == ()
    assert order.status == "PENDING"
    assert order.status != VoucherOrderStatus.DELIVERED
    assert str(order.amount) == "5000.00"


def test_voucher_order_first_order() -> None:
    order = structure(load("vouchers.order.create.first_order.response.json"), VoucherOrder)
    expires = datetime(2027, 4, 1, tzinfo=UTC)
    assert order == VoucherOrder(
        id=1234,
        status=VoucherOrderStatus.DELIVERED,
        amount=Decimal("100.00"),
        discount=Decimal("3.50"),
        client_reference="FIRST_VOUCHER_001",
        vouchers=(
            code("STEAM-XXXX-XXXX-XXXX", "1234", expires),
            code("STEAM-YYYY-YYYY-YYYY", "5678", expires),
        ),
    )


def test_availability() -> None:
    document = load("vouchers.availability.response.json")
    availability = structure(document, Availability)
    assert availability == Availability(is_available=True)
    assert availability.raw == document


# --- topups ---------------------------------------------------------------------------------


def test_topup_products() -> None:
    document = load("topups.products.list.response.json")
    products = structure(document, tuple[TopupProduct, ...])
    assert products == (
        TopupProduct(
            id=4218,
            name="PUBG Mobile UC",
            topup_type=TopupType.GAMING,
            country_code="GLO",
            currency_code="USD",
            image_url="https://cdn.example.com/pubg-mobile.png",
        ),
        TopupProduct(
            id=4219,
            name="Airtel India",
            topup_type=TopupType.MOBILE,
            country_code="IND",
            currency_code="INR",
            image_url="https://cdn.example.com/airtel.png",
        ),
    )
    assert all(product.topup_type.is_known for product in products)
    # The list does not carry input_fields; products.get does.
    assert products[0].input_fields == ()
    assert products[1].raw == document[1]


def test_topup_variants() -> None:
    variants = structure(load("topups.variants.list.response.json"), tuple[TopupVariant, ...])
    global_region = (Region(code="GLO", name="Global"),)
    assert variants == (
        TopupVariant(
            id=88412,
            name="60 UC",
            category="In-Game Currency",
            currency_code="USD",
            fixed_amounts=(Decimal("0.99"),),
            available_in=global_region,
            fields={"par_value": "60 UC", "delivery_time": "Instant", "validity_days": "365"},
        ),
        TopupVariant(
            id=88413,
            name="325 UC",
            category="In-Game Currency",
            currency_code="USD",
            fixed_amounts=(Decimal("4.99"),),
            available_in=global_region,
            fields={"par_value": "325 UC", "delivery_time": "Instant"},
        ),
    )
    small, large = variants
    assert str(small.fixed_amounts[0]) == "0.99"
    assert (small.min_amount, small.max_amount) == (None, None)
    assert small.accepts(Decimal("0.99"))
    assert not small.accepts(Decimal("4.99"))
    assert large.accepts(Decimal("4.99"))
    assert "validity_days" not in large.fields


def test_topup_lookup() -> None:
    matches = structure(load("topups.lookup.response.json"), tuple[OperatorMatch, ...])
    assert matches == (
        OperatorMatch(product_id=4219, name="Airtel India", country_code="IND", identified=True),
        OperatorMatch(
            product_id=4231, name="Vi (Vodafone Idea) India", country_code="IND", identified=False
        ),
    )


TOPUP_PENDING = TopupOrder(
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


def test_topup_orders() -> None:
    document = load("topups.orders.list.response.json")
    orders = structure(document, tuple[TopupOrder, ...])
    assert orders == (
        TOPUP_PENDING,
        TopupOrder(
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
        ),
    )
    pending, delivered = orders
    assert str(pending.amount) == "4.7405"
    assert pending.created_at.tzinfo is not None
    assert pending.completed_at is None
    assert pending.transaction_id is None
    assert delivered.client_reference is None  # absent when the order was created without one
    assert delivered.status.is_known
    assert delivered.recovered is False
    assert delivered.raw == document[1]


# --- eSIM -------------------------------------------------------------------------------


def test_esim_products() -> None:
    document = load("esim.products.list.response.json")
    products = structure(document, tuple[EsimProduct, ...])
    assert products == (
        EsimProduct(
            id=712,
            name="Japan eSIM",
            country_code="JPN",
            currency_code="USD",
            image_url="https://cdn.example.com/esim/japan.png",
        ),
        EsimProduct(
            id=904,
            name="Global Roaming",
            country_code="GLO",
            currency_code="USD",
            image_url="https://cdn.example.com/esim/global.png",
        ),
    )
    # The list does not inline variants; products.get does.
    assert all(product.variants == () for product in products)
    assert products[1].raw == document[1]


def test_esim_variants() -> None:
    variants = structure(load("esim.variants.list.response.json"), tuple[EsimVariant, ...])
    assert variants == (
        EsimVariant(
            id=5511,
            name="Japan 1 GB / 7 days",
            currency_code="USD",
            amount=Decimal("4.50"),
            data_amount_gb=Decimal("1.0"),
            validity_days=7,
            client_discount=Decimal("5.0"),
            esim_product_id=712,
            description="Data-only eSIM for short trips",
        ),
    )
    [variant] = variants
    # The amount is sent back unchanged as the plan selector: its digits must survive.
    assert str(variant.amount) == "4.50"
    assert str(variant.data_amount_gb) == "1.0"
    assert str(variant.client_discount) == "5.0"
    assert type(variant.validity_days) is int


ESIM_INSTALLED = EsimOrder(
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


def test_esim_orders() -> None:
    document = load("esim.orders.list.response.json")
    orders = structure(document, tuple[EsimOrder, ...])
    assert orders == (ESIM_INSTALLED,)
    [order] = orders
    # The discounted amount debited (4.50 at 5 %), not the plan's price.
    assert str(order.amount) == "4.275"
    assert order.activation_status.is_known
    assert order.installed is True
    assert order.installed_at.tzinfo is not None
    assert order.activated_at.tzinfo is not None
    # Lists never carry the activation code (API.md 10.8).
    assert (order.activation_code, order.iccid, order.lpa) == (None, None, None)
    assert order.recovered is False
    assert order.raw == document[0]


# --- auth envelopes ---------------------------------------------------------------------

LOGIN_TOKENS = TokenSet(
    access_token="eyJ…",
    refresh_token="eyJ…",
    access_expires_at=datetime(2025, 1, 15, 13, 0, tzinfo=UTC),
    refresh_expires_at=datetime(2025, 1, 22, 12, 0, tzinfo=UTC),
    client_id=42,
)


def test_login() -> None:
    data, success = unwrap_envelope(load("auth.login.response.json"))
    assert success is True
    assert structure(data, TokenSet) == LOGIN_TOKENS


def test_logout() -> None:
    data, success = unwrap_envelope(load(LOGOUT))
    assert success is True
    assert data == {"message": "Successfully logged out"}


# The same bodies read the way the transport reads a 2xx response.
SUCCESS_EXAMPLES = [
    ("data.countries.response.json", tuple[Country, ...]),
    ("data.countries.get.response.json", Country),
    ("data.currencies.response.json", tuple[Currency, ...]),
    ("data.categories.response.json", tuple[Category, ...]),
    ("data.subcategories.response.json", tuple[Subcategory, ...]),
    ("wallets.transactions.response.json", tuple[Transaction, ...]),
    ("vouchers.charges.response.json", ChargesQuote),
    ("vouchers.charges.first_order.response.json", ChargesQuote),
    ("charges.fx.response.json", ChargesQuote),
    ("vouchers.order.create.sync.response.json", VoucherOrder),
    ("vouchers.order.create.async.response.json", VoucherOrder),
    ("vouchers.order.create.first_order.response.json", VoucherOrder),
    ("vouchers.availability.response.json", Availability),
    ("auth.login.response.json", TokenSet),
    ("topups.products.list.response.json", tuple[TopupProduct, ...]),
    ("topups.variants.list.response.json", tuple[TopupVariant, ...]),
    ("topups.lookup.response.json", tuple[OperatorMatch, ...]),
    ("topups.orders.list.response.json", tuple[TopupOrder, ...]),
    ("esim.products.list.response.json", tuple[EsimProduct, ...]),
    ("esim.variants.list.response.json", tuple[EsimVariant, ...]),
    ("esim.orders.list.response.json", tuple[EsimOrder, ...]),
]


def read_success(method: str, path: str, name: str) -> APIResponse:
    """The 2xx response the transport builds for this example body."""
    content = raw(name)
    data, problem = _decode(content)
    assert problem is None
    return APIResponse(method, path, 200, no_headers(), "req-1", content, data, 0.0, 1)


@pytest.mark.parametrize(("name", "cls"), SUCCESS_EXAMPLES, ids=[n for n, _ in SUCCESS_EXAMPLES])
def test_transport_reads_example_like_direct_parse(name: str, cls: Any) -> None:
    response = read_success("GET", "/x", name)
    expected = structure(unwrap_envelope(load(name))[0], cls)
    assert response.parse(cls) == expected
    assert response.request_id == "req-1"


def test_transport_unwraps_logout_envelope() -> None:
    name = LOGOUT
    response = read_success("POST", "/auth/logout", name)
    assert response.data == {"message": "Successfully logged out"}


# --- request bodies ---------------------------------------------------------------------

Call = Callable[[OctopusClient], Awaitable[Any]]

# Answers the docs only give assembled (API.md 9.7, 9.8), for the topup requests.
TOPUP_QUOTE = b"""{"non_discounted_total": 4.99, "discount_amount": 0.2495, "total_amount": 4.7405,
 "discount": 5, "gst_amount": 0.00, "total_payable": 4.7405, "net_amount": 4.7405,
 "handling_fee_amount": 0.00, "charges_details": {"source_currency": "USD",
 "destination_currency": "USD", "forex_rate": null, "conversion_fee": null}}"""
TOPUP_CREATED_GAMING = b"""{"id": 9123456, "client_reference": "CAMPAIGN_DEC_24",
 "product_id": 4218, "product_name": "PUBG Mobile UC", "variant_name": "325 UC",
 "country_code": "GLO", "amount": 4.7405, "currency": "USD", "status": "PENDING",
 "status_text": "Order submitted for fulfilment", "created_at": "2026-05-19T14:30:00Z"}"""
# API.md 10.7, the assembled delivered answer, for the eSIM request.
ESIM_CREATED = b"""{"id": 9302481, "client_reference": "TRIP_TOKYO_OCT", "status": "DELIVERED",
 "status_text": "eSIM delivered", "product_name": "Japan eSIM", "country_code": "JPN",
 "data_amount_gb": 1.0, "validity_days": 7, "amount": 4.275, "currency": "USD",
 "activation_status": "NOT_INSTALLED", "is_installed": false,
 "activation_code": "LPA:1$smdp.example.com$MATCHINGID123", "iccid": "8981000000000000000",
 "transaction_id": 7402011, "created_at": "2026-05-15T14:30:00Z"}"""
TOPUP_CREATED_MOBILE = b"""{"id": 9123470, "client_reference": "FIRST_RECHARGE_001",
 "product_id": 4219, "product_name": "Airtel India", "variant_name": "Airtime",
 "country_code": "IND", "amount": 190.00, "currency": "INR", "status": "PENDING",
 "status_text": "Order submitted for fulfilment", "created_at": "2026-05-19T14:31:00Z"}"""

# (request example, path, the server's answer, what it parses as, the SDK call with the
# same arguments)
REQUEST_EXAMPLES: list[tuple[str, str, bytes, Any, Call]] = [
    (
        "vouchers.order.create.request.json",
        "/api/v1/orders",
        raw("vouchers.order.create.sync.response.json"),
        VoucherOrder,
        lambda client: client.vouchers.orders.create(
            123,
            Decimal("50.00"),
            5,
            client_reference="MY_ORDER_001",
            email="recipient@example.com",
        ),
    ),
    (
        "vouchers.order.create.first_order.request.json",
        "/api/v1/orders",
        raw("vouchers.order.create.first_order.response.json"),
        VoucherOrder,
        lambda client: client.vouchers.orders.create(
            123, Decimal("50.00"), 2, client_reference="FIRST_VOUCHER_001"
        ),
    ),
    (
        "vouchers.availability.request.json",
        "/api/v1/products/123/availability",
        raw("vouchers.availability.response.json"),
        Availability,
        lambda client: client.vouchers.products.availability(123, Decimal("50.00"), 5),
    ),
    (
        "vouchers.charges.request.json",
        "/api/v1/products/123/charges",
        raw("vouchers.charges.response.json"),
        ChargesQuote,
        lambda client: client.vouchers.charges(123, Decimal("50.00"), 5, wallet_id=1),
    ),
    (
        "vouchers.charges.first_order.request.json",
        "/api/v1/products/123/charges",
        raw("vouchers.charges.first_order.response.json"),
        ChargesQuote,
        lambda client: client.vouchers.charges(123, Decimal("50.00"), 2),
    ),
    (
        "topups.lookup.request.json",
        "/api/v1/topups/lookup",
        raw("topups.lookup.response.json"),
        tuple[OperatorMatch, ...],
        lambda client: client.topups.lookup("+918879685100"),
    ),
    (
        "topups.charges.request.json",
        "/api/v1/topups/charges",
        TOPUP_QUOTE,
        ChargesQuote,
        lambda client: client.topups.charges(4218, Decimal("4.99"), wallet_id=1),
    ),
    (
        "topups.orders.create.gaming.request.json",
        "/api/v1/topups/orders",
        TOPUP_CREATED_GAMING,
        TopupOrder,
        lambda client: client.topups.orders.create(
            4218,
            Decimal("4.99"),
            input_data={"player_id": "5123456789", "server": "asia"},
            client_reference="CAMPAIGN_DEC_24",
        ),
    ),
    (
        "topups.orders.create.mobile.request.json",
        "/api/v1/topups/orders",
        TOPUP_CREATED_MOBILE,
        TopupOrder,
        lambda client: client.topups.orders.create(
            4219,
            200,
            input_data={"phone_number": "+918879685100"},
            client_reference="FIRST_RECHARGE_001",
            category="Airtime",
        ),
    ),
    (
        "esim.orders.create.request.json",
        "/api/v1/esim/orders",
        ESIM_CREATED,
        EsimOrder,
        lambda client: client.esim.orders.create(
            712, Decimal("4.50"), client_reference="TRIP_TOKYO_OCT"
        ),
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "answer", "parsed_as", "call"),
    REQUEST_EXAMPLES,
    ids=[row[0] for row in REQUEST_EXAMPLES],
)
async def test_request_example_is_what_the_sdk_sends(
    wire: CompatAioresponses,
    wire_client: OctopusClient,
    name: str,
    path: str,
    answer: bytes,
    parsed_as: Any,
    call: Call,
) -> None:
    url = f"{API}{path}"
    wire.post(url, status=201, body=answer)

    result = await call(wire_client)

    [sent] = wire.requests[("POST", URL(url))]
    body = sent.kwargs["data"]
    assert json.loads(body, parse_float=Decimal) == load(name)
    # Numbers are written as the docs write them: 50.00, not 50 or 50.0; 200, not 200.0.
    assert json.loads(body, parse_float=str) == json.loads(raw(name), parse_float=str)
    assert result == structure(json.loads(answer, parse_float=Decimal), parsed_as)


def test_topup_answers_parse_to_the_documented_values() -> None:
    # The assembled answers above are what the docs describe (9.7: 5 % of 4.99; 9.8).
    quote = structure(json.loads(TOPUP_QUOTE, parse_float=Decimal), ChargesQuote)
    assert (quote.total_payable, quote.discount_amount) == (Decimal("4.7405"), Decimal("0.2495"))
    assert structure(json.loads(TOPUP_CREATED_GAMING, parse_float=Decimal), TopupOrder) == (
        TOPUP_PENDING
    )


def test_esim_created_answer_parses_to_the_documented_values() -> None:
    # The assembled answer above is what the docs describe (10.7): delivered, not installed.
    order = structure(json.loads(ESIM_CREATED, parse_float=Decimal), EsimOrder)
    assert order.status == EsimOrderStatus.DELIVERED
    assert order.activation_status == ActivationStatus.NOT_INSTALLED
    assert order.installed is False
    assert order.lpa == LpaCode(smdp_address="smdp.example.com", matching_id="MATCHINGID123")
    assert order.iccid == "8981000000000000000"
    assert str(order.amount) == "4.275"


# --- error bodies -----------------------------------------------------------------------

ERROR_EXAMPLES = [
    (
        "error.authentication_required.json",
        401,
        AuthenticationError,
        "UNAUTHORIZED",
        "UnauthorizedError",
        "Authentication required",
    ),
    (
        "error.authorization_header_required.json",
        401,
        AuthenticationError,
        "UNAUTHORIZED",
        "UnauthorizedError",
        "Authorization header required",
    ),
    (
        "error.duplicate_client_reference.json",
        400,
        DuplicateClientReferenceError,
        "BAD_REQUEST",
        "BadRequestError",
        "Duplicate client_reference",
    ),
    (
        "error.invalid_product_id.json",
        400,
        BadRequestError,
        "BAD_REQUEST",
        "BadRequestError",
        "Invalid product ID",
    ),
    (
        "error.mobile_number_required.json",
        400,
        ValidationError,
        "VALIDATION_FAILURE",
        "ValidationException",
        "mobile_number is required",
    ),
    (
        "error.rate_limited.json",
        429,
        RateLimitError,
        "TOO_MANY_REQUESTS",
        "TooManyRequestsError",
        "Rate limit exceeded. Retry after 12 seconds.",
    ),
]


@pytest.mark.parametrize(
    ("name", "status", "cls", "code", "error_name", "message"),
    ERROR_EXAMPLES,
    ids=[row[0] for row in ERROR_EXAMPLES],
)
def test_error_example(
    name: str,
    status: int,
    cls: type[APIStatusError],
    code: str,
    error_name: str,
    message: str,
) -> None:
    body = raw(name)
    headers = CIMultiDictProxy(CIMultiDict({"X-Request-Id": "req-1"}))
    error = _status_error(status, headers, "req-1", body)
    assert type(error) is cls
    assert error.status == status
    assert (error.code, error.name, error.message) == (code, error_name, message)
    assert error.request_id == "req-1"
    assert error.body == body.decode()
    assert error.headers["x-request-id"] == "req-1"
    assert message in str(error)
    assert "req-1" in str(error)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Retry-After": "12"}, {"retry-after": "12"}],
    ids=["no-header", "header", "lowercase-header"],
)
def test_rate_limited_example_retry_after(headers: dict[str, str]) -> None:
    error = _status_error(
        429, CIMultiDictProxy(CIMultiDict(headers)), "req-1", raw("error.rate_limited.json")
    )
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 12.0


def test_rate_limited_example_header_wins_over_message() -> None:
    headers = CIMultiDictProxy(CIMultiDict({"Retry-After": "3"}))
    error = _status_error(429, headers, "req-1", raw("error.rate_limited.json"))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 3.0


# --- webhook events ---------------------------------------------------------------------

WEBHOOK_SECRET = "whsec_docs_example_test"
# The headers the README lists for each example; X-Timestamp and X-Signature are made here.
WEBHOOK_EXAMPLES = [
    (
        "webhook.order.delivered.json",
        "evt_abc123",
        "order.delivered",
        OrderEvent(
            id="evt_abc123",
            type=EventType.ORDER_DELIVERED,
            created_at=datetime(2025, 1, 15, 14, 30, tzinfo=UTC),
            data=OrderEventData(
                id=12345,
                status=VoucherOrderStatus.DELIVERED,
                reference_code="MY_ORDER_001",
                product_name="Steam Wallet Card",
                denomination=Decimal("50.00"),
                quantity=5,
                amount=Decimal("250.00"),
                delivered_quantity=5,
                delivered_on=datetime(2025, 1, 15, 14, 30, tzinfo=UTC),
                created_at=datetime(2025, 1, 15, 14, 0, tzinfo=UTC),
            ),
        ),
    ),
    (
        "webhook.order.partially_delivered.json",
        "evt_def456",
        "order.partially_delivered",
        OrderEvent(
            id="evt_def456",
            type=EventType.ORDER_PARTIALLY_DELIVERED,
            created_at=datetime(2025, 1, 15, 14, 35, tzinfo=UTC),
            data=OrderEventData(
                id=12346,
                status=VoucherOrderStatus.PARTIALLY_DELIVERED,
                reference_code="BULK_ORDER_001",
                product_name="Google Play Gift Card",
                denomination=Decimal("25.00"),
                quantity=100,
                amount=Decimal("2500.00"),
                delivered_quantity=87,
                delivered_on=datetime(2025, 1, 15, 14, 35, tzinfo=UTC),
                created_at=datetime(2025, 1, 15, 13, 0, tzinfo=UTC),
            ),
        ),
    ),
]
WEBHOOK_SENT_AT = 1_736_951_700  # 2025-01-15T14:35:00Z


def webhook_headers(name: str, event_id: str, event_type: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "octopusrewards.com/webhook-agent",
        "X-OCTOPUS-WEBHOOK-TOKEN": WEBHOOK_SECRET,
        "X-Webhook-ID": "wh_1",
        "X-Event-ID": event_id,
        "X-Event-Type": event_type,
        "X-Timestamp": str(WEBHOOK_SENT_AT),
        "X-Signature": sign(raw(name), WEBHOOK_SECRET),
    }


@pytest.mark.parametrize(
    ("name", "event_id", "event_type", "expected"),
    WEBHOOK_EXAMPLES,
    ids=[row[0] for row in WEBHOOK_EXAMPLES],
)
def test_webhook_example(name: str, event_id: str, event_type: str, expected: OrderEvent) -> None:
    headers = webhook_headers(name, event_id, event_type)
    event = verify_webhook(raw(name), headers, WEBHOOK_SECRET, now=WEBHOOK_SENT_AT + 1)
    assert type(event) is OrderEvent
    assert event == expected
    assert event.type.is_known
    assert event.order.status.is_known
    assert event.created_at.tzinfo is not None
    assert event.raw == json.loads(raw(name))
    # Not a single byte of the documented body can change without the signature failing.
    tampered = raw(name).replace(b'"status"', b'"Status"')
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(tampered, headers, WEBHOOK_SECRET, now=WEBHOOK_SENT_AT + 1)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize(
    ("name", "event_id", "event_type", "expected"),
    WEBHOOK_EXAMPLES,
    ids=[row[0] for row in WEBHOOK_EXAMPLES],
)
def test_webhook_example_money_keeps_the_docs_digits(
    name: str, event_id: str, event_type: str, expected: OrderEvent
) -> None:
    headers = webhook_headers(name, event_id, event_type)
    event = verify_webhook(raw(name), headers, WEBHOOK_SECRET, now=WEBHOOK_SENT_AT)
    assert isinstance(event, OrderEvent)
    assert str(event.order.denomination) == str(expected.order.denomination)
    assert str(event.order.amount) == str(expected.order.amount)
    # The raw JSON holds Decimal too, never float.
    assert not [value for value in event.raw["data"].values() if isinstance(value, float)]
