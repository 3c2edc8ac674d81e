"""OpenTelemetry (`integrations.otel`) against the sandbox: a span per API call with its
retries as events, a span per order wait saying how it settled, the metrics, and no
secret in any attribute."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from octopus_async import NotFoundError, OrderFailedError, PollPolicy, Quota, RateLimits
from octopus_async.integrations.otel import OctopusTelemetry
from octopus_async.sandbox import Fault

SCALE = 0.01
PLAYER = {"player_id": "5123456789"}
LIMITS = RateLimits({"read": Quota(300), "vouchers.create": Quota(60)})


class Exported:
    """The spans and metric points the telemetry produced."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.telemetry = OctopusTelemetry(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            rate_limits=LIMITS,
        )

    def finished(self, name: str):
        return [span for span in self.spans.get_finished_spans() if span.name == name]

    def points(self, metric: str) -> list:
        data = self.reader.get_metrics_data()
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for found in scope.metrics
            if found.name == metric
            for point in found.data.data_points
        ]


@pytest.fixture
def exported() -> Exported:
    return Exported()


@pytest.fixture
async def client(make_sandbox, make_client, exported):
    sandbox = await make_sandbox(time_scale=SCALE, topup_slow_share=0.0, topup_get_only_share=0.0)
    made = make_client(
        sandbox,
        poll=PollPolicy().scaled(SCALE),
        hooks=[exported.telemetry.on_request],
        wait_hooks=[exported.telemetry.on_wait],
    )
    made.sandbox = sandbox
    return made


async def test_an_api_call_is_one_client_span_with_its_retries_as_events(client, exported):
    client.sandbox.faults.add(Fault.error(503), path="/api/v1/wallets", times=1)
    await client.wallets.list()

    [span] = exported.finished("GET /api/v1/wallets")
    assert span.kind == SpanKind.CLIENT
    attributes = dict(span.attributes)
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.response.status_code"] == 200
    assert attributes["http.request.resend_count"] == 1
    assert attributes["url.full"] == f"{client.sandbox.url}/api/v1/wallets"
    assert attributes["url.template"] == "/api/v1/wallets"
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["octopus.request_id"]
    [retry] = span.events
    assert retry.name == "retry"
    assert dict(retry.attributes)["reason"] == "HTTP 503"
    assert span.status.status_code == StatusCode.UNSET
    assert span.start_time <= retry.timestamp <= span.end_time

    retries = exported.points("octopus.client.retries")
    assert [(p.attributes["reason"], p.value) for p in retries] == [("HTTP 503", 1)]
    attempts = exported.points("http.client.request.duration")
    statuses = sorted(p.attributes["http.response.status_code"] for p in attempts)
    assert set(statuses) == {503, 200}


async def test_a_refused_call_is_an_error_span_and_ids_become_a_route(client, exported):
    with pytest.raises(NotFoundError):
        await client.vouchers.orders.get(987654321)

    [span] = exported.finished("GET /api/v1/orders/{id}")
    attributes = dict(span.attributes)
    assert attributes["error.type"] == "NotFoundError"
    assert attributes["http.response.status_code"] == 404
    assert span.status.status_code == StatusCode.ERROR
    [counted] = [
        p
        for p in exported.points("octopus.client.requests")
        if p.attributes["url.template"] == "/api/v1/orders/{id}"
    ]
    assert counted.attributes["error.type"] == "NotFoundError"


