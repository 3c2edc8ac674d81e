"""The transport: one aiohttp session, sending with auth, rate limits, retries and error mapping."""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp
import attrs
from multidict import CIMultiDictProxy
from yarl import URL

from .._version import __version__
from ..clock import Clock
from ..config import ClientConfig, EndpointClass, RequestOptions
from ..errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DuplicateClientReferenceError,
    FeatureNotEnabledError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from ..models._convert import FieldWarnings, ShapeError, read
from ..models.auth import TokenSet
from .auth import TokenManager
from .events import (
    Hook,
    RequestEvent,
    RequestFailed,
    RequestFinished,
    RequestStarted,
    ResponseReceived,
    RetryScheduled,
)
from .ids import new_request_id
from .ratelimit import Limiter, endpoint_class
from .stores import TokenStore
from .wire import (
    decode_json,
    encode_json,
    encode_query,
    parse_error_body,
    parse_retry_after,
    unwrap_envelope,
)

__all__ = ["APIResponse", "RequestOptions", "Transport"]

T = TypeVar("T")

logger = logging.getLogger("octopus_async.http")

_USER_AGENT = (
    f"octopus-async/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)


@attrs.frozen
class APIResponse:
    """A successful HTTP response with its body decoded (envelope removed).

    `sensitive` marks a response that carries secrets (tokens, voucher codes, activation
    codes): its body is withheld from errors. Values that cannot be read are reported to
    `field_warnings` (one WARNING per model and field per client, D40).
    """

    method: str
    path: str
    status: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    request_id: str | None
    body: bytes = attrs.field(repr=False)
    data: Any = attrs.field(repr=False)
    elapsed: float
    attempts: int
    sensitive: bool = False
    field_warnings: FieldWarnings = attrs.field(factory=FieldWarnings, repr=False, eq=False)

    def parse(self, cls: type[T]) -> T:
        """The body as `cls`, read tolerantly (D40); only a body whose identifying fields
        cannot be read raises `APIResponseValidationError`."""
        return self.parse_part(self.data, cls, "")

    def parse_part(self, value: Any, cls: type[T], at: str) -> T:
        """`value`, a part of the body found at `at` (e.g. "[3]"), as `cls`."""
        try:
            parsed, problems = read(value, cls)
        except ShapeError as exc:
            field = f"{at}.{exc.field}" if at and exc.field else at or exc.field
            raise self.invalid(exc.reason, field) from None
        if problems:
            self.field_warnings.report(problems)
        return parsed

    def invalid(self, reason: str, field: str = "") -> APIResponseValidationError:
        """The error for a body that does not have the documented shape."""
        body = _WITHHELD if self.sensitive else self.body.decode("utf-8", "replace")
        return APIResponseValidationError(
            reason,
            field=field,
            status=self.status,
            request_id=self.request_id,
            headers=self.headers,
            body=body,
        )


_WITHHELD = "(withheld: the response carries secrets)"

_CONNECTION_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


class Transport:
    """Sends API requests for one client over one lazily created aiohttp session.

    A request gets an X-Request-Id, a slot from the rate limiter, a pooled connection, and
    only then a bearer token (renewed, or replayed once after a 401), so time spent
    waiting for the pool never expires the token a request carries. Connection failures,
    timeouts, 429 and 5xx are retried per `RetryPolicy.delay`. It returns an `APIResponse`
    or raises an exception from `octopus_async.errors`.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        token_store: TokenStore,
        limiter: Limiter,
        hooks: Sequence[Hook] = (),
        clock: Clock | None = None,
    ) -> None:
        self._config = config
        self._base = str(config.base_url).rstrip("/")
        self.clock = clock if clock is not None else Clock()
        self._limiter = limiter
        self._hooks = tuple(hooks)
        self.field_warnings = FieldWarnings()
        self.tokens = TokenManager(
            self._send_auth,
            api_key=config.api_key,
            api_secret=config.api_secret,
            policy=config.auth,
            store=token_store,
            random=self.clock.random,
        )
        self._session: aiohttp.ClientSession | None = None
        # Authenticated requests take a slot here before their token; login and refresh do
        # not (the requests waiting for a token hold the slots), and the session has one
        # connection more than there are slots for them.
        self._slots = asyncio.Semaphore(config.max_connections)
        self._timeouts: dict[tuple[float, float], aiohttp.ClientTimeout] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server_date: str | None = None
        self._server_offset = timedelta(0)
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def server_time(self) -> datetime:
        """Now by the server's clock: the local clock corrected by the offset that the
        latest response's `Date` header showed (to the second)."""
        try:
            return datetime.now(timezone.utc) + self._server_offset
        except OverflowError:  # a Date at the end of the calendar (9999), seconds ago
            return datetime.max.replace(tzinfo=timezone.utc)

    async def aclose(self) -> None:
        """Close the session; the transport cannot be used afterwards."""
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this OctopusClient is closed")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError(
                "this OctopusClient is bound to the event loop it was first used in and "
                "cannot be used from another one; create one client per event loop"
            )
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._config.max_connections + 1),
                headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        options: RequestOptions,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        authenticated: bool = True,
        read_timeout: float | None = None,
        sensitive: bool = False,
        idempotent: bool = True,
    ) -> APIResponse:
        """Send one API call, retrying per `options.retry`, and return its 2xx response.

        `sensitive=True` marks a call whose answer carries secrets. `idempotent=False`
        retries only failures that prove the request was not processed (a refused
        connection, a 429); any other failure is raised at once for the caller to settle,
        since the server may have acted on the request.
        """
        call = _Call(
            method,
            path,
            new_request_id(),
            URL(self._base + path),
            encode_query(params) if params else None,
            encode_json(json) if json is not None else None,
            self._timeout(
                options.timeouts.connect,
                read_timeout if read_timeout is not None else options.timeouts.read,
            ),
            endpoint_class(method, path),
        )
        began = time.perf_counter()
        try:
            response = await self._attempts(
                call, options, json, authenticated, sensitive, idempotent
            )
        except BaseException as error:
            self._finished(call, began, type(error).__name__)
            raise
        self._finished(call, began, None)
        return response

    async def _attempts(
        self,
        call: _Call,
        options: RequestOptions,
        json: Any,
        authenticated: bool,
        sensitive: bool,
        idempotent: bool,
    ) -> APIResponse:
        """Send `call` until it succeeds or a failure is not retried (see `request`)."""
        method, path = call.method, call.path
        retries = superseded = 0
        renewed = False
        while True:
            call.attempt += 1
            try:
                raw, content, token = await self._send(call, options, authenticated)
            except _CONNECTION_ERRORS as exc:
                failure = _connection_error(exc, method, path, call.request_id)
                delay = options.retry.delay(
                    retries, replayable=idempotent or _never_sent(exc), rand=self.clock.random
                )
                if delay is None:
                    raise failure from exc
                reason = type(failure).__name__
            else:
                status = raw.status
                request_id = raw.headers.get("X-Request-Id", call.request_id)
                if 200 <= status < 300:
                    return self._response(call, raw, request_id, content, sensitive)
                if status == 401 and token is not None:
                    if self.tokens.reject(token):
                        if not renewed:  # the token held was refused: renew it, once
                            renewed = True
                            continue
                    elif superseded < _MAX_SUPERSEDED:
                        # A newer token replaced it while this request waited: trying
                        # that one spends no renewal.
                        superseded += 1
                        continue
                error = _status_error(
                    status,
                    raw.headers,
                    request_id,
                    content,
                    withheld=sensitive,
                    secrets=(self._config.api_secret, token, *_secrets_in(json)),
                )
                retry_after = parse_retry_after(raw.headers.get("Retry-After"), error.message)
                if status == 429 and retry_after is not None:
                    # Pause the class for every caller, whether or not this one retries, for
                    # no longer than the client's own limit (a per-call view does not decide).
                    pause = min(retry_after, self._config.retry.max_retry_after)
                    await self._limiter.defer(call.endpoint, pause)
                delay = options.retry.delay(
                    retries,
                    status=status,
                    retry_after=retry_after,
                    replayable=idempotent,
                    rand=self.clock.random,
                )
                if delay is None:
                    raise error
                reason = f"HTTP {status}"
            retries += 1
            self._announce_retry(call, delay, reason)
            await self.clock.sleep(delay)

    async def _send(
        self, call: _Call, options: RequestOptions, authenticated: bool
    ) -> tuple[aiohttp.ClientResponse, bytes, str | None]:
        """One attempt: the response, its body, and the token it carried."""
        session = self._get_session()
        await self._limiter.acquire(call.endpoint)
        headers = {"X-Request-Id": call.request_id}
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        token = None
        if authenticated:  # the slot first: waiting for one never ages the token
            await self._slots.acquire()
        try:
            if authenticated:
                token = self.tokens.current() or await self.tokens.access_token(options)
                headers["Authorization"] = f"Bearer {token}"
            if self._hooks:  # events cost a little: made only for someone to receive them
                self._emit(
                    RequestStarted(
                        call.method, call.path, call.request_id, call.attempt, url=str(call.url)
                    )
                )
            started = time.perf_counter()
            try:
                async with session.request(
                    call.method,
                    call.url,
                    params=call.query,
                    data=call.body,
                    headers=headers,
                    timeout=call.timeout,
                    allow_redirects=False,
                ) as raw:
                    content = await raw.read()
            except _CONNECTION_ERRORS as exc:
                call.elapsed = time.perf_counter() - started
                if self._hooks:
                    self._emit(
                        RequestFailed(
                            call.method,
                            call.path,
                            call.request_id,
                            call.attempt,
                            type(exc).__name__,
                            call.elapsed,
                            url=str(call.url),
                        )
                    )
                raise
        finally:
            if authenticated:
                self._slots.release()
        call.elapsed = time.perf_counter() - started
        call.status = raw.status
        self._received(call, raw.status, raw.headers)
        return raw, content, token

    def _response(
        self,
        call: _Call,
        raw: aiohttp.ClientResponse,
        request_id: str,
        content: bytes,
        sensitive: bool,
    ) -> APIResponse:
        data, problem = _decode(content)
        response = APIResponse(
            call.method,
            call.path,
            raw.status,
            raw.headers,
            request_id,
            content,
            data,
            call.elapsed,
            call.attempt,
            sensitive,
            self.field_warnings,
        )
        if problem is not None:
            raise response.invalid(problem)
        return response

    def _received(self, call: _Call, status: int, headers: CIMultiDictProxy[str]) -> None:
        """Report a response to the hooks and the debug log, and note the server's clock."""
        if self._hooks:
            self._emit(
                ResponseReceived(
                    call.method,
                    call.path,
                    call.request_id,
                    call.attempt,
                    status,
                    call.elapsed,
                    url=str(call.url),
                )
            )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (request_id=%s, attempt=%d)",
                call.method,
                call.path,
                status,
                call.elapsed * 1000,
                headers.get("X-Request-Id", call.request_id),
                call.attempt,
            )
        date = headers.get("Date")
        if date is not None and date != self._server_date:
            self._note_server_date(date)

    async def _send_auth(
        self, path: str, body: Mapping[str, str], options: RequestOptions
    ) -> TokenSet:
        response = await self.request(
            "POST", path, json=body, options=options, authenticated=False, sensitive=True
        )
        return response.parse(TokenSet)

    def _note_server_date(self, date: str) -> None:
        self._server_date = date
        try:
            server_now = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError, OverflowError):  # e.g. year 99999999999
            return  # not an HTTP date: the offset stays as it was
        if server_now.tzinfo is not None:
            self._server_offset = server_now - datetime.now(timezone.utc)

    def _timeout(self, connect: float, read_timeout: float) -> aiohttp.ClientTimeout:
        # Connect and read only: time spent waiting for a free connection in the pool is
        # not a network timeout, and a busy client must not turn it into one.
        timeout = self._timeouts.get((connect, read_timeout))
        if timeout is None:
            timeout = aiohttp.ClientTimeout(sock_connect=connect, sock_read=read_timeout)
            self._timeouts[(connect, read_timeout)] = timeout
        return timeout

    def _announce_retry(self, call: _Call, delay: float, reason: str) -> None:
        logger.info(
            "%s %s failed (%s); retrying in %.2f s (request_id=%s, attempt=%d)",
            call.method,
            call.path,
            reason,
            delay,
            call.request_id,
            call.attempt,
        )
        if self._hooks:
            self._emit(
                RetryScheduled(
                    call.method,
                    call.path,
                    call.request_id,
                    call.attempt,
                    delay,
                    reason,
                    url=str(call.url),
                )
            )

    def _finished(self, call: _Call, began: float, error: str | None) -> None:
        if self._hooks:
            self._emit(
                RequestFinished(
                    call.method,
                    call.path,
                    call.request_id,
                    call.attempt,
                    call.status,
                    error,
                    time.perf_counter() - began,
                    url=str(call.url),
                )
            )

    def _emit(self, event: RequestEvent) -> None:
        for hook in self._hooks:
            try:
                hook(event)
            except Exception:
                logger.exception("a request hook raised; the request goes on")


