"""The summary tables reports read: kept current inside every ingest transaction.

`store_events` leaves the rows it newly inserted in the temporary table `_new_events` and
calls `update_summaries` in the same transaction, so a committed event is always counted
exactly once in every summary. `rebuild_summaries` recomputes everything from `events`
(after a bulk load that bypassed `store_events`). The tables are created by migrations
`0002_summaries`, `0008_city_sketches` and `0011_follower_fine_bins`; docs/storage.md
("Summary tables") explains how reports combine them.
"""

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from itertools import pairwise
from typing import Final

import asyncpg

from funnel.db.seen_users import LOG_NEW_USERS, NearPartition, SeenUsers
from funnel.db.user_filter import user_hash
from funnel.reporting import (
    AGE_GROUPS,
    AUDIENCE_GRAINS,
    CITY_SKETCH_SIZE,
    EVENT_GRAINS,
    REPEAT_USER_WINDOW,
    Grain,
    is_transaction,
)

_EVENT_KEYS: Final = "source, funnel_stage, event_type"
_EVENT_SUMS: Final = "events revenue transactions campaign_transactions"
_AUDIENCE_KEYS: Final = "source, dimension, value, detail"
_AUDIENCE_SUMS: Final = "events followers"

#: SQL: whether the event row `e` is a transaction (its amount is revenue).
IS_TRANSACTION: Final = is_transaction("e")

#: Every summary table: what they take on disk is reported beside the raw partitions.
SUMMARY_TABLES: Final = (
    "event_counts",
    "audience_counts",
    "follower_counts",
    "city_sketches",
    "city_sketch_floors",
    "campaign_totals",
    "repeat_events",
)

_AGE_GROUP: Final = (
    "CASE"
    + "".join(
        f" WHEN e.age < {older} THEN '{name}'" for (name, _), (_, older) in pairwise(AGE_GROUPS)
    )
    + f" WHEN e.age IS NOT NULL THEN '{AGE_GROUPS[-1][0]}' END"
)

# Each demographic dimension, the column it groups by and the value a fact row shows.
# Cities are not among them: a bucket's cities live in its sketch (`_SKETCH_CITIES`).
_DIMENSIONS: Final = (
    # (dimension, grouped column, value)
    ("country", "country", "country"),
    ("gender", "gender", "gender"),
    ("age_group", "age_group", "age_group"),
    ("device", "device", "device"),
)
# Follower bins are a dimension of the report; the summaries keep them in `follower_counts`,
# each with its fine bins (`_count_followers`).
_FOLLOWER_BINS: Final = ("followers", "followers_bin", "followers_bin::text")


def audience_facts(events: str, bucket: str, *, follower_bins: bool = True) -> str:
    """A SELECT of (bucket, source, dimension, value, detail, events, followers): the
    demographic facts of the rows of `events` (a table or parenthesized query of `events`
    columns) counted per event, per `bucket` (an expression over `e.occurred_at`).

    Facebook events have gender, age group and country (cities are sketched apart). TikTok
    events have a follower bin unless `follower_bins` is false (and their follower count
    summed on the `all` fact, for the average); device and country come from top-funnel
    events only (the write path leaves them NULL on others). NULL values make no fact.
    """
    dimensions = (*_DIMENSIONS, _FOLLOWER_BINS) if follower_bins else _DIMENSIONS
    dimension = " ".join(
        f"WHEN grouping({column}) = 0 THEN '{name}'" for name, column, _ in dimensions
    )
    value = " ".join(f"WHEN grouping({column}) = 0 THEN {shown}" for _, column, shown in dimensions)
    columns = ", ".join(column for _, column, _ in dimensions)
    sets = ", ".join(
        ["(bucket, source)"] + [f"(bucket, source, {column})" for _, column, _ in dimensions]
    )
    # One pass with GROUPING SETS: five times faster than a row per fact and event.
    return f"""
        SELECT * FROM (
            SELECT bucket, source,
                   CASE {dimension} ELSE 'all' END AS dimension,
                   CASE {value} ELSE '' END AS value,
                   ''::text AS detail,
                   count(*) AS events,
                   CASE WHEN grouping({columns}) = {2 ** len(dimensions) - 1}
                        THEN coalesce(sum(followers), 0) ELSE 0 END AS followers
            FROM (
                SELECT {bucket} AS bucket, e.source, e.gender, {_AGE_GROUP} AS age_group,
                       e.country, funnel_followers_bin(e.followers) AS followers_bin,
                       e.device, e.followers
                FROM {events} AS e
            ) AS e
            GROUP BY GROUPING SETS ({sets})
        ) AS facts
        WHERE value IS NOT NULL
    """


