"""Real HS256 JWTs for the sandbox: issue, verify, rotate, revoke (API.md 3)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import jwt

from ._http import rfc3339

__all__ = ["InvalidToken", "IssuedTokens", "TokenAuthority"]


class InvalidToken(Exception):
    """The token is malformed, badly signed, expired, revoked or of the wrong type."""


@attrs.frozen
class IssuedTokens:
    access_token: str = attrs.field(repr=False)
    refresh_token: str = attrs.field(repr=False)
    access_expires_at: float
    refresh_expires_at: float
    client_id: int

    def as_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            # Milliseconds: a time-scaled token may live for less than a second.
            "access_expires_at": rfc3339(self.access_expires_at, "milliseconds"),
            "refresh_expires_at": rfc3339(self.refresh_expires_at, "milliseconds"),
            "client_id": self.client_id,
        }


class TokenAuthority:
    """Issues and checks the tokens of one sandbox.

    Refresh tokens are single-use: refreshing revokes the presented one (rotation).
    `revoke_all` (logout) invalidates every token issued so far for the client.
    Lifetimes are real seconds; `exp` keeps fractions so time-scaled runs stay exact.
    """

    def __init__(
        self,
        secret: bytes,
        *,
        access_ttl: float,
        refresh_ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._clock = clock
        self._generation: dict[int, int] = {}
        self._live_refresh: dict[str, int] = {}  # unused refresh token id -> client id

    def issue(self, client_id: int) -> IssuedTokens:
        now = self._clock()
        generation = self._generation.setdefault(client_id, 0)
        access_exp = now + self.access_ttl
        refresh_exp = now + self.refresh_ttl
        refresh_id = uuid.uuid4().hex
        self._live_refresh[refresh_id] = client_id
        return IssuedTokens(
            access_token=self._sign(
                client_id, "access", uuid.uuid4().hex, now, access_exp, generation
            ),
            refresh_token=self._sign(
                client_id, "refresh", refresh_id, now, refresh_exp, generation
            ),
            access_expires_at=access_exp,
            refresh_expires_at=refresh_exp,
            client_id=client_id,
        )

    def verify_access(self, token: str) -> int:
        """The client id of a valid access token."""
        return int(self._verify(token, "access")["sub"])

    def rotate(self, refresh_token: str) -> IssuedTokens:
        """New tokens for a valid refresh token, which is revoked in the same step."""
        claims = self._verify(refresh_token, "refresh")
        if self._live_refresh.pop(claims["jti"], None) is None:
            raise InvalidToken("refresh token already used or revoked")
        return self.issue(int(claims["sub"]))

    def revoke_all(self, client_id: int) -> None:
        """Invalidate every access and refresh token issued to `client_id` so far."""
        self._generation[client_id] = self._generation.get(client_id, 0) + 1
        self._live_refresh = {
            token_id: owner for token_id, owner in self._live_refresh.items() if owner != client_id
        }

    def _sign(
        self, client_id: int, kind: str, token_id: str, now: float, exp: float, generation: int
    ) -> str:
        claims = {
            "sub": str(client_id),
            "typ": kind,
            "jti": token_id,
            "iat": now,
            "exp": exp,
            "gen": generation,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def _verify(self, token: str, kind: str) -> dict[str, Any]:
        try:
            # exp is checked below: PyJWT truncates it to whole seconds.
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"verify_exp": False, "require": ["sub", "typ", "jti", "exp", "gen"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        if claims["typ"] != kind:
            raise InvalidToken(f"not an {kind} token")
        if not self._clock() < float(claims["exp"]):
            raise InvalidToken("token expired")
        if claims["gen"] != self._generation.get(int(claims["sub"]), 0):
            raise InvalidToken("token revoked")
        return claims
