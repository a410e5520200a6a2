"""Retention while the collector runs: one maintenance round every few seconds.

Each round makes partitions ahead, drops expired ones (`funnel.db.retention`) and reads the
storage footprint into the metrics and readiness details. Every replica of both collectors
runs rounds; the partition lock lets one work at a time and the others skip, so a replica
that dies leaves the work to the rest.
"""

import contextlib
import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog

from funnel.collector.metrics import CollectorMetrics
from funnel.db import DatabaseError, Footprint, RetentionPolicy, footprint, maintain
from funnel.jetstream import periodically

_log = structlog.get_logger(__name__)


class RetentionState:
    """The latest footprint a round read, for `/health/ready`'s details."""

    def __init__(self, policy: RetentionPolicy) -> None:
        self.policy = policy
        self.held: Footprint | None = None

    def details(self) -> dict[str, Any]:
        held = self.held
        return {
            "retentionTimeSeconds": self.policy.time.total_seconds(),
            "retentionSizeBytes": self.policy.size,
            "partitionWidthSeconds": self.policy.width.total_seconds(),
            "rawBytes": held.raw_bytes if held else None,
            "summaryBytes": held.summary_bytes if held else None,
            "partitions": held.partitions if held else None,
            "retainedEvents": held.retained_events if held else None,
            "droppedEvents": held.dropped_events if held else None,
            "oldestEvent": held.oldest_event.isoformat() if held and held.oldest_event else None,
        }


async def _round(pool: asyncpg.Pool, state: RetentionState, metrics: CollectorMetrics) -> None:
    try:
        async with pool.acquire() as conn:
            dropped = await maintain(conn, state.policy, datetime.now(UTC))
            state.held = await footprint(conn)
    except DatabaseError as exc:
        # Readiness reports the outage; the next round tries again.
        _log.warning("retention_round_failed", error=str(exc))
        return
    metrics.partitions_dropped(dropped)
    metrics.footprint(state.held)


@contextlib.asynccontextmanager
async def keeping_retention(
    pool: asyncpg.Pool, policy: RetentionPolicy, metrics: CollectorMetrics, interval: float
) -> AsyncIterator[RetentionState]:
    """Run retention rounds while the block runs; yields the state rounds keep current."""
    state = RetentionState(policy)
    metrics.retention_policy(policy)
    async with periodically(
        functools.partial(_round, pool, state, metrics), interval, immediately=True
    ):
        yield state
