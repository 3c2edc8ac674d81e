"""Tokens: login, proactive single-flight refresh, rotation, fallback to login (D11-D17)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime

import attrs
import jwt

from .._singleflight import SingleFlight
from ..config import AuthPolicy, RequestOptions
from ..errors import AuthenticationError
from ..models.auth import TokenSet
from .stores import LockingTokenStore, TokenStore

__all__ = ["AuthSender", "TokenManager"]

AuthSender = Callable[[str, Mapping[str, str], RequestOptions], Awaitable[TokenSet]]
"""Sends an unauthenticated auth request (path, JSON body, options) and reads its tokens."""

logger = logging.getLogger("octopus_async.auth")

_RENEW_SPREAD = 0.1


@attrs.frozen
class _Held:
    """Tokens in use, with the wall-clock times that decide what to do next."""

    tokens: TokenSet
    renew_at: float
    refresh_expires_at: float | None

    def refresh_usable(self, now: float) -> bool:
        return self.refresh_expires_at is None or now < self.refresh_expires_at


class TokenManager:
    """Keeps one valid access token for a client.

    The token is renewed when `AuthPolicy.refresh_margin` of its life is left (up to a
    tenth of the margin earlier, spreading clients out), by one refresh at a time however
    many requests are waiting (D12). A rejected refresh adopts newer tokens from the store
    if another client saved some, else falls back to one login (D13). With a
    `LockingTokenStore`, renewing (a login included) is single-flight across processes: the
    lock is taken only when the store holds no fresh tokens, and the store read again once
    it is held. A store that fails, or whose lock cannot be taken, is logged and worked
    around (renewing without the lock costs at most a refresh or login of our own). Logout
    is never implicit (D15).
    """

    def __init__(
        self,
        send: AuthSender,
        *,
        api_key: str,
        api_secret: str,
        policy: AuthPolicy,
        store: TokenStore,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = random.random,
    ) -> None:
        self._send = send
        self._credentials = {"username": api_key, "password": api_secret}
        self._policy = policy
        self._store = store
        self._locking = store if isinstance(store, LockingTokenStore) else None
        self._clock = clock  # wall-clock seconds: token expiry times are wall-clock times
        self._random = random
        self._held: _Held | None = None
        self._rejected: str | None = None
        self._flight: SingleFlight[_Held] = SingleFlight()

    def current(self) -> str | None:
        """The access token held, if it needs no renewal yet (no I/O)."""
        held = self._held
        if held is None or self._clock() >= held.renew_at:
            return None
        return held.tokens.access_token

    async def access_token(self, options: RequestOptions) -> str:
        """A token that is valid for a while yet, renewing it first if needed."""
        held = self._held
        if held is None or self._clock() >= held.renew_at:
            held = await self._flight.run(lambda: self._renew(options))
        return held.tokens.access_token

    def reject(self, access_token: str) -> bool:
        """Record that the server answered 401 to a request carrying `access_token`.

        Return True when it is the token held: the next `access_token` call renews it.
        False means it was replaced in the meantime, and the newer one may well work.
        """
        held = self._held
        if held is None or held.tokens.access_token != access_token:
            return False
        self._rejected = access_token
        self._held = attrs.evolve(held, renew_at=float("-inf"))
        return True

    async def login(self, options: RequestOptions) -> TokenSet:
        """Log in now, replacing whatever tokens are held."""
        held = await self._flight.run(lambda: self._login_and_adopt(options))
        return held.tokens

    async def forget(self) -> None:
        """Drop the tokens here and in the store (they were revoked by a logout)."""
        self._held = None
        await self._store.clear()

    async def _renew(self, options: RequestOptions) -> _Held:
        stored = await self._stored()
        if (adopted := self._adopt_fresh(stored)) is not None:
            return adopted
        if self._locking is None:
            return await self._replace(stored, options)
        async with self._renewal_lock(self._locking):
            # Whoever held the lock before us may have renewed the tokens meanwhile.
            stored = await self._stored()
            if (adopted := self._adopt_fresh(stored)) is not None:
                return adopted
            return await self._replace(stored, options)

    def _adopt_fresh(self, stored: TokenSet | None) -> _Held | None:
        """Hold `stored` if another client saved it and it needs no renewal yet."""
        current = self._held.tokens if self._held else None
        if stored is None or stored == current or stored.access_token == self._rejected:
            return None
        now = self._clock()
        candidate = self._hold(stored, now)
        if now >= candidate.renew_at:
            return None
        logger.debug("adopted tokens saved by another client")
        self._held = candidate
        return candidate

    async def _replace(self, stored: TokenSet | None, options: RequestOptions) -> _Held:
        """New tokens: refreshed from the newest refresh token if it is usable, else a login."""
        now = self._clock()
        newest = stored if stored is not None else (self._held.tokens if self._held else None)
        if newest is not None and self._hold(newest, now).refresh_usable(now):
            return await self._adopt(await self._refresh_or_login(newest.refresh_token, options))
        return await self._login_and_adopt(options)

    @asynccontextmanager
    async def _renewal_lock(self, store: LockingTokenStore) -> AsyncIterator[None]:
        """Hold the store's renewal lock, or nothing when it cannot be taken."""
        name = type(store).__name__
        lock = store.renewal_lock()
        try:
            await lock.__aenter__()
        except Exception as error:
            logger.warning(
                "could not take the renewal lock of %s: %r; renewing without it", name, error
            )
            held = False
        else:
            held = True
        try:
            yield
        finally:
            if held:
                try:
                    await lock.__aexit__(None, None, None)
                except Exception as error:
                    # The renewal is over either way; a lock left behind expires by itself.
                    logger.warning("could not release the renewal lock of %s: %r", name, error)

    async def _refresh_or_login(self, refresh_token: str, options: RequestOptions) -> TokenSet:
        try:
            tokens = await self._send("/auth/refresh", {"refresh_token": refresh_token}, options)
        except AuthenticationError:
            # Refresh tokens rotate: another client sharing the store may have used this
            # one already and saved what it got, which saves us a login.
            stored = await self._stored()
            now = self._clock()
            if (
                stored is not None
                and stored.refresh_token != refresh_token
                and stored.access_token != self._rejected
                and now < self._hold(stored, now).renew_at
            ):
                logger.info("refresh token rejected; adopted the tokens another client saved")
                return stored
            logger.info("refresh token rejected; logging in again")
            return await self._login(options)
        logger.debug("access token refreshed")
        return tokens

    async def _stored(self) -> TokenSet | None:
        """The store's tokens; a store that cannot be read counts as empty."""
        try:
            return await self._store.load()
        except Exception as error:
            logger.warning("could not load tokens from %s: %r", type(self._store).__name__, error)
            return None

    async def _login(self, options: RequestOptions) -> TokenSet:
        tokens = await self._send("/auth/login", self._credentials, options)
        logger.info("logged in (client_id=%s)", tokens.client_id)
        return tokens

    async def _login_and_adopt(self, options: RequestOptions) -> _Held:
        return await self._adopt(await self._login(options))

    async def _adopt(self, tokens: TokenSet) -> _Held:
        held = self._hold(tokens, self._clock())
        self._held = held
        self._rejected = None
        try:
            await self._store.save(tokens)
        except Exception as error:
            # The tokens are good; a store that cannot keep them costs other clients a
            # login, not this one its request.
            logger.warning("could not save tokens to %s: %r", type(self._store).__name__, error)
        return held

    def _hold(self, tokens: TokenSet, received_at: float) -> _Held:
        expires = _timestamp(tokens.access_expires_at)
        if expires is None or expires <= received_at:
            # Absent, or read from a form that lost the time of day (a date alone reads as
            # midnight): the token itself says when it expires (D11).
            expires = _jwt_expiry(tokens.access_token)
        if expires is None:
            expires = received_at + self._policy.default_lifetime
        # A token living shorter than twice the margin is renewed halfway through its life,
        # so a short lifetime never turns into a refresh before every request.
        margin = min(self._policy.refresh_margin, max(0.0, expires - received_at) / 2)
        # Up to a tenth earlier, so that clients sharing a store do not all renew at once:
        # the first one saves, the others adopt.
        margin *= 1 + _RENEW_SPREAD * self._random()
        refresh_expires = _timestamp(tokens.refresh_expires_at) or _jwt_expiry(tokens.refresh_token)
        return _Held(tokens, expires - margin, refresh_expires)


def _timestamp(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _jwt_expiry(token: str) -> float | None:
    """The `exp` claim, read without verifying the signature (the client has no key)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    expiry = claims.get("exp")
    return float(expiry) if isinstance(expiry, (int, float)) else None