async def test_order_waits_are_spans_saying_how_they_settled(client, exported):
    instant = client.vouchers.orders.submit(123, "10.00", 1, client_reference="otel-1")
    await instant
    polled = client.topups.orders.submit(4218, "0.99", input_data=PLAYER, client_reference="o-2")
    await polled

    [voucher] = exported.finished("octopus.wait vouchers")
    assert dict(voucher.attributes) == {
        "octopus.vertical": "vouchers",
        "octopus.wait.outcome": "succeeded",
        "octopus.wait.settled_by": "create",
        "octopus.order.id": instant.order_id,
        "octopus.order.client_reference": "otel-1",
    }
    [topup] = exported.finished("octopus.wait topups")
    assert topup.attributes["octopus.wait.settled_by"] == "poll"
    assert topup.attributes["octopus.wait.detected_after"] >= 0
    # The order's own calls ran inside the wait.
    assert topup.start_time <= topup.end_time

    assert sum(p.value for p in exported.points("octopus.waits.pending")) == 0
    durations = {
        (p.attributes["octopus.vertical"], p.attributes["octopus.wait.settled_by"]): p.count
        for p in exported.points("octopus.waits.duration")
    }
    assert durations == {("vouchers", "create"): 1, ("topups", "poll"): 1}
    [detection] = exported.points("octopus.waits.detection_latency")
    assert detection.attributes["octopus.vertical"] == "topups"
    assert detection.count == 1


async def test_a_failed_order_wait_is_an_error_span(client, exported):
    failed = client.topups.orders.submit(4218, "0.99", input_data={"player_id": "0000000000"})
    with pytest.raises(OrderFailedError):
        await failed
    [span] = exported.finished("octopus.wait topups")
    assert span.attributes["octopus.wait.outcome"] == "failed"
    assert span.status.status_code == StatusCode.ERROR


async def test_quota_use_is_the_share_of_each_quota_taken_in_its_last_period(client, exported):
    for _ in range(3):
        await client.wallets.list()
    await client.vouchers.orders.create(123, "10.00", 1)

    used = {
        p.attributes["octopus.endpoint"]: p.value
        for p in exported.points("octopus.client.quota.used")
    }
    assert used["read"] >= 3 / 300
    assert used["vouchers.create"] == 1 / 60


async def test_no_secret_reaches_a_span_or_a_metric(client, exported):
    made = await client.vouchers.orders.create(123, "10.00", 1)
    # A 4-digit PIN turns up by chance in any text with numbers (a port, an id: 1 run in
    # 20 did): the server's copy gets one that cannot, for the GET to carry.
    [voucher] = client.sandbox.state.vouchers.orders.by_id[made.id].vouchers
    voucher["pin_code"] = "PIN-5f0c2a9e"
    order = await client.vouchers.orders.get(made.id)
    assert order.vouchers[0].pin_code == "PIN-5f0c2a9e"
    await client.esim.orders.create_and_wait(712, "4.50")
    tokens = await client.auth.login()
    secrets = {client.config.api_secret, tokens.access_token, tokens.refresh_token}
    secrets |= {v.card_number for v in order.vouchers} | {v.pin_code for v in order.vouchers}

    everything = json.dumps(
        [
            [span.name, dict(span.attributes), [dict(e.attributes) for e in span.events]]
            for span in exported.spans.get_finished_spans()
        ]
        + [exported.reader.get_metrics_data().to_json()],
        default=str,
    )
    assert exported.spans.get_finished_spans()
    assert None not in secrets
    assert len(secrets) == 5  # the secret, two tokens, a card number and its PIN
    leaked = [secret for secret in secrets if secret and secret in everything]
    assert leaked == []


async def test_polls_belong_to_no_callers_span(client, exported):
    tracer = exported.telemetry._tracer
    with tracer.start_as_current_span("request handler") as handler:
        waiter = client.topups.orders.submit(4218, "0.99", input_data=PLAYER)
        await waiter
    handler_id = handler.get_span_context().span_id

    create = exported.finished("POST /api/v1/topups/orders")
    polls = exported.finished("GET /api/v1/topups/orders/{id}")
    [wait] = exported.finished("octopus.wait topups")
    assert [span.parent.span_id for span in create] == [handler_id]  # the caller's create
    assert wait.parent.span_id == handler_id
    assert polls
    assert all(span.parent is None for span in polls)  # the scheduler's, shared by all waits
