"""Client-side rate limits (D21, API.md 4.5): endpoint classes, the token bucket, the limiter
and the preset quota tables."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from support import API, FAST_RETRY

from octopus_async import Clock, InvalidRequestError, Limiter, OctopusClient, Quota, RateLimits
from octopus_async._transport.ratelimit import RateLimiter, TokenBucket, endpoint_class
from octopus_async.config import EndpointClass

# --- endpoint classes ---------------------------------------------------------------------

DOCUMENTED_GETS = [
    "/api/v1/countries",
    "/api/v1/countries/7",
    "/api/v1/currencies",
    "/api/v1/categories",
    "/api/v1/subcategories/3",
    "/api/v1/wallets",
    "/api/v1/transactions",
    "/api/v1/transactions/9",
    "/api/v1/products",
    "/api/v1/products/123",
    "/api/v1/orders",
    "/api/v1/orders/55",
    "/api/v1/topups/products/1/variants",
    "/api/v1/topups/variants/2",
    "/api/v1/topups/orders/8",
    "/api/v1/esim/products",
    "/api/v1/esim/variants/4",
    "/api/v1/esim/orders",
]


@pytest.mark.parametrize("path", DOCUMENTED_GETS)
def test_every_get_is_a_read(path):
    assert endpoint_class("GET", path) == "read"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/auth/login", "login"),
        ("POST", "/auth/refresh", "refresh"),
        ("POST", "/api/v1/orders", "vouchers.create"),
        ("POST", "/api/v1/topups/orders", "topups.create"),
        ("POST", "/api/v1/esim/orders", "esim.create"),
        ("POST", "/api/v1/products/123/charges", "vouchers.charges"),
        ("POST", "/api/v1/products/abc-9/charges", "vouchers.charges"),
        ("POST", "/api/v1/topups/charges", "topups.charges"),
        ("POST", "/api/v1/esim/charges", "esim.charges"),
        # No documented quota: no class, so never held back client-side.
        ("POST", "/api/v1/products/123/availability", None),
        ("POST", "/api/v1/topups/lookup", None),
        ("POST", "/auth/logout", None),
        ("PATCH", "/api/v1/topups/orders/8/notification-email", None),
        ("PATCH", "/api/v1/esim/orders/8/notification-email", None),
        ("PATCH", "/api/v1/orders", None),
        # Near misses of the charges pattern.
        ("POST", "/api/v1/products//charges", None),
        ("POST", "/api/v1/products/123/charges/extra", None),
        ("POST", "/api/v1/products/1/2/charges", None),
    ],
)
def test_endpoint_class_of_writes(method, path, expected):
    assert endpoint_class(method, path) == expected


# --- the token bucket ---------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("quota", "headroom", "capacity"),
    [
        (Quota(10), 0.1, 9),  # 10% is 1
        (Quota(11), 0.1, 9),  # 10% of 11 rounds up to 2
        (Quota(300), 0.1, 270),
        (Quota(120), 0.1, 108),
        (Quota(600), 0.1, 540),
        (Quota(5), 0.1, 4),  # at least one request of headroom
        (Quota(10), 0.0, 9),
        (Quota(10), 0.5, 5),
        (Quota(2), 0.1, 1),
        (Quota(1), 0.1, 1),  # never below one
        (Quota(10), 1.0, 1),
    ],
)
def test_capacity_keeps_headroom(quota, headroom, capacity):
    bucket = TokenBucket(quota, headroom, clock=FakeClock())

    assert bucket.capacity == capacity
    assert bucket.rate == quota.requests / quota.period


def test_burst_is_free_then_reservations_are_spaced_in_arrival_order():
    bucket = TokenBucket(Quota(10, period=1.0), 0.1, clock=FakeClock())  # capacity 9, 10/s

    burst = [bucket.reserve() for _ in range(9)]
    queued = [bucket.reserve() for _ in range(4)]

    assert burst == [0.0] * 9
    assert queued == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_tokens_refill_with_time():
    clock = FakeClock()
    bucket = TokenBucket(Quota(10, period=1.0), 0.1, clock=clock)
    for _ in range(9):
        bucket.reserve()

    clock.now += 0.2  # two tokens back

    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.1])


def test_refill_is_capped_at_capacity():
    clock = FakeClock()
    bucket = TokenBucket(Quota(10, period=1.0), 0.1, clock=clock)
    bucket.reserve()

    clock.now += 3600

    waits = [bucket.reserve() for _ in range(10)]
    assert waits[:9] == [0.0] * 9
    assert waits[9] == pytest.approx(0.1)


def test_reservations_waiting_are_paid_back_by_time():
    clock = FakeClock()
    bucket = TokenBucket(Quota(10, period=1.0), 0.1, clock=clock)
    for _ in range(9):
        bucket.reserve()
    assert bucket.reserve() == pytest.approx(0.1)

    clock.now += 0.1  # the queued reservation's token has now been refilled

    assert bucket.reserve() == pytest.approx(0.1)


def test_refund_gives_back_an_unused_token():
    bucket = TokenBucket(Quota(10, period=1.0), 0.1, clock=FakeClock())
    for _ in range(9):
        bucket.reserve()
    assert bucket.reserve() == pytest.approx(0.1)

    bucket.refund()

    assert bucket.reserve() == pytest.approx(0.1)  # not 0.2


def test_refund_never_exceeds_capacity():
    bucket = TokenBucket(Quota(10, period=1.0), 0.1, clock=FakeClock())

    bucket.refund()
    bucket.refund()

    waits = [bucket.reserve() for _ in range(10)]
    assert waits[:9] == [0.0] * 9
    assert waits[9] > 0


def test_defer_hands_out_nothing_for_that_long():
    clock = FakeClock()
    bucket = TokenBucket(Quota(10, period=1.0), 0.1, clock=clock)  # full bucket

    bucket.defer(2.0)

    assert bucket.reserve() == pytest.approx(2.0)  # exactly the server's wait, no more
    assert bucket.reserve() == pytest.approx(2.0 + 1 / bucket.rate)


def test_defer_after_time_passes():
    clock = FakeClock()
    bucket = TokenBucket(Quota(10, period=1.0), 0.1, clock=clock)
    bucket.defer(2.0)

    clock.now += 2.0

    assert bucket.reserve() == 0.0


def test_defer_never_shortens_a_longer_backlog():
    bucket = TokenBucket(Quota(10, period=1.0), 0.1, clock=FakeClock())
    for _ in range(9 + 30):  # 3 s of reservations queued
        bucket.reserve()

    bucket.defer(1.0)

    assert bucket.reserve() == pytest.approx(3.1)


# --- the limiter ----------------------------------------------------------------------------


def finishes_without_waiting(coro: Coroutine[Any, Any, None]) -> bool:
    """Whether `coro` runs to completion without ever suspending."""
    try:
        coro.send(None)
    except StopIteration:
        return True
    coro.close()
    return False


async def test_acquire_is_immediate_within_the_burst_and_then_waits():
    limiter = RateLimiter(RateLimits({"read": Quota(300)}), Clock().time)  # capacity 270

    assert all(finishes_without_waiting(limiter.acquire("read")) for _ in range(270))
    assert not finishes_without_waiting(limiter.acquire("read"))


async def test_acquire_really_sleeps():
    limiter = RateLimiter(
        RateLimits({"read": Quota(5, period=0.5)}), Clock().time
    )  # capacity 4, 10/s
    loop = asyncio.get_running_loop()
    for _ in range(4):
        await limiter.acquire("read")

    started = loop.time()
    await limiter.acquire("read")

    assert 0.09 <= loop.time() - started < 0.3


async def test_cancelled_waiter_refunds_its_token():
    limiter = RateLimiter(
        RateLimits({"read": Quota(5, period=0.5)}), Clock().time
    )  # capacity 4, 10/s
    loop = asyncio.get_running_loop()
    for _ in range(4):
        await limiter.acquire("read")
    waiter = asyncio.create_task(limiter.acquire("read"))  # would wait 0.1 s
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    started = loop.time()
    await limiter.acquire("read")

    # With the refund this waits for one token (0.1 s), without it for two (0.2 s).
    assert 0.08 <= loop.time() - started < 0.17


async def test_limiter_defer_pauses_a_class():
    limiter = RateLimiter(RateLimits({"read": Quota(50, period=0.5)}), Clock().time)  # 100/s
    loop = asyncio.get_running_loop()

    await limiter.defer("read", 0.05)
    started = loop.time()
    await limiter.acquire("read")

    assert loop.time() - started >= 0.049
    assert finishes_without_waiting(limiter.acquire("login"))  # other classes unaffected


async def test_limiter_defer_of_an_unlimited_class_is_harmless():
    limiter = RateLimiter(RateLimits({"read": Quota(50)}), Clock().time)

    await limiter.defer(None, 10)
    await limiter.defer("login", 10)

    assert finishes_without_waiting(limiter.acquire("login"))
    assert finishes_without_waiting(limiter.acquire("read"))


class RecordingLimiter:
    """A limiter another process could share: records what the client asks of it."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.calls: list[tuple[object, ...]] = []

    async def acquire(self, endpoint: EndpointClass | None) -> None:
        self.calls.append(("acquire", endpoint))

    async def defer(self, endpoint: EndpointClass | None, seconds: float) -> None:
        self.calls.append(("defer", endpoint, seconds))


