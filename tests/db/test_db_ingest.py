"""The bulk write path: typed rows, each event stored once, inside the caller's transaction."""

import asyncio
import random
from decimal import Decimal

import asyncpg
import orjson
import pytest

from funnel.db import event_key, store_events
from funnel.db.raw import read_raw_events
from funnel.events.wire import KEY_MAX_LENGTH
from tests.db.db_samples import batch_of, facebook_event, rows_of, tiktok_event


async def _count(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM events")
    return count


async def test_rows_are_stored_with_typed_columns(conn: asyncpg.Connection) -> None:
    """Each event becomes one row whose typed columns match the wire event, and its raw form
    reads back exactly as it came."""
    facebook, tiktok = facebook_event(), tiktok_event()
    rows, batch = batch_of([facebook, tiktok])
    async with conn.transaction():
        inserted = await store_events(conn, rows, [batch])
    assert inserted == 2
    fb = await conn.fetchrow(
        "SELECT * FROM events WHERE event_key = $1", event_key(facebook["eventId"])
    )
    tt = await conn.fetchrow(
        "SELECT * FROM events WHERE event_key = $1", event_key(tiktok["eventId"])
    )
    assert fb is not None
    assert tt is not None
    assert (fb["source"], fb["funnel_stage"], fb["event_type"]) == (
        "facebook",
        "bottom",
        "checkout.complete",
    )
    assert fb["purchase_amount"] == Decimal("12.34")
    assert fb["campaign_id"] == "camp-ab12c"
    assert (fb["age"], fb["gender"], fb["country"], fb["city"]) == (34, "female", "Ukraine", "Kyiv")
    assert fb["occurred_at"].isoformat() == "2026-11-25T10:00:00.123000+00:00"
    kept = await conn.fetchrow("SELECT * FROM raw_batches WHERE batch_id = $1", batch.batch_id)
    assert (kept["correlation_id"], kept["received_at"]) == ("corr-1", batch.received_at)
    raw = await read_raw_events(conn, [(row.occurred_at, row.event_key) for row in rows])
    assert raw[(fb["occurred_at"], fb["event_key"])] == orjson.dumps(facebook)
    assert raw[(tt["occurred_at"], tt["event_key"])] == orjson.dumps(tiktok)
    assert fb["payload"] is None
    assert (tt["device"], tt["country"], tt["followers"]) == ("iOS", "Brazil", 1500)
    assert (tt["purchase_amount"], tt["age"]) == (None, None)


async def test_tiktok_purchase_keeps_its_amount(conn: asyncpg.Connection) -> None:
    """A TikTok bottom-funnel purchase stores its amount exactly and no engagement country."""
    event = tiktok_event(stage="bottom", amount="499.99")
    async with conn.transaction():
        await store_events(conn, rows_of([event]))
    row = await conn.fetchrow("SELECT purchase_amount, country, device FROM events")
    assert row is not None
    assert tuple(row) == (Decimal("499.99"), None, None)


async def test_same_batch_twice_is_stored_once(conn: asyncpg.Connection) -> None:
    """Storing a batch again (a redelivery) inserts nothing and reports zero new rows."""
    rows = rows_of([facebook_event() for _ in range(50)] + [tiktok_event() for _ in range(50)])
    async with conn.transaction():
        first = await store_events(conn, rows)
    async with conn.transaction():
        second = await store_events(conn, rows)
    assert (first, second) == (100, 0)
    assert await _count(conn) == 100


async def test_duplicates_inside_one_batch_are_stored_once(conn: asyncpg.Connection) -> None:
    """The same event twice in one call is one row."""
    event = facebook_event()
    async with conn.transaction():
        inserted = await store_events(conn, rows_of([event, event, facebook_event()]))
    assert inserted == 2
    assert await _count(conn) == 2


@pytest.mark.parametrize(("first_commits", "second_inserts"), [(True, 0), (False, 1)])
async def test_an_event_stored_by_two_writers_at_once_is_one_row(
    conn: asyncpg.Connection, database_url: str, first_commits: bool, second_inserts: int
) -> None:
    """A second writer of the same event waits for the first and then skips it, or stores
    it if the first rolls back; either way both calls succeed and the event is one row."""
    shared = rows_of([facebook_event()])
    other = await asyncpg.connect(database_url)
    try:
        first = conn.transaction()
        await first.start()
        assert await store_events(conn, rows_of([facebook_event()]) + shared) == 2

        async def second() -> int:
            async with other.transaction():
                return await store_events(other, shared)

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # held by the first writer's uncommitted row
        await (first.commit() if first_commits else first.rollback())
        assert await asyncio.wait_for(waiting, timeout=10) == second_inserts
    finally:
        await other.close()
    assert await _count(conn) == (2 if first_commits else 1)


async def test_a_writer_waiting_for_its_turn_holds_no_lock_on_events(
    conn: asyncpg.Connection, database_url: str
) -> None:
    """A second writer of the same source waits for the first one's turn without holding
    `events`: a retention drop, which needs `events` to itself, gets it as soon as the first
    commits, and the second then waits for the drop, and stores its event after it."""
    second_writer = await asyncpg.connect(database_url)
    drop = await asyncpg.connect(database_url)
    try:
        # A connection's first write makes its temporary tables, which reads `events`; a
        # pooled writer's connection has done that long before.
        async with second_writer.transaction():
            await store_events(second_writer, rows_of([tiktok_event()]))
        first = conn.transaction()
        await first.start()
        await store_events(conn, rows_of([facebook_event()]))

        async def second() -> int:
            async with second_writer.transaction():
                return await store_events(second_writer, rows_of([facebook_event()]))

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # its source's turn is the first writer's
        held = await drop.fetchval(
            "SELECT count(*) FROM pg_locks WHERE pid = $1 AND relation = 'events'::regclass",
            second_writer.get_server_pid(),
        )
        assert held == 0

        async def exclusive() -> None:
            async with drop.transaction():
                await drop.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
                await asyncio.sleep(0.3)  # the drop's own work, the second writer held

        dropping = asyncio.create_task(exclusive())
        await asyncio.sleep(0.3)
        assert not dropping.done()  # the first writer still holds `events`
        await first.commit()
        await asyncio.wait_for(dropping, timeout=10)
        assert not waiting.done()  # it waited for the drop, not the drop for it
        assert await asyncio.wait_for(waiting, timeout=10) == 1
    finally:
        await second_writer.close()
        await drop.close()
    assert await _count(conn) == 3


async def test_new_rows_are_visible_to_summaries_in_the_transaction(
    conn: asyncpg.Connection,
) -> None:
    """`_new_events` holds exactly the rows this call inserted, until the commit."""
    known = rows_of([facebook_event()])
    async with conn.transaction():
        await store_events(conn, known)
    fresh = rows_of([tiktok_event(), tiktok_event()])
    async with conn.transaction():
        await store_events(conn, known + fresh)
        new_ids = {
            row["event_key"] for row in await conn.fetch("SELECT event_key FROM _new_events")
        }
    assert new_ids == {row.event_key for row in fresh}
    assert await conn.fetchval("SELECT count(*) FROM _new_events") == 0


async def test_rollback_stores_nothing(conn: asyncpg.Connection) -> None:
    """When the caller's transaction rolls back, no row of the batch remains."""
    rows = rows_of([facebook_event() for _ in range(10)])
    transaction = conn.transaction()
    await transaction.start()
    await store_events(conn, rows)
    await transaction.rollback()
    assert await _count(conn) == 0


async def test_refuses_to_run_outside_a_transaction(conn: asyncpg.Connection) -> None:
    """Calling without an open transaction is a programming error, reported at once."""
    with pytest.raises(RuntimeError, match="transaction"):
        await store_events(conn, rows_of([facebook_event()]))


def _incompressible(length: int, seed: int) -> str:
    # Random 4-byte characters: the longest a key can be in bytes, and nothing for TOAST to
    # compress, so each index entry is as large as validation lets it be.
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x1F300, 0x1FAFF)) for _ in range(length))


