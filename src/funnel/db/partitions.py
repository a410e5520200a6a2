"""Time partitions of `events`: which exist, and creating the ones a batch needs.

`events` is partitioned by `occurred_at` (migration `0007`). A partition covers
`[start, start + width)`, aligned on `width` from a UTC midnight; `raw_partitions` records
each one's bounds in the transaction that creates it. Partitions are made ahead of time by
retention's maintenance, and on demand for events stamped outside them (late, backfilled or
future events): `Partitions.ensure` runs before a batch's transaction, in a short one of its
own, so no writer ever waits on another's DDL for long.
"""

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Final

import asyncpg

from funnel.db.errors import translate_errors

_ORIGIN: Final = datetime(2000, 1, 1, tzinfo=UTC)
# Creating and dropping partitions take turns on this lock, across every replica.
LOCK_KEY: Final = int.from_bytes(b"funnel-p", "big") >> 1
# Making a partition waits this long for a lock on `events`, then gives up for now: attaching
# takes a lock that writers' and readers' do not block, so it is short in practice.
DDL_LOCK_TIMEOUT: Final = "2s"
# Raw partitions are only ever inserted into, then dropped whole: a vacuum triggered by
# inserts (every 20% of growth) only sets visibility bits on pages soon gone, and it was
# three quarters of autovacuum's CPU under the publisher's pattern. Analyze still runs on
# inserts, so plans know each partition's size; a partition kept long enough is still frozen
# by the anti-wraparound vacuum.
_NO_INSERT_VACUUM: Final = (
    "autovacuum_vacuum_insert_threshold = -1, toast.autovacuum_vacuum_insert_threshold = -1"
)
#: The width of a partition made for a caller that names none (tests, bulk loads).
DEFAULT_PARTITION_WIDTH: Final = timedelta(hours=1)


def is_missing_partition(exc: asyncpg.CheckViolationError) -> bool:
    """Whether PostgreSQL refused a row because no partition of `events` holds it."""
    return "no partition of relation" in str(exc)


@dataclass(frozen=True, slots=True, order=True)
class Partition:
    """One partition of `events`: rows with `start <= occurred_at < end`."""

    start: datetime
    end: datetime
    name: str

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def partition_name(start: datetime) -> str:
    """`events_` and the UTC start (`events_20261125_100000`), as `0007` named its partitions:
    lower case, so `regclass::text` gives it back unquoted."""
    return "events_" + start.astimezone(UTC).strftime("%Y%m%d_%H%M%S").zfill(15)


def batches_of(partition: str) -> str:
    """The `raw_batches` partition beside the `events` partition named `partition`."""
    return "batches_" + partition.removeprefix("events_")


# Python's datetimes end where validation lets timestamps end; a slot past them is open.
_FIRST: Final = datetime.min.replace(tzinfo=UTC)
_LAST: Final = datetime.max.replace(tzinfo=UTC)


