"""The sandbox application (aiohttp.web) and `Sandbox`, which runs it on loopback."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from types import TracebackType
from typing import TypedDict

from aiohttp import web
from aiohttp.typedefs import Handler

from ._http import ApiError, Route, response_document, with_body
from ._json import encode_json
from .api import auth, data, esim, topups, vouchers, wallets
from .config import SandboxConfig
from .faults import Fault, FaultPlan
from .ledger import Ledger
from .limits import format_seconds
from .state import CLIENT_ID, DROPPED, STATE, RequestRecord, SandboxState, state_of
from .tokens import InvalidToken, TokenAuthority
from .webhooks import WebhookDispatcher

__all__ = ["ClientSettings", "Sandbox", "build_app"]

logger = logging.getLogger("octopus_async.sandbox")

_ROUTES = web.AppKey("octopus_sandbox_routes", dict)


def build_app(state: SandboxState) -> web.Application:
    """The sandbox as an aiohttp application, serving `state`."""
    app = web.Application(middlewares=[_observe, _inject_faults, _present_shapes, _guard])
    app[STATE] = state
    table: dict[web.AbstractRoute, Route] = {}
    routes = [auth, data, wallets, vouchers, topups, esim]
    for route in (route for module in routes for route in module.ROUTES):
        table[app.router.add_route(route.method, route.path, route.handler)] = route
    app[_ROUTES] = table
    return app


def _route_of(request: web.Request) -> Route | None:
    route: Route | None = request.app[_ROUTES].get(request.match_info.route)
    return route


@web.middleware
async def _observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Echo or mint the request id, turn every failure into a documented error body, log."""
    state = state_of(request)
    request_id = request.headers.get("X-Request-Id") or _new_request_id()
    received_at = asyncio.get_running_loop().time()
    try:
        response = await handler(request)
    except ApiError as error:
        response = error.response()
    except web.HTTPException as http_error:
        response = ApiError(http_error.status, http_error.reason).response()
    except Exception:
        logger.exception("sandbox handler failed")
        response = ApiError(500, "Internal server error").response()
    response.headers["X-Request-Id"] = request_id
    route = _route_of(request)
    state.log_request(
        RequestRecord(
            method=request.method,
            path=request.path,
            query=request.query_string,
            endpoint=route.endpoint if route else None,
            request_id=request_id,
            status=None if request.get(DROPPED) else response.status,
            received_at=received_at,
        )
    )
    return response


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KSUID_EPOCH = 1_400_000_000


def _new_request_id() -> str:
    """A KSUID-like id: seconds since 2014-05-13 and 128 random bits, 27 base62 digits.

    The time comes first, so ids sort by the second they were minted in.
    """
    number = (int(time.time()) - _KSUID_EPOCH) << 128 | int.from_bytes(os.urandom(16), "big")
    digits = []
    for _ in range(27):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


@web.middleware
async def _inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    plan = state_of(request).faults
    latency = plan.added_latency()
    if latency:
        await asyncio.sleep(latency)
    before = plan.pick(request.method, request.path, "before")
    if before is not None and before.kind in ("error", "drop"):
        return _apply(request, before)
    if before is not None and before.kind == "delay":
        await asyncio.sleep(before.seconds)
    response = await handler(request)
    after = plan.pick(request.method, request.path, "after")
    if after is not None and after.kind in ("error", "drop"):
        return _apply(request, after)
    if after is not None and after.kind == "delay":
        await asyncio.sleep(after.seconds)
    # A reshape rewrites the answer of a request that took effect, whatever its phase.
    for fault in (before, after):
        if fault is not None and fault.kind == "reshape":
            response = _reshaped(response, fault)
    return response


def _apply(request: web.Request, fault: Fault) -> web.Response:
    if fault.kind == "drop":
        request[DROPPED] = True
        if request.transport is not None:
            request.transport.abort()
        # Never sent: the connection is gone.
        return web.Response(status=499)
    return web.Response(
        status=fault.status,
        body=fault.body,
        content_type=fault.content_type,
        headers=dict(fault.headers),
    )


def _reshaped(response: web.StreamResponse, fault: Fault) -> web.Response:
    """`response` as `fault.rewrite` makes it (Fault.reshape)."""
    assert fault.rewrite is not None
    rewritten = fault.rewrite(response_document(response))
    if isinstance(rewritten, str):
        rewritten = rewritten.encode()
    elif not isinstance(rewritten, bytes):
        rewritten = encode_json(rewritten)
    return with_body(response, rewritten)


@web.middleware
async def _present_shapes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Write successful `/api/v1` answers in the shape variants in force (shapes.py)."""
    response = await handler(request)
    shapes = state_of(request).shapes
    if not shapes.variants:  # the usual case, kept to one check: benchmarks run here
        return response
    route = _route_of(request)
    if route is None or not route.path.startswith("/api/v1/") or not 200 <= response.status < 300:
        return response
    document = response_document(response)
    if document is None:
        return response
    return with_body(response, encode_json(shapes.present(document, route.path, request.path)))


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """IP allowlist, bearer token and rate limit, in the order the real service applies them."""
    route = _route_of(request)
    if route is None:
        return await handler(request)
    state = state_of(request)
    if not state.ip_allowed(request.remote):
        raise ApiError(403, "IP address not authorized")
    if route.authenticated:
        header = request.headers.get("Authorization", "")
        if not header:
            raise ApiError(401, "Authorization header required")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Invalid token")
        try:
            request[CLIENT_ID] = state.tokens.verify_access(token.strip())
        except InvalidToken:
            raise ApiError(401, "Invalid token") from None
    if state.limits is not None:
        wait = state.limits.check(route.endpoint)
        if wait is not None:
            seconds = format_seconds(wait)
            raise ApiError(
                429,
                f"Rate limit exceeded. Retry after {seconds} seconds.",
                headers={"Retry-After": seconds},
            )
    return await handler(request)


class ClientSettings(TypedDict):
    api_key: str
    api_secret: str
    base_url: str


class Sandbox:
    """A local Octopus Cards API over real HTTP on loopback. ::

        async with Sandbox(SandboxConfig(time_scale=0.01)) as sandbox:
            async with OctopusClient(**sandbox.client_settings()) as client:
                ...

    `state` (and the shortcuts `ledger`, `tokens`, `faults`, `requests`) can be read and
    changed while it runs: tests inject faults, revoke tokens and count requests there.
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self.state = SandboxState(self.config)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``; available once started."""
        if self._url is None:
            raise RuntimeError("the sandbox is not running")
        return self._url

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def api_secret(self) -> str:
        return self.config.api_secret

    @property
    def ledger(self) -> Ledger:
        return self.state.ledger

    @property
    def tokens(self) -> TokenAuthority:
        return self.state.tokens

    @property
    def faults(self) -> FaultPlan:
        return self.state.faults

    @property
    def requests(self) -> list[RequestRecord]:
        return self.state.requests

    @property
    def webhooks(self) -> WebhookDispatcher:
        return self.state.webhooks

    def client_settings(self) -> ClientSettings:
        """`api_key`, `api_secret` and `base_url` for an `OctopusClient` of this sandbox."""
        return ClientSettings(api_key=self.api_key, api_secret=self.api_secret, base_url=self.url)

    async def start(self) -> None:
        runner = web.AppRunner(build_app(self.state), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def aclose(self) -> None:
        self.state.stop()
        await self.state.webhooks.aclose()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
