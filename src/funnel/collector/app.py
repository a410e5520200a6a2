"""The collector as an ASGI app: health and metrics over HTTP, the consumers in the lifespan.

Start-up, in order: migrate the database (waiting for it if need be), open the pool, connect
to NATS, declare the streams and the durable consumer, start the fetch loops. Shutdown runs
the same list backwards: stop fetching and finish the batches in hand (bounded by
`shutdown_grace_seconds`), then drain NATS and close the pool.
"""

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from funnel.collector.jetstream_status import tracking_jetstream
from funnel.collector.metrics import CollectorMetrics
from funnel.collector.retention import keeping_retention
from funnel.collector.settings import CollectorSettings
from funnel.collector.writer import BatchWriter
from funnel.db import (
    Partitions,
    SeenUsers,
    connect_pool,
    migration_status,
    run_migrations,
    translate_errors,
)
from funnel.events import Subjects
from funnel.jetstream import (
    DeadLetters,
    JetStreamConnection,
    Publisher,
    PullConsumer,
    check_consumer,
    declare_configured_streams,
    ensure_consumer,
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


async def _check_database(pool: asyncpg.Pool) -> None:
    with translate_errors():
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")


async def _check_migrations(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await migration_status(conn)


async def _declare(conn: JetStreamConnection, settings: CollectorSettings) -> None:
    subjects = Subjects(settings.funnel_namespace)
    source = settings.collector_source
    await declare_configured_streams(conn, settings)
    await ensure_consumer(
        conn,
        subjects.events_stream,
        subjects.collector(source),
        subjects.events(source),
        max_deliver=settings.max_deliver,
        ack_wait=settings.ack_wait_seconds,
        max_ack_pending=settings.max_ack_pending,
    )


@contextlib.asynccontextmanager
async def _consuming(consumers: Sequence[PullConsumer], grace: float) -> AsyncIterator[Any]:
    """Run the fetch loops while the block runs; at its end stop them, finishing in-hand work.

    Yields a readiness check that fails once any loop has ended on its own.
    """
    tasks = [asyncio.create_task(consumer.run()) for consumer in consumers]

    async def check_fetching() -> None:
        ended = [task for task in tasks if task.done()]
        if ended:
            raise RuntimeError(f"{len(ended)} of {len(tasks)} fetch loops have stopped")

    try:
        yield check_fetching
    finally:
        await asyncio.gather(*(consumer.stop(grace) for consumer in consumers))
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, BaseException):
                _log.error("fetch_loop_failed", error=str(outcome) or type(outcome).__name__)


def create_app(settings: CollectorSettings, readiness: Readiness) -> FastAPI:
    """The collector of `settings.collector_source`; `readiness` is what `/health/ready` asks."""
    source = settings.collector_source
    subjects = Subjects(settings.funnel_namespace)
    durable = subjects.collector(source)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        registry = CollectorRegistry()
        metrics = CollectorMetrics(registry, source)
        await run_migrations(settings.database_url, timeout=settings.startup_timeout_seconds)
        async with (
            connect_pool(settings, max_size=settings.database_pool_size) as pool,
            JetStreamConnection(settings.nats_url, name=durable, registry=registry) as conn,
        ):
            await _declare(conn, settings)
            writer = BatchWriter(
                source=source,
                pool=pool,
                partitions=Partitions(settings.partition_width),
                repeat_window=settings.repeat_user_window,
                seen_users=SeenUsers(max_bytes=settings.user_filter_max_bytes),
                dead_letters=DeadLetters(
                    Publisher(conn), subject=subjects.dlq(durable), origin=durable
                ),
                metrics=metrics,
            )
            fetch_turn = asyncio.Lock()  # one loop fetches (and lingers) at a time
            consumers = [
                PullConsumer(
                    conn,
                    stream=subjects.events_stream,
                    durable=durable,
                    handler=writer,
                    dead_letter_subject=subjects.dlq(durable),
                    batch_size=settings.fetch_messages,
                    fetch_timeout=settings.fetch_timeout_seconds,
                    nak_delay=settings.nak_delay_seconds,
                    max_deliver=settings.max_deliver,
                    progress_interval=settings.ack_wait_seconds / 4,
                    linger=settings.fetch_linger_seconds,
                    fetch_turn=fetch_turn,
                    observer=metrics,
                )
                for _ in range(settings.consumers)
            ]
            async with (
                keeping_retention(
                    pool, settings.retention_policy, metrics, settings.retention_interval_seconds
                ) as retention,
                _consuming(consumers, settings.shutdown_grace_seconds) as check_fetching,
                tracking_jetstream(conn, subjects, durable, metrics, settings.lag_interval_seconds),
            ):
                readiness.add("nats", conn.check)
                readiness.add(
                    "consumer",
                    functools.partial(check_consumer, conn, subjects.events_stream, durable),
                )
                readiness.add("database", functools.partial(_check_database, pool))
                readiness.add("migrations", functools.partial(_check_migrations, pool))
                readiness.add("fetching", check_fetching)
                readiness.describe("storage", retention.details)
                readiness.phase = Phase.RUNNING
                _log.info("collector_started", source=source, consumers=len(consumers))
                yield {"readiness": readiness, "registry": registry, "metrics": metrics}
                readiness.phase = Phase.DRAINING
                _log.info("collector_stopping", source=source)
        readiness.phase = Phase.STOPPED
        _log.info("collector_stopped", source=source)

    app = FastAPI(title=f"Funnel {durable}", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(CorrelationIdMiddleware)
    app.include_router(health_router())
    app.include_router(metrics_router())
    return app


def run(settings: CollectorSettings) -> None:
    """`funnel collector`: serve until SIGTERM or Ctrl-C, then shut down in order."""
    if settings.cpu_nice:
        os.nice(settings.cpu_nice)
    name = Subjects.collector(settings.collector_source)
    run_service(name, settings, create_app, bulk_json=True)
