"""OpenTelemetry for the SDK: spans and metrics printed to the console.

    pip install 'octopus-async[otel]' opentelemetry-sdk
    python examples/telemetry.py

One client, its request and wait hooks given to an `OctopusTelemetry`: a wallet listing
that meets a 503 first (one span, its retry as an event), a voucher order delivered in its
create's answer and a topup found settled by polling (a span per wait, saying how it
settled), then the metrics. Runs against an in-process sandbox, time-scaled.
"""

from __future__ import annotations

import asyncio

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from octopus_async import OctopusClient, PollPolicy, RateLimits
from octopus_async.integrations.otel import OctopusTelemetry
from octopus_async.sandbox import Fault, Sandbox, SandboxConfig

SCALE = 0.01  # the sandbox and the poll cadence run 100 times faster than real time


async def main(telemetry: OctopusTelemetry) -> None:
    config = SandboxConfig(time_scale=SCALE, topup_slow_share=0.0)
    async with (
        Sandbox(config) as sandbox,
        OctopusClient(
            **sandbox.client_settings(),
            poll=PollPolicy().scaled(SCALE),
            hooks=[telemetry.on_request],
            wait_hooks=[telemetry.on_wait],
        ) as client,
    ):
        sandbox.faults.add(Fault.error(503), path="/api/v1/wallets", times=1)
        await client.wallets.list()
        await client.vouchers.orders.submit(123, "10.00", 1, client_reference="telemetry-1")
        await client.topups.orders.submit(
            4218, "0.99", input_data={"player_id": "5123456789"}, client_reference="telemetry-2"
        )


if __name__ == "__main__":
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    reader = PeriodicExportingMetricReader(ConsoleMetricExporter())
    meter_provider = MeterProvider(metric_readers=[reader])
    asyncio.run(
        main(
            OctopusTelemetry(
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
                rate_limits=RateLimits.production(),
            )
        )
    )
    meter_provider.shutdown()  # exports the metrics once more, then stops
    tracer_provider.shutdown()