async def test_a_limiter_given_to_the_client_is_the_one_its_requests_and_views_use(wire):
    limiter = RecordingLimiter(RateLimits.production().with_quota("read", Quota(120)))
    assert isinstance(limiter, Limiter)
    wire.get(f"{API}/api/v1/wallets", status=429, headers={"Retry-After": "2"})
    wire.get(f"{API}/api/v1/wallets", payload=[])

    async with OctopusClient(
        "key", "secret", base_url=API, rate_limits=limiter, retry=FAST_RETRY
    ) as client:
        await client.with_options(timeout=5).wallets.list()

    assert client.config.rate_limits == limiter.limits
    assert limiter.calls == [
        ("acquire", "read"),
        ("acquire", "login"),
        ("defer", "read", 2.0),
        ("acquire", "read"),
    ]


@pytest.mark.parametrize(
    "limits",
    [RateLimits.disabled(), RateLimits.production().with_quota("read", None)],
    ids=["disabled", "read-removed"],
)
async def test_unlimited_classes_never_wait(limits):
    limiter = RateLimiter(limits, Clock().time)

    assert all(finishes_without_waiting(limiter.acquire("read")) for _ in range(2000))
    assert all(finishes_without_waiting(limiter.acquire(None)) for _ in range(100))


async def test_disabled_limits_never_wait_for_any_class():
    limiter = RateLimiter(RateLimits.disabled(), Clock().time)
    classes = list(RateLimits.production().quotas)

    assert all(
        finishes_without_waiting(limiter.acquire(name)) for name in classes for _ in range(500)
    )


