"""Time partitions and retention against a real PostgreSQL: made ahead, dropped behind, and
what a report says once raw rows are gone."""

import asyncio
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import asyncpg

from funnel.db import run_migrations, store_events
from funnel.db.partitions import (
    batches_of,
    create_partitions,
    list_partitions,
    retire_partition,
)
from funnel.db.retention import RetentionPolicy, footprint, maintain
from funnel.publisher.generator import format_timestamp
from tests.db.db_samples import facebook_event, rows_of, tiktok_event
from tests.db.downgrade import downgrade
from tests.reporter.conftest import running_reporter

_MINUTE = timedelta(minutes=1)


def _at(event: dict[str, Any], moment: datetime) -> dict[str, Any]:
    event["timestamp"] = format_timestamp(moment)
    return event


async def _store(conn: asyncpg.Connection, events: list[dict[str, Any]]) -> int:
    async with conn.transaction():
        return await store_events(conn, rows_of(events), partition_width=_MINUTE)


def _policy(**overrides: Any) -> RetentionPolicy:
    return RetentionPolicy(
        **{"time": timedelta(minutes=5), "size": None, "width": _MINUTE, **overrides}
    )


async def _count(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM events")
    return count


async def test_partitions_are_made_ahead_of_the_present(conn: asyncpg.Connection) -> None:
    """A round makes the partitions holding now and the next two widths."""
    now = datetime.now(UTC)
    await maintain(conn, _policy(), now)
    partitions = await list_partitions(conn)
    for moment in (now, now + _MINUTE, now + 2 * _MINUTE):
        assert any(p.holds(moment) for p in partitions)


async def test_inserts_alone_never_trigger_a_vacuum_of_raw_partitions(
    conn: asyncpg.Connection,
) -> None:
    """Partitions are only inserted into, then dropped: autovacuum is told not to vacuum them
    (nor their TOAST) for inserts, and still analyzes them."""
    now = datetime.now(UTC)
    made = await create_partitions(conn, [now], _MINUTE)
    names = [made[0].name, batches_of(made[0].name)]
    rows = await conn.fetch(
        "SELECT c.relname, c.reloptions, t.reloptions AS toast FROM pg_class AS c"
        " JOIN pg_class AS t ON t.oid = c.reltoastrelid WHERE c.relname = ANY($1::text[])",
        names,
    )
    assert sorted(row["relname"] for row in rows) == sorted(names)
    for row in rows:
        assert row["reloptions"] == ["autovacuum_vacuum_insert_threshold=-1"]
        assert row["toast"] == ["autovacuum_vacuum_insert_threshold=-1"]


async def test_expired_partitions_go_and_stay_counted_in_every_report(
    conn: asyncpg.Connection, database_url: str
) -> None:
    """Once its latest arrival is older than the retention time a partition is dropped, its
    rows counted in raw_gaps; the summaries still count its events, and a report over it says
    what it covered."""
    old = datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC)
    await _store(conn, [_at(facebook_event(), old) for _ in range(3)])
    await _store(conn, [_at(tiktok_event(), old + timedelta(seconds=5))])

    # Nothing expires within the retention time of the arrival...
    assert await maintain(conn, _policy(), datetime.now(UTC)) == []
    # ...and everything stored has, once that time has passed.
    later = datetime.now(UTC) + timedelta(minutes=6)
    dropped = await maintain(conn, _policy(), later)

    # (The partitions made ahead of the first round expire too, empty.)
    assert [(d.events, d.reason) for d in dropped if d.events] == [(4, "time")]
    assert await _count(conn) == 0
    held = await footprint(conn)
    assert (held.dropped_events, held.retained_events) == (4, 0)
    async with running_reporter(database_url) as client:
        whole = await client.get("/reports/events", params={"from": "2026-11-25T10:00:00Z"})
        edge = await client.get(
            "/reports/events",
            params={"from": "2026-11-25T10:00:30.500Z", "to": "2026-11-25T10:00:40Z"},
        )
        revenue = await client.get("/reports/revenue")
        people = await client.get("/reports/demographics")
    assert whole.json()["total"] == 4
    assert whole.json()["coverage"]["complete"] is True
    # The raw rows of the edge's first half second are gone: it answers from 10:00:31.
    assert edge.json()["coverage"] == {
        "from": "2026-11-25T10:00:31Z",
        "to": "2026-11-25T10:00:40Z",
        "complete": False,
    }
    assert edge.json()["total"] == 1
    assert revenue.json()["totalRevenue"] == "37.02"
    assert revenue.json()["topCampaigns"] == []
    assert revenue.json()["topCampaignsCoverage"]["complete"] is False
    assert people.json()["coverage"]["complete"] is False
    assert await conn.fetchval("SELECT count(*) FROM campaign_totals") == 0


