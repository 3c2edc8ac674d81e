"""Client settings (D1, D17, D19, D21, D22): `ClientConfig.resolve` with explicit `env`,
automatic rate limits per host, validation, redaction and `OctopusClient.with_options`."""

from __future__ import annotations

from typing import Any

import pytest
from support import API, FAST_RETRY
from yarl import URL

from octopus_async import (
    AuthPolicy,
    InvalidRequestError,
    OctopusClient,
    Quota,
    RateLimits,
    RetryPolicy,
    ServerError,
    Timeouts,
)
from octopus_async.config import PRODUCTION_URL, SANDBOX_URL, ClientConfig

CREDENTIALS = {"OCTOPUS_API_KEY": "env-key", "OCTOPUS_API_SECRET": "env-secret"}
WALLETS = f"{API}/api/v1/wallets"


def resolve(env: dict[str, str] | None = None, **arguments: Any) -> ClientConfig:
    return ClientConfig.resolve(env=CREDENTIALS if env is None else env, **arguments)


# --- where settings come from (D1) ---------------------------------------------------------


def test_environment_variables_fill_in_missing_arguments():
    config = resolve(
        {
            **CREDENTIALS,
            "OCTOPUS_ENVIRONMENT": "production",
        }
    )

    assert (config.api_key, config.api_secret) == ("env-key", "env-secret")
    assert config.base_url == URL(PRODUCTION_URL)
    assert config.environment == "production"


def test_explicit_arguments_win_over_environment_variables():
    env = {
        **CREDENTIALS,
        "OCTOPUS_ENVIRONMENT": "production",
        "OCTOPUS_BASE_URL": "http://env.example:1",
    }

    config = resolve(env, api_key="arg-key", api_secret="arg-secret", base_url="http://arg.example")

    assert (config.api_key, config.api_secret) == ("arg-key", "arg-secret")
    assert config.base_url == URL("http://arg.example")


def test_explicit_environment_wins_over_the_environment_variable():
    config = resolve({**CREDENTIALS, "OCTOPUS_ENVIRONMENT": "production"}, environment="sandbox")

    assert config.base_url == URL(SANDBOX_URL)


def test_explicit_environment_wins_over_the_base_url_variable():
    env = {**CREDENTIALS, "OCTOPUS_BASE_URL": "http://127.0.0.1:8080"}

    config = resolve(env, environment="production")

    assert config.base_url == URL(PRODUCTION_URL)


def test_base_url_variable_wins_over_environment_variable():
    env = {
        **CREDENTIALS,
        "OCTOPUS_ENVIRONMENT": "production",
        "OCTOPUS_BASE_URL": "http://127.0.0.1:8080",
    }

    config = resolve(env)

    assert config.base_url == URL("http://127.0.0.1:8080")
    assert dict(config.rate_limits.quotas) == {}


def test_base_url_argument_wins_over_environment_argument():
    config = resolve(environment="production", base_url="http://127.0.0.1:8080")

    assert config.base_url == URL("http://127.0.0.1:8080")


def test_default_environment_is_the_sandbox():
    config = resolve()

    assert config.base_url == URL(SANDBOX_URL)
    assert config.environment == "sandbox"
    assert str(config.base_url) == "https://sandbox-api.octopuscards.io"


def test_production_only_when_asked():
    assert resolve(environment="production").base_url == URL("https://api.octopuscards.io")


@pytest.mark.parametrize(
    ("arguments", "env"),
    [
        ({"environment": "staging"}, {}),
        ({"environment": "Production"}, {}),
        ({}, {"OCTOPUS_ENVIRONMENT": "live"}),
    ],
)
def test_invalid_environment_is_rejected(arguments, env):
    with pytest.raises(InvalidRequestError) as caught:
        resolve({**CREDENTIALS, **env}, **arguments)

    assert caught.value.param == "environment"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("env", "arguments", "param"),
    [
        ({}, {}, "api_key"),
        ({"OCTOPUS_API_SECRET": "s"}, {}, "api_key"),
        ({"OCTOPUS_API_KEY": "k"}, {}, "api_secret"),
        ({}, {"api_key": "k"}, "api_secret"),
        (CREDENTIALS, {"api_key": ""}, "api_key"),
        (CREDENTIALS, {"api_secret": ""}, "api_secret"),
        ({"OCTOPUS_API_KEY": "", "OCTOPUS_API_SECRET": "s"}, {}, "api_key"),
    ],
)
def test_missing_credentials_are_rejected(env, arguments, param):
    with pytest.raises(InvalidRequestError) as caught:
        resolve(env, **arguments)

    assert caught.value.param == param
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "base_url", ["/api/v1", "api.octopuscards.io", "ftp://files.example.com", "ws://x.example"]
)
def test_base_url_must_be_an_absolute_http_url(base_url):
    with pytest.raises(InvalidRequestError) as caught:
        resolve(base_url=base_url)

    assert caught.value.param == "base_url"


