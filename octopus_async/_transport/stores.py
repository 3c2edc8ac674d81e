"""Token stores: where clients keep their tokens, and how several clients share one login."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..models.auth import TokenSet

__all__ = ["FileTokenStore", "LockingTokenStore", "MemoryTokenStore", "TokenStore"]

logger = logging.getLogger("octopus_async.auth")


class TokenStore(Protocol):
    """Where a client keeps its tokens.

    Give several clients (in one process or many) the same store and they share one login:
    a client adopts a fresher token another has saved instead of logging in itself.
    Implementations must be safe to call concurrently; a store is never given a secret
    other than the tokens themselves.
    """

    async def load(self) -> TokenSet | None:
        """The most recently saved tokens, or None."""

    async def save(self, tokens: TokenSet) -> None:
        """Keep `tokens`, replacing what was there."""

    async def clear(self) -> None:
        """Forget the tokens (after a logout)."""


@runtime_checkable
class LockingTokenStore(TokenStore, Protocol):
    """A token store that also offers a lock held by one process of the fleet at a time.

    A client renews its tokens holding `renewal_lock()`, after reading the store once more:
    of the processes whose token runs out together, one refreshes (or logs in) and saves,
    and the others, let in after it, adopt what it saved. Without it, processes renewing at
    once each send a refresh, and all but the first are refused: a refresh token is used
    once (D13).
    """

    def renewal_lock(self) -> AbstractAsyncContextManager[object]:
        """The lock, released on exit; a holder that dies must not keep it forever."""


class MemoryTokenStore:
    """A token store in this process's memory: the default, one per client."""

    def __init__(self) -> None:
        self._tokens: TokenSet | None = None

    async def load(self) -> TokenSet | None:
        return self._tokens

    async def save(self, tokens: TokenSet) -> None:
        self._tokens = tokens

    async def clear(self) -> None:
        self._tokens = None


class FileTokenStore:
    """Tokens in a JSON file, shared by every process on the machine that uses the same path.

    Workers started together log in once: each adopts the tokens another has saved, and a
    refresh by one is picked up by the others. The file is written atomically and readable
    by its owner only, since it holds bearer tokens.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    async def load(self) -> TokenSet | None:
        return await asyncio.to_thread(self._read)

    async def save(self, tokens: TokenSet) -> None:
        await asyncio.to_thread(self._write, tokens)

    async def clear(self) -> None:
        await asyncio.to_thread(self.path.unlink, missing_ok=True)

    def _read(self) -> TokenSet | None:
        try:
            document = json.loads(self.path.read_text())
            return TokenSet.from_dict(document)
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring unreadable token file %s", self.path)
            return None

    def _write(self, tokens: TokenSet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens-")
        try:
            with os.fdopen(descriptor, "w") as file:
                json.dump(tokens.to_dict(), file)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
