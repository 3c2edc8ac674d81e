"""The sandbox as an implementation of its own: shape variants, `Fault.reshape`, its JSON.

Everything here talks raw HTTP to a sandbox (aiohttp, the sandbox's own login), never
through the SDK, and compares what a variant answers with what the same request answers
in the documented shapes: each variant must change what it says and nothing else. The
expectations (which fields are identifying, which may be nulled or left out, the time
forms) are written out here rather than read from `sandbox.shapes`, so that the module
and these tests check each other.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

import octopus_async.sandbox
from octopus_async.sandbox import SHAPE_VARIANTS, Fault, Sandbox, SandboxConfig
from octopus_async.sandbox.api import auth, data, esim, topups, vouchers, wallets
from octopus_async.sandbox.shapes import RECORD_KINDS

MakeSandbox = Callable[..., Awaitable[Sandbox]]

VOUCHER_ORDER = b'{"product_id":123,"denomination":10.00,"quantity":3,"client_reference":"%s"}'
TOPUP_ORDER = (
    b'{"product_id":4218,"amount":4.99,"input_data":{"player_id":"5123456789"},'
    b'"client_reference":"%s"}'
)
ESIM_ORDER = b'{"product_id":712,"amount":4.50,"client_reference":"%s"}'
ORDER_CREATES = {
    "/api/v1/orders": VOUCHER_ORDER,
    "/api/v1/topups/orders": TOPUP_ORDER,
    "/api/v1/esim/orders": ESIM_ORDER,
}

# Every list an account can GET (the variant lists need a product id).
LIST_ENDPOINTS = [
    "/api/v1/countries",
    "/api/v1/currencies",
    "/api/v1/categories",
    "/api/v1/subcategories",
    "/api/v1/wallets",
    "/api/v1/transactions",
    "/api/v1/products?limit=500",
    "/api/v1/orders",
    "/api/v1/topups/products",
    "/api/v1/topups/products/4218/variants",
    "/api/v1/topups/orders",
    "/api/v1/esim/products",
    "/api/v1/esim/products/712/variants",
    "/api/v1/esim/orders",
]

# What no variant may null or leave out, wherever it appears.
IDENTIFYING = frozenset(
    {
        "id",
        "status",
        "client_reference",
        "card_number",
        "pin_code",
        "claim_url",
        "activation_code",
        "iccid",
        "amount",
        "balance",
        "is_available",
        "total_payable",
    }
)
# What `nulls` may set to null, and `missing` may leave out (by field name, any record).
NULLABLE = frozenset(
    {
        "remarks",
        "source_currency",
        "dialing_prefix",
        "official_name",
        "numeric_code",
        "image_url",
        "sub_category",
        "validity",
        "delivery_time",
        "message",
        "email",
        "status_text",
        "product_name",
        "base_currency",
        "deduction_currency",
        "wallet_id",
        "voucher_reference_number",
        "description",
        "gst_amount",
        "discount",
        "net_amount",
        "handling_fee_amount",
    }
)
MISSABLE = frozenset(
    {
        "product_id",
        "denomination",
        "quantity",
        "discount",
        "transaction_id",
        "country_code",
        "max_quantity",
        "total_amount",
        "conversion_fee",
        "type",
        "created_at",
        "updated_at",
        "currency_id",
        "delivery_mode",
        "esim_product_id",
        "available_in",
        "name",
    }
)

# time_forms, in the order they cycle: (pattern, strptime format, precision kept).
TIME_FORMS = [
    (r"\d{4}-\d\d-\d\d", "%Y-%m-%d", "day"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "%Y-%m-%dT%H:%M:%S%z", "second"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30", "%Y-%m-%dT%H:%M:%S%z", "second"),
    (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", "%Y-%m-%d %H:%M:%SZ", "second"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", "%Y-%m-%dT%H:%M:%S.%fZ", "second"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", "%Y-%m-%dT%H:%MZ", "minute"),
]


@attrs.frozen
class Answer:
    status: int
    headers: CIMultiDict[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body, parse_float=Decimal)


@attrs.frozen
class Api:
    """Raw HTTP to one sandbox, signed in with its own login."""

    sandbox: Sandbox
    session: aiohttp.ClientSession
    token: str

    async def call(self, method: str, path: str, body: bytes | None = None) -> Answer:
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(method, path, data=body, headers=headers) as answer:
            return Answer(answer.status, CIMultiDict(answer.headers), await answer.read())

    async def get(self, path: str) -> Any:
        answer = await self.call("GET", path)
        assert answer.status == 200, answer.body
        return answer.json()

    async def plain_and_varied(self, path: str, *variants: str) -> tuple[Any, Any]:
        """`path` answered in the documented shapes, then with `variants`."""
        self.sandbox.state.shape_variants = frozenset()
        plain = await self.get(path)
        self.sandbox.state.shape_variants = frozenset(variants)
        varied = await self.get(path)
        self.sandbox.state.shape_variants = frozenset()
        return plain, varied


@asynccontextmanager
async def signed_in(sandbox: Sandbox) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession(sandbox.url) as session:
        credentials = {"username": sandbox.api_key, "password": sandbox.api_secret}
        async with session.post("/auth/login", json=credentials) as answer:
            assert answer.status == 200
            token = (await answer.json())["data"]["access_token"]
        yield Api(sandbox, session, token)


async def start(make_sandbox: MakeSandbox, **settings: Any) -> Sandbox:
    """A sandbox whose eSIM orders deliver at once and whose outcomes are repeatable."""
    settings.setdefault("seed", 7)
    return await make_sandbox(esim_fulfilment_delay=(0.0, 0.0), esim_slow_share=0.0, **settings)


async def create(api: Api, path: str, reference: str) -> Answer:
    answer = await api.call("POST", path, ORDER_CREATES[path] % reference.encode())
    assert answer.status in (200, 201), answer.body
    return answer


async def place_orders(api: Api) -> None:
    """One order of each vertical, so that every list has something in it."""
    for path in ORDER_CREATES:
        await create(api, path, f"seed-{path.split('/')[-2]}")


def dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for item in value:
            yield from dicts(item)
    elif isinstance(value, dict):
        yield value
        for item in value.values():
            yield from dicts(item)


def timestamps(value: Any) -> list[str]:
    """Every timestamp value in document order, each record's before those inside it."""
    found: list[str] = []
    if isinstance(value, list):
        for item in value:
            found += timestamps(item)
    elif isinstance(value, dict):
        found += [
            text
            for field, text in value.items()
            if (field.endswith("_at") or field == "delivered_on") and isinstance(text, str)
        ]
        for item in value.values():
            if isinstance(item, (list, dict)):
                found += timestamps(item)
    return found


