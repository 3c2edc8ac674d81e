"""Settings of the local sandbox server."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from decimal import Decimal

import attrs

from ..config import RateLimits
from .shapes import shape_variant_names

__all__ = ["DEFAULT_API_KEY", "DEFAULT_API_SECRET", "SandboxConfig"]

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_API_SECRET = "sandbox-secret"


@attrs.frozen
class SandboxConfig:
    """How a sandbox behaves. Durations are in simulated seconds.

    `time_scale` is the number of real seconds per simulated second: 0.01 makes an hour of
    token lifetime last 36 real seconds. Rate limits are off unless `rate_limits` is set;
    their periods are scaled by `time_scale` too. An empty `allowed_networks` allows every
    client address, as on the real service.

    `fx_per_usd` prices every currency against the US dollar (cross rates follow from it);
    charges quotes are cached for `charges_cache_ttl`. Voucher orders of more than 5 units
    settle after a delay drawn uniformly from `voucher_fulfilment_delay`, into an outcome
    drawn with the weights of `voucher_outcomes` (DELIVERED, PARTIALLY_DELIVERED, FAILED,
    CANCELLED). Unlike the hosted sandbox, which always delivers, this one can fail on
    purpose so that failure paths can be tested.

    Topup orders settle after `topup_settle_delay`, or `topup_slow_delay` for a
    `topup_slow_share` of them; a `topup_failure_share` fails (user-fixable, refunded), as
    does any order for player id 0000000000. For a `topup_get_only_share` of orders the
    settled status shows in lists only after a single GET has refreshed the order.

    An eSIM create is held until fulfilment ends, at most `esim_hold`; fulfilment takes
    `esim_fulfilment_delay`, or `esim_slow_delay` for an `esim_slow_share` of orders, and
    fails for an `esim_failure_share`. The device installs the profile after
    `esim_install_delay` and first uses it after `esim_activation_delay`.

    Webhooks go to the endpoints registered with `sandbox.webhooks.register`; a failed
    delivery is retried up to `webhook_max_attempts` times, `webhook_backoff` apart and
    doubling, each attempt given `webhook_timeout`. `webhook_duplicate_rate` sends that
    share of events twice, `webhook_delay` late, `webhook_jitter` in random order.
    `webhook_unreleased_events` also signs `topup.*` and `esim.*` events.

    `sandbox.requests` keeps the most recent `request_log_limit` requests, so that a
    sandbox left serving does not grow without bound.

    `shape_variants` names ways in which `/api/v1` answers differ from the documented
    shapes (see `shapes`; `SHAPE_VARIANTS` names them all); none by default.
    `state.shape_variants` switches them while the sandbox serves.
    """

    api_key: str = DEFAULT_API_KEY
    api_secret: str = attrs.field(default=DEFAULT_API_SECRET, repr=False)
    client_id: int = 42
    time_scale: float = 1.0
    access_token_ttl: float = 3600.0
    refresh_token_ttl: float = 7 * 86400.0
    rate_limits: RateLimits | None = None
    allowed_networks: tuple[str, ...] = ()
    features: frozenset[str] = frozenset({"vouchers"})
    pagination_headers: bool = True
    shape_variants: frozenset[str] = attrs.field(default=frozenset(), converter=shape_variant_names)
    wallets: Mapping[str, Decimal] = attrs.field(
        factory=lambda: {
            "USD": Decimal("10000.00"),
            "EUR": Decimal("5000.00"),
            "GBP": Decimal("2000.00"),
        }
    )
    fx_per_usd: Mapping[str, Decimal] = attrs.field(
        factory=lambda: {
            "USD": Decimal("1"),
            "EUR": Decimal("0.92"),
            "GBP": Decimal("0.79"),
            "INR": Decimal("83.20"),
            "JPY": Decimal("151.00"),
            "AED": Decimal("3.6725"),
            "BRL": Decimal("5.10"),
        }
    )
    charges_cache_ttl: float = 300.0
    voucher_bulk_limit: int = 5_000
    voucher_fulfilment_delay: tuple[float, float] = (10.0, 60.0)
    voucher_outcomes: Mapping[str, float] = attrs.field(factory=lambda: {"DELIVERED": 1.0})
    topup_settle_delay: tuple[float, float] = (5.0, 30.0)
    topup_slow_delay: tuple[float, float] = (60.0, 600.0)
    topup_slow_share: float = 0.1
    topup_failure_share: float = 0.0
    topup_get_only_share: float = 0.1
    esim_hold: float = 60.0
    esim_fulfilment_delay: tuple[float, float] = (2.0, 40.0)
    esim_slow_delay: tuple[float, float] = (90.0, 600.0)
    esim_slow_share: float = 0.1
    esim_failure_share: float = 0.0
    esim_install_delay: tuple[float, float] = (60.0, 900.0)
    esim_activation_delay: tuple[float, float] = (60.0, 1800.0)
    webhook_max_attempts: int = 6
    webhook_backoff: float = 2.0
    webhook_timeout: float = 10.0
    webhook_duplicate_rate: float = 0.0
    webhook_delay: float = 0.0
    webhook_jitter: float = 0.0
    webhook_unreleased_events: bool = False
    request_log_limit: int = 100_000
    jwt_secret: bytes = attrs.field(factory=lambda: secrets.token_bytes(32), repr=False)
    seed: int | None = None

    def real_seconds(self, simulated: float) -> float:
        """How long `simulated` seconds take in real time."""
        return simulated * self.time_scale
