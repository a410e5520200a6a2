"""The summaries ingest keeps equal the ones recomputed from `events`, even when concurrent."""

import asyncio

import asyncpg

from funnel.db import event_key, run_migrations
from funnel.db.ingest import store_events
from funnel.db.summaries import rebuild_summaries
from tests.db.downgrade import downgrade
from tests.reporter.conftest import Loaded, load, running_reporter
from tests.reporter.report_dataset import Window, expected_demographics, generate

_TABLES = {
    "event_counts": "grain, bucket, source, funnel_stage, event_type",
    "audience_counts": "grain, bucket, source, dimension, value, detail",
    "follower_counts": "grain, bucket, source, bin",
    "campaign_totals": "campaign_id",
}


async def _contents(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    found = {
        table: await conn.fetch(f"SELECT * FROM {table} ORDER BY {keys}")
        for table, keys in _TABLES.items()
    }
    found["repeat_events"] = await conn.fetch("SELECT * FROM repeat_events ORDER BY event_key")
    return found


class _RollbackError(Exception):
    pass


async def test_ingest_matches_rebuild(loaded: Loaded) -> None:
    """Summaries kept batch by batch equal those rebuilt from all events at once."""
    conn = await asyncpg.connect(loaded.url)
    try:
        kept = await _contents(conn)
        assert all(kept.values())
        try:
            async with conn.transaction():
                await rebuild_summaries(conn)
                rebuilt = await _contents(conn)
                raise _RollbackError
        except _RollbackError:
            pass
    finally:
        await conn.close()
    assert kept == rebuilt


async def test_concurrent_writers_flag_a_shared_user(database_url: str) -> None:
    """Two transactions storing events of one new user at once still count one user."""
    await run_migrations(database_url)
    first = next(row for row in generate(count=50, seed=11) if row.device is not None)
    first = first._replace(user_id="shared")
    second = first._replace(event_key=event_key("tt-other"), followers=5, device="Desktop")
    a, b = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        in_a, in_b = a.transaction(), b.transaction()
        await in_a.start()
        await store_events(a, [first])
        await in_b.start()
        # b inserts its row, then queues behind a's summary lock until a commits.
        pending = asyncio.create_task(store_events(b, [second]))
        await asyncio.sleep(0.2)
        assert not pending.done()
        await in_a.commit()
        await pending
        await in_b.commit()
    finally:
        await a.close()
        await b.close()
    async with running_reporter(database_url) as client:
        body = (await client.get("/reports/demographics", params={"source": "tiktok"})).json()
    assert body == expected_demographics([first, second], Window(None, None), "tiktok")
    assert body["tiktok"]["users"] == 1


async def test_reload_is_idempotent(database_url: str) -> None:
    """Storing the same events again changes no summary."""
    await run_migrations(database_url)
    rows = generate(count=300, seed=5)
    await load(database_url, rows)
    conn = await asyncpg.connect(database_url)
    try:
        before = await _contents(conn)
        await load(database_url, rows)
        assert await _contents(conn) == before
    finally:
        await conn.close()


async def test_follower_fine_bins_migrate_down_and_up(database_url: str) -> None:
    """Down from `0011`, each bin's events are follower facts again; up, the fine counts
    rebuilt from the events equal those ingest kept."""
    await run_migrations(database_url)
    await load(database_url, generate(count=600, seed=9))
    conn = await asyncpg.connect(database_url)
    try:
        kept = await conn.fetch("SELECT * FROM follower_counts ORDER BY grain, bucket, bin")
        await downgrade(database_url, "0010_lean_rows")
        facts = await conn.fetch(
            "SELECT grain, bucket, source, value::bigint AS bin, events FROM audience_counts"
            " WHERE dimension = 'followers' ORDER BY grain, bucket, bin"
        )
        await run_migrations(database_url)
        migrated = await conn.fetch("SELECT * FROM follower_counts ORDER BY grain, bucket, bin")
        left = await conn.fetchval(
            "SELECT count(*) FROM audience_counts WHERE dimension = 'followers'"
        )
    finally:
        await conn.close()
    assert kept
    assert [tuple(row) for row in facts] == [tuple(row)[:5] for row in kept]
    assert migrated == kept
    assert left == 0
