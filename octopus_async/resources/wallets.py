"""`client.wallets`: balances and the transaction ledger (API.md 7)."""

from __future__ import annotations

import re

from ..errors import InvalidRequestError
from ..models.wallets import Transaction, Wallet
from ..pagination import AsyncPaginator, PageSpec
from ._base import Resource, require_id

__all__ = ["Wallets"]

_TRANSACTIONS = PageSpec(size_param="limit", max_size=10_000)
_WALLETS = tuple[Wallet, ...]  # made once: each subscription builds a new object


class Wallets(Resource):
    """The account's wallets (one per currency) and their ledger."""

    async def list(self) -> tuple[Wallet, ...]:
        """Every wallet of the account."""
        return await self._requester.get("/api/v1/wallets", _WALLETS)

    async def get(self, wallet_id: int) -> Wallet | None:
        """The wallet with this id, or None. Reads the list: the API has no single-wallet call."""
        require_id(wallet_id, "wallet_id")
        return next((wallet for wallet in await self.list() if wallet.id == wallet_id), None)

    async def by_currency(self, currency: str) -> Wallet | None:
        """The wallet in this ISO 4217 currency (any case), or None."""
        if not (isinstance(currency, str) and re.fullmatch(r"[A-Za-z]{3}", currency)):
            raise InvalidRequestError(
                f"currency must be a three-letter ISO 4217 code, got {currency!r}",
                param="currency",
            )
        code = currency.upper()
        return next((wallet for wallet in await self.list() if wallet.currency == code), None)

    def transactions(
        self, *, wallet_id: int | None = None, page_size: int | None = None
    ) -> AsyncPaginator[Transaction]:
        """Ledger entries, newest first, of one wallet or all of them.

        The server filters by wallet only; filter other fields while iterating.
        """
        if wallet_id is not None:
            require_id(wallet_id, "wallet_id")
        return self._requester.paginate(
            "/api/v1/transactions",
            Transaction,
            _TRANSACTIONS,
            params={"wallet_id": wallet_id},
            page_size=page_size,
        )

    async def transaction(self, transaction_id: int) -> Transaction:
        """One ledger entry by id."""
        require_id(transaction_id, "transaction_id")
        return await self._requester.get(f"/api/v1/transactions/{transaction_id}", Transaction)
