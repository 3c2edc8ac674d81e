"""The sandbox's reference data, in the documented shapes (API.md 6)."""

from __future__ import annotations

from typing import Any

__all__ = ["CATEGORIES", "COUNTRIES", "CURRENCIES", "SUBCATEGORIES"]


def _country(
    id: int, name: str, official: str, a2: str, a3: str, numeric: str, prefix: str
) -> dict[str, Any]:
    return {
        "id": id,
        "name": name,
        "official_name": official,
        "alpha_2": a2,
        "alpha_3": a3,
        "numeric_code": numeric,
        "dialing_prefix": prefix,
    }


COUNTRIES: list[dict[str, Any]] = [
    _country(1, "United States", "United States of America", "US", "USA", "840", "+1"),
    _country(
        2,
        "United Kingdom",
        "United Kingdom of Great Britain and Northern Ireland",
        "GB",
        "GBR",
        "826",
        "+44",
    ),
    _country(3, "Germany", "Federal Republic of Germany", "DE", "DEU", "276", "+49"),
    _country(4, "France", "French Republic", "FR", "FRA", "250", "+33"),
    _country(5, "India", "Republic of India", "IN", "IND", "356", "+91"),
    _country(6, "Japan", "Japan", "JP", "JPN", "392", "+81"),
    _country(7, "United Arab Emirates", "United Arab Emirates", "AE", "ARE", "784", "+971"),
    _country(8, "Brazil", "Federative Republic of Brazil", "BR", "BRA", "076", "+55"),
]

CURRENCIES: dict[str, dict[str, Any]] = {
    code: {"id": id, "name": name, "currency": code, "precision": precision}
    for id, name, code, precision in [
        (1, "US Dollar", "USD", 2),
        (2, "Euro", "EUR", 2),
        (3, "Pound Sterling", "GBP", 2),
        (4, "Indian Rupee", "INR", 2),
        (5, "Japanese Yen", "JPY", 0),
        (6, "UAE Dirham", "AED", 2),
        (7, "Brazilian Real", "BRL", 2),
    ]
}

CATEGORIES: list[dict[str, Any]] = [
    {"id": 1, "name": "Gaming"},
    {"id": 2, "name": "Mobile Top-Ups"},
    {"id": 3, "name": "Entertainment"},
    {"id": 4, "name": "Shopping"},
    {"id": 5, "name": "Food & Dining"},
]

SUBCATEGORIES: list[dict[str, Any]] = [
    {"id": 1, "name": "Steam"},
    {"id": 2, "name": "PlayStation"},
    {"id": 3, "name": "Xbox"},
    {"id": 4, "name": "Netflix"},
    {"id": 5, "name": "Amazon"},
    {"id": 6, "name": "Uber Eats"},
]