# --- the sandbox is an implementation of its own ----------------------------------------


SANDBOX = Path(octopus_async.sandbox.__file__).parent


def imported_modules(source: Path) -> set[str]:
    """The absolute names of the modules `source` (a file of the sandbox) imports from."""
    package = ["octopus_async", *source.relative_to(SANDBOX.parent).parent.parts]
    modules = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if node.module:
                modules.add(".".join([*base, node.module]))
            else:  # from . import name: each name may be a module
                modules |= {".".join([*base, alias.name]) for alias in node.names}
    return modules


def test_sandbox_imports_nothing_from_the_sdk_transport() -> None:
    offenders = {
        f"{source.relative_to(SANDBOX)}: {module}"
        for source in SANDBOX.rglob("*.py")
        for module in imported_modules(source)
        if module == "octopus_async._transport" or module.startswith("octopus_async._transport.")
    }
    assert offenders == set()


def test_the_import_check_resolves_relative_imports() -> None:
    # Were the resolution wrong, the check above would pass for the wrong reason.
    assert {"octopus_async.config", "octopus_async.sandbox._json"} <= imported_modules(
        SANDBOX / "_http.py"
    )
    assert {"octopus_async.sandbox._http", "octopus_async.sandbox.state"} <= imported_modules(
        SANDBOX / "api" / "wallets.py"
    )


