"""`SeenUsers`: a writer's filters of the users each recent partition holds, kept complete
by a log every writer appends to, so the repeat-user probe skips the users no partition has.

The probe (`funnel.db.summaries`) looks each new event's user up in every partition within
REPEAT_USER_WINDOW: one index lookup per event and partition, a cost that grows with the
partitions retention keeps (3-4 of them at a 5-minute retention; ~1.5 us each). The
publisher's users almost never come back, so nearly every lookup finds nothing.

Every transaction that stores events appends the 64-bit hashes of their users to
`user_hashes` (migration `0012`), one row per partition and source. A collector holds a
`UserFilter` per (partition, source) it has needed, made from that partition's rows and
brought up to date at each batch with the rows appended since (its own and other replicas'),
read under the per-source lock the summaries already take, so no row commits in between.
A filter is trusted only while the events it counted equal `raw_arrivals`' count for its
partition and source: anything that stored events without logging them (a bulk load, rows
from before `0012`) makes the probe ask every partition, as it did before, and it stays exact.

Costs: 8 bytes an event in `user_hashes` (dropped with the partition); 16 bits a user in a
filter layer, more while layers grow (27-40 MB a collector in the soak: 5 minutes of the
publisher's pattern kept, ~5M users a source); ~0.1 us an event of the collector's CPU.
"""

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import asyncpg
import numpy as np

from funnel.db.user_filter import NO_HASHES, UserFilter, hashes_of, might_hold, user_hash

# Filters of partitions no batch has been near for this long are let go (a dropped
# partition, a backfill's), and made again from the log if needed: stale ones would hold
# memory `max_bytes` counts (at 10 minutes a soak's collector went from 27 to 40 MB).
_FORGET_AFTER_SECONDS: Final = 120.0

# This transaction's new events, logged: what other writers catch up from, and what this
# one checks against its filters (the filters hold committed rows only).
LOG_NEW_USERS: Final = f"""
    INSERT INTO user_hashes (partition, source, hashes)
    SELECT partition::regclass::text, source, string_agg(int8send({user_hash("user_id")}), '')
    FROM _new_events
    GROUP BY 1, 2
    RETURNING partition, source, hashes
"""

_LAST_SEQ: Final = "SELECT coalesce(max(seq), 0) FROM user_hashes WHERE source = $1"
_SINCE: Final = """
    SELECT seq, partition, hashes FROM user_hashes WHERE source = $1 AND seq > $2 ORDER BY seq
"""
_ALL_OF: Final = "SELECT hashes FROM user_hashes WHERE partition = $1 AND source = $2"


@dataclass(slots=True)
class _Held:
    filter: UserFilter
    used_at: float
    # Once its count has matched the stored events': a mismatch after that means stale.
    verified: bool = False


@dataclass(frozen=True, slots=True)
class NearPartition:
    """A partition within the window of a batch's events, with the events `raw_arrivals`
    counts there for one source (this transaction's included)."""

    name: str
    source: str
    stored: int


#: Memory a writer's filters may take unless told otherwise.
DEFAULT_MAX_BYTES: Final = 256 * 2**20


@dataclass(slots=True)
class SeenUsers:
    """One writer's filters. Of the new events, `asked` counts those whose user the probe
    asked about (a filter might hold it, or it is on two new events), `skipped` the others,
    and `unfiltered` those of batches asked about in full because a near filter was
    incomplete or `full` (past `max_bytes` together)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    _held: dict[tuple[str, str], _Held] = field(default_factory=dict)
    _last_seq: dict[str, int] = field(default_factory=dict)
    asked: int = 0
    skipped: int = 0
    unfiltered: int = 0

    @property
    def nbytes(self) -> int:
        return sum(held.filter.nbytes for held in self._held.values())

    async def catch_up(self, conn: asyncpg.Connection, sources: Iterable[str]) -> None:
        """Add the users other transactions logged since the last call; run it holding the
        per-source lock of `sources`, before this transaction logs its own."""
        for source in sources:
            last = self._last_seq.get(source)
            if last is None:  # no filter yet: start from now, filters load what came before
                self._last_seq[source] = await conn.fetchval(_LAST_SEQ, source)
                continue
            for row in await conn.fetch(_SINCE, source, last):
                held = self._held.get((row["partition"], source))
                if held is not None:
                    held.filter.add(hashes_of(row["hashes"]), self._room())
                last = row["seq"]
            self._last_seq[source] = last

    async def load(self, conn: asyncpg.Connection, near: Sequence[NearPartition]) -> None:
        """Make the filters `near` lacks from the log; after `catch_up`, under the same lock."""
        now = time.monotonic()
        for partition in near:
            key = (partition.name, partition.source)
            held = self._held.get(key)
            if held is not None:
                held.used_at = now
                continue
            rows = await conn.fetch(_ALL_OF, partition.name, partition.source)
            hashes = np.concatenate([NO_HASHES, *(hashes_of(row["hashes"]) for row in rows)])
            # A partition past is complete; one still filling will likely hold as many as
            # the largest of the source held (`near` comes oldest first): most are alike.
            largest = max(
                (h.filter.count for (_, s), h in self._held.items() if s == partition.source),
                default=0,
            )
            made = UserFilter(expected=max(len(hashes), largest))
            made.add(hashes, self._room())
            self._held[key] = _Held(made, now)
        self._forget_unused(now)

    def candidates(
        self, near: Sequence[NearPartition], logged: Sequence[asyncpg.Record]
    ) -> list[int] | None:
        """The user hashes of this transaction's events (`logged`, rows of `LOG_NEW_USERS`)
        the probe must ask about: those some near partition might hold and those on more
        than one new event. None when a near filter is not complete: ask about every one."""
        new = {(row["partition"], row["source"]): hashes_of(row["hashes"]) for row in logged}
        events = sum(len(hashes) for hashes in new.values())
        trusted: dict[str, list[UserFilter]] = {}
        for partition in near:
            key = (partition.name, partition.source)
            held = self._held[key]  # `load` made every near one
            if held.filter.full:  # kept, so that it is not read again at every batch
                self.unfiltered += events
                return None
            if held.filter.count != partition.stored - len(new.get(key, ())):
                if held.verified:  # stale (its partition was dropped and made again)
                    del self._held[key]  # made anew at the next batch
                else:  # its log lacks rows: kept, empty, so that it is not read again
                    held.filter.give_up()
                self.unfiltered += events
                return None
            held.verified = True
            trusted.setdefault(partition.source, []).append(held.filter)
        wanted = [NO_HASHES]
        for source in {source for _, source in new}:
            of_source = np.concatenate([h for (_, s), h in new.items() if s == source])
            distinct, counts = np.unique(of_source, return_counts=True)
            wanted += [distinct[counts > 1], might_hold(trusted.get(source, ()), distinct)]
        asked = np.unique(np.concatenate(wanted))
        events_asked = int(np.isin(np.concatenate(list(new.values())), asked).sum())
        self.asked += events_asked
        self.skipped += events - events_asked
        return [int(hash_) for hash_ in asked]

    def _room(self) -> int:
        return self.max_bytes - self.nbytes

    def _forget_unused(self, now: float) -> None:
        for key in [
            k for k, held in self._held.items() if now - held.used_at > _FORGET_AFTER_SECONDS
        ]:
            del self._held[key]
