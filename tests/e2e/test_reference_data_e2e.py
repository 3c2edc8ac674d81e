"""`client.data` against the sandbox: parsing, the TTL cache, single flight, feature flags."""

from __future__ import annotations

import asyncio

import pytest

from octopus_async import FeatureNotEnabledError, InvalidRequestError, NotFoundError, ServerError
from octopus_async.models import Category, Country, Currency, Subcategory
from octopus_async.sandbox import Fault


def reads(sandbox, path):
    return sandbox.state.count("GET", path)


async def test_lists_parse_into_models(client):
    countries = await client.data.countries()
    currencies = await client.data.currencies()
    categories = await client.data.categories()
    subcategories = await client.data.subcategories()
    assert all(isinstance(c, Country) for c in countries)
    assert countries[0].alpha_3 == "USA"
    assert countries[0].dialing_prefix == "+1"
    assert {c.currency: c.precision for c in currencies}["JPY"] == 0
    assert all(isinstance(c, Currency) for c in currencies)
    assert [c.name for c in categories][:2] == ["Gaming", "Mobile Top-Ups"]
    assert all(isinstance(c, Category) for c in categories)
    assert all(isinstance(s, Subcategory) for s in subcategories)


async def test_lists_are_cached(client, sandbox):
    first = await client.data.currencies()
    second = await client.data.currencies()
    assert second is first
    assert reads(sandbox, "/api/v1/currencies") == 1


async def test_concurrent_first_calls_share_one_request(client, sandbox):
    results = await asyncio.gather(*(client.data.countries() for _ in range(50)))
    assert all(result is results[0] for result in results)
    assert reads(sandbox, "/api/v1/countries") == 1


async def test_cache_expires_after_its_ttl(sandbox, make_client):
    client = make_client(sandbox, reference_data_ttl=0.2)
    await client.data.currencies()
    await client.data.currencies()
    await asyncio.sleep(0.25)
    await client.data.currencies()
    assert reads(sandbox, "/api/v1/currencies") == 2


async def test_refresh_reloads_only_what_was_loaded(client, sandbox):
    await client.data.currencies()
    await client.data.refresh()
    assert reads(sandbox, "/api/v1/currencies") == 2
    assert reads(sandbox, "/api/v1/countries") == 0
    await client.data.currencies()
    assert reads(sandbox, "/api/v1/currencies") == 2


async def test_views_share_the_cache(client, sandbox):
    await client.data.currencies()
    await client.with_options(max_retries=0).data.currencies()
    assert reads(sandbox, "/api/v1/currencies") == 1


async def test_categories_need_the_vouchers_feature(make_sandbox, make_client):
    sandbox = await make_sandbox(features=frozenset())
    client = make_client(sandbox)
    with pytest.raises(FeatureNotEnabledError) as raised:
        await client.data.categories()
    assert (raised.value.status, raised.value.code) == (400, "INVALID_FEATURE")
    assert raised.value.message == "The requested feature is not enabled for this client"
    with pytest.raises(FeatureNotEnabledError):
        await client.data.subcategories()
    assert len(await client.data.countries()) > 0


async def test_lookups_by_id_and_code(client, sandbox):
    assert (await client.data.country(5)).alpha_2 == "IN"
    assert (await client.data.country_by_code("gb")).id == 2
    assert (await client.data.country_by_code("JPN")).name == "Japan"
    assert await client.data.country_by_code("ZZ") is None
    assert (await client.data.currency_by_code("jpy")).precision == 0
    assert (await client.data.category(1)).name == "Gaming"
    assert (await client.data.subcategory(2)).name == "PlayStation"
    # All served from the cached lists.
    assert reads(sandbox, "/api/v1/countries") == 1
    assert reads(sandbox, "/api/v1/countries/5") == 0


async def test_unknown_id_asks_the_server(client, sandbox):
    with pytest.raises(NotFoundError) as raised:
        await client.data.country(999)
    assert reads(sandbox, "/api/v1/countries/999") == 1
    assert raised.value.request_id == sandbox.requests[-1].request_id


@pytest.mark.parametrize("bad", [0, -1, 2**31, True, "1", 1.0])
async def test_invalid_ids_are_rejected_before_sending(client, sandbox, bad):
    with pytest.raises(InvalidRequestError) as raised:
        await client.data.country(bad)
    assert raised.value.param == "country_id"
    assert sandbox.requests == []


async def test_a_failed_load_is_not_cached(client, sandbox):
    sandbox.faults.add(Fault.error(500), path="/api/v1/currencies", times=5)
    with pytest.raises(ServerError):
        await client.data.currencies()
    assert len(await client.data.currencies()) == 7
    assert reads(sandbox, "/api/v1/currencies") == 6


async def test_concurrent_callers_share_a_failure(client, sandbox):
    sandbox.faults.add(Fault.error(500), path="/api/v1/currencies")
    results = await asyncio.gather(
        *(client.data.currencies() for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(result, ServerError) for result in results)
    assert reads(sandbox, "/api/v1/currencies") == 5  # one call's attempts, not twenty


async def test_raw_response_of_a_cached_call_is_the_one_that_filled_the_cache(client, sandbox):
    first = await client.with_raw_response(client.data.currencies())
    again = await client.with_raw_response(client.data.currencies())
    assert again.request_id == first.request_id == sandbox.requests[-1].request_id
    assert again.parsed is first.parsed
