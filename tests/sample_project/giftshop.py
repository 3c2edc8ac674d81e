"""A tiny shop that sells game credit: it tops up a player's account and hands back a receipt."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from octopus_async import OctopusClient, OrderFailedError, OrderWaitTimeout

PUBG_MOBILE_UC = 4218  # a topup product of the catalogue (the sandbox has it too)


@dataclass(frozen=True)
class Receipt:
    reference: str  # the shop's own, sent as the order's client_reference
    status: str  # DELIVERED, PENDING, FAILED or CANCELLED
    message: str  # what the customer is told
    order_id: int | None = None  # None while the create's answer is unknown

    @property
    def delivered(self) -> bool:
        return self.status == "DELIVERED"


async def top_up(
    client: OctopusClient,
    player_id: str,
    amount: Decimal | str,
    *,
    reference: str,
    timeout: float | None = None,
) -> Receipt:
    """Top up a PUBG Mobile player; PENDING when it has not settled within `timeout`."""
    try:
        order = await client.topups.orders.create_and_wait(
            PUBG_MOBILE_UC,
            amount,
            input_data={"player_id": player_id},
            client_reference=reference,
            timeout=timeout,
        )
    except OrderFailedError as failed:
        reason = failed.failure_reason or "The top-up did not go through; you were refunded."
        return Receipt(reference, failed.status, reason, failed.order.id)
    except OrderWaitTimeout as late:
        order_id = late.order.id if late.order is not None else None
        return Receipt(reference, "PENDING", "On its way: we will email you.", order_id)
    return Receipt(reference, "DELIVERED", f"Player {player_id} got their UC.", order.id)


async def check(client: OctopusClient, receipt: Receipt) -> Receipt:
    """A PENDING receipt's top-up as it stands now."""
    order_id = receipt.order_id
    if order_id is None:  # the create's answer never came: the reference finds the order
        found = await client.topups.orders.find(receipt.reference)
        if found is None:
            return receipt
        order_id = found.id
    order = await client.topups.orders.get(order_id)  # a single GET shows the live status
    return Receipt(receipt.reference, str(order.status), order.status_text or "", order.id)