def test_base_url_variable_is_validated_too():
    with pytest.raises(InvalidRequestError) as caught:
        resolve({**CREDENTIALS, "OCTOPUS_BASE_URL": "ftp://files.example.com"})

    assert caught.value.param == "base_url"


# --- automatic rate limits (D21) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, RateLimits.sandbox()),
        ({"environment": "sandbox"}, RateLimits.sandbox()),
        ({"environment": "production"}, RateLimits.production()),
        ({"base_url": "https://api.octopuscards.io"}, RateLimits.production()),
        ({"base_url": "https://api.octopuscards.io/"}, RateLimits.production()),
        ({"base_url": "https://API.OctopusCards.io"}, RateLimits.production()),
        ({"base_url": "https://sandbox-api.octopuscards.io/"}, RateLimits.sandbox()),
        ({"base_url": "http://127.0.0.1:8080"}, RateLimits.disabled()),
        ({"base_url": "http://localhost:9000/prefix"}, RateLimits.disabled()),
        ({"base_url": API}, RateLimits.disabled()),
    ],
)
def test_auto_rate_limits_follow_the_host(arguments, expected):
    assert resolve(**arguments).rate_limits == expected


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.octopuscards.io:443", RateLimits.production()),
        ("https://sandbox-api.octopuscards.io:443", RateLimits.sandbox()),
    ],
)
def test_auto_rate_limits_with_an_explicit_default_port(base_url, expected):
    assert resolve(base_url=base_url).rate_limits == expected


def test_explicit_rate_limits_win_over_auto():
    custom = RateLimits.disabled().with_quota("read", Quota(5))

    assert resolve(
        base_url="http://127.0.0.1:8080", rate_limits=RateLimits.sandbox()
    ).rate_limits == (RateLimits.sandbox())
    assert resolve(environment="production", rate_limits=custom).rate_limits == custom
    assert resolve(environment="production", rate_limits=RateLimits.disabled()).rate_limits == (
        RateLimits.disabled()
    )


def test_client_gets_auto_limits_too():
    client = OctopusClient("k", "s", environment="production")

    assert client.config.rate_limits == RateLimits.production()


# --- secrets stay out of repr (D17) ------------------------------------------------------------


def test_repr_of_config_and_client_hides_credentials():
    key, secret = "key-VISIBLE-1234", "secret-VISIBLE-5678"
    config = ClientConfig.resolve(api_key=key, api_secret=secret, env={})
    client = OctopusClient(key, secret, base_url=API)

    for text in (repr(config), str(config), repr(client), str(client)):
        assert key not in text
        assert secret not in text
    assert "***" in repr(config)


def test_credential_errors_do_not_echo_the_secret():
    with pytest.raises(InvalidRequestError) as caught:
        ClientConfig.resolve(api_secret="secret-VISIBLE-5678", env={})

    assert "secret-VISIBLE-5678" not in str(caught.value)


