"""The bulk write path: many events in, each stored once, in the caller's transaction.

Rows are copied (binary COPY) into a session-local staging table, then moved into `events`
with one `INSERT`; if any of them is stored already, with `ON CONFLICT (occurred_at,
event_key) DO NOTHING` instead: a redelivered or duplicate event (same `eventId` and
`timestamp`) is skipped by the primary key, so storing the same batch twice stores it once.
The rows that were new land in the temporary table `_new_events`, from which the report
summaries are updated in the same transaction, and their count per partition in
`raw_arrivals`, which retention reads.
"""

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

import asyncpg

from funnel.db.errors import translate_errors
from funnel.db.partitions import DEFAULT_PARTITION_WIDTH, create_partitions, is_missing_partition
from funnel.db.rows import COLUMNS, EventRow, RawBatch
from funnel.db.seen_users import SeenUsers
from funnel.db.summaries import lock_sources, update_summaries
from funnel.reporting import REPEAT_USER_WINDOW

_STAGING: Final = "_staging_events"
_COLUMN_LIST: Final = ", ".join(COLUMNS)

# What the summaries read of a new event: copying the raw payload too cost a third of the move.
_NOT_SUMMARIZED: Final = {"payload", "batch_id", "batch_index"}
_SUMMARY_COLUMNS: Final = ", ".join(column for column in COLUMNS if column not in _NOT_SUMMARIZED)

# Temporary tables live as long as the connection; creating them once per session and
# letting each commit empty them avoids a catalog insert and delete per transaction.
# Emptying them at the start too makes a second call in one transaction start clean.
# Only making them reads `events` (and holds a lock on it to the commit): emptying does not.
_CREATE_TEMPORARY: Final = f"""
CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (LIKE events) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS _new_events ON COMMIT DELETE ROWS
    AS SELECT {_SUMMARY_COLUMNS}, tableoid AS partition FROM events WITH NO DATA;
"""
_EMPTY_TEMPORARY: Final = f"DELETE FROM {_STAGING}; DELETE FROM _new_events"

# A writer takes its sources' turn (`funnel.db.summaries`) after copying its rows in and
# before touching `events`, not after the insert: one waiting for its turn then holds no
# lock on `events`. A retention drop, which needs `events` to itself, so waits only for the
# writers whose turn it is (one a source), not for every one queued behind them, while
# every writer and report waits behind the drop (1.6-3.2 s a drop under the publisher's
# pattern, when the turn was taken after the insert).
_TAKE_TURN: Final = lock_sources(_STAGING)


def _move(on_conflict: str) -> str:
    return f"""
        WITH inserted AS (
            INSERT INTO events ({_COLUMN_LIST})
            SELECT {_COLUMN_LIST} FROM {_STAGING}
            {on_conflict}
            RETURNING {_SUMMARY_COLUMNS}, tableoid
        )
        INSERT INTO _new_events SELECT * FROM inserted
    """


# Nearly every batch is new: a plain INSERT searches the primary key once per row where
# `ON CONFLICT` searches it twice (and logs a confirmation per row), ~7% of PostgreSQL's CPU
# per event. A batch that holds a stored event (a redelivery) fails it and takes the
# skipping path instead, inside the same transaction.
_MOVE_ALL_NEW: Final = _move("")
_MOVE_SKIPPING_STORED: Final = _move("ON CONFLICT (occurred_at, event_key) DO NOTHING")

# What retention reads: rows stored and the latest arrival, per partition and source.
_COUNT_ARRIVALS: Final = """
    INSERT INTO raw_arrivals AS a (partition, source, events, last_received_at)
    SELECT n.partition::regclass::text, n.source, count(*), now()
    FROM _new_events AS n
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (partition, source) DO UPDATE SET
        events = a.events + excluded.events,
        last_received_at = greatest(a.last_received_at, excluded.last_received_at)
"""


