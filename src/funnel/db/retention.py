"""Retention of raw events: partitions made ahead, dropped behind by time and by size.

`maintain` is one round, run every few seconds by each collector; the rounds of all replicas
take turns on the partition lock, and a replica that finds it taken skips its round.

- **Time.** A partition is dropped once its latest arrival (`raw_arrivals`) is older than
  the retention time: every event stays at least that long after it arrived, whatever its
  own timestamp. A late or future-stamped event lands in the partition of its timestamp,
  made on demand, and keeps that partition (and its neighbours in it) alive for the
  retention time after it arrived.
- **Size.** While the partitions together take more than the size bound, the one with the
  oldest latest arrival is dropped, never the one holding the present.

A partition goes in two steps. The drop detaches it from `events` (reports and writers no
longer see it) and settles, in the same transaction, what the summaries cannot give back:
its events leave `repeat_events`, its range and row count join `raw_gaps`, and its name
joins `retired_partitions`. Then, in a transaction of its own, its campaigns' revenue leaves
`campaign_totals` and the table is dropped: subtracting it while `events` is held stopped
every writer for seconds, and `campaign_totals`, an upper bound of each campaign's revenue
over retained rows, may run ahead meanwhile. The summaries themselves keep counting the
dropped events.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import asyncpg
import structlog

from funnel.db.errors import DatabaseUnavailableError, translate_errors
from funnel.db.partitions import LOCK_KEY, batches_of, create_partitions, retire_partition
from funnel.db.summaries import IS_TRANSACTION, SUMMARY_TABLES
from funnel.reporting import Grain

_log = structlog.get_logger(__name__)

# Partitions made ahead of the present, so the live write path never waits on DDL.
_AHEAD: Final = 2
# Dropping a partition needs `events` to itself at the end: it waits for the transactions in
# flight (writers queue behind it meanwhile, a second or two), then gives up until the next
# round.
_DROP_LOCK_TIMEOUT: Final = "10s"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long raw events stay (`time`), how much room they may take (`size`, bytes, None:
    no bound), the width of one partition, and how long summary rows of each fine grain stay
    (grains not named are kept for good)."""

    time: timedelta
    size: int | None
    width: timedelta
    summaries: Mapping[Grain, timedelta] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Held:
    name: str
    start: datetime
    end: datetime
    events: int
    last_arrival: datetime
    bytes: int


@dataclass(frozen=True, slots=True)
class Dropped:
    """A partition retention dropped, why (`time` or `size`), and for how long the drop had
    `events` to itself (every writer waits meanwhile)."""

    name: str
    events: int
    reason: str
    exclusive_seconds: float


_HELD: Final = """
    SELECT p.name, p.starts, p.ends, coalesce(sum(a.events), 0)::bigint AS events,
           coalesce(max(a.last_received_at), p.created_at) AS last_arrival,
           pg_total_relation_size(p.name::regclass)
           + pg_total_relation_size(replace(p.name, 'events_', 'batches_')::regclass)
           + (SELECT coalesce(sum(pg_column_size(u.hashes)), 0) FROM user_hashes AS u
              WHERE u.partition = p.name) AS bytes
    FROM raw_partitions AS p LEFT JOIN raw_arrivals AS a ON a.partition = p.name
    GROUP BY p.name, p.starts, p.ends, p.created_at
    ORDER BY p.starts
"""


async def maintain(
    conn: asyncpg.Connection, policy: RetentionPolicy, now: datetime
) -> list[Dropped]:
    """One round: make the partitions ahead of `now`, drop what the policy says and settle
    what the dropped owe; return the partitions dropped (none when another replica holds the
    round)."""
    with translate_errors():
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            return []
        try:
            try:
                await create_partitions(
                    conn, [now + k * policy.width for k in range(_AHEAD + 1)], policy.width
                )
            except DatabaseUnavailableError as exc:
                # Writers make what they need themselves; dropping must not wait on this.
                _log.warning("partitions_not_made_ahead", error=str(exc))
            await _prune_summaries(conn, policy.summaries, now)
            dropped = await _drop_expired(conn, policy, now)
            await _settle_retired(conn)
            return dropped
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def _drop_expired(
    conn: asyncpg.Connection, policy: RetentionPolicy, now: datetime
) -> list[Dropped]:
    held = [_Held(*row) for row in await conn.fetch(_HELD)]
    chosen = _choose(held, policy, now)
    dropped = []
    for partition, reason in chosen:
        gone = await _drop(conn, partition, reason, now - policy.time)
        if gone is None:
            continue  # the next round looks again
        dropped.append(gone)
        _log.info(
            "partition_dropped",
            partition=gone.name,
            count=gone.events,
            reason=gone.reason,
            exclusive_seconds=round(gone.exclusive_seconds, 3),
        )
    return dropped