async def test_request_ids_are_minted_by_the_sandbox(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(sandbox.url) as session:
        minted = set()
        for _ in range(20):
            async with session.get("/api/v1/currencies") as answer:
                minted.add(answer.headers["X-Request-Id"])
        async with session.get("/api/v1/currencies", headers={"X-Request-Id": "mine"}) as answer:
            assert answer.headers["X-Request-Id"] == "mine"
    assert len(minted) == 20
    assert all(re.fullmatch(r"[0-9A-Za-z]{27}", request_id) for request_id in minted)


def test_every_api_endpoint_has_a_record_kind() -> None:
    routes = {
        route.path
        for module in (auth, data, esim, topups, vouchers, wallets)
        for route in module.ROUTES
        if route.path.startswith("/api/v1/")
    }
    assert routes == set(RECORD_KINDS)


async def test_unknown_variant_names_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="bogus"):
        SandboxConfig(shape_variants=frozenset({"envelope", "bogus"}))
    with pytest.raises(ValueError, match="bogus"):
        sandbox.state.shape_variants = frozenset({"bogus"})
    assert sandbox.state.shape_variants == frozenset()
    assert SandboxConfig(shape_variants=SHAPE_VARIANTS).shape_variants == SHAPE_VARIANTS


# --- each variant changes what it says and nothing else ----------------------------------


async def test_numbers_as_strings_writes_every_number_as_its_exact_text(
    make_sandbox: MakeSandbox,
) -> None:
    sandbox = await start(make_sandbox)
    async with signed_in(sandbox) as api:
        order = (await create(api, "/api/v1/orders", "numbers")).json()
        path = f"/api/v1/orders/{order['id']}"
        sandbox.state.shape_variants = frozenset()
        plain = await api.call("GET", path)
        sandbox.state.shape_variants = frozenset({"numbers_as_strings"})
        varied = await api.call("GET", path)
    document = varied.json()
    # The oracle: the documented answer with each number token taken as its text.
    assert document == json.loads(plain.body, parse_int=str, parse_float=str)
    assert document["id"] == str(order["id"])
    assert document["denomination"] == "10.00"
    assert document["quantity"] == "3"
    assert document["amount"] == "30.00"
    assert document["discount"] == "1.05"
    assert not any(
        isinstance(value, (int, Decimal)) and not isinstance(value, bool)
        for record in dicts(document)
        for value in record.values()
    )


async def test_numbers_as_strings_keeps_digits_beyond_money(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox)
    async with signed_in(sandbox) as api:
        sandbox.state.shape_variants = frozenset({"numbers_as_strings"})
        quote = await api.call(
            "POST", "/api/v1/topups/charges", b'{"product_id":4218,"amount":4.99}'
        )
    assert quote.status == 200
    # 4.99 at 5 %: the docs' own example of more decimals than the currency has.
    assert quote.json()["discount_amount"] == "0.2495"
    assert quote.json()["total_amount"] == "4.7405"


