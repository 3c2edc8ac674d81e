"""octopus_async: an async-first SDK for the Octopus Cards API."""

from ._transport.events import (
    Hook,
    RequestEvent,
    RequestFailed,
    RequestFinished,
    RequestStarted,
    ResponseReceived,
    RetryScheduled,
)
from ._transport.ratelimit import Limiter
from ._transport.stores import FileTokenStore, LockingTokenStore, MemoryTokenStore, TokenStore
from ._version import __version__
from .client import OctopusClient
from .clock import Clock
from .config import AuthPolicy, PollPolicy, Quota, RateLimits, RetryPolicy, Timeouts
from .errors import (
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
from .pagination import AsyncPaginator, Page
from .resources import RawResponse
from .resources._orders import PendingOrder
from .waiting.events import WaitEnded, WaitEvent, WaitHook, WaitStarted
from .waiting.waiter import OrderWaiter

__all__ = [
    "Clock",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPaginator",
    "AuthPolicy",
    "AuthenticationError",
    "BadRequestError",
    "DuplicateClientReferenceError",
    "FeatureNotEnabledError",
    "FileTokenStore",
    "Hook",
    "InvalidRequestError",
    "Limiter",
    "LockingTokenStore",
    "MemoryTokenStore",
    "NotFoundError",
    "OctopusClient",
    "OctopusError",
    "OrderFailedError",
    "OrderOutcomeUnknownError",
    "OrderWaitTimeout",
    "PollingStoppedError",
    "OrderWaiter",
    "Page",
    "PendingOrder",
    "PermissionDeniedError",
    "PollPolicy",
    "Quota",
    "RateLimitError",
    "RateLimits",
    "RawResponse",
    "RequestEvent",
    "RequestFailed",
    "RequestFinished",
    "RequestStarted",
    "ResponseReceived",
    "RetryPolicy",
    "RetryScheduled",
    "ServerError",
    "SharedStateError",
    "Timeouts",
    "TokenStore",
    "ValidationError",
    "WaitEnded",
    "WaitEvent",
    "WaitHook",
    "WaitStarted",
    "WebhookVerificationError",
    "__version__",
]
