"""Writers' filters of seen users: the repeat-user probe asks only about users a recent
partition might hold, and finds every repeat user it found without them."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np

from funnel.db import SeenUsers, store_events
from funnel.db.retention import RetentionPolicy, maintain
from funnel.db.summaries import rebuild_summaries
from funnel.db.user_filter import UserFilter, hashes_of, might_hold
from funnel.publisher.generator import format_timestamp
from tests.db.db_samples import facebook_event, rows_of, tiktok_event

_MINUTE = timedelta(minutes=1)
_MS = timedelta(milliseconds=1)
_START = datetime(2026, 11, 25, 10, 0, 40, tzinfo=UTC)


def test_a_filter_holds_every_user_added_as_it_grows() -> None:
    """No false negatives, past the first layer too, and few false positives."""
    rng = np.random.default_rng(5)
    added = rng.integers(-(2**63), 2**63 - 1, size=300_000, dtype=np.int64)
    user_filter = UserFilter(expected=1_000)
    for part in np.array_split(added, 7):
        user_filter.add(part)
    assert user_filter.count == len(added)
    assert len(user_filter.layers) == 2  # it outgrew its first layer
    assert np.array_equal(might_hold([user_filter], added), added)
    others = rng.integers(-(2**63), 2**63 - 1, size=100_000, dtype=np.int64)
    assert len(might_hold([user_filter], others)) < 0.03 * len(others)
    assert len(might_hold([], added)) == 0


def test_a_filter_sized_for_its_users_takes_two_bytes_a_user() -> None:
    """A layer is as many words as its expected users need, not rounded up to a power of
    two, and still holds each of them with ~0.8% false positives."""
    rng = np.random.default_rng(7)
    expected = 600_001  # 150,001 words; rounded up to a power of two, 262,144
    added = rng.integers(-(2**63), 2**63 - 1, size=expected, dtype=np.int64)
    user_filter = UserFilter(expected=expected)
    user_filter.add(added)
    assert len(user_filter.layers) == 1
    assert user_filter.nbytes == 8 * 150_001
    assert np.array_equal(might_hold([user_filter], added), added)
    others = rng.integers(-(2**63), 2**63 - 1, size=200_000, dtype=np.int64)
    assert 0.004 < len(might_hold([user_filter], others)) / len(others) < 0.012


def test_log_rows_read_back_as_postgresql_wrote_them() -> None:
    """`int8send`'s big-endian bytes, negative hashes included."""
    packed = (-5).to_bytes(8, "big", signed=True) + (2**62).to_bytes(8, "big", signed=True)
    assert hashes_of(packed).tolist() == [-5, 2**62]


def _event(source: str, user: str, moment: datetime) -> dict[str, Any]:
    event = facebook_event() if source == "facebook" else tiktok_event()
    event["data"]["user"]["userId"] = user
    event["timestamp"] = format_timestamp(moment)
    return event


async def _store(conn: asyncpg.Connection, events: list[dict[str, Any]], seen: SeenUsers) -> int:
    async with conn.transaction():
        return await store_events(conn, rows_of(events), partition_width=_MINUTE, seen_users=seen)


async def _repeat_events(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    found: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM repeat_events ORDER BY occurred_at, event_key"
    )
    return found


