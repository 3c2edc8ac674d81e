"""`client.data`: reference data, cached in memory (API.md 6)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from .._singleflight import SingleFlight
from .._transport.http import APIResponse
from ..models.reference import Category, Country, Currency, Subcategory
from ._base import Requester, Resource, record_response, require_id

__all__ = ["ReferenceData", "ReferenceDataCache"]

T = TypeVar("T")


class _CachedList(Generic[T]):
    """One reference list: loaded once per TTL, by one request however many callers wait."""

    def __init__(self, path: str, item_type: type[T], ttl: float, clock: Callable[[], float]):
        self._path = path
        self._item_type = item_type
        self._ttl = ttl
        self._clock = clock
        self._entry: tuple[tuple[T, ...], APIResponse, float] | None = None
        self._flight: SingleFlight[tuple[tuple[T, ...], APIResponse, float]] = SingleFlight()

    @property
    def loaded(self) -> bool:
        return self._entry is not None

    async def get(self, requester: Requester) -> tuple[T, ...]:
        entry = self._entry
        if entry is None or self._clock() - entry[2] >= self._ttl:
            entry = await self._flight.run(lambda: self._load(requester))
        else:
            record_response(entry[1])
        return entry[0]

    async def reload(self, requester: Requester) -> None:
        await self._flight.run(lambda: self._load(requester))

    async def _load(self, requester: Requester) -> tuple[tuple[T, ...], APIResponse, float]:
        response = await requester.request("GET", self._path)
        items: tuple[T, ...] = response.parse(tuple[self._item_type, ...])  # type: ignore[name-defined]
        self._entry = (items, response, self._clock())
        return self._entry


class ReferenceDataCache:
    """The cached lists of one client, shared by all its `with_options` views."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.countries = _CachedList("/api/v1/countries", Country, ttl, clock)
        self.currencies = _CachedList("/api/v1/currencies", Currency, ttl, clock)
        self.categories = _CachedList("/api/v1/categories", Category, ttl, clock)
        self.subcategories = _CachedList("/api/v1/subcategories", Subcategory, ttl, clock)


class ReferenceData(Resource):
    """Countries, currencies, categories and subcategories.

    Each list is fetched once and kept for `reference_data_ttl` seconds (24 h by default);
    concurrent first calls share one request. Categories and subcategories need the
    vouchers feature: without it they raise `FeatureNotEnabledError`.
    """

    def __init__(self, requester: Requester, cache: ReferenceDataCache) -> None:
        super().__init__(requester)
        self._cache = cache

    async def countries(self) -> tuple[Country, ...]:
        return await self._cache.countries.get(self._requester)

    async def country(self, country_id: int) -> Country:
        """One country by id, from the cached list when it is there."""
        require_id(country_id, "country_id")
        for country in await self.countries():
            if country.id == country_id:
                return country
        return await self._requester.get(f"/api/v1/countries/{country_id}", Country)

    async def country_by_code(self, code: str) -> Country | None:
        """The country with this ISO 3166-1 alpha-2 or alpha-3 code (any case), or None."""
        code = code.upper()
        for country in await self.countries():
            if code in (country.alpha_2, country.alpha_3):
                return country
        return None

    async def currencies(self) -> tuple[Currency, ...]:
        return await self._cache.currencies.get(self._requester)

    async def currency_by_code(self, code: str) -> Currency | None:
        """The currency with this ISO 4217 code (any case), or None."""
        code = code.upper()
        for currency in await self.currencies():
            if currency.currency == code:
                return currency
        return None

    async def categories(self) -> tuple[Category, ...]:
        return await self._cache.categories.get(self._requester)

    async def category(self, category_id: int) -> Category:
        """One category by id, from the cached list when it is there."""
        require_id(category_id, "category_id")
        for category in await self.categories():
            if category.id == category_id:
                return category
        return await self._requester.get(f"/api/v1/categories/{category_id}", Category)

    async def subcategories(self) -> tuple[Subcategory, ...]:
        return await self._cache.subcategories.get(self._requester)

    async def subcategory(self, subcategory_id: int) -> Subcategory:
        """One subcategory by id, from the cached list when it is there."""
        require_id(subcategory_id, "subcategory_id")
        for subcategory in await self.subcategories():
            if subcategory.id == subcategory_id:
                return subcategory
        return await self._requester.get(f"/api/v1/subcategories/{subcategory_id}", Subcategory)

    async def refresh(self) -> None:
        """Fetch again every list that is cached now; lists never loaded stay lazy."""
        cache = self._cache
        lists = (cache.countries, cache.currencies, cache.categories, cache.subcategories)
        await asyncio.gather(*(listed.reload(self._requester) for listed in lists if listed.loaded))
