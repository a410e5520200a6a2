"""Migration `0010_lean_rows` on a database holding events: every row keeps its facts, its
raw event and its identity, and a redelivery of a migrated event is still skipped."""

import zlib
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from funnel.db import event_key, run_migrations, store_events
from funnel.db.raw import read_raw_events
from funnel.db.rows import raw_batch
from funnel.publisher.generator import format_timestamp
from tests.db.db_samples import batch_of, facebook_event, tiktok_event

_AT = datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC)

# The rows of 0009: a partition made as the collectors made them, and rows in its layout.
_OLD_PARTITION = """
    CREATE TABLE events_20261125_100000 PARTITION OF events
        FOR VALUES FROM ('2026-11-25 10:00:00+00') TO ('2026-11-25 11:00:00+00');
    CREATE TABLE batches_20261125_100000 PARTITION OF raw_batches
        FOR VALUES FROM ('2026-11-25 10:00:00+00') TO ('2026-11-25 11:00:00+00');
    INSERT INTO raw_partitions (name, starts, ends)
        VALUES ('events_20261125_100000', '2026-11-25 10:00:00+00', '2026-11-25 11:00:00+00');
"""
_OLD_ROW = """
    INSERT INTO events (event_id, occurred_at, received_at, source, funnel_stage, event_type,
                        user_id, campaign_id, ad_id, purchase_amount, age, gender, country,
                        city, followers, device, correlation_id, payload, batch_id, batch_index)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, NULL,
            $18, $19)
"""


async def test_stored_events_keep_their_facts_raw_form_and_identity(database_url: str) -> None:
    events = [facebook_event(stage="bottom"), tiktok_event(stage="top")]
    for event in events:
        event["timestamp"] = format_timestamp(_AT)
    data = orjson.dumps(events)
    # Compressed as the collectors of 0009 did: batches made before zstd must read back too.
    batch = raw_batch(data)._replace(events=zlib.compress(data, 1))
    received_at = _AT + timedelta(seconds=1)
    await run_migrations(database_url, revision="0009_raw_batches")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(_OLD_PARTITION)
        await conn.execute(
            "INSERT INTO raw_batches (batch_id, occurred_at, events) VALUES ($1, $2, $3)",
            batch.batch_id,
            _AT,
            batch.events,
        )
        fb, tt = events
        fb_engagement = fb["data"]["engagement"]
        await conn.execute(
            _OLD_ROW,
            fb["eventId"], _AT, received_at, "facebook", "bottom", fb["eventType"],
            fb["data"]["user"]["userId"], fb_engagement.get("campaignId"),
            fb_engagement.get("adId"), None, 34, "female", "Ukraine", "Kyiv", None, None,
            "corr-old", batch.batch_id, 0,
        )  # fmt: skip
        await conn.execute(
            _OLD_ROW,
            tt["eventId"], _AT, received_at, "tiktok", "top", tt["eventType"],
            tt["data"]["user"]["userId"], None, None, None, None, None, "Chile", None, 12,
            "iOS", "corr-old", batch.batch_id, 1,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO repeat_events (event_id, source, occurred_at, user_id, funnel_stage)"
            " VALUES ($1, 'facebook', $2, 'u', 'bottom')",
            fb["eventId"],
            _AT,
        )

        await run_migrations(database_url)

        rows = await conn.fetch("SELECT * FROM events ORDER BY source")
        assert [row["event_key"] for row in rows] == [event_key(e["eventId"]) for e in events]
        assert [(row["country"], row["followers"], row["device"]) for row in rows] == [
            ("Ukraine", None, None),
            ("Chile", 12, "iOS"),
        ]
        assert {"event_id", "correlation_id", "received_at", "ad_id"}.isdisjoint(rows[0].keys())
        stored_batch = await conn.fetchrow("SELECT correlation_id, received_at FROM raw_batches")
        assert tuple(stored_batch) == ("corr-old", received_at)
        raw = await read_raw_events(conn, [(row["occurred_at"], row["event_key"]) for row in rows])
        assert sorted(raw.values()) == sorted(orjson.dumps(event) for event in events)
        repeat = await conn.fetchval("SELECT event_key FROM repeat_events")
        assert repeat == event_key(fb["eventId"])

        # The same events posted again meet their migrated rows; a new one is stored.
        again, again_batch = batch_of([*events, facebook_event()])
        async with conn.transaction():
            assert await store_events(conn, again, [again_batch]) == 1
        assert await conn.fetchval("SELECT count(*) FROM events") == 3
    finally:
        await conn.close()