async def test_size_bound_drops_the_oldest_arrival_first(conn: asyncpg.Connection) -> None:
    """Past the size bound the partition with the oldest latest arrival goes first, and never
    the one holding the present."""
    now = datetime.now(UTC)
    await _store(conn, [_at(facebook_event(), now - timedelta(hours=2))])
    await _store(conn, [_at(facebook_event(), now - timedelta(hours=1))])
    await _store(conn, [_at(facebook_event(), now)])

    dropped = await maintain(conn, _policy(size=1, time=timedelta(days=1)), now)

    assert [d.reason for d in dropped] == ["size", "size"]
    assert await _count(conn) == 1
    assert (await conn.fetchval("SELECT occurred_at FROM events")) == now.replace(
        microsecond=now.microsecond // 1000 * 1000
    )


async def test_late_and_future_events_are_kept_from_their_arrival(
    conn: asyncpg.Connection,
) -> None:
    """An event stamped far in the past or the future gets a partition of its own time, is
    counted at once, and expires only once the retention time has passed since it arrived."""
    now = datetime.now(UTC)
    moments = [datetime(2001, 5, 1, 12, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)]
    assert await _store(conn, [_at(facebook_event(), m) for m in moments]) == 2
    assert await _count(conn) == 2

    assert await maintain(conn, _policy(), now + timedelta(minutes=4)) == []
    assert await _count(conn) == 2
    dropped = await maintain(conn, _policy(), now + timedelta(minutes=6))
    assert sorted(d.events for d in dropped if d.events) == [1, 1]
    assert await _count(conn) == 0


async def test_redelivery_across_a_partition_boundary_stores_once(
    conn: asyncpg.Connection,
) -> None:
    """A batch whose events fall on both sides of a partition bound, delivered twice (and once
    more after a late partition was made), is stored once and counted once."""
    bound = datetime(2026, 11, 25, 10, 1, tzinfo=UTC)
    events = [_at(facebook_event(), bound - timedelta(milliseconds=1)) for _ in range(5)]
    events += [_at(facebook_event(), bound) for _ in range(5)]
    rows = rows_of(events)
    async with conn.transaction():
        first = await store_events(conn, rows, partition_width=_MINUTE)
    async with conn.transaction():
        second = await store_events(conn, rows, partition_width=_MINUTE)

    assert (first, second) == (10, 0)
    assert len(await list_partitions(conn)) == 2
    counted = await conn.fetchval(
        "SELECT sum(events) FROM event_counts WHERE grain = 'day' AND source = 'facebook'"
    )
    assert counted == 10


async def test_the_same_event_under_another_timestamp_is_another_event(
    conn: asyncpg.Connection,
) -> None:
    """The dedupe key is `eventId` with `timestamp`: the same id at another instant is kept."""
    event = facebook_event()
    again = {**event, "timestamp": "2026-11-25T10:00:00.124Z"}
    assert await _store(conn, [event]) == 1
    assert await _store(conn, [event]) == 0
    assert await _store(conn, [again]) == 1


async def test_racing_maintainers_and_writers_never_collide(database_url: str) -> None:
    """Two replicas' rounds and writers making the same partitions at once all succeed, and
    each slot is made once."""
    await run_migrations(database_url)
    connections = [await asyncpg.connect(database_url) for _ in range(4)]
    now = datetime.now(UTC)
    moments = [now + k * _MINUTE for k in range(-3, 4)]
    try:
        results = await asyncio.gather(
            maintain(connections[0], _policy(), now),
            maintain(connections[1], _policy(), now),
            create_partitions(connections[2], moments, _MINUTE),
            create_partitions(connections[3], moments, _MINUTE),
        )
        partitions = await list_partitions(connections[0])
    finally:
        for connection in connections:
            await connection.close()
    assert results[0] == []
    assert results[1] == []
    starts = [p.start for p in partitions]
    assert len(starts) == len(set(starts))
    assert all(any(p.holds(m) for p in partitions) for m in moments)
    assert all(a.end <= b.start for a, b in pairwise(partitions))


def _purchase(campaign: str, amount: str, moment: datetime) -> dict[str, Any]:
    event = _at(facebook_event(amount=amount), moment)
    event["data"]["engagement"]["campaignId"] = campaign
    return event