# `date_bin` from a UTC midnight equals `date_trunc` in UTC, and is plain arithmetic.
_ORIGIN: Final = "timestamptz '2000-01-01 00:00:00+00'"


def _rolled_up(keys: str, sums: str, grains: tuple[Grain, ...]) -> str:
    """A SELECT of (grain, bucket, keys, sums): the rows of the CTE `finest` (bucket, keys,
    sums at `grains[0]`) and their sums at every coarser grain, so events are read once."""
    names = sums.split()
    parts = [f"SELECT '{grains[0]}' AS grain, bucket, {keys}, {', '.join(names)} FROM finest"]
    parts += [
        f"SELECT '{grain}', date_bin('1 {grain}', bucket, {_ORIGIN}), {keys},"
        f" {', '.join(f'sum({name})' for name in names)} FROM finest GROUP BY 2, {keys}"
        for grain in grains[1:]
    ]
    return " UNION ALL ".join(parts)


def _upsert(table: str, keys: str, sums: str, finest: str, grains: tuple[Grain, ...]) -> str:
    """Add `finest` (rows of bucket, keys, sums at `grains[0]`) to `table` at every grain.

    Rows are written in key order: concurrent writers lock shared rows in the same order.
    """
    names = sums.split()
    return f"""
        WITH finest AS MATERIALIZED ({finest})
        INSERT INTO {table} AS c (grain, bucket, {keys}, {", ".join(names)})
        SELECT * FROM ({_rolled_up(keys, sums, grains)}) AS rows
        ORDER BY grain, bucket, {keys}
        ON CONFLICT (grain, bucket, {keys}) DO UPDATE SET
            {", ".join(f"{name} = c.{name} + excluded.{name}" for name in names)}
    """


def _count_events(relation: str, grains: tuple[Grain, ...]) -> str:
    finest = f"""
        SELECT date_bin('1 {grains[0]}', e.occurred_at, {_ORIGIN}) AS bucket, e.source,
               e.funnel_stage, e.event_type, count(*) AS events,
               coalesce(sum(e.purchase_amount) FILTER (WHERE {IS_TRANSACTION}), 0) AS revenue,
               count(*) FILTER (WHERE {IS_TRANSACTION}) AS transactions,
               count(*) FILTER (WHERE {IS_TRANSACTION} AND e.campaign_id IS NOT NULL)
                   AS campaign_transactions
        FROM {relation} AS e
        GROUP BY 1, 2, 3, 4
    """
    return _upsert("event_counts", _EVENT_KEYS, _EVENT_SUMS, finest, grains)


def _count_audience(relation: str, grains: tuple[Grain, ...]) -> str:
    finest = audience_facts(
        relation, f"date_bin('1 {grains[0]}', e.occurred_at, {_ORIGIN})", follower_bins=False
    )
    return _upsert("audience_counts", _AUDIENCE_KEYS, _AUDIENCE_SUMS, finest, grains)


