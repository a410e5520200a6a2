"""A database outage mid-run: batches wait or come back later, readiness fails, nothing is lost."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from funnel.events import Subjects
from funnel.jetstream import JetStreamConnection, read_messages
from funnel.local import EmbeddedPostgres
from tests.collector.collector_traffic import (
    collector_settings,
    count_rows,
    eventually,
    make_events,
    messages_of,
    publish,
    running,
)


@pytest.fixture
async def own_postgres(server_dir: Path) -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    """A PostgreSQL server of this test's own (so it can be stopped) and a database URL."""
    server = EmbeddedPostgres(server_dir / "pg")
    await asyncio.to_thread(server.start)
    try:
        admin = await asyncpg.connect(server.url)
        try:
            await admin.execute("CREATE DATABASE funnel")
        finally:
            await admin.close()
        yield server, server.url.rsplit("/", 1)[0] + "/funnel"
    finally:
        await asyncio.to_thread(server.stop)


async def test_database_restart_mid_run_loses_nothing(
    subjects: Subjects,
    nats_url: str,
    own_postgres: tuple[EmbeddedPostgres, str],
) -> None:
    """With PostgreSQL stopped and started again mid-run every event is stored exactly once."""
    server, database_url = own_postgres
    before, during = make_events("facebook", 5_000, seed=11), make_events("facebook", 10_000, 12)
    settings = collector_settings(nats_url, database_url, subjects)
    async with running(settings) as collector:
        await publish(nats_url, subjects, messages_of(subjects, "facebook", before))

        async def first_stored() -> bool:
            return await count_rows(database_url) == len(before)

        await eventually(first_stored, what="the events before the outage")

        await asyncio.to_thread(server.stop, "fast")
        await publish(nats_url, subjects, messages_of(subjects, "facebook", during))

        async def waiting_and_not_ready() -> bool:
            checks = await collector.readiness.run()
            waits = collector.metric("funnel_collector_database_retries_total")
            return checks["database"] != "ok" and waits >= 2

        await eventually(waiting_and_not_ready, what="a batch waiting and readiness failing")

        await asyncio.to_thread(server.start)

        async def all_stored() -> bool:
            return await count_rows(database_url) == len(before) + len(during)

        await eventually(all_stored, what="every event after the restart")
        assert set((await collector.readiness.run()).values()) == {"ok"}
    assert await count_rows(database_url) == 15_000
    async with JetStreamConnection(nats_url, "test-reader") as conn:
        letters = [m async for m in read_messages(conn, subjects.dead_letter_stream)]
    assert letters == []
