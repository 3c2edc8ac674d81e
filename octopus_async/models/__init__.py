"""Typed models of the API's JSON; every model keeps the JSON it was read from in `raw`."""

from ._base import OpenEnum
from .auth import TokenSet
from .charges import ChargesDetails, ChargesQuote
from .esim import (
    ActivationStatus,
    EsimOrder,
    EsimOrderStatus,
    EsimProduct,
    EsimVariant,
    LpaCode,
    parse_lpa,
)
from .reference import Category, Country, Currency, Subcategory
from .topups import (
    InputField,
    OperatorMatch,
    Region,
    TopupOrder,
    TopupOrderStatus,
    TopupProduct,
    TopupType,
    TopupVariant,
)
from .vouchers import (
    Availability,
    Denomination,
    Voucher,
    VoucherOrder,
    VoucherOrderStatus,
    VoucherProduct,
)
from .wallets import Transaction, TransactionStatus, TransactionType, Wallet, WalletType
from .webhooks import (
    EventType,
    OrderEvent,
    OrderEventData,
    UnknownEvent,
    WalletEvent,
    WalletEventData,
    WebhookEvent,
)

__all__ = [
    "ActivationStatus",
    "Availability",
    "Category",
    "ChargesDetails",
    "ChargesQuote",
    "Country",
    "Currency",
    "Denomination",
    "EsimOrder",
    "EsimOrderStatus",
    "EsimProduct",
    "EsimVariant",
    "EventType",
    "InputField",
    "LpaCode",
    "OperatorMatch",
    "OrderEvent",
    "OrderEventData",
    "Region",
    "OpenEnum",
    "Subcategory",
    "TokenSet",
    "TopupOrder",
    "TopupOrderStatus",
    "TopupProduct",
    "TopupType",
    "TopupVariant",
    "Transaction",
    "TransactionStatus",
    "TransactionType",
    "UnknownEvent",
    "Voucher",
    "VoucherOrder",
    "VoucherOrderStatus",
    "VoucherProduct",
    "Wallet",
    "WalletEvent",
    "WalletEventData",
    "WalletType",
    "WebhookEvent",
    "parse_lpa",
]