async def test_time_forms_cycle_through_other_iso_8601_forms(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox)
    async with signed_in(sandbox) as api:
        for number in range(4):
            await create(api, "/api/v1/orders", f"times-{number}")
        plain, varied = await api.plain_and_varied("/api/v1/transactions", "time_forms")
    before, after = timestamps(plain), timestamps(varied)
    assert len(before) == len(after) >= len(TIME_FORMS) + 1
    for occurrence, (documented, written) in enumerate(zip(before, after, strict=True)):
        pattern, layout, precision = TIME_FORMS[occurrence % len(TIME_FORMS)]
        assert re.fullmatch(pattern, written), (occurrence, written)
        instant = datetime.strptime(documented, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        read = datetime.strptime(written, layout)
        if read.tzinfo is None:
            read = read.replace(tzinfo=timezone.utc)
        if precision == "day":
            assert read.date() == instant.date()
        elif precision == "minute":
            assert read == instant.replace(second=0)
        else:
            assert read == instant
    # Only the timestamps changed.
    for documented_record, varied_record in zip(plain, varied, strict=True):
        assert {k: v for k, v in documented_record.items() if k != "created_at"} == {
            k: v for k, v in varied_record.items() if k != "created_at"
        }


async def test_time_forms_restart_with_every_answer(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox, shape_variants=frozenset({"time_forms"}))
    async with signed_in(sandbox) as api:
        first = await api.get("/api/v1/wallets")
        second = await api.get("/api/v1/wallets")
    assert first == second
    assert re.fullmatch(TIME_FORMS[0][0], first[0]["created_at"])
    assert re.fullmatch(TIME_FORMS[1][0], first[0]["updated_at"])


async def test_wallet_naming_renames_wallets_only(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox)
    async with signed_in(sandbox) as api:
        plain, varied = await api.plain_and_varied("/api/v1/wallets", "wallet_naming")
        other_plain, other_varied = await api.plain_and_varied(
            "/api/v1/transactions", "wallet_naming"
        )
    assert len(plain) == len(varied) == 3
    for documented, renamed in zip(plain, varied, strict=True):
        assert list(renamed) == [
            "wallet_id",
            "currency_code",
            "available_balance",
            "wallet_type",
            "created_at",
            "updated_at",
        ]
        assert renamed == {
            "wallet_id": documented["id"],
            "currency_code": documented["currency"],
            "available_balance": documented["balance"],
            "wallet_type": documented["type"],
            "created_at": documented["created_at"],
            "updated_at": documented["updated_at"],
        }
    assert other_plain == other_varied


async def test_envelope_alternates_and_keeps_the_pagination_headers(
    make_sandbox: MakeSandbox,
) -> None:
    sandbox = await start(make_sandbox)
    async with signed_in(sandbox) as api:
        plain = await api.call("GET", "/api/v1/transactions")
        sandbox.state.shape_variants = frozenset({"envelope"})
        answers = [await api.call("GET", "/api/v1/transactions") for _ in range(4)]
        # Switching the variants restarts the alternation.
        sandbox.state.shape_variants = frozenset({"envelope"})
        restarted = await api.call("GET", "/api/v1/currencies")
    documented = plain.json()
    assert [answer.json() for answer in answers] == [
        {"data": documented},
        {"success": True, "data": documented},
        {"data": documented},
        {"success": True, "data": documented},
    ]
    for answer in answers:
        assert answer.headers["X-Total-Count"] == plain.headers["X-Total-Count"]
        assert answer.headers["X-Has-More"] == "false"
        assert answer.headers["Content-Type"] == "application/json"
    assert list(restarted.json()) == ["data"]


async def test_lowercase_enums_lowers_status_like_values_only(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox)
    async with signed_in(sandbox) as api:
        esim_order = (await create(api, "/api/v1/esim/orders", "enums")).json()
        pairs = [
            await api.plain_and_varied(path, "lowercase_enums")
            for path in (
                "/api/v1/transactions",
                "/api/v1/topups/products",
                f"/api/v1/esim/orders/{esim_order['id']}",
            )
        ]
    enums = ("status", "transaction_type", "activation_status", "topup_type")
    lowered = 0
    for plain, varied in pairs:
        for documented, written in zip(dicts(plain), dicts(varied), strict=True):
            assert documented.keys() == written.keys()
            for field, value in documented.items():
                if field in enums and isinstance(value, str):
                    assert written[field] == value.lower()
                    lowered += value != value.lower()
                else:
                    assert written[field] == value
    assert lowered >= 4
    assert pairs[2][1]["activation_status"] == "not_installed"


async def test_extra_fields_add_unknown_keys_to_every_record(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox)
    async with signed_in(sandbox) as api:
        await place_orders(api)
        pairs = [
            (path, *await api.plain_and_varied(path, "extra_fields"))
            for path in (
                "/api/v1/orders",
                "/api/v1/products?limit=500",
                "/api/v1/topups/variants/88413",
            )
        ]
    orders, products, variant = (varied for _, _, varied in pairs)
    assert all("schema_version" in voucher for voucher in orders[0]["vouchers"])
    assert all("schema_version" in d for d in products[0]["available_denominations"])
    assert "schema_version" in variant["available_in"][0]
    for path, plain, varied in pairs:
        extended = [record for record in dicts(varied) if "schema_version" in record]
        for record in extended:
            assert record["_links"] == {"self": path.split("?")[0]}
            assert record["schema_version"] == 2
        # Strip them again, and what is left is the documented answer.
        for record in extended:
            del record["_links"], record["schema_version"]
        assert varied == plain


async def test_extra_fields_leave_free_form_maps_alone(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox, shape_variants=frozenset({"extra_fields"}))
    async with signed_in(sandbox) as api:
        variant = await api.get("/api/v1/topups/variants/88413")
    assert "schema_version" in variant
    assert "schema_version" in variant["available_in"][0]
    # `fields` maps names to strings; a new key there would be a new field of the SKU.
    assert all(isinstance(value, str) for value in variant["fields"].values())


async def test_secrets_as_numbers_after_numbers_as_strings(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox)
    async with signed_in(sandbox) as api:
        answers = []
        for number in range(4):
            order = (await create(api, "/api/v1/orders", f"pins-{number}")).json()
            answers.append(
                await api.plain_and_varied(
                    f"/api/v1/orders/{order['id']}", "secrets_as_numbers", "numbers_as_strings"
                )
            )
        esim_order = (await create(api, "/api/v1/esim/orders", "iccid")).json()
        esim_plain, esim_varied = await api.plain_and_varied(
            f"/api/v1/esim/orders/{esim_order['id']}", "secrets_as_numbers", "numbers_as_strings"
        )
    pins = [
        (documented["pin_code"], written["pin_code"])
        for plain, varied in answers
        for documented, written in zip(plain["vouchers"], varied["vouchers"], strict=True)
    ]
    assert len(pins) == 12
    for documented_pin, written_pin in pins:
        if documented_pin.startswith("0"):
            assert written_pin == documented_pin  # a number would lose the zero
        else:
            assert written_pin == int(documented_pin)
            assert type(written_pin) is int
    assert any(type(written) is int for _, written in pins)
    assert any(documented.startswith("0") for documented, _ in pins), "seed gives no 0 PIN"
    assert esim_varied["iccid"] == int(esim_plain["iccid"])
    assert esim_varied["id"] == str(esim_plain["id"])
    assert esim_varied["activation_code"] == esim_plain["activation_code"]


@pytest.mark.parametrize("variants", [("nulls",), ("missing",), ("nulls", "missing")], ids="+".join)
async def test_nulls_and_missing_never_touch_identifying_fields(
    make_sandbox: MakeSandbox, variants: tuple[str, ...]
) -> None:
    sandbox = await start(make_sandbox)
    async with signed_in(sandbox) as api:
        await place_orders(api)
        pairs = [await api.plain_and_varied(path, *variants) for path in LIST_ENDPOINTS]
        # An order create answer, compared with the same order read back plainly.
        for path in ORDER_CREATES:
            sandbox.state.shape_variants = frozenset(variants)
            created = (await create(api, path, f"varied-{path.split('/')[-2]}")).json()
            sandbox.state.shape_variants = frozenset()
            pairs.append((await api.get(f"{path}/{created['id']}"), created))
    changes = Counter[str]()
    for plain, varied in pairs:
        compare_nulled_or_missing(plain, varied, changes)
    assert set(changes) == set(variants)


def compare_nulled_or_missing(documented: Any, written: Any, changes: Counter[str]) -> None:
    """`written` is `documented` with only NULLABLE fields nulled, MISSABLE ones left out."""
    if isinstance(documented, list):
        assert isinstance(written, list)
        for documented_item, written_item in zip(documented, written, strict=True):
            compare_nulled_or_missing(documented_item, written_item, changes)
    elif isinstance(documented, dict):
        assert isinstance(written, dict)
        assert set(written) <= set(documented)
        for field, value in documented.items():
            if field in IDENTIFYING:
                assert written.get(field, "absent") == value, field
            elif field not in written:
                assert field in MISSABLE, field
                changes["missing"] += 1
            elif written[field] is None and value is not None:
                assert field in NULLABLE, field
                changes["nulls"] += 1
            else:
                compare_nulled_or_missing(value, written[field], changes)
    else:
        assert written == documented


async def test_nulls_and_missing_act_on_their_documented_fields(
    make_sandbox: MakeSandbox,
) -> None:
    sandbox = await start(make_sandbox, shape_variants=frozenset({"nulls", "missing"}))
    async with signed_in(sandbox) as api:
        order = (await create(api, "/api/v1/orders", "listed")).json()
        quote = (
            await api.call(
                "POST",
                "/api/v1/products/140/charges",
                b'{"denomination":15.00,"quantity":1,"wallet_id":1}',
            )
        ).json()
        wallet = (await api.get("/api/v1/wallets"))[0]
        currency = (await api.get("/api/v1/currencies"))[0]
    for field in (
        "product_name",
        "wallet_id",
        "base_currency",
        "deduction_currency",
        "message",
        "email",
    ):
        assert order[field] is None
    for field in ("product_id", "denomination", "quantity", "discount"):
        assert field not in order
    assert order["vouchers"][0]["voucher_reference_number"] is None
    assert order["vouchers"][0]["card_number"].startswith("STEAM-")
    assert order["amount"] == Decimal("30.00")
    for field in ("discount", "gst_amount", "net_amount", "handling_fee_amount"):
        assert quote[field] is None
    assert "total_amount" not in quote
    assert "max_quantity" not in quote
    assert "conversion_fee" not in quote["charges_details"]
    assert quote["charges_details"]["forex_rate"] is not None  # GBP product, USD wallet
    assert quote["total_payable"] > 0
    assert set(wallet) == {"id", "currency", "balance"}
    assert set(currency) == {"id", "currency", "precision"}


async def test_variants_never_change_the_sandbox_state(make_sandbox: MakeSandbox) -> None:
    # Voucher quotes are cached as the very dict the handler answered with: a variant that
    # changed it would change every later answer.
    sandbox = await start(make_sandbox)
    body = b'{"denomination":50.00,"quantity":2}'
    async with signed_in(sandbox) as api:
        plain = await api.call("POST", "/api/v1/products/123/charges", body)
        sandbox.state.shape_variants = SHAPE_VARIANTS
        for _ in range(2):
            await api.call("POST", "/api/v1/products/123/charges", body)
            await api.get("/api/v1/countries")
        sandbox.state.shape_variants = frozenset()
        again = await api.call("POST", "/api/v1/products/123/charges", body)
        countries = await api.get("/api/v1/countries")
    assert again.body == plain.body
    assert countries[0] == {
        "id": 1,
        "name": "United States",
        "official_name": "United States of America",
        "alpha_2": "US",
        "alpha_3": "USA",
        "numeric_code": "840",
        "dialing_prefix": "+1",
    }


async def test_all_variants_compose_in_their_documented_order(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox, shape_variants=SHAPE_VARIANTS)
    async with signed_in(sandbox) as api:
        created = (await create(api, "/api/v1/orders", "all")).json()
        wallets = (await api.get("/api/v1/wallets"))["data"]
    assert list(created) == ["data"]
    order = created["data"]
    assert order["id"].isdigit()  # numbers_as_strings
    assert order["amount"] == "30.00"
    assert order["status"] == "delivered"  # lowercase_enums
    assert order["client_reference"] == "all"
    assert order["email"] is None  # nulls
    assert "quantity" not in order  # missing
    assert order["schema_version"] == "2"  # extra_fields, then numbers_as_strings
    voucher = order["vouchers"][0]
    assert re.fullmatch(TIME_FORMS[0][0], voucher["expires_at"])  # time_forms
    pins = [v["pin_code"] for v in order["vouchers"]]
    assert all(type(pin) is int or pin.startswith("0") for pin in pins)  # secrets last
    # missing drops the wallet fields, then wallet_naming renames what is left.
    assert [set(wallet) for wallet in wallets] == [
        {"wallet_id", "currency_code", "available_balance", "_links", "schema_version"}
    ] * 3


# --- what is never varied ----------------------------------------------------------------


async def test_auth_and_error_bodies_are_never_varied(make_sandbox: MakeSandbox) -> None:
    sandbox = await start(make_sandbox, shape_variants=SHAPE_VARIANTS)
    async with aiohttp.ClientSession(sandbox.url) as session:
        credentials = {"username": sandbox.api_key, "password": sandbox.api_secret}
        async with session.post("/auth/login", json=credentials) as answer:
            login = await answer.json()
        async with session.get("/api/v1/orders/99999999") as answer:
            unauthorized = (answer.status, await answer.json())
        headers = {"Authorization": f"Bearer {login['data']['access_token']}"}
        async with session.get("/api/v1/orders/99999999", headers=headers) as answer:
            not_found = (answer.status, await answer.json())
        async with session.post("/api/v1/orders", data=b"{", headers=headers) as answer:
            invalid = (answer.status, await answer.json())
        async with session.post("/auth/logout", headers=headers) as answer:
            logout = await answer.json()
    assert login["success"] is True
    assert set(login["data"]) == {
        "access_token",
        "refresh_token",
        "access_expires_at",
        "refresh_expires_at",
        "client_id",
    }
    assert login["data"]["client_id"] == 42
    assert re.fullmatch(r"\S+T\S+\.\d{3}Z", login["data"]["access_expires_at"])
    assert unauthorized == (
        401,
        {
            "error": {
                "name": "UnauthorizedError",
                "code": "UNAUTHORIZED",
                "message": "Authorization header required",
            }
        },
    )
    assert not_found == (
        404,
        {"error": {"name": "NotFoundError", "code": "NOT_FOUND", "message": "Order not found"}},
    )
    assert invalid[0] == 400
    assert invalid[1]["error"]["code"] == "VALIDATION_FAILURE"
    assert logout == {"success": True, "data": {"message": "Successfully logged out"}}


async def test_webhook_deliveries_are_never_varied(make_sandbox: MakeSandbox) -> None:
    received: list[bytes] = []
    delivered = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        received.append(await request.read())
        delivered.set()
        return web.Response()

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    async with TestServer(receiver) as server:
        sandbox = await start(make_sandbox, shape_variants=SHAPE_VARIANTS)
        sandbox.webhooks.register(str(server.make_url("/hook")), "whsec_test", ["order.delivered"])
        async with signed_in(sandbox) as api:
            order = (await create(api, "/api/v1/orders", "hooked")).json()["data"]
        await asyncio.wait_for(delivered.wait(), 30)  # a bound for a hang, not a timing
    assert len(received) == 1
    event = json.loads(received[0], parse_float=Decimal)
    assert set(event) == {"id", "type", "created_at", "data"}
    assert event["type"] == "order.delivered"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["created_at"])
    assert event["data"]["id"] == int(order["id"])
    assert event["data"]["status"] == "DELIVERED"
    assert event["data"]["amount"] == Decimal("30.00")
    assert "schema_version" not in event["data"]


