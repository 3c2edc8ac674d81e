"""`client.auth`: explicit login and logout (tokens are otherwise handled for you)."""

from __future__ import annotations

from ..models.auth import TokenSet
from ._base import Resource

__all__ = ["Auth"]


class Auth(Resource):
    """Explicit control over the session's tokens.

    Requests log in and refresh by themselves; these calls are for checking credentials at
    start-up and for revoking access on purpose.
    """

    async def login(self) -> TokenSet:
        """Log in now (for example to check the credentials early); returns the new tokens."""
        return await self._requester.transport.tokens.login(self._requester.options)

    async def logout(self) -> None:
        """Revoke every token of the account, in every process that shares the credentials.

        Closing a client never does this (D15). The next request logs in again.
        """
        await self._requester.request("POST", "/auth/logout")
        await self._requester.transport.tokens.forget()