# --- preset quotas (API.md 4.5) ---------------------------------------------------------------

PRODUCTION = {
    "login": 10,
    "refresh": 20,
    "read": 300,
    "vouchers.create": 60,
    "topups.create": 60,
    "esim.create": 60,
    "vouchers.charges": 120,
    "topups.charges": 120,
    "esim.charges": 120,
}
SANDBOX = {
    "login": 30,
    "refresh": 30,
    "read": 600,
    "vouchers.create": 120,
    "topups.create": 120,
    "esim.create": 120,
    "vouchers.charges": 300,
    "topups.charges": 300,
    "esim.charges": 300,
}


def per_minute(limits: RateLimits) -> dict[str, int]:
    assert all(quota.period == 60 for quota in limits.quotas.values())
    return {name: quota.requests for name, quota in limits.quotas.items()}


def test_production_quotas_match_the_docs():
    assert per_minute(RateLimits.production()) == PRODUCTION


def test_sandbox_quotas_match_the_docs():
    assert per_minute(RateLimits.sandbox()) == SANDBOX


def test_disabled_has_no_quota():
    assert dict(RateLimits.disabled().quotas) == {}


def test_presets_are_fresh_copies():
    first = RateLimits.production()
    first.quotas["read"] = Quota(1)  # type: ignore[index]

    assert RateLimits.production().quotas["read"] == Quota(300)


def test_scaled_multiplies_periods_only():
    scaled = RateLimits.production().scaled(0.01)

    assert {name: q.requests for name, q in scaled.quotas.items()} == PRODUCTION
    assert all(q.period == pytest.approx(0.6) for q in scaled.quotas.values())
    assert scaled.headroom == RateLimits.production().headroom


@pytest.mark.parametrize("time_scale", [0, -1.0, float("nan")])
def test_scaled_rejects_non_positive_scales(time_scale):
    with pytest.raises(InvalidRequestError):
        RateLimits.sandbox().scaled(time_scale)


def test_with_quota_replaces_one_class_and_keeps_the_original():
    original = RateLimits.production()

    changed = original.with_quota("read", Quota(50, period=10))

    assert changed.quotas["read"] == Quota(50, period=10)
    assert {k: v for k, v in changed.quotas.items() if k != "read"} == {
        k: v for k, v in original.quotas.items() if k != "read"
    }
    assert original.quotas["read"] == Quota(300)


def test_with_quota_none_removes_the_limit():
    limits = RateLimits.production().with_quota("login", None)

    assert "login" not in limits.quotas
    assert len(limits.quotas) == len(PRODUCTION) - 1
