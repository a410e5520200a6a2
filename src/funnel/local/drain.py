"""Watching the collectors drain JetStream before they are stopped.

The runner reads each collector's durable consumer directly: messages not yet delivered plus
those delivered but not acknowledged. Zero means everything the gateway accepted is in
PostgreSQL; the wait is bounded, and what is left is reported and stays in JetStream for the
next run.
"""

import asyncio
import time
from collections.abc import Sequence
from typing import Final

import structlog

from funnel.events.subjects import Subjects
from funnel.jetstream import (
    ConsumerNotFoundError,
    JetStreamConnection,
    JetStreamError,
    StreamNotFoundError,
    consumer_info,
)

_POLL_SECONDS: Final = 0.5
_PROGRESS_SECONDS: Final = 5.0
_CONNECT_SECONDS: Final = 2.0

_log = structlog.get_logger(__name__)


async def _pending(conn: JetStreamConnection, stream: str, consumer: str) -> int:
    try:
        status = await consumer_info(conn, stream, consumer)
    except (StreamNotFoundError, ConsumerNotFoundError):
        return 0
    return status.num_pending + status.num_ack_pending


async def _poll(
    conn: JetStreamConnection,
    subjects: Subjects,
    consumers: Sequence[str],
    started: float,
    within: float,
    left: dict[str, int],
) -> None:
    """Poll into `left` (the latest counts, kept should NATS stop answering midway)."""
    next_progress = started + _PROGRESS_SECONDS
    while True:
        counts = await asyncio.gather(
            *(_pending(conn, subjects.events_stream, name) for name in consumers)
        )
        left.update(zip(consumers, counts, strict=True))
        now = time.monotonic()
        if not any(counts) or now - started >= within:
            return
        if now >= next_progress:
            _log.info("draining", pending=left, elapsed_s=round(now - started))
            next_progress = now + _PROGRESS_SECONDS
        await asyncio.sleep(_POLL_SECONDS)


async def wait_for_drain(
    nats_url: str, subjects: Subjects, consumers: Sequence[str], *, within: float
) -> dict[str, int]:
    """Poll until no consumer has pending messages or `within` seconds pass; the counts left.

    When NATS cannot be asked, the counts are unknown: an empty dict, and a warning.
    """
    started = time.monotonic()
    left: dict[str, int] = {}
    try:
        async with JetStreamConnection(
            nats_url, "funnel-up", connect_timeout=_CONNECT_SECONDS, max_connect_attempts=1
        ) as conn:
            await _poll(conn, subjects, consumers, started, within, left)
    except JetStreamError as exc:
        _log.warning("drain_unobservable", error=str(exc))
        if not left:
            return {}
    duration_ms = round((time.monotonic() - started) * 1000)
    if any(left.values()):
        _log.warning("drain_incomplete", pending=left, duration_ms=duration_ms)
    else:
        _log.info("drained", duration_ms=duration_ms)
    return left
