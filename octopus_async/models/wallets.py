"""Wallets and their ledger of transactions (API.md 7)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from ._base import OpenEnum, aliased_field, raw_field

__all__ = ["Transaction", "TransactionStatus", "TransactionType", "Wallet", "WalletType"]


class WalletType(OpenEnum):
    """PREPAID: the balance must cover each order. POSTPAID: settled periodically."""

    PREPAID: ClassVar[WalletType]
    POSTPAID: ClassVar[WalletType]


@attrs.frozen
class Wallet:
    """One balance in one currency; every order debits a wallet.

    The docs do not specify this object (OQ-30). The SDK reads `id` (or `wallet_id`),
    `currency` (or `currency_code`, ISO 4217), `balance` (or `available_balance`), `type`
    (or `wallet_type`), `currency_id`, `created_at` and `updated_at`; all but the id may be
    None, and everything else stays in `raw`.
    """

    id: int = aliased_field("wallet_id", required=True)
    currency: str | None = aliased_field("currency_code")
    balance: Decimal | None = aliased_field("available_balance")
    type: WalletType | None = aliased_field("wallet_type")
    currency_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Mapping[str, Any] = raw_field()


class TransactionType(OpenEnum):
    """CREDIT moves money in (funding, refunds); DEBIT moves it out (orders, adjustments)."""

    CREDIT: ClassVar[TransactionType]
    DEBIT: ClassVar[TransactionType]


class TransactionStatus(OpenEnum):
    COMPLETED: ClassVar[TransactionStatus]
    PENDING: ClassVar[TransactionStatus]
    FAILED: ClassVar[TransactionStatus]


_ORDER_IN_REMARKS = re.compile(r"Order #(\d+)", re.ASCII)


@attrs.frozen
class Transaction:
    """One ledger entry. `amount` is unsigned, in the wallet's currency (`currency_id`);
    `transaction_type` gives the direction, `signed_amount` applies it.
    """

    id: int
    wallet_id: int | None = None
    currency_id: int | None = None
    amount: Decimal | None = None
    transaction_type: TransactionType | None = None
    status: TransactionStatus | None = None
    remarks: str | None = None
    created_at: datetime | None = None
    source_currency: str | None = None
    destination_currency: str | None = None
    forex_rate: Decimal | None = None
    conversion_charges: Decimal | None = None
    raw: Mapping[str, Any] = raw_field()

    @property
    def signed_amount(self) -> Decimal | None:
        """`amount`, negative for a DEBIT; None when the amount or direction is unknown."""
        if self.amount is None:
            return None
        if self.transaction_type == TransactionType.DEBIT:
            return -self.amount
        return self.amount if self.transaction_type == TransactionType.CREDIT else None

    @property
    def order_id(self) -> int | None:
        """The order named in `remarks` ("... - Order #12345"), the only link to an order."""
        match = _ORDER_IN_REMARKS.search(self.remarks or "")
        return int(match.group(1)) if match else None
