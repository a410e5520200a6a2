"""Every SQL statement of the reporter, and the read-only snapshot they run in.

A report runs all its statements in one REPEATABLE READ READ ONLY transaction, so summary
rows and raw events agree even while collectors commit. Statements over a list of `Piece`s
read whole buckets from a summary table and the raw edges from `events`; SQL text is built
only from constants and grain names, every value is a bound parameter.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import asyncpg

from funnel.db import DatabaseUnavailableError, audience_facts, is_unavailable
from funnel.events.source import Source
from funnel.reporter.catalog import Interval
from funnel.reporter.ranges import Piece
from funnel.reporting import is_transaction

# asyncpg.Record: read by column name.
Row = Mapping[str, Any]

_IS_TRANSACTION: Final = is_transaction("e")


@asynccontextmanager
async def snapshot(pool: asyncpg.Pool, timeout_seconds: float) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection inside a consistent read-only snapshot.

    Database failures (down, restarting, too slow) leave as `DatabaseUnavailableError`.
    """
    try:
        async with (
            pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            # Plans are made for each range's real size (the pool turns JIT off).
            await conn.execute(
                "SET LOCAL plan_cache_mode = force_custom_plan;"
                f" SET LOCAL statement_timeout = {int(timeout_seconds * 1000)}"
            )
            yield conn
    except asyncpg.QueryCanceledError as exc:
        raise DatabaseUnavailableError("the report took too long") from exc
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailableError(str(exc) or type(exc).__name__) from exc
        raise


def _union(
    pieces: Sequence[Piece], summary: str, raw: str, first_param: int
) -> tuple[str, list[Any]]:
    """`summary`/`raw` SELECTs (with {grain}, {start}, {end} placeholders) per piece."""
    parts, args = [], []
    number = first_param
    for piece in pieces:
        start, end = f"${number}", f"${number + 1}"
        args += [piece.start, piece.end]
        number += 2
        if piece.grain is None:
            parts.append(raw.format(start=start, end=end))
        else:
            parts.append(summary.format(grain=f"'{piece.grain}'", start=start, end=end))
    if not parts:
        parts.append(summary.format(grain="NULL", start="NULL", end="NULL"))
    return " UNION ALL ".join(f"({part})" for part in parts), args


async def count_events(
    conn: asyncpg.Connection,
    pieces: Sequence[Piece],
    sources: Sequence[Source],
    funnel_stage: str | None,
    event_type: str | None,
    interval: Interval | None,
) -> list[Row]:
    """(bucket, source, funnel_stage, event_type, events); bucket is NULL without interval."""
    bucket = "date_trunc($4, {column}, 'UTC')" if interval else "NULL::timestamptz"
    filters = (
        "source = ANY($1::text[]) AND ($2::text IS NULL OR funnel_stage = $2)"
        " AND ($3::text IS NULL OR event_type = $3)"
    )
    summary = (
        f"SELECT {bucket.format(column='bucket')} AS bucket, source, funnel_stage, event_type,"
        " events FROM event_counts WHERE grain = {grain} AND bucket >= {start}"
        f" AND bucket < {{end}} AND {filters}"
    )
    raw = (
        f"SELECT {bucket.format(column='occurred_at')} AS bucket, source, funnel_stage,"
        " event_type, count(*) AS events FROM events"
        " WHERE occurred_at >= {start} AND occurred_at < {end}"
        f" AND {filters} GROUP BY 1, 2, 3, 4"
    )
    args: list[Any] = [list(sources), funnel_stage, event_type]
    if interval:
        args.append(interval)
    union, piece_args = _union(pieces, summary, raw, len(args) + 1)
    sql = (
        "SELECT bucket, source, funnel_stage, event_type, sum(events)::bigint AS events"
        f" FROM ({union}) AS pieces GROUP BY 1, 2, 3, 4"
    )
    return list(await conn.fetch(sql, *args, *piece_args))


async def sum_revenue(
    conn: asyncpg.Connection, pieces: Sequence[Piece], sources: Sequence[Source]
) -> list[Row]:
    """(source, revenue, transactions, campaign_transactions) of the transactional events."""
    summary = (
        "SELECT source, revenue, transactions, campaign_transactions FROM event_counts"
        " WHERE grain = {grain} AND bucket >= {start} AND bucket < {end}"
        " AND source = ANY($1::text[]) AND transactions > 0"
    )
    raw = (
        "SELECT e.source, sum(e.purchase_amount) AS revenue, count(*) AS transactions,"
        " count(e.campaign_id) AS campaign_transactions FROM events e"
        " WHERE e.occurred_at >= {start} AND e.occurred_at < {end}"
        f" AND e.source = ANY($1::text[]) AND {_IS_TRANSACTION} GROUP BY 1"
    )
    union, args = _union(pieces, summary, raw, 2)
    sql = (
        "SELECT source, sum(revenue) AS revenue, sum(transactions)::bigint AS transactions,"
        " sum(campaign_transactions)::bigint AS campaign_transactions"
        f" FROM ({union}) AS pieces GROUP BY 1"
    )
    return list(await conn.fetch(sql, list(sources), *args))


async def campaign_revenue(
    conn: asyncpg.Connection,
    campaign_id: str,
    start: datetime,
    end: datetime,
    sources: Sequence[Source],
) -> list[Row]:
    """(source, revenue, transactions) of one campaign in the range."""
    sql = (
        "SELECT e.source, sum(e.purchase_amount) AS revenue, count(*) AS transactions"
        " FROM events e WHERE e.campaign_id = $1 AND e.occurred_at >= $2 AND e.occurred_at < $3"
        f" AND e.source = ANY($4::text[]) AND {_IS_TRANSACTION} GROUP BY 1"
    )
    return list(await conn.fetch(sql, campaign_id, start, end, list(sources)))


async def top_campaigns_in_range(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    sources: Sequence[Source],
    limit: int,
) -> list[Row]:
    """(campaign_id, revenue, transactions): the best `limit`, from the range's raw rows."""
    sql = (
        "SELECT e.campaign_id, sum(e.purchase_amount) AS revenue, count(*) AS transactions"
        " FROM events e WHERE e.occurred_at >= $1 AND e.occurred_at < $2"
        f" AND e.source = ANY($3::text[]) AND e.campaign_id IS NOT NULL AND {_IS_TRANSACTION}"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $4"
    )
    return list(await conn.fetch(sql, start, end, list(sources), limit))


async def campaign_candidates(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    sources: Sequence[Source],
    offset: int,
    limit: int,
) -> list[Row]:
    """(campaign_id, bound, revenue, transactions) for the campaigns ranked offset..+limit
    by all-time revenue (`bound`), with their revenue in the range (NULL when none).

    The page is written into the statement, not passed: a cached generic plan, which does
    not know how few rows it reads, sorted all of `campaign_totals` (a parallel scan of
    ~800,000 rows, 0.7-1.2 s under load) where the index gives the page in microseconds."""
    sql = (
        "SELECT t.campaign_id, t.revenue AS bound, r.revenue, r.transactions"
        " FROM (SELECT campaign_id, revenue FROM campaign_totals"
        f"      ORDER BY revenue DESC, campaign_id OFFSET {int(offset)} LIMIT {int(limit)}) AS t"
        " CROSS JOIN LATERAL (SELECT sum(e.purchase_amount) AS revenue, count(*) AS transactions"
        "       FROM events e WHERE e.campaign_id = t.campaign_id"
        "       AND e.occurred_at >= $1 AND e.occurred_at < $2"
        f"      AND e.source = ANY($3::text[]) AND {_IS_TRANSACTION}) AS r"
        " ORDER BY t.revenue DESC, t.campaign_id"
    )
    return list(await conn.fetch(sql, start, end, list(sources)))


async def campaigns_reaching(conn: asyncpg.Connection, revenue: Decimal) -> int:
    """How many campaigns have an all-time revenue (`campaign_totals`) of `revenue` or more."""
    sql = "SELECT count(*) FROM campaign_totals WHERE revenue >= $1"
    reaching: int = await conn.fetchval(sql, revenue)
    return reaching


async def count_audience(
    conn: asyncpg.Connection, pieces: Sequence[Piece], sources: Sequence[Source]
) -> list[Row]:
    """(source, dimension, value, detail, events, followers), counted per event; follower
    bins are dimension `followers`, valued by their lower bound."""
    summary = (
        "SELECT source, dimension, value, detail, events, followers FROM audience_counts"
        " WHERE grain = {grain} AND bucket >= {start} AND bucket < {end}"
        " AND source = ANY($1::text[])"
        " UNION ALL SELECT source, 'followers', bin::text, '', events, 0 FROM follower_counts"
        " WHERE grain = {grain} AND bucket >= {start} AND bucket < {end}"
        " AND source = ANY($1::text[])"
    )
    edge = (
        "(SELECT * FROM events WHERE occurred_at >= {start} AND occurred_at < {end}"
        " AND source = ANY($1::text[]))"
    )
    raw = (
        "SELECT source, dimension, value, detail, events, followers"
        f" FROM ({audience_facts(edge, 'NULL::timestamptz')}) AS facts"
    )
    union, args = _union(pieces, summary, raw, 2)
    sql = (
        "SELECT source, dimension, value, detail, sum(events)::bigint AS events,"
        f" sum(followers) AS followers FROM ({union}) AS pieces GROUP BY 1, 2, 3, 4"
    )
    return list(await conn.fetch(sql, list(sources), *args))


async def city_candidates(
    conn: asyncpg.Connection, pieces: Sequence[Piece], limit: int
) -> tuple[list[Row], int]:
    """The Facebook (country, city) pairs with the highest estimates in the pieces, as
    (country, city, extra), and the pieces' summed sketch floors: a pair's estimate is the
    floors plus its `extra`, never under its count and over it by at most the floors. Raw
    edges count exactly."""
    sketch = (
        "SELECT s.country, s.city, s.users - coalesce(f.floor, 0) AS extra"
        " FROM city_sketches AS s LEFT JOIN city_sketch_floors AS f USING (grain, bucket, source)"
        " WHERE s.grain = {grain} AND s.bucket >= {start} AND s.bucket < {end}"
        " AND s.source = 'facebook'"
    )
    raw = (
        "SELECT country, city, count(*) AS extra FROM events"
        " WHERE occurred_at >= {start} AND occurred_at < {end} AND source = 'facebook'"
        " AND city IS NOT NULL GROUP BY 1, 2"
    )
    union, args = _union(pieces, sketch, raw, 2)
    sql = (
        "SELECT country, city, sum(extra)::bigint AS extra"
        f" FROM ({union}) AS pieces GROUP BY 1, 2 ORDER BY 3 DESC, 2, 1 LIMIT $1"
    )
    rows = list(await conn.fetch(sql, limit, *args))
    floors = (
        "SELECT floor FROM city_sketch_floors WHERE grain = {grain} AND bucket >= {start}"
        " AND bucket < {end} AND source = 'facebook'"
    )
    union, args = _union(
        pieces, floors, "SELECT 0::bigint AS floor WHERE {start}::timestamptz < {end}", 1
    )
    total: int = await conn.fetchval(
        f"SELECT coalesce(sum(floor), 0)::bigint FROM ({union}) AS pieces", *args
    )
    return rows, total


async def repeat_user_events(
    conn: asyncpg.Connection, start: datetime, end: datetime, sources: Sequence[Source]
) -> list[Row]:
    """The events in the range of the users who have more than one there (per source)."""
    sql = (
        "SELECT * FROM ("
        "   SELECT source, user_id, event_key, occurred_at, funnel_stage, gender, age, country,"
        "     city, followers, funnel_followers_bin(followers) AS followers_bin,"
        "     funnel_followers_fine_bin(followers) AS followers_fine_bin, device,"
        "     count(*) OVER (PARTITION BY source, user_id) AS in_range"
        "   FROM repeat_events"
        "   WHERE source = ANY($3::text[]) AND occurred_at >= $1 AND occurred_at < $2"
        ") AS events_of_repeat_users WHERE in_range > 1"
    )
    return list(await conn.fetch(sql, start, end, list(sources)))


async def raw_extent(conn: asyncpg.Connection) -> tuple[datetime, datetime] | None:
    """From the first retained raw partition's start to the last one's end (None if none)."""
    row = await conn.fetchrow("SELECT min(starts) AS first, max(ends) AS last FROM raw_partitions")
    if row is None or row["first"] is None:
        return None
    return row["first"], row["last"]


async def count_fine_followers(
    conn: asyncpg.Connection,
    pieces: Sequence[Piece],
    bins: Sequence[int],
    fine_bins: Sequence[int],
) -> list[Row]:
    """(bin, fine, events): the TikTok events in the pieces per fine bin, for the follower
    bins `bins` (lower bounds of `funnel_followers_bin`), which `fine_bins` make up. Raw
    edges are read by fine bin through `ix_events_tiktok_followers_fine_bin`."""
    summary = (
        "SELECT c.bin, f.fine, f.events FROM follower_counts AS c"
        " CROSS JOIN unnest(c.fine_bins, c.fine_events) AS f (fine, events)"
        " WHERE c.grain = {grain} AND c.bucket >= {start} AND c.bucket < {end}"
        " AND c.source = 'tiktok' AND c.bin = ANY($1::bigint[])"
    )
    raw = (
        "SELECT funnel_followers_bin(followers) AS bin,"
        " funnel_followers_fine_bin(followers) AS fine, count(*) AS events FROM events"
        " WHERE occurred_at >= {start} AND occurred_at < {end} AND source = 'tiktok'"
        " AND funnel_followers_fine_bin(followers) = ANY($2::bigint[]) GROUP BY 1, 2"
    )
    union, args = _union(pieces, summary, raw, 3)
    # The unused CTE types both parameters: summary pieces use one, raw edges the other.
    sql = (
        "WITH wanted AS (SELECT $1::bigint[] AS bins, $2::bigint[] AS fine_bins)"
        " SELECT bin, fine, sum(events)::bigint AS events"
        f" FROM ({union}) AS pieces GROUP BY 1, 2"
    )
    return list(await conn.fetch(sql, list(bins), list(fine_bins), *args))


async def followers_in_fine_bins(
    conn: asyncpg.Connection, start: datetime, end: datetime, fine_bins: Sequence[int]
) -> list[Row]:
    """(fine, followers) of the TikTok events in the range whose fine bin
    (`funnel_followers_fine_bin`) starts at one of `fine_bins`: read index-only."""
    sql = (
        "SELECT funnel_followers_fine_bin(followers) AS fine, followers FROM events"
        " WHERE source = 'tiktok' AND funnel_followers_fine_bin(followers) = ANY($3::bigint[])"
        " AND occurred_at >= $1 AND occurred_at < $2"
    )
    return list(await conn.fetch(sql, start, end, list(fine_bins)))


async def check_database(conn: asyncpg.Connection) -> None:
    await conn.fetchval("SELECT 1")
