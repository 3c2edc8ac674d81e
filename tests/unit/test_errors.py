"""The exception tree (octopus_async.errors) and status mapping (`_status_error`).

Covers pickling of every exception with all its attributes (workers send them across
processes), the class hierarchy documented at the top of errors.py, and the choice of
exception class by HTTP status and error code, including bodies of another shape (D3) and
the request id in the text (D10).
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from octopus_async import errors
from octopus_async._transport.http import _status_error
from octopus_async.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DuplicateClientReferenceError,
    FeatureNotEnabledError,
    InvalidRequestError,
    NotFoundError,
    OctopusError,
    OrderFailedError,
    OrderOutcomeUnknownError,
    OrderWaitTimeout,
    PermissionDeniedError,
    PollingStoppedError,
    RateLimitError,
    ServerError,
    SharedStateError,
    ValidationError,
    WebhookVerificationError,
)

HEADERS = CIMultiDict(
    [
        ("X-Request-Id", "req-1"),
        ("Retry-After", "12"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
)
BODY = '{"error":{"name":"N","code":"C","message":"m"}}'


def _status_kwargs(status: int) -> dict[str, Any]:
    return {
        "status": status,
        "code": "SOME_CODE",
        "name": "SomeError",
        "message": "something went wrong",
        "request_id": "req-1",
        "headers": HEADERS,
        "body": BODY,
    }


def _rate_limited() -> RateLimitError:
    error = RateLimitError(**_status_kwargs(429))
    error.retry_after = 12.0
    return error


def _duplicate() -> DuplicateClientReferenceError:
    error = DuplicateClientReferenceError(**_status_kwargs(400))
    error.client_reference = "campaign-0001"
    return error


EXAMPLES: dict[type[OctopusError], Any] = {
    OctopusError: lambda: OctopusError("base"),
    InvalidRequestError: lambda: InvalidRequestError("bad quantity", param="quantity"),
    APIConnectionError: lambda: APIConnectionError(
        "connection failed (ClientOSError)", method="POST", path="/api/v1/orders", request_id="r1"
    ),
    APITimeoutError: lambda: APITimeoutError(
        "timed out waiting for the server", method="GET", path="/api/v1/wallets", request_id="r2"
    ),
    APIResponseValidationError: lambda: APIResponseValidationError(
        "expected a decimal number",
        field="[1].amount",
        status=200,
        request_id="req-1",
        headers=HEADERS,
        body='[{"amount": "x"}]',
    ),
    APIStatusError: lambda: APIStatusError(**_status_kwargs(418)),
    BadRequestError: lambda: BadRequestError(**_status_kwargs(400)),
    ValidationError: lambda: ValidationError(**_status_kwargs(400)),
    FeatureNotEnabledError: lambda: FeatureNotEnabledError(**_status_kwargs(400)),
    DuplicateClientReferenceError: _duplicate,
    AuthenticationError: lambda: AuthenticationError(**_status_kwargs(401)),
    PermissionDeniedError: lambda: PermissionDeniedError(**_status_kwargs(403)),
    NotFoundError: lambda: NotFoundError(**_status_kwargs(404)),
    RateLimitError: _rate_limited,
    OrderFailedError: lambda: OrderFailedError(
        {"id": 9123460},
        status="FAILED",
        failure_code="INVALID_PLAYER_ID",
        failure_reason="Player ID not found",
        is_user_fixable=True,
    ),
    WebhookVerificationError: lambda: WebhookVerificationError(
        "bad_signature", "X-Signature does not match the body"
    ),
    OrderWaitTimeout: lambda: OrderWaitTimeout(
        "order 1 is still PENDING", order={"id": 1}, resume_token='{"v":1}'
    ),
    PollingStoppedError: lambda: PollingStoppedError(
        "order 1 is still PENDING: polling failed", order={"id": 1}, resume_token='{"v":1}'
    ),
    OrderOutcomeUnknownError: lambda: OrderOutcomeUnknownError(
        "its answer was lost",
        client_reference="campaign-0001",
        last_error=ServerError(**_status_kwargs(503)),
    ),
    ServerError: lambda: ServerError(**_status_kwargs(503)),
    SharedStateError: lambda: SharedStateError(
        "the fleet's read quota in Redis could not be checked, so the request was not sent"
    ),
}

ATTRIBUTES = (
    "client_reference",
    "status",
    "code",
    "name",
    "message",
    "request_id",
    "body",
    "retry_after",
    "field",
    "reason",
    "param",
    "method",
    "path",
    "order",
    "failure_code",
    "failure_reason",
    "is_user_fixable",
    "resume_token",
)


def test_examples_cover_every_exported_exception() -> None:
    exported = {getattr(errors, name) for name in errors.__all__}
    assert exported == set(EXAMPLES)


@pytest.mark.parametrize("protocol", [0, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda cls: cls.__name__)
def test_pickle_round_trip(cls: type[OctopusError], protocol: int) -> None:
    original = EXAMPLES[cls]()
    restored = pickle.loads(pickle.dumps(original, protocol=protocol))

    assert type(restored) is cls
    assert str(restored) == str(original)
    assert restored.args == original.args
    for attribute in ATTRIBUTES:
        assert getattr(restored, attribute, None) == getattr(original, attribute, None), attribute
    if hasattr(original, "headers"):
        assert isinstance(restored.headers, CIMultiDict)
        assert restored.headers["x-request-id"] == "req-1"
        assert restored.headers["RETRY-AFTER"] == "12"
        assert restored.headers.getall("set-cookie") == ["a=1", "b=2"]


def test_pickle_keeps_every_documented_attribute() -> None:
    # Guard against ATTRIBUTES above silently not checking anything.
    restored = pickle.loads(pickle.dumps(_rate_limited()))
    assert (restored.status, restored.code, restored.name, restored.message) == (
        429,
        "SOME_CODE",
        "SomeError",
        "something went wrong",
    )
    assert (restored.request_id, restored.body, restored.retry_after) == ("req-1", BODY, 12.0)

    invalid = pickle.loads(pickle.dumps(EXAMPLES[InvalidRequestError]()))
    assert (invalid.message, invalid.param) == ("bad quantity", "quantity")

    timeout = pickle.loads(pickle.dumps(EXAMPLES[APITimeoutError]()))
    assert (timeout.method, timeout.path, timeout.request_id) == ("GET", "/api/v1/wallets", "r2")

    unreadable = pickle.loads(pickle.dumps(EXAMPLES[APIResponseValidationError]()))
    assert (unreadable.field, unreadable.reason, unreadable.status) == (
        "[1].amount",
        "expected a decimal number",
        200,
    )


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda cls: cls.__name__)
def test_copy_and_deepcopy(cls: type[OctopusError]) -> None:
    original = EXAMPLES[cls]()
    for duplicate in (copy.copy(original), copy.deepcopy(original)):
        assert type(duplicate) is cls
        assert str(duplicate) == str(original)


def test_rate_limit_error_retry_after_defaults_to_none() -> None:
    error = RateLimitError(**_status_kwargs(429))
    assert error.retry_after is None
    assert pickle.loads(pickle.dumps(error)).retry_after is None


def test_headers_are_copied_not_shared() -> None:
    headers = CIMultiDict({"X-Request-Id": "req-1"})
    error = APIStatusError(**{**_status_kwargs(418), "headers": headers})
    headers["X-Request-Id"] = "changed"
    assert error.headers["x-request-id"] == "req-1"


# --- hierarchy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (InvalidRequestError, OctopusError),
        (InvalidRequestError, ValueError),
        (APIConnectionError, OctopusError),
        (APITimeoutError, APIConnectionError),
        (APIResponseValidationError, OctopusError),
        (APIStatusError, OctopusError),
        (BadRequestError, APIStatusError),
        (ValidationError, BadRequestError),
        (FeatureNotEnabledError, BadRequestError),
        (DuplicateClientReferenceError, BadRequestError),
        (AuthenticationError, APIStatusError),
        (PermissionDeniedError, APIStatusError),
        (NotFoundError, APIStatusError),
        (RateLimitError, APIStatusError),
        (ServerError, APIStatusError),
        (SharedStateError, OctopusError),
        (OctopusError, Exception),
    ],
)
def test_hierarchy(cls: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(cls, parent)


@pytest.mark.parametrize(
    ("cls", "not_parent"),
    [
        (APIResponseValidationError, APIStatusError),
        (APIConnectionError, APIStatusError),
        (InvalidRequestError, APIStatusError),
        (ValidationError, ValueError),  # a server 400 is not a local bad argument
        (ValidationError, AuthenticationError),
        (FeatureNotEnabledError, PermissionDeniedError),
        (RateLimitError, ServerError),
        (ServerError, RateLimitError),
        (APIStatusError, ValueError),
        (SharedStateError, APIConnectionError),  # Redis failing is not the API failing
    ],
)
def test_hierarchy_siblings_stay_apart(cls: type[Exception], not_parent: type[Exception]) -> None:
    assert not issubclass(cls, not_parent)


# --- _status_error mapping --------------------------------------------------------------


def _body(code: str | None, name: str = "SomeError", message: str = "boom") -> bytes:
    if code is None:
        return b""
    return f'{{"error":{{"name":"{name}","code":"{code}","message":"{message}"}}}}'.encode()


def _map(status: int, content: bytes, headers: dict[str, str] | None = None) -> APIStatusError:
    return _status_error(status, CIMultiDictProxy(CIMultiDict(headers or {})), "req-1", content)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "VALIDATION_FAILURE", ValidationError),
        (400, "INVALID_FEATURE", FeatureNotEnabledError),
        (400, "BAD_REQUEST", BadRequestError),
        (400, "SOMETHING_NEW", BadRequestError),
        (400, None, BadRequestError),
        (401, "UNAUTHORIZED", AuthenticationError),
        (401, None, AuthenticationError),
        (403, "FORBIDDEN", PermissionDeniedError),
        (404, "NOT_FOUND", NotFoundError),
        (429, "TOO_MANY_REQUESTS", RateLimitError),
        (429, None, RateLimitError),
        (500, "INTERNAL_SERVER_ERROR", ServerError),
        (502, None, ServerError),
        (503, None, ServerError),
        (504, None, ServerError),
        (418, "TEAPOT", APIStatusError),
        (409, "CONFLICT", APIStatusError),
        (422, None, APIStatusError),
        # The code refines only a 400; elsewhere the status decides.
        (401, "VALIDATION_FAILURE", AuthenticationError),
        (403, "INVALID_FEATURE", PermissionDeniedError),
        (500, "VALIDATION_FAILURE", ServerError),
    ],
)
def test_status_error_class(status: int, code: str | None, cls: type[APIStatusError]) -> None:
    error = _map(status, _body(code))
    assert type(error) is cls
    assert error.status == status
    assert error.code == code
    assert error.request_id == "req-1"
    assert "req-1" in str(error)
    assert f"HTTP {status}" in str(error)


def test_status_error_fields_from_documented_body() -> None:
    content = _body("VALIDATION_FAILURE", "ValidationException", "mobile_number is required")
    error = _map(400, content, {"X-Request-Id": "req-1"})
    assert isinstance(error, ValidationError)
    assert (error.code, error.name, error.message) == (
        "VALIDATION_FAILURE",
        "ValidationException",
        "mobile_number is required",
    )
    assert error.body == content.decode()
    assert error.headers["x-request-id"] == "req-1"
    assert str(error) == "HTTP 400 VALIDATION_FAILURE: mobile_number is required (request_id=req-1)"


HTML = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


def test_status_error_html_gateway_page() -> None:
    error = _map(502, HTML.encode(), {"Content-Type": "text/html"})
    assert type(error) is ServerError
    assert (error.code, error.name, error.message) == (None, None, None)
    assert error.body == HTML
    text = str(error)
    assert "<html" not in text
    assert "Bad Gateway" not in text
    assert "req-1" in text
    assert text == "HTTP 502: no error body (request_id=req-1)"


@pytest.mark.parametrize(
    ("status", "content", "cls"),
    [
        (502, b"", ServerError),
        (503, b"Service Unavailable", ServerError),
        (504, b"\xff\xfe<html>", ServerError),
        (400, b"[1, 2]", BadRequestError),
        (404, b'{"error": "not found"}', NotFoundError),
        (429, b"<html>slow down</html>", RateLimitError),
    ],
)
def test_status_error_other_body_shapes(
    status: int, content: bytes, cls: type[APIStatusError]
) -> None:
    error = _map(status, content)
    assert type(error) is cls
    assert (error.code, error.name, error.message) == (None, None, None)
    assert error.body == content.decode("utf-8", "replace")
    assert "req-1" in str(error)


@pytest.mark.parametrize(
    ("headers", "message", "expected"),
    [
        ({"Retry-After": "12"}, "Rate limit exceeded.", 12.0),
        ({"retry-after": "2.5"}, "Rate limit exceeded.", 2.5),
        ({}, "Rate limit exceeded. Retry after 7 seconds.", 7.0),
        ({}, "Rate limit exceeded.", None),
    ],
)
def test_status_error_rate_limit_retry_after(
    headers: dict[str, str], message: str, expected: float | None
) -> None:
    error = _map(429, _body("TOO_MANY_REQUESTS", "TooManyRequestsError", message), headers)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == expected


def test_status_error_keeps_response_headers() -> None:
    error = _map(503, b"", {"Retry-After": "5", "X-Request-Id": "req-1"})
    assert isinstance(error.headers, CIMultiDict)
    assert error.headers["retry-after"] == "5"
    assert error.headers["X-REQUEST-ID"] == "req-1"


# Raised before any request is sent, or about an order rather than one request: no request id.
# Errors that are not about one HTTP exchange, so they name no request id of their own
# (an OrderOutcomeUnknownError's cause does).
BEFORE_SENDING = {
    OctopusError,
    InvalidRequestError,
    OrderFailedError,
    OrderOutcomeUnknownError,
    OrderWaitTimeout,
    PollingStoppedError,
    SharedStateError,
    WebhookVerificationError,
}


@pytest.mark.parametrize(
    "cls", [cls for cls in EXAMPLES if cls not in BEFORE_SENDING], ids=lambda cls: cls.__name__
)
def test_request_id_in_text(cls: type[OctopusError]) -> None:
    error = EXAMPLES[cls]()
    assert error.request_id
    assert f"request_id={error.request_id}" in str(error)


@pytest.mark.parametrize(
    "message",
    ["Duplicate client_reference", "duplicate CLIENT_REFERENCE: MY_ORDER_001"],
)
def test_duplicate_reference_is_recognised_by_its_message(message: str) -> None:
    error = _map(400, _body("BAD_REQUEST", "BadRequestError", message))
    assert type(error) is DuplicateClientReferenceError
    assert error.order is None


def test_other_bad_requests_stay_bad_requests() -> None:
    assert type(_map(400, _body("BAD_REQUEST", message="Invalid product ID"))) is BadRequestError


def test_an_order_error_names_its_reference() -> None:
    error = BadRequestError(**_status_kwargs(400))
    assert "client_reference" not in str(error)
    error.client_reference = "campaign-0001"
    assert str(error).endswith("[client_reference=campaign-0001]")
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
