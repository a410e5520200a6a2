"""The gateway's ASGI app: one lifespan that opens JetStream and serves `POST /webhook`.

Start-up: connect to NATS -> watch `EVENTS`'s room -> declare both streams -> build the
publisher -> register the readiness checks -> RUNNING. Shutdown (after uvicorn stopped listening
and waited for requests in flight): DRAINING -> wait, bounded, for any webhook still inside ->
stop watching the room -> drain the NATS connection (every buffered publish flushed) -> STOPPED.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from funnel.events import Subjects
from funnel.gateway.metrics import GatewayMetrics
from funnel.gateway.room import watching_room
from funnel.gateway.settings import GatewaySettings
from funnel.gateway.webhook import Webhook, webhook_router
from funnel.jetstream import (
    GATEWAY_ORIGIN,
    DeadLetters,
    JetStreamConnection,
    Publisher,
    check_stream,
    declare_configured_streams,
)
from funnel.observability import (
    CorrelationIdMiddleware,
    Phase,
    Readiness,
    health_router,
    metrics_router,
)
from funnel.server import run_service

_log = structlog.get_logger(__name__)

SERVICE_NAME = "gateway"


def create_app(settings: GatewaySettings, readiness: Readiness | None = None) -> FastAPI:
    """The gateway app; `readiness` is shared with `funnel.server.serve` for draining."""
    readiness = readiness if readiness is not None else Readiness()
    subjects = Subjects(namespace=settings.funnel_namespace)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        registry = CollectorRegistry()
        metrics = GatewayMetrics(registry)
        async with (
            JetStreamConnection(settings.nats_url, name=SERVICE_NAME, registry=registry) as conn,
            watching_room(
                conn,
                subjects.events_stream,
                needed_bytes=settings.batch_max_bytes,
                interval=settings.full_stream_check_seconds,
                metrics=metrics,
            ) as room,
        ):
            await declare_configured_streams(conn, settings)
            publisher = Publisher(
                conn,
                max_in_flight=settings.publish_concurrency,
                ack_timeout=settings.ack_timeout_seconds,
            )
            readiness.add("nats", conn.check)
            readiness.add("publishes_answered", publisher.check)
            readiness.add("events_stream", partial(check_stream, conn, subjects.events_stream))
            readiness.add(
                "dead_letter_stream", partial(check_stream, conn, subjects.dead_letter_stream)
            )
            # A full EVENTS shows in the details and `funnel_gateway_stream_full`, not as a
            # failing check: every replica publishes to the same stream, so there is no other
            # gateway to send to, and a not-ready gateway would fail its compose healthcheck
            # (`up --wait` and whatever waits for it as `service_healthy`) and `funnel up`'s
            # start, though it answers, cheaply and at once, exactly what it should.
            readiness.describe("stream", room.details)
            webhook = Webhook(
                settings,
                subjects=subjects,
                publisher=publisher,
                dead_letters=DeadLetters(
                    publisher, subject=subjects.dlq_gateway, origin=GATEWAY_ORIGIN
                ),
                metrics=metrics,
                readiness=readiness,
                room=room,
            )
            readiness.phase = Phase.RUNNING
            _log.info("gateway_started", port=settings.port, namespace=subjects.namespace)
            try:
                yield {"readiness": readiness, "registry": registry, "webhook": webhook}
            finally:
                readiness.phase = Phase.DRAINING
                try:
                    async with asyncio.timeout(settings.shutdown_grace_seconds):
                        await webhook.wait_idle()
                except TimeoutError:
                    _log.warning("gateway_drain_timeout", count=webhook.in_flight)
                _log.info("gateway_draining")
        readiness.phase = Phase.STOPPED
        _log.info("gateway_stopped")

    app = FastAPI(title="Funnel gateway", lifespan=lifespan)
    app.add_middleware(CorrelationIdMiddleware)
    app.include_router(webhook_router())
    app.include_router(health_router())
    app.include_router(metrics_router())
    return app


def run(settings: GatewaySettings) -> None:
    """`funnel gateway`: serve until SIGTERM or Ctrl-C, then shut down in order."""
    run_service(SERVICE_NAME, settings, create_app, bulk_json=True)