# --- validation of policies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: Timeouts(connect=0),
        lambda: Timeouts(read=-1),
        lambda: Timeouts(esim_create_read=0),
        lambda: Timeouts(read=float("nan")),
        lambda: RetryPolicy(max_retries=-1),
        lambda: RetryPolicy(initial_backoff=0),
        lambda: RetryPolicy(max_backoff=-0.5),
        lambda: RetryPolicy(max_retry_after=-1),
        lambda: Quota(0),
        lambda: Quota(-5),
        lambda: Quota(10, period=0),
        lambda: Quota(10, period=-60),
        lambda: AuthPolicy(refresh_margin=-1),
        lambda: AuthPolicy(default_lifetime=0),
        lambda: resolve(max_connections=0),
        lambda: resolve(reference_data_ttl=-1),
    ],
)
def test_invalid_settings_are_rejected(build):
    with pytest.raises(InvalidRequestError):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: RetryPolicy(max_retries=float("nan")),
        lambda: RetryPolicy(max_retries=2.5),
        lambda: RetryPolicy(max_retry_after=float("nan")),
        lambda: AuthPolicy(refresh_margin=float("nan")),
    ],
    ids=["max_retries-nan", "max_retries-fraction", "max_retry_after-nan", "refresh_margin-nan"],
)
def test_nan_and_fractional_settings_are_rejected(build):
    with pytest.raises(InvalidRequestError):
        build()


def test_boundary_settings_are_accepted():
    assert RetryPolicy(max_retries=0, max_retry_after=0).max_retries == 0
    assert AuthPolicy(refresh_margin=0).refresh_margin == 0
    assert Quota(1, period=0.001).requests == 1


def test_documented_defaults():
    config = resolve()

    assert config.timeouts == Timeouts(connect=10.0, read=30.0, esim_create_read=75.0)
    assert (config.retry.max_retries, config.retry.initial_backoff, config.retry.max_backoff) == (
        4,
        0.2,
        10.0,
    )
    assert config.retry.max_retry_after == 60.0
    assert config.retry.retry_statuses == frozenset({429, 500, 502, 503, 504})
    assert config.auth.refresh_margin == 300.0


# --- with_options --------------------------------------------------------------------------------


async def test_with_options_changes_the_view_only(wire, wire_client):
    view = wire_client.with_options(timeout=5, max_retries=0)
    wire.get(WALLETS, status=503)
    wire.get(WALLETS, status=503)
    wire.get(WALLETS, payload=[])

    with pytest.raises(ServerError):
        await view.wallets.list()
    assert await wire_client.wallets.list() == ()

    view_call, *original_calls = wire.requests[("GET", URL(WALLETS))]
    assert len(original_calls) == 2  # the original still retries
    assert view_call.kwargs["timeout"].sock_read == 5
    assert view_call.kwargs["timeout"].sock_connect == 10
    assert all(call.kwargs["timeout"].sock_read == 30 for call in original_calls)


async def test_with_options_shares_session_tokens_and_lifecycle(wire, wire_client):
    view = wire_client.with_options(max_retries=1)
    wire.get(WALLETS, payload=[], repeat=True)

    await wire_client.wallets.list()
    await view.wallets.list()

    assert view.config is wire_client.config
    assert view._transport is wire_client._transport
    assert len(wire.requests[("POST", URL(f"{API}/auth/login"))]) == 1  # one login for both
    await view.aclose()
    assert wire_client.closed


def test_with_options_accepts_a_timeouts_object():
    client = OctopusClient("k", "s", base_url=API, retry=FAST_RETRY)
    timeouts = Timeouts(connect=1, read=2, esim_create_read=3)

    view = client.with_options(timeout=timeouts)

    assert view._options.timeouts == timeouts
    assert client._options.timeouts == Timeouts()
    assert view._options.retry == client._options.retry == FAST_RETRY


@pytest.mark.parametrize(
    "options", [{"max_retries": -1}, {"timeout": 0}, {"timeout": -2.5}], ids=str
)
def test_with_options_validates(options):
    client = OctopusClient("k", "s", base_url=API)

    with pytest.raises(InvalidRequestError):
        client.with_options(**options)


async def test_orders_of_names_each_verticals_orders():
    async with OctopusClient("key", "secret", base_url="http://127.0.0.1:9") as client:
        assert client.orders_of("vouchers") is client.vouchers.orders
        assert client.orders_of("topups") is client.topups.orders
        assert client.orders_of("esim") is client.esim.orders
        with pytest.raises(InvalidRequestError) as refused:
            client.orders_of("scheduler")  # an attribute, but not a vertical
        assert refused.value.param == "vertical"
