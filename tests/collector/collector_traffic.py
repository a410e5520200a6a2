"""Traffic for collector tests: publisher-like events, batch messages, a collector running."""

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from prometheus_client import CollectorRegistry

from funnel.collector import CollectorSettings, create_app
from funnel.events import Source, Subjects
from funnel.jetstream import (
    EVENT_COUNT_HEADER,
    JetStreamConnection,
    OutboundMessage,
    Publisher,
    declare_streams,
)
from funnel.observability import CORRELATION_HEADER, Readiness
from funnel.publisher import generate_batch


def collector_settings(
    nats_url: str, database_url: str, subjects: Subjects, **overrides: Any
) -> CollectorSettings:
    """A facebook collector's settings for one test: its streams, its database, quick
    fetches and retries; keyword arguments override."""
    values: dict[str, Any] = {
        "collector_source": "facebook",
        "nats_url": nats_url,
        "database_url": database_url,
        "funnel_namespace": subjects.namespace,
        "port": 0,
        "fetch_timeout_seconds": 0.2,
        "nak_delay_seconds": 0.2,
        "lag_interval_seconds": 0.2,
        "shutdown_grace_seconds": 10.0,
        **overrides,
    }
    return CollectorSettings(**values)


def make_events(source: Source, count: int, seed: int = 1) -> list[dict[str, Any]]:
    """`count` valid events of `source`, as the emulator makes them."""
    return generate_batch(random.Random(seed), count, source)


def message(
    subjects: Subjects,
    source: Source,
    body: bytes,
    *,
    count: int,
    correlation_id: str | None = None,
) -> OutboundMessage:
    """One events message as the gateway publishes it."""
    headers = {EVENT_COUNT_HEADER: str(count)}
    if correlation_id is not None:
        headers[CORRELATION_HEADER] = correlation_id
    return OutboundMessage(
        subject=subjects.events(source), payload=body, msg_id=uuid.uuid4().hex, headers=headers
    )


def messages_of(
    subjects: Subjects, source: Source, events: Sequence[Any], per_message: int = 1000
) -> list[OutboundMessage]:
    """The events cut into messages of `per_message`, each with a correlation id of its own."""
    return [
        message(
            subjects,
            source,
            orjson.dumps(list(events[start : start + per_message])),
            count=len(events[start : start + per_message]),
            correlation_id=f"corr-{start}",
        )
        for start in range(0, len(events), per_message)
    ]


async def publish(nats_url: str, subjects: Subjects, messages: Sequence[OutboundMessage]) -> None:
    """Declare the test's streams and publish `messages`, waiting for every ack."""
    async with JetStreamConnection(nats_url, "test-publisher") as conn:
        await declare_streams(conn, subjects, max_age=3600)
        await Publisher(conn).publish_all(messages)


@dataclass(frozen=True, slots=True)
class Running:
    """A collector running in this process: its readiness and its metrics."""

    readiness: Readiness
    registry: CollectorRegistry

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, {"source": "facebook", **labels})
        return value or 0.0


@contextlib.asynccontextmanager
async def running(settings: CollectorSettings) -> AsyncIterator[Running]:
    """Run the collector app's lifespan (what uvicorn does) for the duration of the block."""
    readiness = Readiness()
    app = create_app(settings, readiness)
    async with app.router.lifespan_context(app) as state:
        assert state is not None
        yield Running(readiness, state["registry"])


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, seconds: float = 60.0, what: str = "condition"
) -> None:
    """Wait until `condition()` holds; fail naming `what` if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def count_rows(database_url: str, where: str = "TRUE") -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(f"SELECT count(*) FROM events WHERE {where}")
    finally:
        await conn.close()
    return count
