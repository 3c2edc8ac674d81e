"""The exception tree.

Every exception is picklable (workers send them across processes) and its text never
contains a secret: no API secret, token, voucher code, PIN or activation code.

```
OctopusError
├── InvalidRequestError (also a ValueError)   bad input caught before sending; nothing sent
├── APIConnectionError ── APITimeoutError     no response (request may or may not have landed)
├── APIResponseValidationError                a 2xx answer the SDK could not read
├── APIStatusError  (status, code, name, message, request_id, headers, body)
│   ├── BadRequestError (400) ── ValidationError (VALIDATION_FAILURE)
│   │                        ├── DuplicateClientReferenceError (carries the existing order)
│   │                        └── FeatureNotEnabledError (INVALID_FEATURE)
│   ├── AuthenticationError (401)   ├── PermissionDeniedError (403)   ├── NotFoundError (404)
│   ├── RateLimitError (429, retry_after)   └── ServerError (5xx)
├── OrderOutcomeUnknownError (client_reference)   a create that may have landed
├── OrderFailedError (order, failure_code, failure_reason, is_user_fixable)
├── OrderWaitTimeout (order, resume_token) ── PollingStoppedError
├── SharedStateError                          a fleet's shared state (Redis) failed; nothing sent
└── WebhookVerificationError (reason)
```

What an error from an order's `create` means: `OrderOutcomeUnknownError` says the order
may exist (find it by its `client_reference`, or resume the wait); every other error says
this call created nothing (`DuplicateClientReferenceError`: the reference was used before).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multidict import CIMultiDict

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "DuplicateClientReferenceError",
    "FeatureNotEnabledError",
    "InvalidRequestError",
    "NotFoundError",
    "OctopusError",
    "OrderFailedError",
    "OrderOutcomeUnknownError",
    "OrderWaitTimeout",
    "PermissionDeniedError",
    "PollingStoppedError",
    "RateLimitError",
    "ServerError",
    "SharedStateError",
    "ValidationError",
    "WebhookVerificationError",
]


def _restore(
    cls: type[OctopusError],
    args: tuple[Any, ...],
    state: dict[str, Any],
    cause: BaseException | None = None,
) -> Any:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    exc.__cause__ = cause
    return exc


class OctopusError(Exception):
    """Base class of every error raised by octopus_async.

    `client_reference` is set on every error raised by an order creation: the reference
    the order has (or would have), so it can be looked up with `orders.find` later.
    """

    client_reference: str | None = None

    def __str__(self) -> str:
        text = super().__str__()
        if self.client_reference is None:
            return text
        return f"{text} [client_reference={self.client_reference}]"

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which default exception pickling
        # cannot replay; rebuilding from the instance dict works for all of them. The
        # cause goes along when it is one of ours (those are known to pickle).
        cause = self.__cause__ if isinstance(self.__cause__, OctopusError) else None
        return (_restore, (type(self), self.args, dict(self.__dict__), cause))


class InvalidRequestError(OctopusError, ValueError):
    """An argument was rejected before anything was sent to the server.

    `param` names the offending argument when there is one.
    """

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class APIConnectionError(OctopusError):
    """No HTTP response arrived: the connection failed, was reset, or timed out.

    `sent` is False when the connection failed before the request was written, so the
    server cannot have acted on it; otherwise the request may or may not have landed.
    """

    def __init__(
        self, message: str, *, method: str, path: str, request_id: str, sent: bool = True
    ) -> None:
        super().__init__(f"{message} ({method} {path}, request_id={request_id})")
        self.message = message
        self.method = method
        self.path = path
        self.request_id = request_id
        self.sent = sent


class APITimeoutError(APIConnectionError):
    """The connect or read timeout expired before a response arrived."""


class _ResponseError(OctopusError):
    """Fields shared by errors raised from an HTTP response."""

    status: int
    request_id: str | None
    headers: CIMultiDict[str]
    body: str

    def _set_response(
        self, status: int, request_id: str | None, headers: Mapping[str, str], body: str
    ) -> None:
        self.status = status
        self.request_id = request_id
        self.headers = CIMultiDict(headers)
        self.body = body


class APIResponseValidationError(_ResponseError):
    """A successful response whose body does not have the documented shape.

    `field` is the dotted path of the offending value (``""`` for the body itself);
    the raw body is kept on `body`.
    """

    def __init__(
        self,
        reason: str,
        *,
        field: str,
        status: int,
        request_id: str | None,
        headers: Mapping[str, str],
        body: str,
    ) -> None:
        where = f"field {field!r}" if field else "body"
        super().__init__(f"unreadable response {where}: {reason} (request_id={request_id})")
        self.reason = reason
        self.field = field
        self._set_response(status, request_id, headers, body)


class APIStatusError(_ResponseError):
    """The server answered with a non-2xx status.

    `code`, `name` and `message` come from the documented error body; they are None
    when the body had another shape (a gateway's HTML page, an empty 502), which is
    kept verbatim on `body`.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str | None,
        name: str | None,
        message: str | None,
        request_id: str | None,
        headers: Mapping[str, str],
        body: str,
    ) -> None:
        summary = message if message is not None else "no error body"
        if len(summary) > _MAX_SUMMARY:
            summary = summary[:_MAX_SUMMARY] + "..."
        label = f"HTTP {status} {code}" if code else f"HTTP {status}"
        super().__init__(f"{label}: {summary} (request_id={request_id})")
        self.code = code
        self.name = name
        self.message = message
        self._set_response(status, request_id, headers, body)