def _choose(
    held: Sequence[_Held], policy: RetentionPolicy, now: datetime
) -> list[tuple[_Held, str]]:
    expired_before = now - policy.time
    # A partition with no arrival yet is one made ahead: it expires only once its range is past.
    chosen = [
        (p, "time")
        for p in held
        if p.last_arrival < expired_before and (p.events > 0 or p.end <= now)
    ]
    if policy.size is not None:
        total = sum(p.bytes for p in held) - sum(p.bytes for p, _ in chosen)
        going = {p.name for p, _ in chosen}
        for p in sorted(held, key=lambda p: (p.last_arrival, p.start)):
            if total <= policy.size:
                break
            # Empty partitions (made ahead) free nothing; the present's would be made again.
            if p.name in going or p.events == 0 or p.start <= now < p.end:
                continue
            chosen.append((p, "size"))
            total -= p.bytes
    return chosen


async def _drop(
    conn: asyncpg.Connection, partition: _Held, reason: str, keep_after: datetime
) -> Dropped | None:
    """Detach one partition, drop its raw batches and settle what it leaves behind but its
    campaigns (`_settle_retired`); None when it was not dropped (a lock was not had, or,
    dropped for `time`, an event arrived after `keep_after`).

    Whether it may go is decided under a lock that stops writes to it alone; `events` is
    had to itself only for the bookkeeping and the detach, a few milliseconds.
    """
    try:
        async with conn.transaction():
            batches = batches_of(partition.name)
            await conn.execute(
                f"SET LOCAL lock_timeout = '{_DROP_LOCK_TIMEOUT}';"
                f' LOCK TABLE "{partition.name}", "{batches}" IN SHARE MODE'
            )
            # Exact under the lock: no writer adds to it any more.
            arrivals = await conn.fetchrow(
                "SELECT coalesce(sum(events), 0)::bigint AS events, max(last_received_at) AS last"
                " FROM raw_arrivals WHERE partition = $1",
                partition.name,
            )
            assert arrivals is not None  # an aggregate returns one row
            if reason == "time" and arrivals["last"] is not None and arrivals["last"] >= keep_after:
                return None  # an event arrived since the partition was chosen
            events: int = arrivals["events"]
            await conn.execute(
                f'LOCK TABLE events, raw_batches, "{partition.name}", "{batches}"'
                " IN ACCESS EXCLUSIVE MODE"
            )
            exclusive_from = time.perf_counter()
            await conn.execute(
                "DELETE FROM repeat_events WHERE occurred_at >= $1 AND occurred_at < $2",
                partition.start,
                partition.end,
            )
            if events:  # an empty partition leaves nothing missing
                await _record_gap(conn, partition.start, partition.end, events)
            await conn.execute("DELETE FROM raw_arrivals WHERE partition = $1", partition.name)
            await conn.execute("DELETE FROM user_hashes WHERE partition = $1", partition.name)
            await conn.execute("DELETE FROM raw_partitions WHERE name = $1", partition.name)
            await retire_partition(conn, partition.name)
    except asyncpg.LockNotAvailableError:
        _log.info("partition_drop_postponed", partition=partition.name)
        return None
    except asyncpg.DeadlockDetectedError:
        # A writer with a late event for this very partition waited for it while this round
        # waited for the writer's hold on `events`; one of the two gives way.
        _log.info("partition_drop_postponed", partition=partition.name, error="deadlock")
        return None
    return Dropped(partition.name, events, reason, time.perf_counter() - exclusive_from)


# The summary tables holding rows of each grain, by their `grain` column.
_GRAINED: Final = (
    "event_counts",
    "audience_counts",
    "follower_counts",
    "city_sketches",
    "city_sketch_floors",
)


async def _prune_summaries(
    conn: asyncpg.Connection, kept: Mapping[Grain, timedelta], now: datetime
) -> None:
    """Delete summary rows of each grain older than its retention; record from where the
    grain is kept in `summary_horizons`, which the reporter reads to stay exact."""
    for grain, age in kept.items():
        async with conn.transaction():
            horizon = await conn.fetchval(
                "INSERT INTO summary_horizons AS h (grain, kept_from)"
                " VALUES ($1, date_bin(('1 ' || $1)::interval, $2::timestamptz,"
                " timestamptz '2000-01-01 00:00:00+00'))"
                " ON CONFLICT (grain)"
                " DO UPDATE SET kept_from = greatest(h.kept_from, excluded.kept_from)"
                " RETURNING kept_from",
                grain,
                now - age,
            )
            for table in _GRAINED:
                await conn.execute(
                    f"DELETE FROM {table} WHERE grain = $1 AND bucket < $2", grain, horizon
                )


