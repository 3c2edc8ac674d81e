"""The batch journal: one SQLite file (WAL) that says what became of every row.

A row is written before its create is sent and again after each step, so a process killed
at any point leaves a journal from which a rerun knows which orders may exist. Writes go
to a worker thread and are committed in groups: every write waiting when a commit starts
shares it, as one statement. WAL with ``synchronous=NORMAL`` keeps every commit through a
killed process. A power cut may lose the last commits: a rerun then sends those rows'
creates again under the same `client_reference`, the server refuses the duplicates, and the
batch takes the existing orders for rows whose reference it made (a row that brought its
own reference reports `DuplicateClientReferenceError`, which carries the order).

The file holds the orders as the API returned them, codes included: it is created
readable by its owner only.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, NamedTuple

import anyio
import anyio.to_thread

from ..errors import OctopusError

__all__ = ["Journal", "JournalError", "RowState", "Step"]

_SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    row INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    vertical TEXT NOT NULL,
    client_reference TEXT NOT NULL,
    step TEXT NOT NULL,
    order_json TEXT,
    error_json TEXT,
    resume_token TEXT
);
"""

# Every write is a whole row, and a group of them is one statement: a JSON array of rows.
_WRITE = (
    "INSERT OR REPLACE INTO rows SELECT "
    + ", ".join(f"json_extract(value, '$[{column}]')" for column in range(8))
    + " FROM json_each(?)"
)

Step = Literal["creating", "created", "delivered", "failed", "pending", "invalid"]
"""`creating`: recorded, its create may be in flight; `created`: the order exists and has
not settled; the others are a row's result status."""


class JournalError(OctopusError):
    """The journal cannot be used: unreadable, of another version, or made for another
    input (`mismatch` is True then)."""

    def __init__(self, message: str, *, mismatch: bool = False) -> None:
        super().__init__(message)
        self.mismatch = mismatch


class RowState(NamedTuple):
    """What the journal knows of one row."""

    row: int
    fingerprint: str
    vertical: str
    client_reference: str
    step: Step
    order_json: str | None = None
    error_json: str | None = None
    resume_token: str | None = None


class _Entry:
    """A row's state waiting for its commit, and how the commit went."""

    def __init__(self, state: RowState) -> None:
        self.state = state
        self.written = anyio.Event()
        self.error: sqlite3.Error | None = None


class Journal:
    """A batch's journal; open it with `Journal.open` and close it with `aclose`."""

    def __init__(self, connection: sqlite3.Connection, path: Path, run_id: str) -> None:
        self._connection = connection
        self._queue: list[_Entry] = []
        self._committing = False
        self._thread = anyio.CapacityLimiter(1)
        self.path = path
        self.run_id = run_id

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, input_id: str | None = None) -> Journal:
        """Open the journal at `path`, creating it if needed.

        `input_id` identifies the input (the command passes its file's SHA-256): a journal
        made for another input raises `JournalError` with `mismatch` set.
        """
        location = Path(path)
        try:
            return await anyio.to_thread.run_sync(cls._open, location, input_id)
        except sqlite3.Error as error:
            raise JournalError(f"cannot use {location} as a journal: {error}") from None
        except OSError as error:
            raise JournalError(f"cannot create {location}: {error.strerror}") from None

    @classmethod
    def _open(cls, path: Path, input_id: str | None) -> Journal:
        if not path.exists():
            # Created here, owner-only, before SQLite opens it: it will hold voucher codes.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
            meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                meta = {"version": _SCHEMA_VERSION, "run_id": f"b{secrets.token_hex(6)}"}
                if input_id is not None:
                    meta["input_id"] = input_id
                connection.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            cls._check(path, meta, input_id)
        except (sqlite3.Error, JournalError):
            connection.close()
            raise
        return cls(connection, path, meta["run_id"])

    @staticmethod
    def _check(path: Path, meta: dict[str, str], input_id: str | None) -> None:
        if meta.get("version") != _SCHEMA_VERSION or "run_id" not in meta:
            raise JournalError(f"{path} is not a batch journal of this version")
        recorded = meta.get("input_id")
        if input_id is not None and recorded is not None and recorded != input_id:
            raise JournalError(
                f"{path} is the journal of another input; use a new journal for this one",
                mismatch=True,
            )

    async def states(self, rows: Iterable[int]) -> dict[int, RowState]:
        """What the journal knows of `rows` (rows it has never seen are left out)."""
        wanted = list(rows)
        return await anyio.to_thread.run_sync(self._read, wanted, limiter=self._thread)

    def _read(self, rows: list[int]) -> dict[int, RowState]:
        marks = ",".join("?" * len(rows))
        cursor = self._connection.execute(
            f"SELECT row, fingerprint, vertical, client_reference, step, order_json, "
            f"error_json, resume_token FROM rows WHERE row IN ({marks})",
            rows,
        )
        return {state.row: state for state in map(RowState._make, cursor.fetchall())}

    async def write(self, state: RowState) -> None:
        """Record `state` as all there is to know of its row; returns once it is on disk."""
        entry = _Entry(state)
        self._queue.append(entry)
        if not self._committing:
            self._committing = True
            # Shielded: the writes already asked for land even when the batch is
            # cancelled (Ctrl-C), so the journal never lags what was sent.
            with anyio.CancelScope(shield=True):
                try:
                    while self._queue:
                        group, self._queue = self._queue, []
                        await self._commit(group)
                finally:
                    self._committing = False
        await entry.written.wait()
        if entry.error is not None:
            raise JournalError(f"cannot write to {self.path}: {entry.error}")

    async def _commit(self, group: list[_Entry]) -> None:
        rows = json.dumps([entry.state for entry in group])
        try:
            await anyio.to_thread.run_sync(self._write, rows, limiter=self._thread)
        except sqlite3.Error as error:
            for entry in group:
                entry.error = error
        for entry in group:
            entry.written.set()

    def _write(self, rows: str) -> None:
        # One statement for the whole group: one call into SQLite, so the thread takes the
        # interpreter lock back once, not once per row, while the event loop is busy.
        self._connection.execute(_WRITE, (rows,))

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self._connection.close, limiter=self._thread)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, run_id={self.run_id!r})"