def aligned_start(moment: datetime, width: timedelta) -> datetime:
    """The start of the width-aligned slot holding `moment` (open below year 1)."""
    try:
        return _ORIGIN + ((moment - _ORIGIN) // width) * width
    except OverflowError:
        return _FIRST


def _slot_end(start: datetime, width: timedelta) -> datetime:
    try:
        return start + width
    except OverflowError:
        return _LAST


def _bound(moment: datetime) -> str:
    if moment == _FIRST:
        return "-infinity"
    return "infinity" if moment == _LAST else moment.isoformat()


async def list_partitions(conn: asyncpg.Connection) -> list[Partition]:
    """Every partition of `events`, oldest first."""
    rows = await conn.fetch("SELECT starts, ends, name FROM raw_partitions ORDER BY starts")
    return [Partition(_aware(row["starts"]), _aware(row["ends"]), row["name"]) for row in rows]


def _aware(moment: datetime) -> datetime:
    # asyncpg gives the infinities (and year 1's first instant) as naive datetimes.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _slot(moment: datetime, width: timedelta, existing: Sequence[Partition]) -> Partition:
    """The partition to create for `moment`: its aligned slot, cut back where it would
    overlap a partition made with another width."""
    start = aligned_start(moment, width)
    end = _slot_end(start, width)
    starts = [partition.start for partition in existing]
    after = bisect.bisect_right(starts, moment)
    if after < len(existing):
        end = min(end, existing[after].start)
    if after > 0:
        start = max(start, existing[after - 1].end)
    return Partition(start, end, partition_name(start))


async def create_partitions(
    conn: asyncpg.Connection, moments: Iterable[datetime], width: timedelta
) -> list[Partition]:
    """Create, in one transaction of its own under the partition lock, a partition for each
    of `moments` that none holds yet; return the ones created."""
    created: list[Partition] = []
    with translate_errors():
        async with conn.transaction():
            # Only for this DDL: a caller's own transaction keeps its own setting.
            was = await conn.fetchval(
                "SELECT current_setting('lock_timeout'),"
                " set_config('lock_timeout', $1, true), pg_advisory_xact_lock($2)",
                DDL_LOCK_TIMEOUT,
                LOCK_KEY,
            )
            existing = await list_partitions(conn)
            for moment in sorted(set(moments)):
                if any(partition.holds(moment) for partition in existing):
                    continue
                partition = _slot(moment, width, existing)
                await _create(conn, partition)
                created.append(partition)
                existing = sorted([*existing, partition])
            await conn.execute("SELECT set_config('lock_timeout', $1, true)", was)
    return created


async def _create(conn: asyncpg.Connection, partition: Partition) -> None:
    # The bounds are datetimes we made, printed by isoformat: nothing to quote. A table made
    # apart and attached: `CREATE TABLE ... PARTITION OF` would take an exclusive lock on the
    # parent, waiting for every writer and blocking them all meanwhile; `ATTACH` takes one
    # that writers and readers do not conflict with (its indexes are built on an empty table).
    bounds = f"FROM ('{_bound(partition.start)}') TO ('{_bound(partition.end)}')"
    for parent, name in (("events", partition.name), ("raw_batches", batches_of(partition.name))):
        await conn.execute(
            f'CREATE TABLE "{name}" (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
            f" INCLUDING STORAGE INCLUDING COMPRESSION) WITH ({_NO_INSERT_VACUUM});"
            f' ALTER TABLE {parent} ATTACH PARTITION "{name}" FOR VALUES {bounds}'
        )
    await conn.execute(
        "INSERT INTO raw_partitions (name, starts, ends) VALUES ($1, $2, $3)",
        partition.name,
        partition.start,
        partition.end,
    )


async def retire_partition(conn: asyncpg.Connection, partition: str) -> str:
    """Detach `partition` from `events`, rename it `retired_<start>` (so that a late event for
    its range can make the partition again), drop its raw batches and name it in
    `retired_partitions`, where retention settles and drops it; return its new name. Run it
    holding `events` to itself."""
    retired = "retired_" + partition.removeprefix("events_")
    await conn.execute(
        f'ALTER TABLE events DETACH PARTITION "{partition}";'
        f' ALTER TABLE "{partition}" RENAME TO "{retired}"; DROP TABLE "{batches_of(partition)}"'
    )
    await conn.execute("INSERT INTO retired_partitions (name) VALUES ($1)", retired)
    return retired


class Partitions:
    """A writer's view of the partitions, refreshed when a batch needs one it doesn't know.

    `forget` drops the view after a failed write: retention may have dropped a partition
    this view still lists (a late event for it then makes it again).
    """

    def __init__(self, width: timedelta) -> None:
        self.width = width
        self._known: list[Partition] = []

    def _at(self, moment: datetime) -> int | None:
        at = bisect.bisect_right(self._known, moment, key=lambda partition: partition.start) - 1
        return at if at >= 0 and self._known[at].holds(moment) else None

    def _covers(self, first: datetime, last: datetime) -> bool:
        """Whether known partitions without a gap between them hold all of `[first, last]`."""
        low, high = self._at(first), self._at(last)
        if low is None or high is None:
            return False
        chain = self._known[low : high + 1]
        return all(a.end == b.start for a, b in pairwise(chain))

    def _missing(self, moments: Iterable[datetime]) -> set[datetime]:
        return {moment for moment in set(moments) if self._at(moment) is None}

    async def ensure(self, pool: asyncpg.Pool, moments: Sequence[datetime]) -> None:
        """Make sure a partition holds each of `moments` (the `occurred_at` of a batch)."""
        # A batch's events are nearly all of one moment: two lookups settle it.
        if not moments or self._covers(min(moments), max(moments)):
            return
        missing = self._missing(moments)
        if not missing:
            return
        with translate_errors():
            async with pool.acquire() as conn:
                self._known = await list_partitions(conn)
                missing = self._missing(missing)
                if missing:
                    await create_partitions(conn, missing, self.width)
                    self._known = await list_partitions(conn)

    def forget(self) -> None:
        self._known = []
