"""The repeat-user probe: `recent_users` links the events of a user stored up to twice
REPEAT_USER_WINDOW apart, and is bounded by that window and by the raw partitions kept."""

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from funnel.db import store_events
from funnel.db.retention import RetentionPolicy, maintain
from funnel.publisher.generator import format_timestamp
from tests.db.db_samples import facebook_event, rows_of, tiktok_event

_WINDOW = timedelta(minutes=30)


def _of(user: str, moment: datetime, event: dict[str, Any] | None = None) -> dict[str, Any]:
    event = event or facebook_event()
    event["data"]["user"]["userId"] = user
    event["timestamp"] = format_timestamp(moment)
    return event


async def _store(conn: asyncpg.Connection, *events: dict[str, Any]) -> None:
    async with conn.transaction():
        await store_events(conn, rows_of(list(events)), partition_width=timedelta(hours=1))


def _policy(**overrides: Any) -> RetentionPolicy:
    settings: dict[str, Any] = {
        "time": timedelta(days=1),
        "size": None,
        "width": timedelta(hours=1),
        "repeat_user_window": _WINDOW,
    }
    return RetentionPolicy(**{**settings, **overrides})


async def _repeats(conn: asyncpg.Connection) -> list[tuple[str, datetime]]:
    rows = await conn.fetch("SELECT user_id, occurred_at FROM repeat_events ORDER BY occurred_at")
    return [(row["user_id"], row["occurred_at"]) for row in rows]


async def _age_entries(conn: asyncpg.Connection, by: timedelta) -> None:
    """As if every user in `recent_users` had been stored `by` earlier."""
    await conn.execute("UPDATE recent_users SET stored_at = stored_at - $1::interval", by)


async def test_a_user_stored_again_is_a_repeat_user(conn: asyncpg.Connection) -> None:
    """A user's second event, in a later transaction and hours away by timestamp, copies both
    events into `repeat_events`; users seen once are not copied; one entry per user."""
    now = datetime.now(UTC).replace(microsecond=0)
    await _store(conn, _of("u", now - timedelta(hours=3)), _of("once", now))
    await _store(conn, _of("u", now), _of("also-once", now), _of("u", now, tiktok_event()))

    assert await _repeats(conn) == [("u", now - timedelta(hours=3)), ("u", now)]
    # TikTok's "u" is another user: one event, not copied, an entry of its own.
    assert await conn.fetchval("SELECT count(*) FROM recent_users") == 4
    held = "SELECT occurred_at FROM recent_users WHERE user_hash = funnel_user_hash($1, $2)"
    assert await conn.fetchval(held, "facebook", "u") == now


async def test_two_events_of_a_user_in_one_batch_are_copied(conn: asyncpg.Connection) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    await _store(conn, _of("u", now), _of("u", now + timedelta(seconds=1)), _of("v", now))
    assert await _repeats(conn) == [("u", now), ("u", now + timedelta(seconds=1))]


async def test_users_stored_more_than_twice_the_window_apart_are_not_linked(
    conn: asyncpg.Connection,
) -> None:
    now = datetime.now(UTC)
    await _store(conn, _of("u", now))
    assert await maintain(conn, _policy(), now + 2 * _WINDOW - timedelta(minutes=1)) == []
    assert await conn.fetchval("SELECT count(*) FROM recent_users") == 1
    await maintain(conn, _policy(), now + 2 * _WINDOW + timedelta(minutes=1))
    assert await conn.fetchval("SELECT count(*) FROM recent_users") == 0

    await _store(conn, _of("u", now + timedelta(seconds=1)))
    assert await _repeats(conn) == []


async def test_a_returning_user_keeps_their_entry(conn: asyncpg.Connection) -> None:
    """Each event of a user renews their entry: a user whose events come 45 minutes apart
    stays linked for as long as they keep coming, though the first came 90 minutes ago."""
    now = datetime.now(UTC).replace(microsecond=0)
    for minutes in (0, 1, 2):
        await _store(conn, _of("u", now + timedelta(minutes=minutes)))
        await _age_entries(conn, timedelta(minutes=45))
        await maintain(conn, _policy(), datetime.now(UTC))
    assert len(await _repeats(conn)) == 3


async def test_a_dropped_partitions_users_leave_with_it(conn: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    await _store(conn, _of("old", now - timedelta(hours=5)), _of("new", now))
    dropped = await maintain(conn, _policy(time=timedelta(minutes=5)), now + timedelta(minutes=6))
    assert sum(d.events for d in dropped) == 2
    assert await conn.fetchval("SELECT count(*) FROM recent_users") == 0


async def test_a_partition_dropped_for_size_leaves_newer_users(conn: asyncpg.Connection) -> None:
    """Only the users whose entry points into the dropped partition leave."""
    now = datetime.now(UTC)
    await _store(conn, _of("old", now - timedelta(hours=5)))
    await _store(conn, _of("new", now))
    dropped = await maintain(conn, _policy(size=1), now)
    assert [d.reason for d in dropped] == ["size"]
    assert await conn.fetchval(
        "SELECT user_hash = funnel_user_hash('facebook', 'new') FROM recent_users"
    )


async def test_arrivals_record_the_spread_of_delays(conn: asyncpg.Connection) -> None:
    """Each partition keeps the least and the greatest delay (arrival less timestamp) of its
    events: what the reporter reads to say when users are counted once."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    moments = [hour + timedelta(seconds=1), hour + timedelta(seconds=2)]
    await _store(conn, *(_of("u", moment) for moment in moments))
    row = await conn.fetchrow("SELECT min_delay, max_delay FROM raw_arrivals")
    assert row is not None
    assert now - moments[1] <= row["min_delay"] < now - moments[1] + timedelta(seconds=30)
    assert row["max_delay"] - row["min_delay"] == timedelta(seconds=1)
