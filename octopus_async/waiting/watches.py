"""Watches: one record per order being waited for, however many waits share it.

Waits for the same order merge into one watch, whether they name it by id or by
`client_reference`: a watch known by reference only gets its id from the first answer
that shows the order, and merges with a watch by id for the same order if there is one.
A watch also keeps the newest state of its order: answers are ordered by when their
request started, and an older answer never replaces a newer one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ..resources._orders import OrderSource
from .policy import VerticalPolicy
from .waiter import OrderWaiter

__all__ = ["Vertical", "Watch", "WatchRegistry"]


class Vertical:
    """A vertical (or an eSIM install goal) as polling sees it: its policy, where its
    orders come from, and its watches."""

    __slots__ = ("name", "parked", "policy", "source", "sweeping", "watches")

    def __init__(self, policy: VerticalPolicy, source: OrderSource[Any]) -> None:
        self.name = policy.name
        self.policy = policy
        self.source = source
        self.watches: set[Watch] = set()
        self.sweeping = False
        # Watches that fell due while a sweep ran, not already part of it: checked when
        # it ends, once each, instead of being pushed back over and over meanwhile.
        self.parked: set[Watch] = set()


class Watch:
    """One order being waited for, by one or more waiters."""

    __slots__ = (
        "born",
        "busy",
        "client_reference",
        "dropped",
        "hold_until",
        "next_check",
        "next_refresh",
        "nudged",
        "order",
        "order_id",
        "seen",
        "vertical",
        "waiters",
    )

    def __init__(
        self, vertical: Vertical, order_id: int | None, reference: str | None, born: float
    ) -> None:
        self.vertical = vertical
        self.order_id = order_id
        self.client_reference = reference
        self.born = born  # when the order was created, on the scheduler's clock
        self.order: Any = None
        self.seen = -1  # the request sequence of the answer `order` came from
        self.next_check = math.inf
        self.next_refresh = math.inf
        self.busy = False  # a GET for it is in flight
        self.hold_until = 0.0  # no request before this (a server's Retry-After)
        self.nudged = False  # a webhook asked for the next fetch
        self.dropped = False
        self.waiters: list[OrderWaiter[Any]] = []

    def take(self, order: Any, sequence: int) -> bool:
        """Keep `order`, from the answer to request number `sequence`, if it is the
        newest state known; tell whether it was kept.

        An answer to a request that started before the one `order` came from is stale,
        and a final state is never replaced by one that is not.
        """
        if sequence < self.seen:
            return False
        policy = self.vertical.policy
        if self.order is not None and policy.final(self.order) and not policy.final(order):
            return False
        self.order = order
        self.seen = sequence
        return True

    def __repr__(self) -> str:
        return f"<Watch {self.vertical.name} {self.order_id or self.client_reference}>"


class WatchRegistry:
    """Every watch of one scheduler, found by order id or by reference."""

    def __init__(self) -> None:
        self._by_id: dict[tuple[str, int], Watch] = {}
        self._by_reference: dict[tuple[str, str], Watch] = {}
        self._of: dict[OrderWaiter[Any], Watch] = {}
        self._count = 0

    def __len__(self) -> int:
        """How many orders are being waited for."""
        return self._count

    def find(
        self, vertical: str, *, order_id: int | None = None, client_reference: str | None = None
    ) -> Watch | None:
        watch = None
        if order_id is not None:
            watch = self._by_id.get((vertical, order_id))
        if watch is None and client_reference is not None:
            watch = self._by_reference.get((vertical, client_reference))
        return watch

    def attach(
        self, waiter: OrderWaiter[Any], vertical: Vertical, born: float
    ) -> tuple[Watch, bool]:
        """Put `waiter` on the watch for its order (`born` dates a new one); return the
        watch and whether it is new."""
        watch = self.find(
            vertical.name, order_id=waiter.order_id, client_reference=waiter.client_reference
        )
        created = watch is None
        if watch is None:
            watch = Watch(vertical, waiter.order_id, waiter.client_reference, born)
            vertical.watches.add(watch)
            self._count += 1
        watch.waiters.append(waiter)
        self._of[waiter] = watch
        self._index(watch)
        return watch, created

    def detach(self, waiter: OrderWaiter[Any]) -> Watch | None:
        """Take `waiter` off its watch; return the watch if nobody waits on it any more
        (it is dropped)."""
        watch = self._of.pop(waiter, None)
        if watch is None:
            return None
        if waiter in watch.waiters:
            watch.waiters.remove(waiter)
        if watch.waiters:
            return None
        self.drop(watch)
        return watch

    def identify(self, watch: Watch, order_id: int) -> Watch:
        """Give a watch known by reference its order id. If a watch by id for the same
        order exists, the two become one: that one, which is returned."""
        other = self._by_id.get((watch.vertical.name, order_id))
        if other is None or other.dropped or other is watch:
            watch.order_id = order_id
            self._index(watch)
            return watch
        for waiter in watch.waiters:
            self._of[waiter] = other
            other.waiters.append(waiter)
        watch.waiters = []
        self.drop(watch)
        if other.client_reference is None:
            other.client_reference = watch.client_reference
            self._index(other)
        return other

    def drop(self, watch: Watch) -> None:
        if watch.dropped:
            return
        watch.dropped = True
        watch.vertical.watches.discard(watch)
        watch.vertical.parked.discard(watch)
        self._count -= 1
        name = watch.vertical.name
        if watch.order_id is not None and self._by_id.get((name, watch.order_id)) is watch:
            del self._by_id[(name, watch.order_id)]
        reference = watch.client_reference
        if reference is not None and self._by_reference.get((name, reference)) is watch:
            del self._by_reference[(name, reference)]

    def waiters(self) -> Iterator[OrderWaiter[Any]]:
        """Every waiter on a watch."""
        return iter(list(self._of))

    def _index(self, watch: Watch) -> None:
        name = watch.vertical.name
        if watch.order_id is not None:
            self._by_id.setdefault((name, watch.order_id), watch)
        if watch.client_reference is not None:
            self._by_reference.setdefault((name, watch.client_reference), watch)
