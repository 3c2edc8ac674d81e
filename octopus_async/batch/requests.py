"""One order to place, per vertical: what a batch row turns into."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

import attrs

from ..models.esim import EsimOrder
from ..models.topups import TopupOrder
from ..models.vouchers import VoucherOrder

if TYPE_CHECKING:
    from ..client import OctopusClient

__all__ = [
    "REQUEST_TYPES",
    "EsimOrderRequest",
    "OrderRequest",
    "TopupOrderRequest",
    "VoucherOrderRequest",
]


class _Request:
    """What every order request shares. Each also has `create(client, client_reference)`,
    the exactly-once create, and `cost(order)`, what its order cost and in which currency."""

    vertical: ClassVar[str]

    def fingerprint(self) -> str:
        """A digest of everything the order is made of: a journal refuses to map a row
        to an order created from other fields."""
        fields = attrs.asdict(self)  # type: ignore[arg-type]
        canonical = json.dumps({"vertical": self.vertical, **fields}, default=str, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@attrs.frozen
class VoucherOrderRequest(_Request):
    """`quantity` vouchers of face value `denomination` of product `product_id`."""

    vertical: ClassVar[str] = "vouchers"

    product_id: int
    denomination: Decimal | int | str
    quantity: int
    client_reference: str | None = None
    wallet_id: int | None = None

    async def create(self, client: OctopusClient, client_reference: str) -> VoucherOrder:
        return await client.vouchers.orders.create(
            self.product_id,
            self.denomination,
            self.quantity,
            client_reference=client_reference,
            wallet_id=self.wallet_id,
        )

    def cost(self, order: VoucherOrder) -> tuple[str, Decimal] | None:
        """The face value less the discount, in the product's currency."""
        if order.amount is None or order.base_currency is None:
            return None
        return order.base_currency, order.amount - (order.discount or 0)


@attrs.frozen
class TopupOrderRequest(_Request):
    """A topup of `amount` for the player or phone that `input_data` names."""

    vertical: ClassVar[str] = "topups"

    product_id: int
    amount: Decimal | int | str
    input_data: Mapping[str, str] = attrs.field(factory=dict)
    client_reference: str | None = None
    wallet_id: int | None = None

    async def create(self, client: OctopusClient, client_reference: str) -> TopupOrder:
        return await client.topups.orders.create(
            self.product_id,
            self.amount,
            input_data=self.input_data,
            client_reference=client_reference,
            wallet_id=self.wallet_id,
        )

    def cost(self, order: TopupOrder) -> tuple[str, Decimal] | None:
        """The amount charged, after the discount."""
        return _charged(order.currency, order.amount)


@attrs.frozen
class EsimOrderRequest(_Request):
    """One eSIM of the plan of product `product_id` priced `amount`."""

    vertical: ClassVar[str] = "esim"

    product_id: int
    amount: Decimal | int | str
    client_reference: str | None = None
    wallet_id: int | None = None

    async def create(self, client: OctopusClient, client_reference: str) -> EsimOrder:
        return await client.esim.orders.create(
            self.product_id,
            self.amount,
            client_reference=client_reference,
            wallet_id=self.wallet_id,
        )

    def cost(self, order: EsimOrder) -> tuple[str, Decimal] | None:
        """The amount charged, after the discount."""
        return _charged(order.currency, order.amount)


def _charged(currency: str | None, amount: Decimal | None) -> tuple[str, Decimal] | None:
    return None if currency is None or amount is None else (currency, amount)


OrderRequest = VoucherOrderRequest | TopupOrderRequest | EsimOrderRequest
"""Any order a batch can place."""

REQUEST_TYPES: dict[str, type[OrderRequest]] = {
    kind.vertical: kind for kind in (VoucherOrderRequest, TopupOrderRequest, EsimOrderRequest)
}
"""The request type of each vertical, by its name."""