def _count_followers(relation: str, grains: tuple[Grain, ...]) -> str:
    """Add the follower counts of `relation`'s events to `follower_counts`: per bucket and
    bin (`funnel_followers_bin`), the events, and the events of each of its fine bins
    (`funnel_followers_fine_bin`) as two arrays in ascending order of fine bin. A bin holds
    up to 100 fine bins, so a row stays small; a batch updates as many rows as a fact per
    bin would."""
    # A fine bin lies in one bin: the bin is computed per fine bin, not per event.
    finest = f"""
        SELECT bucket, source, funnel_followers_bin(fine) AS bin, fine, events
        FROM (
            SELECT date_bin('1 {grains[0]}', e.occurred_at, {_ORIGIN}) AS bucket, e.source,
                   funnel_followers_fine_bin(e.followers) AS fine, count(*) AS events
            FROM {relation} AS e
            WHERE e.followers IS NOT NULL
            GROUP BY 1, 2, 3
        ) AS fine_counts
    """
    return f"""
        WITH finest AS MATERIALIZED ({finest})
        INSERT INTO follower_counts AS c
            (grain, bucket, source, bin, events, fine_bins, fine_events)
        SELECT grain, bucket, source, bin, sum(events)::bigint,
               array_agg(fine ORDER BY fine), array_agg(events::bigint ORDER BY fine)
        FROM ({_rolled_up("source, bin, fine", "events", grains)}) AS rows
        GROUP BY 1, 2, 3, 4
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (grain, bucket, source, bin) DO UPDATE SET
            events = c.events + excluded.events,
            (fine_bins, fine_events) = (
                SELECT array_agg(fine ORDER BY fine), array_agg(events ORDER BY fine)
                FROM (
                    SELECT fine, sum(events)::bigint AS events
                    FROM unnest(c.fine_bins || excluded.fine_bins,
                                c.fine_events || excluded.fine_events) AS both_ (fine, events)
                    GROUP BY fine
                ) AS merged
            )
    """


def _add_campaigns(relation: str) -> str:
    return f"""
        INSERT INTO campaign_totals AS c (campaign_id, revenue, transactions)
        SELECT e.campaign_id, sum(e.purchase_amount), count(*)
        FROM {relation} AS e
        WHERE {IS_TRANSACTION} AND e.campaign_id IS NOT NULL
        GROUP BY 1
        ORDER BY 1
        ON CONFLICT (campaign_id) DO UPDATE SET
            revenue = c.revenue + excluded.revenue,
            transactions = c.transactions + excluded.transactions
    """