# --- Fault.reshape -----------------------------------------------------------------------


async def committed(api: Api, reference: str) -> list[Any]:
    api.sandbox.state.shape_variants = frozenset()
    return list(await api.get(f"/api/v1/orders?client_reference={reference}"))


@pytest.mark.parametrize("phase", ["before", "after"])
async def test_reshape_rewrites_the_document_of_a_committed_order(
    make_sandbox: MakeSandbox, phase: Any
) -> None:
    sandbox = await start(make_sandbox)
    seen: list[Any] = []

    def rewrite(document: Any) -> Any:
        seen.append(document)
        return {"order": document, "amount": Decimal("1E+30"), "note": "é"}

    sandbox.faults.add(
        Fault.reshape(rewrite), phase=phase, method="POST", path="/api/v1/orders", times=1
    )
    async with signed_in(sandbox) as api:
        answer = await create(api, "/api/v1/orders", f"reshaped-{phase}")
        second = await create(api, "/api/v1/orders", f"plain-{phase}")
        listed = await committed(api, f"reshaped-{phase}")
    assert answer.status == 201
    assert answer.headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"[0-9A-Za-z]{27}", answer.headers["X-Request-Id"])
    [document] = seen
    assert document["status"] == "DELIVERED"
    assert type(document["amount"]) is Decimal
    assert document["amount"] == Decimal("30.00")
    assert answer.json() == {"order": document, "amount": 10**30, "note": "é"}
    assert b'"amount":1000000000000000000000000000000' in answer.body
    assert second.json()["client_reference"] == f"plain-{phase}"  # times=1: used up
    assert [order["id"] for order in listed] == [document["id"]]


