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

_IS_TRANSACTION = (
    "(e.purchase_amount IS NOT NULL AND (e.source, e.event_type) IN ("
    + ", ".join(f"('{source}', '{kind}')" for source, kind in TRANSACTIONAL_EVENT_TYPES.items())
    + "))"
)

#: The demographic facts of one event row `e`: (dimension, value, detail, followers).
#: Facebook: every event has gender, age, country and city. TikTok: every event has a
#: follower count (counted in its bin, summed on the `all` row for the average); device and
#: country come from top-funnel events only. `value IS NULL` rows are dropped by the caller.
AUDIENCE_FACTS: Final = """
    (VALUES
        ('all', '', '', e.followers),
        ('gender', e.gender, '', NULL::bigint),
        ('age', e.age::text, '', NULL),
        ('country', e.country, '', NULL),
        ('city', CASE WHEN e.city IS NOT NULL THEN e.country END, e.city, NULL),
        ('followers', funnel_followers_bin(e.followers)::text, '', NULL),
        ('device', e.device, '', NULL)
    ) AS f(dimension, value, detail, followers)
"""


def _grains(grains: tuple[Grain, ...]) -> str:
    return "(VALUES " + ", ".join(f"('{grain}')" for grain in grains) + ") AS g(grain)"


def _count_events(relation: str, grains: tuple[Grain, ...]) -> str:
    # Sorted keys: concurrent writers of one source lock rows in the same order.
    return f"""
        INSERT INTO event_counts AS c (grain, bucket, source, funnel_stage, event_type,
                                       events, revenue, transactions, campaign_transactions)
        SELECT g.grain, date_trunc(g.grain, e.occurred_at, 'UTC'), e.source, e.funnel_stage,
               e.event_type, count(*),
               coalesce(sum(e.purchase_amount) FILTER (WHERE {_IS_TRANSACTION}), 0),
               count(*) FILTER (WHERE {_IS_TRANSACTION}),
               count(*) FILTER (WHERE {_IS_TRANSACTION} AND e.campaign_id IS NOT NULL)
        FROM {relation} AS e CROSS JOIN {_grains(grains)}
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (grain, bucket, source, funnel_stage, event_type) DO UPDATE SET
            events = c.events + excluded.events,
            revenue = c.revenue + excluded.revenue,
            transactions = c.transactions + excluded.transactions,
            campaign_transactions = c.campaign_transactions + excluded.campaign_transactions
    """


def _count_audience(relation: str, grains: tuple[Grain, ...]) -> str:
    return f"""
        INSERT INTO audience_counts AS c (grain, bucket, source, dimension, value, detail,
                                          events, followers)
        SELECT g.grain, date_trunc(g.grain, e.occurred_at, 'UTC'), e.source,
               f.dimension, f.value, f.detail, count(*), coalesce(sum(f.followers), 0)
        FROM {relation} AS e CROSS JOIN {_grains(grains)} CROSS JOIN LATERAL {AUDIENCE_FACTS}
        WHERE f.value IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6
        ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (grain, bucket, source, dimension, value, detail) DO UPDATE SET
            events = c.events + excluded.events,
            followers = c.followers + excluded.followers
    """


def _add_campaigns(relation: str) -> str:
    return f"""
        INSERT INTO campaign_totals AS c (campaign_id, revenue, transactions)
        SELECT e.campaign_id, sum(e.purchase_amount), count(*)
        FROM {relation} AS e
        WHERE {_IS_TRANSACTION} AND e.campaign_id IS NOT NULL
        GROUP BY 1
        ORDER BY 1
        ON CONFLICT (campaign_id) DO UPDATE SET
            revenue = c.revenue + excluded.revenue,
            transactions = c.transactions + excluded.transactions
    """


# Writers of one source take turns from here to their commit. They would queue on the same
# summary rows anyway; the lock makes "has this user an earlier event?" exact: whoever checks
# second sees the first one's committed row. Needs READ COMMITTED (a snapshot per statement).
_LOCK_SOURCES: Final = """
    SELECT pg_advisory_xact_lock(hashtextextended('funnel.summaries.' || s.source, 0))
    FROM (SELECT DISTINCT source FROM _new_events ORDER BY source) AS s
"""

# New events whose user has another event of the same source: flagging a few too many (two
# new events of one user flag each other) only costs the report a little correction work.
_FLAG_REPEATS: Final = """
    INSERT INTO repeat_events (source, occurred_at, user_id)
    SELECT n.source, n.occurred_at, n.user_id
    FROM _new_events AS n
    WHERE EXISTS (
        SELECT 1 FROM events AS e
        WHERE e.user_id = n.user_id AND e.source = n.source AND e.event_id <> n.event_id
    )
"""

_UPDATE: Final = ";".join(
    [
        _LOCK_SOURCES,
        _FLAG_REPEATS,
        _count_events("_new_events", EVENT_GRAINS),
        _count_audience("_new_events", AUDIENCE_GRAINS),
        _add_campaigns("_new_events"),
    ]
)


def _roll_up(table: str, columns: str, sums: str, finer: Grain, coarser: Grain) -> str:
    return f"""
        INSERT INTO {table} (grain, bucket, {columns}, {", ".join(sums.split())})
        SELECT '{coarser}', date_trunc('{coarser}', bucket, 'UTC'), {columns},
               {", ".join(f"sum({column})" for column in sums.split())}
        FROM {table} WHERE grain = '{finer}'
        GROUP BY 2, {columns}
    """


_EVENT_KEYS: Final = "source, funnel_stage, event_type"
_EVENT_SUMS: Final = "events revenue transactions campaign_transactions"
_AUDIENCE_KEYS: Final = "source, dimension, value, detail"
_AUDIENCE_SUMS: Final = "events followers"

# From scratch, each table is filled at its finest grain from `events` and rolled up from
# there: one pass over the events instead of one per grain.
_REBUILD: Final = ";".join(
    [
        "TRUNCATE event_counts, audience_counts, campaign_totals, repeat_events",
        _count_events("events", EVENT_GRAINS[:1]),
        *(
            _roll_up("event_counts", _EVENT_KEYS, _EVENT_SUMS, finer, coarser)
            for finer, coarser in pairwise(EVENT_GRAINS)
        ),
        _count_audience("events", AUDIENCE_GRAINS[:1]),
        *(
            _roll_up("audience_counts", _AUDIENCE_KEYS, _AUDIENCE_SUMS, finer, coarser)
            for finer, coarser in pairwise(AUDIENCE_GRAINS)
        ),
        _add_campaigns("events"),
        """
        INSERT INTO repeat_events (source, occurred_at, user_id)
        SELECT source, occurred_at, user_id FROM (
            SELECT source, occurred_at, user_id, row_number() OVER (
                PARTITION BY source, user_id ORDER BY occurred_at, event_id) AS nth
            FROM events
        ) AS numbered
        WHERE nth > 1
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