async def _campaign_totals(conn: asyncpg.Connection) -> dict[str, tuple[str, int]]:
    rows = await conn.fetch("SELECT campaign_id, revenue, transactions FROM campaign_totals")
    return {row["campaign_id"]: (str(row["revenue"]), row["transactions"]) for row in rows}


async def test_a_dropped_partitions_campaigns_leave_the_totals(
    conn: asyncpg.Connection,
) -> None:
    """What a dropped partition's purchases added to `campaign_totals` is taken away by the
    round that drops it; a campaign left without purchases goes, no debit stays behind."""
    now = datetime.now(UTC)
    await _store(
        conn,
        [
            _purchase("camp-gone", "10.00", now - 10 * _MINUTE),
            _purchase("camp-both", "5.00", now - 10 * _MINUTE),
            _purchase("camp-both", "2.50", now - 10 * _MINUTE),
        ],
    )
    await _store(conn, [_purchase("camp-both", "1.25", now)])
    assert await _campaign_totals(conn) == {
        "camp-gone": ("10.00", 1),
        "camp-both": ("8.75", 3),
    }

    # Past a size bound of one byte, all but the present's partition go.
    dropped = await maintain(conn, _policy(size=1), now)

    assert [d.events for d in dropped if d.events] == [3]
    assert all(0 < d.exclusive_seconds < 10 for d in dropped)
    assert await _campaign_totals(conn) == {"camp-both": ("1.25", 1)}
    assert await conn.fetchval("SELECT count(*) FROM retired_partitions") == 0
    assert await _tables_named(conn, "^retired_[0-9]") == []


async def _tables_named(conn: asyncpg.Connection, regex: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ $1 ORDER BY 1",
        regex,
    )
    return [row["relname"] for row in rows]


async def _retire_by_hand(conn: asyncpg.Connection, partition: str) -> None:
    """Leave `partition` as a drop leaves it before its campaigns are settled: detached,
    renamed and named in `retired_partitions` (a crash between the two transactions)."""
    await conn.execute(
        f"DELETE FROM raw_arrivals WHERE partition = '{partition}';"
        f" DELETE FROM raw_partitions WHERE name = '{partition}'"
    )
    await retire_partition(conn, partition)


async def test_partitions_retired_but_not_settled_are_settled_beside_a_writer(
    database_url: str,
) -> None:
    """Two partitions detached but not settled yet (a crash after the drop) are settled by
    the next round, while a writer adds to one of their campaigns and a late event makes the
    range of one of them again: each is subtracted once, the emptied campaigns are deleted,
    the writer's purchases stay, and the retired tables go."""
    await run_migrations(database_url)
    connections = [await asyncpg.connect(database_url) for _ in range(3)]
    setup, writer = connections[0], connections[2]
    now = datetime.now(UTC)
    old = [now - 30 * _MINUTE, now - 20 * _MINUTE]
    campaigns = [f"camp-{k:03}" for k in range(200)] + ["camp-ab12c"]
    try:
        # Every campaign bought once in each old partition, for 3.00; odd ones once more now.
        for moment in old:
            await _store(setup, [_purchase(c, "3.00", moment) for c in campaigns])
        await _store(setup, [_purchase(c, "3.00", now) for c in campaigns[1::2]])
        for partition in await list_partitions(setup):
            if partition.holds(old[0]) or partition.holds(old[1]):
                await _retire_by_hand(setup, partition.name)
        assert len(await _tables_named(setup, "^retired_[0-9]")) == 2

        # A late event for a retired partition's range makes that partition again.
        assert await _store(setup, [_purchase("camp-late", "7.00", old[0])]) == 1
        purchases = [_purchase("camp-ab12c", "1.00", now) for _ in range(20)]

        async def write() -> int:
            async with writer.transaction():
                return await store_events(writer, rows_of(purchases), partition_width=_MINUTE)

        # Two replicas' rounds: one settles, the other finds the round taken.
        rounds = [maintain(connection, _policy(), now) for connection in connections[:2]]
        *dropped, written = await asyncio.gather(*rounds, write())
        totals = await _campaign_totals(setup)
        left = await setup.fetchval("SELECT count(*) FROM retired_partitions")
        retired = await _tables_named(setup, "^retired_[0-9]")
    finally:
        for connection in connections:
            await connection.close()
    assert dropped == [[], []]
    assert written == 20
    assert (left, retired) == (0, [])
    # camp-ab12c (the last, even at index 200) is emptied and bought 20 times since.
    expected = {c: ("3.00", 1) for k, c in enumerate(campaigns) if k % 2 == 1}
    assert totals == {**expected, "camp-ab12c": ("20.00", 20), "camp-late": ("7.00", 1)}


