"""Consumer lag: the durable's pending counts, read every few seconds into the gauges."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from funnel.collector.metrics import CollectorMetrics
from funnel.jetstream import JetStreamConnection, JetStreamError, consumer_info

_log = structlog.get_logger(__name__)


async def _refresh(
    conn: JetStreamConnection,
    stream: str,
    durable: str,
    metrics: CollectorMetrics,
    interval: float,
) -> None:
    while True:
        try:
            metrics.consumer_status(await consumer_info(conn, stream, durable))
        except JetStreamError as exc:
            # The gauges keep their last value; readiness reports the outage itself.
            _log.debug("consumer_info_failed", consumer=durable, error=str(exc))
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def tracking_lag(
    conn: JetStreamConnection,
    stream: str,
    durable: str,
    metrics: CollectorMetrics,
    interval: float,
) -> AsyncIterator[None]:
    """Keep the lag gauges current while the block runs."""
    task = asyncio.create_task(_refresh(conn, stream, durable, metrics, interval))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
