"""Order books: ids, client_reference uniqueness and listing, shared by every vertical."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

from ._http import ApiError

__all__ = ["OrderBook", "check_reference"]


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
