"""`/auth/login`, `/auth/refresh`, `/auth/logout` (API.md 3)."""

from __future__ import annotations

import hmac

from aiohttp import web

from .._http import ApiError, Route, json_response, read_json
from ..state import CLIENT_ID, state_of
from ..tokens import InvalidToken

__all__ = ["ROUTES"]


async def login(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await read_json(request)
    username, password = body.get("username"), body.get("password")
    if (
        not isinstance(username, str)
        or not isinstance(password, str)
        or not username
        or not password
    ):
        raise ApiError.validation("Username and password are required")
    key_ok = hmac.compare_digest(username.encode(), state.config.api_key.encode())
    secret_ok = hmac.compare_digest(password.encode(), state.config.api_secret.encode())
    if not (key_ok and secret_ok):
        raise ApiError(401, "Invalid credentials")
    tokens = state.tokens.issue(state.config.client_id)
    return json_response({"success": True, "data": tokens.as_json()})


async def refresh(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await read_json(request)
    token = body.get("refresh_token")
    if not isinstance(token, str) or not token:
        raise ApiError.validation("Refresh token is required")
    try:
        tokens = state.tokens.rotate(token)
    except InvalidToken:
        raise ApiError(401, "Invalid refresh token") from None
    return json_response({"success": True, "data": tokens.as_json()})


async def logout(request: web.Request) -> web.Response:
    state = state_of(request)
    state.tokens.revoke_all(request[CLIENT_ID])
    return json_response({"success": True, "data": {"message": "Successfully logged out"}})


ROUTES = [
    Route("POST", "/auth/login", login, "login", authenticated=False),
    Route("POST", "/auth/refresh", refresh, "refresh", authenticated=False),
    Route("POST", "/auth/logout", logout, None),
]
