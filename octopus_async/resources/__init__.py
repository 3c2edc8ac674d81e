"""The API namespaces of `OctopusClient`, one module per area."""

from ._base import RawResponse
from ._orders import Orders
from .auth import Auth
from .data import ReferenceData
from .esim import ActivationCodes, Esim, EsimOrders, EsimProducts, EsimVariants
from .topups import TopupOrders, TopupProducts, Topups, TopupVariants
from .vouchers import VoucherOrders, VoucherProducts, Vouchers
from .wallets import Wallets

__all__ = [
    "ActivationCodes",
    "Auth",
    "Esim",
    "EsimOrders",
    "EsimProducts",
    "EsimVariants",
    "Orders",
    "RawResponse",
    "ReferenceData",
    "TopupOrders",
    "TopupProducts",
    "TopupVariants",
    "Topups",
    "VoucherOrders",
    "VoucherProducts",
    "Vouchers",
    "Wallets",
]