def _sketch_cities(relation: str) -> str:
    """Add the (country, city) pairs of `relation`'s events to each bucket's sketch.

    Space-Saving, a batch at a time: a pair the sketch holds adds its count; a pair it does
    not hold enters at the bucket's floor plus its count (it may have been seen up to
    `floor` times before), with an error of `floor`. The `CITY_SKETCH_SIZE` pairs with the
    highest counts stay; the floor becomes the highest count let go. So every kept count is
    at least the truth and at most `error` over it, and a pair not kept was seen at most
    `floor` times: the reporter's bound. Only the batch's own top pairs can enter (any other
    has as many pairs counted at least as high before it), so the merge reads at most twice
    the sketch's size per bucket, and the rest of the batch only raises the floor.
    """
    size = CITY_SKETCH_SIZE
    finest = AUDIENCE_GRAINS[0]
    coarser = " ".join(
        f"UNION ALL SELECT '{grain}', date_bin('1 {grain}', bucket, {_ORIGIN}), source,"
        f" country, city, sum(n) FROM batch GROUP BY 2, 3, 4, 5"
        for grain in AUDIENCE_GRAINS[1:]
    )
    return f"""
        CREATE TEMP TABLE IF NOT EXISTS _city_merge (
            grain text, bucket timestamptz, source text, country text, city text,
            users bigint, error bigint, rank bigint, overflow bigint
        ) ON COMMIT DELETE ROWS;
        DELETE FROM _city_merge;
        WITH batch AS (
            SELECT '{finest}'::text AS grain,
                   date_bin('1 {finest}', e.occurred_at, {_ORIGIN}) AS bucket,
                   e.source, e.country, e.city, count(*) AS n
            FROM {relation} AS e WHERE e.city IS NOT NULL
            GROUP BY 2, 3, 4, 5
        ), counted AS (
            SELECT * FROM batch {coarser}
        ), keys AS MATERIALIZED (
            SELECT grain, bucket, source, count(*) AS pairs FROM counted
            GROUP BY 1, 2, 3
        ), candidates AS (
            -- Each bucket's top pairs of the batch: a bounded top-N sort, not a full one.
            -- Byte order, not the locale's: ties only need some order.
            SELECT c.* FROM keys AS k CROSS JOIN LATERAL (
                SELECT * FROM counted AS c
                WHERE c.grain = k.grain AND c.bucket = k.bucket AND c.source = k.source
                ORDER BY c.n DESC, c.country COLLATE "C", c.city COLLATE "C"
                LIMIT {size}
            ) AS c
        ), floors AS (
            -- A pair left out of the batch's top was counted at most as often as the
            -- least of the top: its bound on entering is the floor plus that.
            SELECT k.grain, k.bucket, k.source, coalesce(f.floor, 0) AS floor,
                   coalesce(f.floor, 0) + CASE WHEN k.pairs > {size} THEN least_top.n ELSE 0 END
                       AS overflow
            FROM keys AS k
            LEFT JOIN city_sketch_floors AS f USING (grain, bucket, source)
            CROSS JOIN LATERAL (
                SELECT min(c.n) AS n FROM candidates AS c
                WHERE c.grain = k.grain AND c.bucket = k.bucket AND c.source = k.source
            ) AS least_top
        ), held AS (
            SELECT s.grain, s.bucket, s.source, s.country, s.city, s.users, s.error
            FROM city_sketches AS s JOIN floors USING (grain, bucket, source)
        ), merged AS (
            SELECT grain, bucket, source, country, city,
                   coalesce(h.users, f.floor) + coalesce(c.n, 0) AS users,
                   coalesce(h.error, f.floor) AS error, f.overflow
            FROM held AS h
            FULL JOIN candidates AS c USING (grain, bucket, source, country, city)
            JOIN floors AS f USING (grain, bucket, source)
        )
        INSERT INTO _city_merge
        SELECT grain, bucket, source, country, city, users, error,
               row_number() OVER (
                   PARTITION BY grain COLLATE "C", bucket, source COLLATE "C"
                   ORDER BY users DESC, error, country COLLATE "C", city COLLATE "C"
               ),
               overflow
        FROM merged;
        DELETE FROM city_sketches AS s USING _city_merge AS m
        WHERE m.rank > {size} AND s.grain = m.grain AND s.bucket = m.bucket
          AND s.source = m.source AND s.country = m.country AND s.city = m.city;
        INSERT INTO city_sketches AS s (grain, bucket, source, country, city, users, error)
        SELECT grain, bucket, source, country, city, users, error FROM _city_merge
        WHERE rank <= {size}
        ORDER BY grain, bucket, source, country, city
        ON CONFLICT (grain, bucket, source, country, city) DO UPDATE
            SET users = excluded.users, error = excluded.error
            WHERE (s.users, s.error) IS DISTINCT FROM (excluded.users, excluded.error);
        INSERT INTO city_sketch_floors AS f (grain, bucket, source, floor)
        SELECT grain, bucket, source,
               greatest(coalesce(max(users) FILTER (WHERE rank > {size}), 0), max(overflow))
        FROM _city_merge
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        ON CONFLICT (grain, bucket, source) DO UPDATE SET floor = greatest(f.floor, excluded.floor)
    """


# From scratch, each bucket's sketch is exact: its most frequent pairs, error 0, and the
# count of the most frequent pair left out as its floor.
_REBUILD_SKETCHES: Final = f"""
    WITH counted AS (
        SELECT grain, date_bin(('1 ' || grain)::interval, e.occurred_at, {_ORIGIN}) AS bucket,
               e.source, e.country, e.city, count(*) AS n
        FROM events AS e CROSS JOIN unnest(ARRAY{list(AUDIENCE_GRAINS)}) AS grain
        WHERE e.city IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5
    ), ranked AS (
        SELECT *, row_number() OVER (
            PARTITION BY grain, bucket, source ORDER BY n DESC, country, city
        ) AS rank
        FROM counted
    ), kept AS (
        INSERT INTO city_sketches (grain, bucket, source, country, city, users, error)
        SELECT grain, bucket, source, country, city, n, 0 FROM ranked
        WHERE rank <= {CITY_SKETCH_SIZE}
    )
    INSERT INTO city_sketch_floors (grain, bucket, source, floor)
    SELECT grain, bucket, source, max(n) FROM ranked WHERE rank > {CITY_SKETCH_SIZE}
    GROUP BY 1, 2, 3
"""


