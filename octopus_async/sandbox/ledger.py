"""Wallets and their ledger: every balance change is a transaction, applied atomically."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import attrs

from ._http import rfc3339
from .reference import CURRENCIES

__all__ = ["InsufficientFunds", "Ledger", "TransactionRecord", "WalletRecord"]


class InsufficientFunds(Exception):
    """A prepaid wallet's balance does not cover a debit."""


@attrs.define
class WalletRecord:
    id: int
    currency: str
    balance: Decimal
    type: str
    created_at: float
    updated_at: float

    @property
    def currency_id(self) -> int:
        return int(CURRENCIES[self.currency]["id"])

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "currency_id": self.currency_id,
            "currency": self.currency,
            "balance": self.balance,
            "type": self.type,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        }


@attrs.frozen
class TransactionRecord:
    id: int
    wallet_id: int
    currency_id: int
    amount: Decimal
    transaction_type: str
    status: str
    remarks: str
    created_at: float
    source_currency: str | None = None
    destination_currency: str | None = None
    forex_rate: Decimal | None = None
    conversion_charges: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "wallet_id": self.wallet_id,
            "currency_id": self.currency_id,
            "amount": self.amount,
            "transaction_type": self.transaction_type,
            "status": self.status,
            "source_currency": self.source_currency,
            "destination_currency": self.destination_currency,
            "forex_rate": self.forex_rate,
            "conversion_charges": self.conversion_charges,
            "remarks": self.remarks,
            "created_at": rfc3339(self.created_at),
        }


class Ledger:
    """The wallets of the sandbox account (one per currency) and every movement of money.

    A balance only changes together with the transaction that explains it, so the sum of
    a wallet's signed transactions always equals its balance.
    """

    def __init__(
        self, balances: Mapping[str, Decimal], clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self.on_entry: Callable[[TransactionRecord, WalletRecord], None] | None = None
        self._wallet_ids = itertools.count(1)
        self._transaction_ids = itertools.count(1001)
        self.wallets: dict[int, WalletRecord] = {}
        self.transactions: dict[int, TransactionRecord] = {}
        for currency, balance in balances.items():
            wallet = self.open_wallet(currency)
            if balance:
                self.credit(wallet.id, balance, "Initial funding")

    def open_wallet(self, currency: str, wallet_type: str = "PREPAID") -> WalletRecord:
        if currency not in CURRENCIES:
            raise ValueError(f"unknown currency {currency!r}")
        if self.wallet_for(currency) is not None:
            raise ValueError(f"a {currency} wallet exists already")
        now = self._clock()
        wallet = WalletRecord(
            next(self._wallet_ids), currency, Decimal("0.00"), wallet_type, now, now
        )
        self.wallets[wallet.id] = wallet
        return wallet

    def wallet_for(self, currency: str) -> WalletRecord | None:
        return next((w for w in self.wallets.values() if w.currency == currency), None)

    def credit(self, wallet_id: int, amount: Decimal, remarks: str) -> TransactionRecord:
        wallet = self.wallets[wallet_id]
        return self._post(
            wallet,
            amount,
            "CREDIT",
            f"{wallet.currency} Wallet credited by amount {amount} - {remarks}",
        )

    def debit(self, wallet_id: int, amount: Decimal, remarks: str) -> TransactionRecord:
        wallet = self.wallets[wallet_id]
        if wallet.type == "PREPAID" and wallet.balance < amount:
            raise InsufficientFunds(f"{wallet.currency} wallet balance is insufficient")
        return self._post(
            wallet,
            amount,
            "DEBIT",
            f"{wallet.currency} Wallet debited by amount {amount} - {remarks}",
        )

    def _post(
        self, wallet: WalletRecord, amount: Decimal, kind: str, remarks: str
    ) -> TransactionRecord:
        if amount <= 0:
            raise ValueError("a ledger amount must be positive")
        now = self._clock()
        record = TransactionRecord(
            id=next(self._transaction_ids),
            wallet_id=wallet.id,
            currency_id=wallet.currency_id,
            amount=amount,
            transaction_type=kind,
            status="COMPLETED",
            remarks=remarks,
            created_at=now,
        )
        wallet.balance += amount if kind == "CREDIT" else -amount
        wallet.updated_at = now
        self.transactions[record.id] = record
        if self.on_entry is not None:
            self.on_entry(record, wallet)
        return record

    def newest_first(self, wallet_id: int | None = None) -> Iterator[TransactionRecord]:
        for record in reversed(self.transactions.values()):
            if wallet_id is None or record.wallet_id == wallet_id:
                yield record
