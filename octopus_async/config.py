"""Client settings: frozen attrs objects with the documented defaults.

Every policy here can be replaced per client; `timeouts` and `retry.max_retries` can also
be overridden per call through `OctopusClient.with_options`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from typing import Any, Literal, cast

import attrs
from yarl import URL

from .errors import InvalidRequestError

__all__ = [
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "AuthPolicy",
    "PollPolicy",
    "ClientConfig",
    "EndpointClass",
    "Environment",
    "Quota",
    "RateLimits",
    "RequestOptions",
    "RetryPolicy",
    "Timeouts",
]

Environment = Literal["sandbox", "production"]

SANDBOX_URL = "https://sandbox-api.octopuscards.io"
PRODUCTION_URL = "https://api.octopuscards.io"
_ENVIRONMENT_URLS: Mapping[str, str] = {"sandbox": SANDBOX_URL, "production": PRODUCTION_URL}

# Rate-limit classes of the API (API.md 4.5). Endpoints without a documented quota
# (availability, lookup, notification email, logout) belong to no class.
EndpointClass = Literal[
    "login",
    "refresh",
    "read",
    "vouchers.create",
    "topups.create",
    "esim.create",
    "vouchers.charges",
    "topups.charges",
    "esim.charges",
]


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise InvalidRequestError(f"{attribute.name} must be positive, got {value!r}")


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value >= 0:  # also rejects NaN
        raise InvalidRequestError(f"{attribute.name} must not be negative, got {value!r}")


def _count(_: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequestError(f"{attribute.name} must be a non-negative integer, got {value!r}")


@attrs.frozen
class Timeouts:
    """Seconds to wait for a connection and for a response (D22).

    `esim_create_read` applies to eSIM order creation, which the server may hold for 60 s.
    """

    connect: float = attrs.field(default=10.0, validator=_positive)
    read: float = attrs.field(default=30.0, validator=_positive)
    esim_create_read: float = attrs.field(default=75.0, validator=_positive)


@attrs.frozen
class RetryPolicy:
    """Which failures are retried and how long to wait between attempts (D18-D20).

    Backoff is exponential from `initial_backoff`, doubling, capped at `max_backoff`, with
    full jitter. A server `Retry-After` replaces the backoff; one longer than
    `max_retry_after` is not slept but raised (as `RateLimitError` for a 429).
    """

    max_retries: int = attrs.field(default=4, validator=_count)
    initial_backoff: float = attrs.field(default=0.2, validator=_positive)
    max_backoff: float = attrs.field(default=10.0, validator=_positive)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def backoff(self, retries_done: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before the next retry: full jitter (D19); `rand` is the
        random source (a `Clock`'s)."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2.0**retries_done)
        return ceiling * rand()

    def delay(
        self,
        retries_done: int,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        replayable: bool = True,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """The one retry decision: seconds to wait before retrying, or None to give up.

        `status` is the HTTP status answered, None when no answer came (a connection
        failure or a timeout). `replayable` is False for a request that must not be sent
        twice unless the failure proves it was not processed: a 429, or (with no status)
        a connection that was never made. A `Retry-After` longer than `max_retry_after`
        is not slept but given up on.
        """
        if retries_done >= self.max_retries:
            return None
        if status is not None:
            if status not in self.retry_statuses or not (replayable or status == 429):
                return None
            if retry_after is not None:
                return retry_after if retry_after <= self.max_retry_after else None
        elif not replayable:
            return None
        return self.backoff(retries_done, rand)


@attrs.frozen
class RequestOptions:
    """Per-call settings: what `OctopusClient.with_options` overrides."""

    timeouts: Timeouts
    retry: RetryPolicy


@attrs.frozen
class Quota:
    """At most `requests` per `period` seconds."""

    requests: int = attrs.field(validator=[_count, _positive])
    period: float = attrs.field(default=60.0, validator=_positive)


_PRODUCTION_QUOTAS: Mapping[EndpointClass, Quota] = {
    "login": Quota(10),
    "refresh": Quota(20),
    "read": Quota(300),
    "vouchers.create": Quota(60),
    "topups.create": Quota(60),
    "esim.create": Quota(60),
    "vouchers.charges": Quota(120),
    "topups.charges": Quota(120),
    "esim.charges": Quota(120),
}
_SANDBOX_QUOTAS: Mapping[EndpointClass, Quota] = {
    "login": Quota(30),
    "refresh": Quota(30),
    "read": Quota(600),
    "vouchers.create": Quota(120),
    "topups.create": Quota(120),
    "esim.create": Quota(120),
    "vouchers.charges": Quota(300),
    "topups.charges": Quota(300),
    "esim.charges": Quota(300),
}


def _quota_table(quotas: Mapping[EndpointClass, Quota]) -> dict[EndpointClass, Quota]:
    return dict(quotas)


@attrs.frozen
class RateLimits:
    """Client-side quotas per endpoint class (D21); no quota means no client-side limit.

    The client keeps `headroom` (a share of each quota, at least one request) unused so that
    network jitter between its clock and the server's never turns into a 429.
    """

    quotas: Mapping[EndpointClass, Quota] = attrs.field(factory=dict, converter=_quota_table)
    headroom: float = 0.1

    @classmethod
    def production(cls) -> RateLimits:
        """The documented production quotas for new accounts."""
        return cls(_PRODUCTION_QUOTAS)

    @classmethod
    def sandbox(cls) -> RateLimits:
        """The documented (more permissive) sandbox quotas."""
        return cls(_SANDBOX_QUOTAS)

    @classmethod
    def disabled(cls) -> RateLimits:
        """No client-side limiting."""
        return cls({})

    def scaled(self, time_scale: float) -> RateLimits:
        """The same quotas over periods multiplied by `time_scale` (for time-scaled runs)."""
        if not time_scale > 0:
            raise InvalidRequestError(f"time_scale must be positive, got {time_scale!r}")
        return attrs.evolve(
            self,
            quotas={
                name: Quota(quota.requests, quota.period * time_scale)
                for name, quota in self.quotas.items()
            },
        )

    def with_quota(self, endpoint: EndpointClass, quota: Quota | None) -> RateLimits:
        """A copy with one class's quota replaced (None removes the limit)."""
        quotas = dict(self.quotas)
        if quota is None:
            quotas.pop(endpoint, None)
        else:
            quotas[endpoint] = quota
        return attrs.evolve(self, quotas=quotas)


