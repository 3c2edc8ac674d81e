"""What every vertical's desk shares: the order book, catalogue lookups, wallets and refunds."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._http import ApiError
from .ledger import InsufficientFunds, TransactionRecord, WalletRecord

if TYPE_CHECKING:
    from .state import SandboxState

__all__ = ["Desk", "OrderBook", "VariantDesk", "check_reference"]


class _Record(Protocol):
    id: int
    client_reference: str | None


R = TypeVar("R", bound=_Record)


def check_reference(reference: object) -> str | None:
    """A valid `client_reference` from a request body, or a 400 validation error."""
    if reference is None:
        return None
    if (
        not isinstance(reference, str)
        or not 1 <= len(reference) <= 255
        or not all(" " <= c <= "~" for c in reference)
    ):
        raise ApiError.validation("client_reference must be 1-255 printable ASCII characters")
    return reference


class OrderBook(Generic[R]):
    """The orders of one vertical. `(client, client_reference)` is unique (API.md 5)."""

    def __init__(self, first_id: int) -> None:
        self._ids = itertools.count(first_id)
        self.by_id: dict[int, R] = {}
        self._by_reference: dict[str, int] = {}

    def next_id(self) -> int:
        return next(self._ids)

    def ensure_new(self, reference: str | None) -> None:
        """Refuse a reference already used: 400 "Duplicate client_reference"."""
        if reference is not None and reference in self._by_reference:
            raise ApiError(400, "Duplicate client_reference")

    def add(self, record: R) -> R:
        """Keep `record`; call in the same step as `ensure_new`, with no await between."""
        self.ensure_new(record.client_reference)
        self.by_id[record.id] = record
        if record.client_reference is not None:
            self._by_reference[record.client_reference] = record.id
        return record

    def get(self, raw_id: str, noun: str = "Order") -> R:
        record = self.by_id.get(int(raw_id)) if raw_id.isdigit() else None
        if record is None:
            raise ApiError(404, f"{noun} not found")
        return record

    def with_reference(self, reference: str) -> R | None:
        order_id = self._by_reference.get(reference)
        return None if order_id is None else self.by_id[order_id]

    def newest_first(self, keep: Callable[[R], bool] = lambda _: True) -> Iterator[R]:
        return (record for record in reversed(self.by_id.values()) if keep(record))

    def __len__(self) -> int:
        return len(self.by_id)


class _Product(Protocol):
    @property
    def id(self) -> int: ...


P = TypeVar("P", bound=_Product)


class Desk(Generic[P, R]):
    """One vertical of the sandbox: its catalogue, its order book, and outcomes forced by tests.

    `outcomes` are the final statuses `force_outcome` may set.
    """

    def __init__(
        self,
        state: SandboxState,
        catalog: Mapping[int, P],
        first_order_id: int,
        outcomes: Sequence[str],
    ) -> None:
        self._state = state
        self.catalog = dict(catalog)
        self.orders: OrderBook[R] = OrderBook(first_order_id)
        self.forced_outcomes: dict[str, str] = {}
        self._outcomes = tuple(outcomes)

    def force_outcome(self, client_reference: str, outcome: str) -> None:
        """Settle the order with this reference as `outcome`, whatever chance would say."""
        if outcome not in self._outcomes:
            raise ValueError(f"outcome must be one of {self._outcomes}, got {outcome!r}")
        self.forced_outcomes[client_reference] = outcome

    def product(self, raw_id: str | int, *, missing: int = 404) -> P:
        """The product with this id: 404 "Product not found", or 400 "Invalid product ID"."""
        product_id = int(raw_id) if str(raw_id).isdigit() else None
        product = self.catalog.get(product_id) if product_id is not None else None
        if product is None:
            raise ApiError(missing, "Product not found" if missing == 404 else "Invalid product ID")
        return product

    def _forced(self, reference: str | None) -> str | None:
        return self.forced_outcomes.pop(reference or "", None)

    def _held_back(self, reference: str | None) -> bool:
        """Whether a test forced an outcome other than DELIVERED for this reference: the
        order must then settle later, even where it would be delivered in the answer."""
        return self.forced_outcomes.get(reference or "", "DELIVERED") != "DELIVERED"

    def _wallet(self, currency: str, wallet_id: int | None, *, fallback: bool) -> WalletRecord:
        """The wallet to debit: the one named, else the one in `currency`, else (with
        `fallback`, as topups and eSIM do) the default one (API.md 2.8)."""
        ledger = self._state.ledger
        if wallet_id is not None:
            named = ledger.wallets.get(wallet_id)
            if named is None:
                raise ApiError(400, "Invalid wallet ID")
            return named
        wallet = ledger.wallet_for(currency)
        if wallet is None and fallback:
            wallet = next(iter(ledger.wallets.values()), None)
        if wallet is None:
            raise ApiError(400, f"No {currency} wallet to pay from")
        return wallet

    def _debit(self, wallet: WalletRecord, amount: Decimal, order_id: int) -> TransactionRecord:
        try:
            return self._state.ledger.debit(wallet.id, amount, f"Order #{order_id}")
        except InsufficientFunds:
            raise ApiError(400, "Insufficient wallet balance") from None

    def _refund(self, wallet: WalletRecord, amount: Decimal, order_id: int) -> None:
        if amount > 0:
            self._state.ledger.credit(wallet.id, amount, f"Refund for Order #{order_id}")


class _WithVariants(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def variants(self) -> Sequence[Any]: ...


PV = TypeVar("PV", bound=_WithVariants)


class VariantDesk(Desk[PV, R]):
    """A desk whose products hold variants (topups, eSIM)."""

    def variant(self, raw_id: str) -> tuple[PV, Any]:
        """The product and variant with this variant id, or 404 "Variant not found"."""
        for product in self.catalog.values():
            for variant in product.variants:
                if str(variant.id) == raw_id:
                    return product, variant
        raise ApiError(404, "Variant not found")