_MAX_SUMMARY = 300  # of the server's message in the exception text; `message` keeps it all


class BadRequestError(APIStatusError):
    """400: the request broke a business rule (code BAD_REQUEST and others)."""


class ValidationError(BadRequestError):
    """400 VALIDATION_FAILURE: a required field was missing or had the wrong type."""


class DuplicateClientReferenceError(BadRequestError):
    """400 "Duplicate client_reference": an order with this reference existed before this call.

    `order` is that existing order (None when it could not be fetched). A duplicate caused
    by this call's own retry is not an error: the create returns the order it made, marked
    `recovered` (or raises `OrderOutcomeUnknownError` if no lookup shows it).
    """

    order: Any = None


class FeatureNotEnabledError(BadRequestError):
    """400 INVALID_FEATURE: the account does not have the feature (e.g. vouchers)."""


class AuthenticationError(APIStatusError):
    """401: bad credentials, or a token that is missing, expired or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: valid token but blocked (IP allowlist, feature flag)."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist or is not visible to this account."""


class RateLimitError(APIStatusError):
    """429 after the retries were spent, or with a wait longer than the retry policy allows.

    `retry_after` is the wait in seconds the server asked for, when it said.
    """

    retry_after: float | None = None


class ServerError(APIStatusError):
    """5xx after the retries were spent."""


class OrderOutcomeUnknownError(OctopusError):
    """The create may have made the order, and the lookups could not tell.

    The answer was lost or unreadable after the request may have reached the server, and
    looking the order up by its `client_reference` failed or did not show it yet. Do not
    create it again with another reference: find it later with
    ``orders.find(client_reference)``, or wait for it with ``orders.submit`` /
    ``client.resume``. The last error met is the cause (`__cause__`); `last_error` is the
    same when it is an `OctopusError` (which pickles along), else None.
    """

    def __init__(
        self, message: str, *, client_reference: str, last_error: BaseException | None
    ) -> None:
        super().__init__(
            f"order {client_reference} may have been created: {message}; look it up with "
            "orders.find(client_reference) or wait for it by reference, do not order again "
            "with a new reference"
        )
        self.client_reference = client_reference
        self.last_error = last_error if isinstance(last_error, OctopusError) else None
        self.__cause__ = last_error

    def __str__(self) -> str:
        return Exception.__str__(self)  # the reference is in the message already


class OrderFailedError(OctopusError):
    """The order reached FAILED or CANCELLED. The wallet refund is the server's (D28).

    `is_user_fixable` True means the customer's input was wrong (a player id, a phone
    number) and a corrected order may succeed; `failure_reason` is safe to show them.
    """

    def __init__(
        self,
        order: Any,
        *,
        status: str,
        failure_code: str | None = None,
        failure_reason: str | None = None,
        is_user_fixable: bool | None = None,
    ) -> None:
        detail = f": {failure_reason}" if failure_reason else ""
        super().__init__(f"order {getattr(order, 'id', '?')} {status}{detail}")
        self.order = order
        self.status = status
        self.failure_code = failure_code
        self.failure_reason = failure_reason
        self.is_user_fixable = is_user_fixable
        self.client_reference = getattr(order, "client_reference", None)


class OrderWaitTimeout(OctopusError):
    """The wait ended before the order settled: its deadline passed (D29), or the client
    was closed.

    The order is not failed: it is paid and still being fulfilled. `order` is the last
    state seen; None if the create's answer never came, and then the order may not exist:
    `client_reference` finds it. `resume_token` continues the wait, here or in another
    process, with `OctopusClient.resume`.
    """

    def __init__(self, message: str, *, order: Any, resume_token: str) -> None:
        super().__init__(message)
        self.order = order
        self.resume_token = resume_token


class PollingStoppedError(OrderWaitTimeout):
    """The wait ended because the client's polling failed twice in a short time (a defect).

    Like any `OrderWaitTimeout`, the order is untouched and goes on being fulfilled:
    `resume_token` continues the wait, here or in another process.
    """


class SharedStateError(OctopusError):
    """State that a fleet shares (the quotas of a `RedisRateLimiter`) could not be read
    or written. The call stops there: a request sent unchecked could exceed the quota."""


class WebhookVerificationError(OctopusError):
    """A webhook delivery that must not be trusted or cannot be read.

    `reason` is one of "missing_header", "bad_signature", "stale_timestamp" (401 to the
    sender) and "malformed" (400). The text names what failed, never the secret.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message

    @property
    def http_status(self) -> int:
        """What a receiver answers: 400 for an unreadable body, 401 for the rest."""
        return 400 if self.reason == "malformed" else 401
