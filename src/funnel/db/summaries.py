"""The summary tables reports read: kept current inside every ingest transaction.

`store_events` leaves the rows it newly inserted in the temporary table `_new_events` and
calls `update_summaries` in the same transaction, so a committed event is always counted
exactly once in every summary. `rebuild_summaries` recomputes everything from `events`
(after a bulk load that bypassed `store_events`). The tables are created by migration
`0002_summaries`; docs/storage.md ("Summary tables") explains how reports combine them.
"""

from itertools import pairwise
from typing import Final, Literal

import asyncpg

from funnel.events.source import Source

Grain = Literal["second", "minute", "hour", "day"]

#: Grains of `event_counts` (counts, revenue) and of `audience_counts` (demographics).
EVENT_GRAINS: Final[tuple[Grain, ...]] = ("second", "minute", "hour", "day")
AUDIENCE_GRAINS: Final[tuple[Grain, ...]] = ("minute", "hour")

#: The one event type per source whose `purchaseAmount` is revenue.
TRANSACTIONAL_EVENT_TYPES: Final[dict[Source, str]] = {
    "facebook": "checkout.complete",
    "tiktok": "purchase",
}

_EVENT_KEYS: Final = "source, funnel_stage, event_type"
_EVENT_SUMS: Final = "events revenue transactions campaign_transactions"
_AUDIENCE_KEYS: Final = "source, dimension, value, detail"
_AUDIENCE_SUMS: Final = "events followers"

#: SQL: whether the event row `e` is a transaction (its amount is revenue).
IS_TRANSACTION: Final = (
    "(e.purchase_amount IS NOT NULL AND (e.source, e.event_type) IN ("
    + ", ".join(f"('{source}', '{kind}')" for source, kind in TRANSACTIONAL_EVENT_TYPES.items())
    + "))"
)

#: Every summary table: what they take on disk is reported beside the raw partitions.
SUMMARY_TABLES: Final = ("event_counts", "audience_counts", "campaign_totals", "repeat_events")

#: The demographics report's age groups: (name, first age of the group), youngest first.
AGE_GROUPS: Final = (
    ("<18", 0),
    ("18-24", 18),
    ("25-34", 25),
    ("35-44", 35),
    ("45-54", 45),
    ("55-64", 55),
    ("65+", 65),
)

_AGE_GROUP: Final = (
    "CASE"
    + "".join(
        f" WHEN e.age < {older} THEN '{name}'" for (name, _), (_, older) in pairwise(AGE_GROUPS)
    )
    + f" WHEN e.age IS NOT NULL THEN '{AGE_GROUPS[-1][0]}' END"
)

# Each demographic dimension, the column it groups by and the value a fact row shows.
_DIMENSIONS: Final = (
    # (dimension, grouped column, value)
    ("city", "city", "CASE WHEN city IS NOT NULL THEN country END"),
    ("country", "country", "country"),
    ("gender", "gender", "gender"),
    ("age_group", "age_group", "age_group"),
    ("followers", "followers_bin", "followers_bin::text"),
    ("device", "device", "device"),
)


def audience_facts(events: str, bucket: str) -> str:
    """A SELECT of (bucket, source, dimension, value, detail, events, followers): the
    demographic facts of the rows of `events` (a table or parenthesized query of `events`
    columns) counted per event, per `bucket` (an expression over `e.occurred_at`).

    Facebook events have gender, age group, country and city (`city` facts: value = country,
    detail = city). TikTok events have a follower bin (and their follower count summed on
    the `all` fact, for the average); device and country come from top-funnel events only
    (the write path leaves them NULL on others). NULL values make no fact.
    """
    dimension = " ".join(
        f"WHEN grouping({column}) = 0 THEN '{name}'" for name, column, _ in _DIMENSIONS
    )
    value = " ".join(
        f"WHEN grouping({column}) = 0 THEN {shown}" for _, column, shown in _DIMENSIONS
    )
    columns = ", ".join(column for _, column, _ in _DIMENSIONS)
    sets = ", ".join(
        ["(bucket, source)", "(bucket, source, country, city)"]
        + [f"(bucket, source, {column})" for _, column, _ in _DIMENSIONS[1:]]
    )
    # One pass with GROUPING SETS: five times faster than a row per fact and event.
    return f"""
        SELECT * FROM (
            SELECT bucket, source,
                   CASE {dimension} ELSE 'all' END AS dimension,
                   CASE {value} ELSE '' END AS value,
                   CASE WHEN grouping(city) = 0 THEN city ELSE '' END AS detail,
                   count(*) AS events,
                   CASE WHEN grouping({columns}) = {2 ** len(_DIMENSIONS) - 1}
                        THEN coalesce(sum(followers), 0) ELSE 0 END AS followers
            FROM (
                SELECT {bucket} AS bucket, e.source, e.gender, {_AGE_GROUP} AS age_group,
                       e.country, e.city, funnel_followers_bin(e.followers) AS followers_bin,
                       e.device, e.followers
                FROM {events} AS e
            ) AS e
            GROUP BY GROUPING SETS ({sets})
        ) AS facts
        WHERE value IS NOT NULL
    """