async def test_debits_an_older_release_left_are_settled_on_upgrade(database_url: str) -> None:
    """Debits recorded by a drop before `0014` (which retires partitions instead) leave
    `campaign_totals` when the schema is upgraded: each subtracted once, emptied campaigns
    deleted."""
    await run_migrations(database_url, revision="0013_campaign_debits")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO campaign_totals (campaign_id, revenue, transactions)"
            " VALUES ('camp-gone', 6.00, 2), ('camp-kept', 9.00, 3), ('camp-new', 1.00, 1)"
        )
        await conn.execute(
            "INSERT INTO campaign_debits (partition, campaign_id, revenue, transactions) VALUES"
            " ('events_a', 'camp-gone', 3.00, 1), ('events_b', 'camp-gone', 3.00, 1),"
            " ('events_a', 'camp-kept', 3.00, 1)"
        )
        await run_migrations(database_url)
        totals = await _campaign_totals(conn)
        debits = await conn.fetchval("SELECT to_regclass('campaign_debits')")
    finally:
        await conn.close()
    assert totals == {"camp-kept": ("6.00", 2), "camp-new": ("1.00", 1)}
    assert debits is None


async def test_retired_partitions_are_settled_on_downgrade(
    conn: asyncpg.Connection, database_url: str
) -> None:
    """Down to `0013`, a partition retired but not settled leaves `campaign_totals` and goes,
    and `campaign_debits` is back, empty."""
    now = datetime.now(UTC)
    await _store(conn, [_purchase("camp-gone", "4.00", now - 30 * _MINUTE)])
    await _store(conn, [_purchase("camp-kept", "2.00", now - 30 * _MINUTE)])
    await _store(conn, [_purchase("camp-kept", "5.00", now)])
    [old] = [p for p in await list_partitions(conn) if p.holds(now - 30 * _MINUTE)]
    await _retire_by_hand(conn, old.name)

    await downgrade(database_url, "0013_campaign_debits")

    assert await _campaign_totals(conn) == {"camp-kept": ("5.00", 1)}
    assert await _tables_named(conn, "^retired_") == []
    assert await conn.fetchval("SELECT count(*) FROM campaign_debits") == 0


async def test_old_fine_summary_rows_expire_and_reports_answer_at_the_next_grain(
    conn: asyncpg.Connection, database_url: str
) -> None:
    """Per-second rows older than their retention go; a report whose edges needed them
    answers from the minutes around them and says so, with every whole minute still exact."""
    old = datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC)
    await _store(conn, [_at(facebook_event(), old), _at(facebook_event(), old + _MINUTE)])
    await maintain(
        conn,
        _policy(time=timedelta(days=3650), summaries={"second": timedelta(days=1)}),
        datetime.now(UTC),
    )

    seconds = await conn.fetchval("SELECT count(*) FROM event_counts WHERE grain = 'second'")
    assert seconds == 0
    async with running_reporter(database_url) as client:
        # Raw rows are still there: the edges are read from them, exactly.
        exact = await client.get(
            "/reports/events", params={"from": "2026-11-25T10:00:29Z", "to": "2026-11-25T10:01:31Z"}
        )
    assert exact.json()["total"] == 2
    assert exact.json()["coverage"]["complete"] is True
    horizon = await conn.fetchval("SELECT kept_from FROM summary_horizons WHERE grain = 'second'")
    assert horizon > old


async def test_minute_rows_of_every_summary_expire_and_hour_rows_stay(
    conn: asyncpg.Connection,
) -> None:
    """With a minute retention, every summary drops its old minute rows and keeps its hours."""
    old = datetime(2026, 11, 25, 10, 0, 30, tzinfo=UTC)
    await _store(conn, [_at(facebook_event(stage="top"), old), _at(tiktok_event(), old)])
    await maintain(
        conn,
        _policy(time=timedelta(days=3650), summaries={"minute": timedelta(days=1)}),
        datetime.now(UTC),
    )
    for table in ("event_counts", "audience_counts", "follower_counts", "city_sketches"):
        grains = await conn.fetch(f"SELECT DISTINCT grain FROM {table}")
        assert "minute" not in {row["grain"] for row in grains}, table
        assert "hour" in {row["grain"] for row in grains}, table
