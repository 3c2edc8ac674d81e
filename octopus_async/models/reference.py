"""Reference data: countries, currencies, categories, subcategories (API.md 6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._base import raw_field

__all__ = ["Category", "Country", "Currency", "Subcategory"]


@attrs.frozen
class Country:
    """A country; `id` is what voucher product filters take as `country_id`."""

    id: int
    name: str | None = None
    official_name: str | None = None
    alpha_2: str | None = None
    alpha_3: str | None = None
    numeric_code: str | None = None
    dialing_prefix: str | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class Currency:
    """A currency; `currency` is the ISO 4217 code, `precision` its decimal places."""

    id: int
    name: str | None = None
    currency: str | None = None
    precision: int | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class Category:
    """A voucher category; product filters take its `name`."""

    id: int
    name: str | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen
class Subcategory:
    """A voucher subcategory (products carry its name as `sub_category`)."""

    id: int
    name: str | None = None
    raw: Mapping[str, Any] = raw_field()