# `date_bin` from a UTC midnight equals `date_trunc` in UTC, and is plain arithmetic.
_ORIGIN: Final = "timestamptz '2000-01-01 00:00:00+00'"


def _upsert(table: str, keys: str, sums: str, finest: str, grains: tuple[Grain, ...]) -> str:
    """Add `finest` (rows of bucket, keys, sums at `grains[0]`) to `table` at every grain.

    The coarser grains are rolled up from the finest rows, so events are read once. Rows
    are written in key order: concurrent writers lock shared rows in the same order.
    """
    names = sums.split()
    parts = [f"SELECT '{grains[0]}' AS grain, bucket, {keys}, {', '.join(names)} FROM finest"]
    parts += [
        f"SELECT '{grain}', date_bin('1 {grain}', bucket, {_ORIGIN}), {keys},"
        f" {', '.join(f'sum({name})' for name in names)} FROM finest GROUP BY 2, {keys}"
        for grain in grains[1:]
    ]
    return f"""
        WITH finest AS MATERIALIZED ({finest})
        INSERT INTO {table} AS c (grain, bucket, {keys}, {", ".join(names)})
        SELECT * FROM ({" UNION ALL ".join(parts)}) AS rows
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
    finest = audience_facts(relation, f"date_bin('1 {grains[0]}', e.occurred_at, {_ORIGIN})")
    return _upsert("audience_counts", _AUDIENCE_KEYS, _AUDIENCE_SUMS, finest, grains)


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


# Writers of one source take turns from here to their commit. They would queue on the same
# summary rows anyway; the lock makes "has this user another event?" exact: whoever checks
# second sees the first one's committed row. Needs READ COMMITTED (a snapshot per statement).
_LOCK_SOURCES: Final = """
    SELECT pg_advisory_xact_lock(hashtextextended('funnel.summaries.' || s.source, 0))
    FROM (SELECT DISTINCT source FROM _new_events ORDER BY source) AS s
"""

_REPEAT_COLUMNS: Final = (
    "event_id, source, occurred_at, user_id, funnel_stage, gender, age, country, city,"
    " followers, device"
)

# A new event whose user has another event of the same source makes that user a repeat
# user: all their events (the new and the earlier ones) are copied, once each.
# Both lookups probe `ix_events_user_id` (hash) once per new event, whatever the
# planner believes: each is a LATERAL subquery that cannot be flattened, over an inner
# `OFFSET 0` subquery that filters on `user_id` alone, so the source test cannot be pushed
# down. As plain joins the planner hashed all of `events` per batch; with the source test
# pushed down, on a table not yet analyzed, it ANDed in `ix_events_source_occurred_at` and
# read every event of the source per probe (2,400 rows/s in bench.collector).
_ADD_REPEATS: Final = f"""
    WITH repeat_users AS (
        SELECT DISTINCT n.source, n.user_id
        FROM _new_events AS n
        CROSS JOIN LATERAL (
            SELECT 1
            FROM (
                SELECT source, occurred_at, event_id FROM events WHERE user_id = n.user_id OFFSET 0
            ) AS o
            WHERE o.source = n.source AND (o.occurred_at, o.event_id) <> (n.occurred_at, n.event_id)
            LIMIT 1
        ) AS other
    )
    INSERT INTO repeat_events ({_REPEAT_COLUMNS})
    SELECT {", ".join(f"e.{column.strip()}" for column in _REPEAT_COLUMNS.split(","))}
    FROM repeat_users AS r
    CROSS JOIN LATERAL (
        SELECT * FROM (SELECT * FROM events WHERE user_id = r.user_id OFFSET 0) AS u
        WHERE u.source = r.source
    ) AS e
    ORDER BY e.occurred_at, e.event_id
    ON CONFLICT (occurred_at, event_id) DO NOTHING
"""

#: The statements `update_summaries` runs, in order, each named (`bench.statements` times them).
UPDATE_STEPS: Final[tuple[tuple[str, str], ...]] = (
    ("lock", _LOCK_SOURCES),
    ("repeat-user probe", _ADD_REPEATS),
    ("event counts", _count_events("_new_events", EVENT_GRAINS)),
    ("audience facts", _count_audience("_new_events", AUDIENCE_GRAINS)),
    ("campaign totals", _add_campaigns("_new_events")),
)

_UPDATE: Final = ";".join(statement for _, statement in UPDATE_STEPS)


# From scratch: the same statements over all of `events`; every grain still comes from one
# pass over the events.
_REBUILD: Final = ";".join(
    [
        "TRUNCATE event_counts, audience_counts, campaign_totals, repeat_events",
        _count_events("events", EVENT_GRAINS),
        _count_audience("events", AUDIENCE_GRAINS),
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


async def update_summaries(conn: asyncpg.Connection) -> None:
    """Add the rows of `_new_events` to every summary, in the caller's transaction.

    `_new_events` (columns of `events`) must hold exactly the rows this transaction newly
    inserted into `events`. Concurrent callers never deadlock and never double-count.
    """
    await conn.execute(_UPDATE)


async def rebuild_summaries(conn: asyncpg.Connection) -> None:
    """Recompute every summary from `events`; run it alone, in one transaction."""
    await conn.execute(_REBUILD)