# What a retired partition's campaigns owe `campaign_totals`, subtracted in one pass over
# the partition's purchases. Set-based: a chunked settlement cost ten times as much for the
# round trips and the key lookups of each chunk. Most campaigns have one purchase: deleting
# the ones a debit empties, rather than updating them and deleting them after, writes each
# row once.
_SETTLE: Final = f"""
    MERGE INTO campaign_totals AS c
    USING (
        SELECT e.campaign_id, sum(e.purchase_amount) AS revenue, count(*) AS transactions
        FROM "{{partition}}" AS e
        WHERE e.campaign_id IS NOT NULL AND {IS_TRANSACTION}
        GROUP BY 1
    ) AS d
    ON c.campaign_id = d.campaign_id
    WHEN MATCHED AND c.transactions <= d.transactions THEN DELETE
    WHEN MATCHED THEN UPDATE
        SET revenue = c.revenue - d.revenue, transactions = c.transactions - d.transactions
"""


async def _settle_retired(conn: asyncpg.Connection) -> None:
    """Subtract each retired partition's campaigns from `campaign_totals` and drop it, a
    partition a transaction, deleting campaigns left without transactions. A partition a
    crash left, or a deadlock with a writer (which takes campaign rows in another order),
    waits for the next round."""
    for (partition,) in await conn.fetch("SELECT name FROM retired_partitions ORDER BY name"):
        started = time.perf_counter()
        try:
            async with conn.transaction():
                await conn.execute(_SETTLE.format(partition=partition))
                await conn.execute(f'DROP TABLE "{partition}"')
                await conn.execute("DELETE FROM retired_partitions WHERE name = $1", partition)
        except asyncpg.DeadlockDetectedError:
            _log.info("campaigns_not_settled", partition=partition, error="deadlock")
            return
        _log.info(
            "campaigns_settled",
            partition=partition,
            seconds=round(time.perf_counter() - started, 3),
        )


async def _record_gap(
    conn: asyncpg.Connection, start: datetime, end: datetime, events: int
) -> None:
    """Add `[start, end)` to `raw_gaps`, merged with the gaps it overlaps or touches."""
    touching = await conn.fetch(
        "DELETE FROM raw_gaps WHERE starts <= $2 AND ends >= $1 RETURNING starts, ends, events",
        start,
        end,
    )
    await conn.execute(
        "INSERT INTO raw_gaps (starts, ends, events) VALUES ($1, $2, $3)",
        min([start, *(row["starts"] for row in touching)]),
        max([end, *(row["ends"] for row in touching)]),
        events + sum(row["events"] for row in touching),
    )


@dataclass(frozen=True, slots=True)
class Footprint:
    """What raw events and summaries hold now."""

    raw_bytes: int
    summary_bytes: int
    partitions: int
    retained_events: int
    dropped_events: int
    oldest_event: datetime | None


async def footprint(conn: asyncpg.Connection) -> Footprint:
    """Bytes of raw partitions and of summaries, events kept and dropped, the oldest kept."""
    summaries = ", ".join(f"'{table}'" for table in SUMMARY_TABLES)
    with translate_errors():
        row = await conn.fetchrow(
            f"""
            SELECT
              (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM (
                   SELECT relid FROM pg_partition_tree('events')
                   UNION ALL SELECT relid FROM pg_partition_tree('raw_batches')
                   UNION ALL SELECT to_regclass(name) FROM retired_partitions
                   UNION ALL SELECT 'user_hashes'::regclass
                 ) AS parts)::bigint AS raw_bytes,
              (SELECT coalesce(sum(pg_total_relation_size(t::regclass)), 0)
                 FROM unnest(ARRAY[{summaries}]) AS t)::bigint AS summary_bytes,
              (SELECT count(*) FROM raw_partitions) AS partitions,
              (SELECT coalesce(sum(events), 0) FROM raw_arrivals)::bigint AS retained_events,
              (SELECT coalesce(sum(events), 0) FROM raw_gaps)::bigint AS dropped_events,
              (SELECT min(occurred_at) FROM events) AS oldest_event
            """
        )
    assert row is not None  # a SELECT without FROM returns one row
    return Footprint(**dict(row))