@pytest.mark.parametrize(
    ("returned", "sent"),
    [
        (
            b'{"id": 1234, "status": "DELIV\xff\xfeRED"}',
            b'{"id": 1234, "status": "DELIV\xff\xfeRED"}',
        ),
        (b"[" * 100_000, b"[" * 100_000),
        ('{"id": 1' + "0" * 5000 + "}", b'{"id": 1' + b"0" * 5000 + b"}"),
        ("", b""),
    ],
    ids=["invalid-utf8", "deep-nesting", "huge-number", "empty"],
)
async def test_reshape_sends_bytes_and_str_verbatim(
    make_sandbox: MakeSandbox, returned: bytes | str, sent: bytes
) -> None:
    sandbox = await start(make_sandbox)
    sandbox.faults.add(
        Fault.reshape(lambda _: returned), phase="after", method="POST", path="/api/v1/orders"
    )
    async with signed_in(sandbox) as api:
        answer = await create(api, "/api/v1/orders", "verbatim")
        listed = await committed(api, "verbatim")
    assert answer.status == 201
    assert answer.body == sent
    assert answer.headers["Content-Type"] == "application/json"
    assert len(listed) == 1


async def test_reshape_gets_none_for_an_answer_that_is_not_json(
    make_sandbox: MakeSandbox,
) -> None:
    sandbox = await start(make_sandbox)
    seen: list[Any] = []

    def record(document: Any) -> Any:
        seen.append(document)
        return {"seen": document}

    # The before rule makes the answer HTML; the after rule then has no JSON to read.
    sandbox.faults.add(Fault.reshape(lambda _: "<html>oops</html>"), path="/api/v1/wallets")
    sandbox.faults.add(Fault.reshape(record), phase="after", path="/api/v1/wallets")
    async with signed_in(sandbox) as api:
        answer = await api.call("GET", "/api/v1/wallets")
    assert seen == [None]
    assert answer.json() == {"seen": None}


async def test_reshape_sees_the_varied_answer_and_leaves_errors_alone(
    make_sandbox: MakeSandbox,
) -> None:
    sandbox = await start(make_sandbox, shape_variants=frozenset({"numbers_as_strings"}))
    seen: list[Any] = []

    def record(document: Any) -> Any:
        seen.append(document)
        return document

    sandbox.faults.add(Fault.reshape(record), phase="after", path="/api/v1/orders*")
    async with signed_in(sandbox) as api:
        invalid = await api.call("POST", "/api/v1/orders", b'{"product_id": 123}')
        missing = await api.call("GET", "/api/v1/orders/99999999")
        await create(api, "/api/v1/orders", "seen")
    assert invalid.status == 400
    assert invalid.json()["error"]["code"] == "VALIDATION_FAILURE"
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    [document] = seen
    assert document["amount"] == "30.00"


def test_reshape_is_a_fault_like_any_other() -> None:
    def rewrite(document: Any) -> Any:
        return document

    fault = Fault.reshape(rewrite)
    assert fault.kind == "reshape"
    assert fault.rewrite is rewrite