# Writers of one source take turns to their commit (`store_events` takes its turn before it
# inserts; taking it again here is free). They would queue on the same summary rows anyway;
# the lock makes "has this user another event?" exact: whoever checks second sees the first
# one's committed row. Needs READ COMMITTED (a snapshot per statement).
def lock_sources(table: str) -> str:
    """SQL taking the turn of every source `table` (a table of event rows) holds, in order."""
    return f"""
        SELECT pg_advisory_xact_lock(hashtextextended('funnel.summaries.' || s.source, 0))
        FROM (SELECT DISTINCT source FROM {table} ORDER BY source) AS s
    """


_LOCK_SOURCES: Final = lock_sources("_new_events")

_REPEAT_COLUMNS: Final = (
    "event_key, source, occurred_at, user_id, funnel_stage, gender, age, country, city,"
    " followers, device"
)


# The partitions holding events at most `window` away from a new one, with the events stored
# there for each source of the batch: the repeat-user probe's. Raw partitions are few
# (hundreds at most), a batch's instants a few seconds. Only partitions with arrivals hold
# events (those made ahead are empty, and `store_events` counts this batch's arrivals before
# the summaries), so only those are asked.
_NEAR_PARTITIONS: Final = """
    WITH near AS (
        SELECT p.name, p.starts
        FROM raw_partitions AS p
        JOIN (SELECT DISTINCT date_trunc('second', occurred_at) AS at FROM _new_events) AS n
            ON p.starts <= n.at + $1::interval + interval '1 second'
            AND p.ends > n.at - $1::interval
        WHERE EXISTS (SELECT 1 FROM raw_arrivals AS a WHERE a.partition = p.name)
        GROUP BY p.name, p.starts
    )
    SELECT near.name, s.source, coalesce(a.events, 0) AS stored
    FROM near
    CROSS JOIN (SELECT DISTINCT source FROM _new_events) AS s
    LEFT JOIN raw_arrivals AS a ON a.partition = near.name AND a.source = s.source
    ORDER BY near.starts, s.source
"""

# The new events whose users the probe asks about: all of them, or those `$1` names.
_ALL_NEW: Final = "_new_events"
_WANTED_NEW: Final = f"""(
    SELECT n.* FROM _new_events AS n
    JOIN unnest($1::bigint[]) AS w (user_hash) ON {user_hash("n.user_id")} = w.user_hash
)"""


def _add_repeats(partitions: Sequence[str], new_events: str = _ALL_NEW) -> str:
    """A new event whose user has another event of the same source in one of `partitions`
    makes that user a repeat user: their events there (the new one included) are copied,
    once each. Only the users of `new_events` are asked about.

    With `partitions` every one within the repeat window of a new event, any two events of
    a user at most the window apart are both in `repeat_events`, so a report over a range no
    longer than the window counts every user once. The probe costs one lookup in each of
    these partitions' `ix_events_user_id` (hash) per user asked about: the window, not the
    history kept, sets its cost, and the writers' filters (`funnel.db.seen_users`) leave out
    the users no partition holds. The partitions are named, not found by a time test on
    `events`: the planner ANDs such a test with a scan of the key's whole range per lookup.
    """
    if not partitions:
        return ""

    def of_user(columns: str, outer: str) -> str:
        return " UNION ALL ".join(
            f'SELECT {columns} FROM "{name}" WHERE user_id = {outer}.user_id'
            f" AND source = {outer}.source"
            for name in partitions
        )

    return f"""
    WITH repeat_users AS (
        SELECT DISTINCT n.source, n.user_id
        FROM {new_events} AS n
        CROSS JOIN LATERAL (
            SELECT 1 FROM ({of_user("occurred_at, event_key", "n")}) AS o
            WHERE (o.occurred_at, o.event_key) <> (n.occurred_at, n.event_key)
            LIMIT 1
        ) AS other
    )
    INSERT INTO repeat_events ({_REPEAT_COLUMNS})
    SELECT e.* FROM repeat_users AS r
    -- OFFSET 0: kept a lookup per user, not flattened into a hash join over each partition.
    CROSS JOIN LATERAL (SELECT * FROM ({of_user(_REPEAT_COLUMNS, "r")}) AS u OFFSET 0) AS e
    ORDER BY e.occurred_at, e.event_key
    ON CONFLICT (occurred_at, event_key) DO NOTHING
    """


