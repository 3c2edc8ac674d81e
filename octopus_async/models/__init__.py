"""Typed models of the API's JSON; every model keeps the JSON it was read from in `raw`."""

from ._base import OpenEnum
from .auth import TokenSet
from .charges import ChargesDetails, ChargesQuote
from .reference import Category, Country, Currency, Subcategory
from .wallets import Transaction, TransactionStatus, TransactionType, Wallet, WalletType

__all__ = [
    "Category",
    "ChargesDetails",
    "ChargesQuote",
    "Country",
    "Currency",
    "OpenEnum",
    "Subcategory",
    "TokenSet",
    "Transaction",
    "TransactionStatus",
    "TransactionType",
    "Wallet",
    "WalletType",
]