_MAX_SUPERSEDED = 3  # replays with a token newer than the one a 401 refused


class _Call:
    """One API call across its attempts (a plain slotted class: one is made per call)."""

    __slots__ = (
        "attempt",
        "body",
        "elapsed",
        "endpoint",
        "method",
        "path",
        "query",
        "request_id",
        "status",
        "timeout",
        "url",
    )

    def __init__(
        self,
        method: str,
        path: str,
        request_id: str,
        url: URL,
        query: Any,
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
        endpoint: EndpointClass | None,
    ) -> None:
        self.method = method
        self.path = path
        self.request_id = request_id
        self.url = url
        self.query = query
        self.body = body
        self.timeout = timeout
        self.endpoint = endpoint
        self.attempt = 0
        self.elapsed = 0.0
        self.status: int | None = None


def _never_sent(exc: BaseException) -> bool:
    """Whether the failure happened before the request could reach the server."""
    return isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))


def _connection_error(
    exc: BaseException, method: str, path: str, request_id: str
) -> APIConnectionError:
    sent = not _never_sent(exc)
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError(
            "timed out waiting for the server",
            method=method,
            path=path,
            request_id=request_id,
            sent=sent,
        )
    return APIConnectionError(
        f"connection failed ({type(exc).__name__})",
        method=method,
        path=path,
        request_id=request_id,
        sent=sent,
    )