_COUNT_EVENTS: Final = _count_events("_new_events", EVENT_GRAINS)
_COUNT_AUDIENCE: Final = _count_audience("_new_events", AUDIENCE_GRAINS)
_COUNT_FOLLOWERS: Final = _count_followers("_new_events", AUDIENCE_GRAINS)
_SKETCH_CITIES: Final = _sketch_cities("_new_events")
_ADD_CAMPAIGNS: Final = _add_campaigns("_new_events")


#: The summary statements after the probe, each named (`bench.statements` times them).
COUNTING_STEPS: Final = (
    ("event counts", _COUNT_EVENTS),
    ("audience facts", _COUNT_AUDIENCE),
    ("follower bins", _COUNT_FOLLOWERS),
    ("city sketches", _SKETCH_CITIES),
    ("campaign totals", _ADD_CAMPAIGNS),
)


def _untimed(name: str) -> AbstractContextManager[object]:
    return nullcontext()


# From scratch: the same statements over all of `events`; every grain still comes from one
# pass over the events. Repeat users are found over all of it, however far apart their
# events are: more than the write path finds, which only makes reports more exact.
_REBUILD: Final = ";".join(
    [
        f"TRUNCATE {', '.join(SUMMARY_TABLES)}",
        _count_events("events", EVENT_GRAINS),
        _count_audience("events", AUDIENCE_GRAINS),
        _count_followers("events", AUDIENCE_GRAINS),
        _REBUILD_SKETCHES,
        _add_campaigns("events"),
        f"""
        INSERT INTO repeat_events ({_REPEAT_COLUMNS})
        SELECT {_REPEAT_COLUMNS} FROM (
            SELECT *, count(*) OVER (PARTITION BY source, user_id) AS events_of_user
            FROM events
        ) AS counted
        WHERE events_of_user > 1
        """,
    ]
)


async def update_summaries(
    conn: asyncpg.Connection,
    repeat_window: timedelta = REPEAT_USER_WINDOW,
    seen: SeenUsers | None = None,
    step: Callable[[str], AbstractContextManager[object]] = _untimed,
) -> None:
    """Add the rows of `_new_events` to every summary, in the caller's transaction.

    `_new_events` (columns of `events`) must hold exactly the rows this transaction newly
    inserted into `events`. Concurrent callers never deadlock and never double-count.
    Repeat users are found among events at most `repeat_window` apart (`_add_repeats`);
    with `seen`, a writer's filters, only about the users a near partition might hold.
    Each statement runs inside `step(its name)`, which `bench.statements` uses to time it.
    """
    with step("lock"):
        await conn.execute(_LOCK_SOURCES)
    with step("near partitions"):
        near = [NearPartition(**row) for row in await conn.fetch(_NEAR_PARTITIONS, repeat_window)]
    with step("user log"):
        if seen is not None:
            await seen.catch_up(conn, {partition.source for partition in near})
            await seen.load(conn, near)
        logged = await conn.fetch(LOG_NEW_USERS)
        wanted = seen.candidates(near, logged) if seen is not None else None
    with step("repeat-user probe"):
        names = list(dict.fromkeys(partition.name for partition in near))
        if wanted is None:
            if probe := _add_repeats(names):
                await conn.execute(probe)
        elif wanted and (probe := _add_repeats(names, _WANTED_NEW)):
            await conn.execute(probe, wanted)
    for name, statement in COUNTING_STEPS:
        with step(name):
            await conn.execute(statement)


async def rebuild_summaries(conn: asyncpg.Connection) -> None:
    """Recompute every summary from `events`; run it alone, in one transaction."""
    await conn.execute(_REBUILD)
