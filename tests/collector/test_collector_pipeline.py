"""From JetStream to PostgreSQL: every event stored exactly once, however it is delivered."""

import asyncio

import asyncpg

from funnel.events import Subjects
from tests.collector.collector_traffic import (
    collector_settings,
    count_rows,
    eventually,
    make_events,
    message,
    messages_of,
    publish,
    running,
)


async def test_twenty_thousand_events_become_twenty_thousand_rows(
    subjects: Subjects, nats_url: str, database_url: str
) -> None:
    """20,000 published events end up as exactly 20,000 rows, each with its correlation id."""
    events = make_events("facebook", 20_000)
    await publish(nats_url, subjects, messages_of(subjects, "facebook", events))
    async with running(collector_settings(nats_url, database_url, subjects)) as collector:

        async def all_stored() -> bool:
            return await count_rows(database_url) >= len(events)

        await eventually(all_stored, what="20,000 rows")
        assert collector.metric("funnel_collector_events_processed_total") == 20_000
        assert collector.metric("funnel_collector_events_accepted_total") == 20_000
        assert collector.metric("funnel_collector_ingest_lag_seconds_count") == 20
        checks = await collector.readiness.run()
        assert set(checks.values()) == {"ok"}
    assert await count_rows(database_url) == 20_000
    batches = "batch_id IN (SELECT batch_id FROM raw_batches WHERE {})"
    assert await count_rows(database_url, batches.format("correlation_id IS NULL")) == 0
    assert await count_rows(database_url, batches.format("correlation_id = 'corr-19000'")) == 1_000


async def test_same_batch_delivered_twice_is_stored_once(
    subjects: Subjects, nats_url: str, database_url: str
) -> None:
    """A batch published twice (as a redelivery would bring it) is stored once."""
    events = make_events("facebook", 500)
    [original] = messages_of(subjects, "facebook", events)
    again = message(subjects, "facebook", original.payload, count=500, correlation_id="again")
    await publish(nats_url, subjects, [original, again])
    async with running(collector_settings(nats_url, database_url, subjects)) as collector:

        async def both_handled() -> bool:
            return collector.metric("funnel_collector_events_processed_total") == 1_000

        await eventually(both_handled, what="both deliveries committed")
        assert collector.metric("funnel_collector_events_duplicate_total") == 500
    assert await count_rows(database_url) == 500


async def test_two_replicas_split_the_work_without_duplicates(
    subjects: Subjects, nats_url: str, database_url: str
) -> None:
    """Two replicas on one durable share its messages; together they store each event once."""
    events = make_events("facebook", 20_000, seed=2)
    # Small fetches so that neither replica can take everything in its first few fetches.
    settings = collector_settings(nats_url, database_url, subjects, fetch_messages=1, consumers=1)
    await publish(nats_url, subjects, messages_of(subjects, "facebook", events, per_message=250))
    async with running(settings) as first, running(settings) as second:

        async def all_stored() -> bool:
            return await count_rows(database_url) >= len(events)

        await eventually(all_stored, what="20,000 rows")
        processed = [
            replica.metric("funnel_collector_events_processed_total") for replica in (first, second)
        ]
        duplicates = [
            replica.metric("funnel_collector_events_duplicate_total") for replica in (first, second)
        ]
    assert await count_rows(database_url) == 20_000
    assert all(share > 0 for share in processed), processed
    assert sum(processed) == 20_000
    assert duplicates == [0, 0]


async def test_summaries_count_what_was_stored(
    subjects: Subjects, nats_url: str, database_url: str
) -> None:
    """The per-day event summary agrees with the rows, even after a redelivered batch."""
    events = make_events("facebook", 2_000, seed=3)
    messages = messages_of(subjects, "facebook", events)
    again = message(subjects, "facebook", messages[0].payload, count=1_000)
    await publish(nats_url, subjects, [*messages, again])
    async with running(collector_settings(nats_url, database_url, subjects)) as collector:

        async def handled() -> bool:
            return collector.metric("funnel_collector_events_processed_total") == 3_000

        await eventually(handled, what="three messages committed")
    conn = await asyncpg.connect(database_url)
    try:
        summarised = await conn.fetchval(
            "SELECT sum(events) FROM event_counts WHERE grain = 'day' AND source = 'facebook'"
        )
    finally:
        await conn.close()
    assert summarised == 2_000


async def test_ready_only_while_running(
    subjects: Subjects, nats_url: str, database_url: str
) -> None:
    """Readiness is ok while the collector runs and reports draining once it stops."""
    async with running(collector_settings(nats_url, database_url, subjects)) as collector:
        assert (await collector.readiness.run())["lifecycle"] == "ok"
        await asyncio.sleep(0)
    assert (await collector.readiness.run())["lifecycle"] == "stopped"