@attrs.frozen
class PollPolicy:
    """The poll cadence and budget shared by every waiter of a client (D29-D31).

    An order is checked every `fast_interval` seconds during its first `fast_period`, then
    every `slow_interval`, each interval jittered by ±`jitter` so that orders created
    together do not poll in lockstep. While at least `sweep_threshold` orders of a vertical
    are waited for, list sweeps (newest first, largest pages) replace their single GETs.
    Verticals whose single GET refreshes state the list does not show get one such GET per
    order every `refresh_interval` from what budget is left. Polling uses at most
    `budget_share` of the client's read quota, leaving the rest to the application, and
    sweeps at most `sweep_share` of that.
    `default_timeout` bounds every wait that names none (11 minutes, the docs' own loop).

    An eSIM's install is checked every `install_fast_interval` (30-60 s) for its first
    `install_fast_period`, then every `install_slow_interval` (5-10 min), by single GETs
    only, for at most `install_timeout` (an hour) unless the wait says otherwise.
    """

    fast_interval: float = attrs.field(default=5.0, validator=_positive)
    fast_period: float = attrs.field(default=60.0, validator=_positive)
    slow_interval: float = attrs.field(default=30.0, validator=_positive)
    jitter: float = attrs.field(
        default=0.2, validator=attrs.validators.and_(_non_negative, attrs.validators.le(0.9))
    )
    refresh_interval: float = attrs.field(default=60.0, validator=_positive)
    sweep_threshold: int = attrs.field(default=4, validator=[_count, _positive])
    budget_share: float = attrs.field(default=0.8, validator=[_positive, attrs.validators.le(1.0)])
    sweep_share: float = attrs.field(default=0.5, validator=[_positive, attrs.validators.lt(1.0)])
    max_in_flight: int = attrs.field(default=32, validator=[_count, _positive])
    default_timeout: float = attrs.field(default=660.0, validator=_positive)
    install_fast_interval: float = attrs.field(default=45.0, validator=_positive)
    install_fast_period: float = attrs.field(default=600.0, validator=_positive)
    install_slow_interval: float = attrs.field(default=450.0, validator=_positive)
    install_timeout: float = attrs.field(default=3600.0, validator=_positive)

    def interval(
        self, age: float, *, install: bool = False, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds until the next check, jittered by `rand` (a `Clock`'s random source).
        `age` counts from the order's creation, or for `install` waits from when the wait
        began."""
        if install:
            fast = age < self.install_fast_period
            base = self.install_fast_interval if fast else self.install_slow_interval
            spread = 1 / 3  # 30-60 s and 5-10 min are 45 s and 7.5 min, give or take a third
        else:
            base = self.fast_interval if age < self.fast_period else self.slow_interval
            spread = self.jitter
        return base * (1 - spread + 2 * spread * rand())

    def scaled(self, time_scale: float) -> PollPolicy:
        """The same policy with every duration multiplied by `time_scale`."""
        return attrs.evolve(
            self,
            fast_interval=self.fast_interval * time_scale,
            fast_period=self.fast_period * time_scale,
            slow_interval=self.slow_interval * time_scale,
            refresh_interval=self.refresh_interval * time_scale,
            default_timeout=self.default_timeout * time_scale,
            install_fast_interval=self.install_fast_interval * time_scale,
            install_fast_period=self.install_fast_period * time_scale,
            install_slow_interval=self.install_slow_interval * time_scale,
            install_timeout=self.install_timeout * time_scale,
        )


@attrs.frozen
class AuthPolicy:
    """Token handling (D11-D13).

    The access token is refreshed `refresh_margin` seconds before it expires, or halfway
    through its life when it lives shorter than twice the margin. `default_lifetime`
    applies when the server states no expiry at all.
    """

    refresh_margin: float = attrs.field(default=300.0, validator=_non_negative)
    default_lifetime: float = attrs.field(default=3600.0, validator=_positive)


def _redacted(_: object) -> str:
    return "'***'"


@attrs.frozen
class ClientConfig:
    """Everything an `OctopusClient` is built from; see `ClientConfig.resolve`."""

    api_key: str = attrs.field(repr=_redacted)
    api_secret: str = attrs.field(repr=_redacted)
    base_url: URL
    environment: Environment | None
    timeouts: Timeouts = Timeouts()
    retry: RetryPolicy = RetryPolicy()
    rate_limits: RateLimits = attrs.field(factory=RateLimits.disabled)
    auth: AuthPolicy = AuthPolicy()
    poll: PollPolicy = PollPolicy()
    reference_data_ttl: float = attrs.field(default=86400.0, validator=_non_negative)
    max_connections: int = attrs.field(default=100, validator=[_count, _positive])

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        environment: str | None = None,
        base_url: str | URL | None = None,
        rate_limits: RateLimits | Literal["auto"] = "auto",
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        auth: AuthPolicy = AuthPolicy(),
        poll: PollPolicy = PollPolicy(),
        reference_data_ttl: float = 86400.0,
        max_connections: int = 100,
        env: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Settings from arguments, falling back to the OCTOPUS_* environment variables (D1).

        `base_url` wins over `environment`; `environment` defaults to "sandbox".
        `rate_limits="auto"` picks the quotas of the host: production quotas for the
        production host, sandbox quotas for the sandbox host, none for any other URL.
        """
        environ = os.environ if env is None else env
        api_key = api_key if api_key is not None else environ.get("OCTOPUS_API_KEY")
        api_secret = api_secret if api_secret is not None else environ.get("OCTOPUS_API_SECRET")
        if not api_key:
            raise InvalidRequestError(
                "api_key is required: pass api_key= or set OCTOPUS_API_KEY", param="api_key"
            )
        if not api_secret:
            raise InvalidRequestError(
                "api_secret is required: pass api_secret= or set OCTOPUS_API_SECRET",
                param="api_secret",
            )
        if base_url is None and environment is None:
            # Arguments win over variables: OCTOPUS_BASE_URL only counts without either.
            base_url = environ.get("OCTOPUS_BASE_URL") or None
        environment = environment or environ.get("OCTOPUS_ENVIRONMENT") or None
        if environment is not None and environment not in _ENVIRONMENT_URLS:
            raise InvalidRequestError(
                f"environment must be 'sandbox' or 'production', got {environment!r}",
                param="environment",
            )
        if base_url is None:
            environment = environment or "sandbox"
            url = URL(_ENVIRONMENT_URLS[environment])
        else:
            url = URL(str(base_url))
            if not url.is_absolute() or url.scheme not in ("http", "https"):
                raise InvalidRequestError(
                    f"base_url must be an absolute http(s) URL, got {str(base_url)!r}",
                    param="base_url",
                )
        if rate_limits == "auto":
            rate_limits = _quotas_for_host(url)
        return cls(
            api_key=api_key,
            api_secret=api_secret,
            base_url=url,
            environment=cast("Environment | None", environment),
            timeouts=timeouts,
            retry=retry,
            rate_limits=rate_limits,
            auth=auth,
            poll=poll,
            reference_data_ttl=reference_data_ttl,
            max_connections=max_connections,
        )


def _quotas_for_host(url: URL) -> RateLimits:
    def origin(of: URL) -> tuple[str, str | None, int | None]:
        # Not URL.origin(): it keeps an explicit default port (":443") distinct.
        return (of.scheme, of.host, of.port)

    if origin(url) == origin(URL(PRODUCTION_URL)):
        return RateLimits.production()
    if origin(url) == origin(URL(SANDBOX_URL)):
        return RateLimits.sandbox()
    return RateLimits.disabled()
