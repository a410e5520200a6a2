"""JetStream as a collector sees it: its durable's pending counts and what the EVENTS and
DEAD_LETTERS streams hold, read every few seconds into the collector's gauges.

One poll feeds every JetStream gauge of the dashboards and alerts, so they need no NATS
exporter; each collector replica polls, and the stream figures they report are the same.
"""

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

import structlog

from funnel.collector.metrics import CollectorMetrics
from funnel.events import Subjects
from funnel.jetstream import (
    JetStreamConnection,
    JetStreamError,
    consumer_info,
    periodically,
    stream_status,
)

_log = structlog.get_logger(__name__)

# Gauges carry the contract's stream names, whatever the namespace (tests, shared servers).
_CONTRACT: Final = Subjects()

_Read = Callable[[JetStreamConnection, Subjects, str, CollectorMetrics], Awaitable[None]]


async def _read_consumer(
    conn: JetStreamConnection, subjects: Subjects, durable: str, metrics: CollectorMetrics
) -> None:
    metrics.consumer_status(await consumer_info(conn, subjects.events_stream, durable))


async def _read_events(
    conn: JetStreamConnection, subjects: Subjects, durable: str, metrics: CollectorMetrics
) -> None:
    status = await stream_status(conn, subjects.events_stream)
    metrics.stream_status(_CONTRACT.events_stream, status)


async def _read_dead_letters(
    conn: JetStreamConnection, subjects: Subjects, durable: str, metrics: CollectorMetrics
) -> None:
    # A few subjects at most (dlq.gateway, dlq.<collector>), so counting by subject is cheap.
    status = await stream_status(
        conn, subjects.dead_letter_stream, subjects=subjects.all_dead_letters
    )
    metrics.stream_status(_CONTRACT.dead_letter_stream, status)
    prefix = subjects.dlq("")
    metrics.dead_letters(
        {subject.removeprefix(prefix): count for subject, count in status.by_subject.items()}
    )


_READS: Final[tuple[_Read, ...]] = (_read_consumer, _read_events, _read_dead_letters)


async def poll_jetstream(
    conn: JetStreamConnection, subjects: Subjects, durable: str, metrics: CollectorMetrics
) -> None:
    """Read the durable and both streams into `metrics` once; a read that fails leaves its
    gauges at their last value (readiness reports the outage itself)."""
    for read in _READS:
        try:
            await read(conn, subjects, durable, metrics)
        except JetStreamError as exc:
            _log.debug("jetstream_status_failed", error=str(exc))


@contextlib.asynccontextmanager
async def tracking_jetstream(
    conn: JetStreamConnection,
    subjects: Subjects,
    durable: str,
    metrics: CollectorMetrics,
    interval: float,
) -> AsyncIterator[None]:
    """Keep the JetStream gauges current while the block runs."""
    poll = functools.partial(poll_jetstream, conn, subjects, durable, metrics)
    async with periodically(poll, interval, immediately=True):
        yield