def _decode(content: bytes) -> tuple[Any, str | None]:
    """The payload of a 2xx body, and what is wrong with it (None when nothing)."""
    if not content.strip():
        return None, None
    try:
        document = decode_json(content)
    except ValueError:
        return None, "the body is not JSON"
    data, success = unwrap_envelope(document)
    if success is False:
        return data, "the envelope says success=false"
    return data, None


_STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}
_DUPLICATE_REFERENCE = "duplicate client_reference"
_CODE_ERRORS: Mapping[str, type[APIStatusError]] = {
    "VALIDATION_FAILURE": ValidationError,
    "INVALID_FEATURE": FeatureNotEnabledError,
}


def _secrets_in(body: Any) -> tuple[str, ...]:
    """The secrets a request body carries (a login's password, a refresh token)."""
    if not isinstance(body, Mapping):
        return ()
    return tuple(
        value for key in ("password", "refresh_token") if isinstance(value := body.get(key), str)
    )


def _scrub(text: str | None, secrets: Sequence[str | None]) -> str | None:
    """`text` with every secret the request carried masked (an error page may echo them)."""
    if text is None:
        return None
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, "***")
    return text


def _status_error(
    status: int,
    headers: CIMultiDictProxy[str],
    request_id: str,
    content: bytes,
    *,
    withheld: bool = False,
    secrets: Sequence[str | None] = (),
) -> APIStatusError:
    """The exception for a non-2xx response, chosen by status, then refined by code (D3).

    The body of an answer from an endpoint that carries secrets is `withheld`; every text
    kept is scrubbed of the `secrets` the request carried.
    """
    body = parse_error_body(content)
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIStatusError
    if cls is BadRequestError and body.code is not None:
        cls = _CODE_ERRORS.get(body.code, cls)
    if cls is BadRequestError and _DUPLICATE_REFERENCE in (body.message or "").lower():
        # The duplicate has no code of its own (BAD_REQUEST); only the message tells (D24).
        cls = DuplicateClientReferenceError
    error = cls(
        status=status,
        code=_scrub(body.code, secrets),
        name=_scrub(body.name, secrets),
        message=_scrub(body.message, secrets),
        request_id=request_id,
        headers=headers,
        body=_WITHHELD if withheld else _scrub(content.decode("utf-8", "replace"), secrets) or "",
    )
    if isinstance(error, RateLimitError):
        error.retry_after = parse_retry_after(headers.get("Retry-After"), body.message)
    return error
