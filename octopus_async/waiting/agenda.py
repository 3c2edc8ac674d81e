"""The agenda: when each watch is next due, and the GETs ready to be sent.

It only decides; it makes no request and reads no clock: every question comes with the
time it is asked at. Two heaps hold the due times (status checks, and the refreshing GETs
of verticals whose list shows state late); three queues hold the watches whose GET is
ready (those a webhook named, those a check or a sweep sent to a GET, and refreshing
GETs). A watch is at most once in each queue, and the heaps are rebuilt whenever stale
entries outnumber live ones, so the agenda's size follows the number of live watches,
not the number of times they were rescheduled.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable

from .watches import Watch

__all__ = ["Agenda"]

_SLACK = 64  # stale heap entries tolerated before any rebuild


class _Schedule:
    """A heap of (due time, watch), where a watch's newest entry is the one that counts."""

    def __init__(self, slot: str) -> None:
        self._slot = slot  # the Watch attribute holding the watch's current due time
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._live = 0

    def __len__(self) -> int:
        return len(self._heap)

    def set(self, watch: Watch, due: float) -> None:
        if math.isinf(getattr(watch, self._slot)):
            self._live += 1
        setattr(watch, self._slot, due)
        heapq.heappush(self._heap, (due, next(self._order), watch))
        if len(self._heap) > 2 * self._live + _SLACK:
            self._rebuild()

    def clear(self, watch: Watch) -> None:
        if not math.isinf(getattr(watch, self._slot)):
            self._live -= 1
            setattr(watch, self._slot, math.inf)

    def pop_due(self, until: float) -> list[Watch]:
        """The watches due at or before `until`, taken off the schedule."""
        due = []
        heap = self._heap
        while heap and heap[0][0] <= until:
            at, _, watch = heapq.heappop(heap)
            if at == getattr(watch, self._slot) and not watch.dropped:
                self.clear(watch)
                due.append(watch)
        return due

    def first(self) -> float:
        heap = self._heap
        while heap and (heap[0][2].dropped or heap[0][0] != getattr(heap[0][2], self._slot)):
            heapq.heappop(heap)
        return heap[0][0] if heap else math.inf

    def reset(self) -> None:
        for _, _, watch in self._heap:
            setattr(watch, self._slot, math.inf)
        self._heap.clear()
        self._live = 0

    def _rebuild(self) -> None:
        current = [
            (at, order, watch)
            for at, order, watch in self._heap
            if not watch.dropped and at == getattr(watch, self._slot)
        ]
        heapq.heapify(current)
        self._heap = current
        self._live = len(current)


class _Queue:
    """Watches in arrival order, each at most once."""

    def __init__(self) -> None:
        self._items: dict[Watch, None] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, watch: Watch) -> None:
        self._items.setdefault(watch, None)

    def discard(self, watch: Watch) -> None:
        self._items.pop(watch, None)

    def peek(self) -> Watch:
        return next(iter(self._items))

    def clear(self) -> None:
        self._items.clear()


class Agenda:
    """Due checks and refreshes, and the queues of GETs ready to send."""

    def __init__(self) -> None:
        self._checks = _Schedule("next_check")
        self._refreshes = _Schedule("next_refresh")
        self._nudged = _Queue()  # a webhook said the order changed
        self._urgent = _Queue()  # a check or a sweep needs a GET
        self._lazy = _Queue()  # a refreshing GET
        self._lazy_turn = False

    @property
    def size(self) -> int:
        """How many entries the agenda holds, stale ones included."""
        return (
            len(self._checks)
            + len(self._refreshes)
            + len(self._nudged)
            + len(self._urgent)
            + len(self._lazy)
        )

    def check_at(self, watch: Watch, due: float) -> None:
        """Check `watch` at `due` (replacing any earlier plan)."""
        self._checks.set(watch, due)

    def check_by(self, watch: Watch, due: float) -> None:
        """Check `watch` at `due` unless a check is planned sooner."""
        if due < watch.next_check:
            self._checks.set(watch, due)

    def refresh_at(self, watch: Watch, due: float) -> None:
        self._refreshes.set(watch, due)

    def due_checks(self, until: float) -> list[Watch]:
        """The watches whose check is due at or before `until`."""
        return self._checks.pop_due(until)

    def due_refreshes(self, now: float) -> list[Watch]:
        return self._refreshes.pop_due(now)

    def get_soon(self, watches: Iterable[Watch], *, nudged: bool = False) -> None:
        """Queue a GET for each of `watches`; `nudged` ones go first."""
        queue = self._nudged if nudged else self._urgent
        for watch in watches:
            queue.add(watch)

    def refresh_soon(self, watch: Watch) -> None:
        self._lazy.add(watch)

    @property
    def has_gets(self) -> bool:
        return bool(self._nudged or self._urgent or self._lazy)

    def next_get(self) -> Watch | None:
        """The watch whose GET goes next, left queued (`taken` removes it): nudged first,
        then urgent, with refreshing GETs on every other turn."""
        self._lazy_turn = not self._lazy_turn
        if self._nudged:
            return self._nudged.peek()
        if self._urgent and (not self._lazy or not self._lazy_turn):
            return self._urgent.peek()
        if self._lazy:
            return self._lazy.peek()
        return None

    def taken(self, watch: Watch) -> None:
        """`watch` left the queues (its GET was sent, or it needs none now)."""
        self._nudged.discard(watch)
        self._urgent.discard(watch)
        self._lazy.discard(watch)

    def forget(self, watch: Watch) -> None:
        """Drop every plan for `watch`."""
        self.taken(watch)
        self._checks.clear(watch)
        self._refreshes.clear(watch)

    def next_due(self) -> float:
        """When the soonest check or refresh is due (infinity when none is)."""
        return min(self._checks.first(), self._refreshes.first())

    def clear(self) -> None:
        for queue in (self._nudged, self._urgent, self._lazy):
            queue.clear()
        self._checks.reset()
        self._refreshes.reset()
