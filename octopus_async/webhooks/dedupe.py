"""Event stores: remember event ids for a while, so a redelivered event is processed once (D37)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

__all__ = ["EventStore", "MemoryEventStore", "SQLiteEventStore"]


class EventStore(Protocol):
    """Where a receiver remembers the event ids it accepted."""

    async def add(self, event_id: str) -> bool:
        """Remember `event_id`; False when it was already remembered (a duplicate)."""


class MemoryEventStore:
    """Event ids in this process's memory, each for `ttl` seconds, at most `capacity` of them."""

    def __init__(
        self,
        ttl: float = 86_400.0,
        capacity: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    async def add(self, event_id: str) -> bool:
        now = self._clock()
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)  # oldest first: expired
        if event_id in self._expiry:
            return False
        if len(self._expiry) >= self._capacity:
            self._expiry.popitem(last=False)
        self._expiry[event_id] = now + self._ttl
        return True


class SQLiteEventStore:
    """Event ids in a SQLite file, so duplicates are caught across restarts (and processes).

    Writes run in a thread, one at a time; expired ids are purged as new ones arrive.
    """

    def __init__(
        self, path: str | Path, ttl: float = 7 * 86_400.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS webhook_events (id TEXT PRIMARY KEY, expires REAL NOT NULL)"
        )
        self._added = 0

    async def add(self, event_id: str) -> bool:
        return await asyncio.to_thread(self._add, event_id)

    def _add(self, event_id: str) -> bool:
        now = self._clock()
        with self._lock:
            database = self._connection
            database.execute("BEGIN IMMEDIATE")
            try:
                row = database.execute(
                    "SELECT expires FROM webhook_events WHERE id = ?", (event_id,)
                ).fetchone()
                fresh = row is None or row[0] <= now
                if fresh:
                    database.execute(
                        "INSERT OR REPLACE INTO webhook_events (id, expires) VALUES (?, ?)",
                        (event_id, now + self._ttl),
                    )
                self._added += 1
                if self._added % 1000 == 0:
                    database.execute("DELETE FROM webhook_events WHERE expires <= ?", (now,))
                database.execute("COMMIT")
            except BaseException:
                database.execute("ROLLBACK")
                raise
        return fresh

    def close(self) -> None:
        with self._lock:
            self._connection.close()