async def test_events_at_every_bound_validation_admits_are_stored(
    conn: asyncpg.Connection,
) -> None:
    """The largest ids, places, ages, follower counts, amounts and the first and last
    instants that pass validation all fit their columns, indexes and summaries."""
    facebook = facebook_event(amount="999999999999.99")
    facebook["eventId"] = "fb-" + _incompressible(KEY_MAX_LENGTH - 3, 1)
    facebook["timestamp"] = "0001-01-01T00:00:00Z"
    user = facebook["data"]["user"]
    user["userId"] = _incompressible(KEY_MAX_LENGTH, 2)
    user["age"] = 2**15 - 1
    user["location"] = {
        "country": _incompressible(KEY_MAX_LENGTH, 3),
        "city": _incompressible(KEY_MAX_LENGTH, 4),
    }
    facebook["data"]["engagement"]["campaignId"] = _incompressible(KEY_MAX_LENGTH, 5)
    facebook["data"]["engagement"]["adId"] = _incompressible(KEY_MAX_LENGTH, 6)
    tiktok = tiktok_event()
    tiktok["timestamp"] = "9999-12-31T23:59:59.999Z"
    tiktok["data"]["user"]["followers"] = 2**63 - 1
    tiktok["data"]["engagement"]["country"] = _incompressible(KEY_MAX_LENGTH, 7)
    async with conn.transaction():
        assert await store_events(conn, rows_of([facebook, tiktok])) == 2
    stored = await conn.fetchrow(
        "SELECT age, purchase_amount FROM events WHERE source = 'facebook'"
    )
    assert stored is not None
    assert tuple(stored) == (2**15 - 1, Decimal("999999999999.99"))


async def test_follower_sums_never_overflow(conn: asyncpg.Connection) -> None:
    """The audience summary adds every follower count of a bucket: counts at the largest
    valid value still store, and later events of the same minute do too."""
    events = [tiktok_event() for _ in range(3)]
    for event, followers in zip(events, (2**63 - 1, 2**63 - 1, 5), strict=True):
        event["data"]["user"]["followers"] = followers
    for event in events:
        async with conn.transaction():
            assert await store_events(conn, rows_of([event])) == 1
    total = await conn.fetchval(
        "SELECT followers FROM audience_counts"
        " WHERE grain = 'minute' AND source = 'tiktok' AND dimension = 'all'"
    )
    assert total == 2 * (2**63 - 1) + 5


async def test_a_message_crossing_a_partition_bound_keeps_its_batch_in_both(
    conn: asyncpg.Connection,
) -> None:
    """A message whose events fall in two partitions is kept beside each, so dropping either
    partition never takes the raw form of the other's events; a redelivery adds nothing."""
    early, late = facebook_event(), tiktok_event()
    early["timestamp"], late["timestamp"] = "2026-11-25T10:59:59.999Z", "2026-11-25T11:00:00.000Z"
    rows, batch = batch_of([early, late])
    for _ in range(2):
        async with conn.transaction():
            await store_events(conn, rows, [batch])
    kept = await conn.fetch("SELECT tableoid::regclass::text AS part FROM raw_batches ORDER BY 1")
    assert [row["part"] for row in kept] == ["batches_20261125_100000", "batches_20261125_110000"]
    raw = await read_raw_events(conn, [(row.occurred_at, row.event_key) for row in rows])
    assert sorted(raw.values()) == sorted([orjson.dumps(early), orjson.dumps(late)])
