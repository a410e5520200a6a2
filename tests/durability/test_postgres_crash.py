"""PostgreSQL crashed mid-ingest: what was committed stays, the rest comes back from JetStream.

The server is the embedded one `funnel up` runs, stopped in `immediate` mode: its processes
quit without a checkpoint or a flush, as in a crash, and it recovers from the WAL at start.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from funnel.events import Subjects
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
from tests.faults.fault_ledger import stored_ids

EVENTS = 30_000


@pytest.fixture
async def own_postgres(server_dir: Path) -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    """An embedded PostgreSQL of this test's own (so it can crash) and a database URL on it."""
    server = EmbeddedPostgres(server_dir / "pg")
    try:
        await asyncio.to_thread(server.start)
        admin = await asyncpg.connect(server.url)
        try:
            await admin.execute("CREATE DATABASE funnel")
        finally:
            await admin.close()
        yield server, server.url.rsplit("/", 1)[0] + "/funnel"
    finally:
        await asyncio.to_thread(server.stop, "immediate")


async def _event_ids(database_url: str) -> set[str]:
    return set(await stored_ids(database_url))


async def test_embedded_postgres_commits_durably(
    own_postgres: tuple[EmbeddedPostgres, str],
) -> None:
    """The embedded PostgreSQL runs with fsync, synchronous_commit and full_page_writes on."""
    _, database_url = own_postgres
    conn = await asyncpg.connect(database_url)
    try:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            assert await conn.fetchval(f"SHOW {setting}") == "on", setting
    finally:
        await conn.close()


async def test_postgres_crash_mid_ingest_keeps_commits_and_stores_each_event_once(
    subjects: Subjects, nats_url: str, own_postgres: tuple[EmbeddedPostgres, str]
) -> None:
    """Rows committed before a crash survive it; afterwards every event is stored once."""
    server, database_url = own_postgres
    events = make_events("facebook", EVENTS, seed=31)
    async with running(collector_settings(nats_url, database_url, subjects)):
        await publish(nats_url, subjects, messages_of(subjects, "facebook", events))

        async def partly_stored() -> bool:
            return await count_rows(database_url) > 0

        await eventually(partly_stored, what="the first committed batch")
        committed = await _event_ids(database_url)
        await asyncio.to_thread(server.stop, "immediate")
        await asyncio.to_thread(server.start)

        async def all_stored() -> bool:
            try:
                return await count_rows(database_url) >= EVENTS
            except (OSError, asyncpg.PostgresError):
                return False  # still recovering

        await eventually(all_stored, seconds=90, what="every event after the crash")
    stored = await _event_ids(database_url)
    assert committed <= stored
    assert stored == {event["eventId"] for event in events}
    assert await count_rows(database_url) == EVENTS