# A batch is kept in every partition its events landed in (two, for a message that crosses
# a partition bound), so it is dropped with its rows and never before them. Its
# `occurred_at` is its earliest event's there: the same on every delivery.
_STORE_BATCHES: Final = f"""
    WITH parts AS (
        SELECT s.batch_id, min(s.occurred_at) AS occurred_at
        FROM (SELECT DISTINCT batch_id, occurred_at FROM {_STAGING}) AS s
        JOIN raw_partitions AS p ON s.occurred_at >= p.starts AND s.occurred_at < p.ends
        GROUP BY s.batch_id, p.name
    )
    INSERT INTO raw_batches (batch_id, occurred_at, events, correlation_id, received_at)
    SELECT parts.batch_id, parts.occurred_at, b.events, b.correlation_id, b.received_at
    FROM parts
    JOIN unnest($1::bigint[], $2::bytea[], $3::text[], $4::timestamptz[])
        AS b (batch_id, events, correlation_id, received_at) USING (batch_id)
    ORDER BY 1, 2
    ON CONFLICT (batch_id, occurred_at) DO NOTHING
"""


async def _prepare(conn: asyncpg.Connection) -> None:
    """The session's temporary tables, empty: made on the connection's first call."""
    try:
        async with conn.transaction():  # a savepoint: the tables may not exist yet
            await conn.execute(_EMPTY_TEMPORARY)
    except asyncpg.UndefinedTableError:
        await conn.execute(_CREATE_TEMPORARY)


async def _insert_staged(conn: asyncpg.Connection) -> str:
    try:
        async with conn.transaction():  # a savepoint: a failure undoes only the attempt
            status: str = await conn.execute(_MOVE_ALL_NEW)
    except asyncpg.UniqueViolationError:
        status = await conn.execute(_MOVE_SKIPPING_STORED)
    return status


async def store_events(
    conn: asyncpg.Connection,
    rows: Sequence[EventRow],
    batches: Sequence[RawBatch] = (),
    *,
    partition_width: timedelta = DEFAULT_PARTITION_WIDTH,
    repeat_window: timedelta = REPEAT_USER_WINDOW,
    seen_users: SeenUsers | None = None,
) -> int:
    """Store `rows`, and the `batches` they point into, inside the caller's open transaction;
    return how many rows were new.

    Nothing is visible to others until the caller commits, and a rollback undoes it all.
    Rows no partition holds get one (`partition_width` wide) inside this transaction, which
    then holds the partition lock until it ends, so retention rounds and other writers
    making partitions wait for it: the collectors make them beforehand (`Partitions.ensure`),
    so this happens only when a partition went in between. Repeat users are found among
    events at most `repeat_window` apart (`funnel.db.summaries`); a writer that stores many
    batches passes its `seen_users`, so the search asks only about users seen before.
    Raises `DatabaseUnavailableError` when the database goes away, asyncpg's own errors when
    the data itself is refused.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("store_events runs inside the caller's transaction")
    if not rows:
        return 0
    with translate_errors():
        await _prepare(conn)
        await conn.copy_records_to_table(_STAGING, records=rows, columns=COLUMNS)
        await conn.execute(_TAKE_TURN)
        try:
            async with conn.transaction():
                status = await _insert_staged(conn)
        except asyncpg.CheckViolationError as exc:
            if not is_missing_partition(exc):
                raise
            await create_partitions(conn, [row.occurred_at for row in rows], partition_width)
            status = await _insert_staged(conn)
        inserted = int(status.rsplit(" ", 1)[-1])
        if batches:
            await conn.execute(
                _STORE_BATCHES,
                [batch.batch_id for batch in batches],
                [batch.events for batch in batches],
                [batch.correlation_id for batch in batches],
                [batch.received_at for batch in batches],
            )
        if inserted:
            await conn.execute(_COUNT_ARRIVALS)
            await update_summaries(conn, repeat_window, seen_users)
    return inserted