async def _rebuilt_repeat_events(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """What a rebuild from every stored event finds (then rolled back)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await rebuild_summaries(conn)
        return await _repeat_events(conn)
    finally:
        await transaction.rollback()


def _batches(seed: int) -> list[list[dict[str, Any]]]:
    """Facebook batches over three one-minute partitions: most users once, some again in a
    later batch, some twice within one batch, some in another partition."""
    rng = random.Random(seed)
    returning = [f"back-{n}" for n in range(15)]
    batches = []
    for number in range(12):
        moment = _START + number * timedelta(seconds=10)
        batch = [_event("facebook", f"once-{number}-{n}", moment) for n in range(40)]
        batch += [_event("facebook", rng.choice(returning), moment) for _ in range(3)]
        batch += [_event("facebook", f"twice-{number}", moment + k * _MS) for k in range(2)]
        batches.append(batch)
    return batches


async def test_the_probe_skips_new_users_and_finds_every_repeat(
    conn: asyncpg.Connection,
) -> None:
    """Across batches and partitions, within a batch: the repeat users with filters are
    those a rebuild finds, while most new events are never asked about."""
    seen = SeenUsers()
    for batch in _batches(seed=3):
        await _store(conn, batch, seen)
    found = await _repeat_events(conn)
    assert found
    assert found == await _rebuilt_repeat_events(conn)
    assert seen.unfiltered == 0
    assert seen.skipped > 10 * seen.asked > 0
    assert seen.nbytes > 0


async def test_replicas_catch_up_from_each_others_log(
    database_url: str, conn: asyncpg.Connection
) -> None:
    """Two writers of one source taking turns: each learns the other's users from the log,
    so both stay filtered and a user stored by one is a repeat user for the other."""
    other = await asyncpg.connect(database_url)
    try:
        first, second = SeenUsers(), SeenUsers()
        for number, batch in enumerate(_batches(seed=4)):
            if number % 2:
                await _store(other, batch, second)
            else:
                await _store(conn, batch, first)
        found = await _repeat_events(conn)
        assert len({row["user_id"] for row in found}) > 12  # "back-" users and "twice-" ones
        assert found == await _rebuilt_repeat_events(conn)
        assert first.unfiltered == second.unfiltered == 0
        assert first.skipped > 0
        assert second.skipped > 0
    finally:
        await other.close()


async def test_events_stored_without_the_log_make_the_probe_ask_about_all(
    conn: asyncpg.Connection,
) -> None:
    """Rows the log lacks (a bulk load, rows from before it) leave the filter incomplete: the
    probe asks about every user there, and still finds the repeat user."""
    seen = SeenUsers()
    await _store(conn, [_event("facebook", "early", _START)], seen)
    await conn.execute("DELETE FROM user_hashes")  # as if stored before the log existed
    await _store(conn, [_event("facebook", "early", _START + timedelta(seconds=1))], SeenUsers())
    fresh = SeenUsers()
    await _store(conn, [_event("facebook", "early", _START + timedelta(seconds=2))], fresh)
    assert fresh.unfiltered == 1
    assert len(await _repeat_events(conn)) == 3
    assert await _repeat_events(conn) == await _rebuilt_repeat_events(conn)


async def test_a_dropped_partition_takes_its_log_and_a_stale_filter_is_made_anew(
    conn: asyncpg.Connection,
) -> None:
    """Retention drops a partition's log rows with it; a writer whose filter counted them
    makes a new one when the partition is made again, and stays filtered."""
    seen = SeenUsers()
    await _store(conn, [_event("tiktok", f"u-{n}", _START) for n in range(5)], seen)
    await _store(conn, [_event("tiktok", "v", _START)], seen)  # catches up with the first
    policy = RetentionPolicy(time=timedelta(minutes=5), size=None, width=_MINUTE)
    await maintain(conn, policy, datetime.now(UTC) + timedelta(days=1))
    assert await conn.fetchval("SELECT count(*) FROM user_hashes") == 0
    await _store(conn, [_event("tiktok", "u-1", _START)], seen)
    assert seen.unfiltered == 1  # the stale filter is let go, the batch asked about all
    await _store(conn, [_event("tiktok", "u-1", _START + timedelta(seconds=1))], seen)
    assert seen.unfiltered == 1
    assert seen.asked == 1
    assert len(await _repeat_events(conn)) == 2


async def test_filters_past_their_memory_bound_stop_answering_and_stay_exact(
    conn: asyncpg.Connection,
) -> None:
    """A writer whose filters would outgrow `max_bytes` asks about every user instead."""
    seen = SeenUsers(max_bytes=1_000)  # less than the smallest layer
    first, *later = _batches(seed=6)[:4]
    await _store(conn, first, seen)  # an empty filter, which needs no memory, still answers
    assert seen.skipped > 0
    for batch in later:
        await _store(conn, batch, seen)
    assert seen.nbytes == 0
    assert seen.unfiltered == sum(len(batch) for batch in later)
    assert await _repeat_events(conn) == await _rebuilt_repeat_events(conn)
