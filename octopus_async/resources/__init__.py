"""The API namespaces of `OctopusClient`, one module per area."""

from ._base import RawResponse
from .auth import Auth
from .data import ReferenceData
from .vouchers import VoucherOrders, VoucherProducts, Vouchers
from .wallets import Wallets

__all__ = [
    "Auth",
    "RawResponse",
    "ReferenceData",
    "VoucherOrders",
    "VoucherProducts",
    "Vouchers",
    "Wallets",
]
