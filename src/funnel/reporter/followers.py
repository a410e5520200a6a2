"""Exact follower order statistics (min, median, max) of a range's TikTok users.

Summaries count events per follower bin (`funnel_followers_bin`: about twenty a decade) and,
inside each bin, per fine bin (`funnel_followers_fine_bin`: three significant digits, one
value below 1,000). A wanted rank's bin comes from the bin histogram, its fine bin from that
bin's fine counts, and only that fine bin's follower counts are read from raw rows, through
`ix_events_tiktok_followers_fine_bin`: a fine bin spans 1/900 of its decade.
"""

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

import asyncpg

from funnel.events.wire import INT64_MAX
from funnel.reporter import queries
from funnel.reporter.models import FollowerStats
from funnel.reporter.ranges import Piece

#: Follower counts the repeat-user corrections moved: (bin, fine bin, followers) -> events
#: put in (taken out when negative).
Moved = Counter[tuple[int, int, int]]


def fine_width(bound: int) -> int:
    """The width of the fine bin (`funnel_followers_fine_bin`) starting at `bound`: one
    value below 1,000."""
    width: int = 10 ** max(len(str(bound)) - 3, 0)
    return width


def fine_bins_of(bin_: int) -> range:
    """The lower bounds of the fine bins making up the bin (`funnel_followers_bin`) starting
    at `bin_`: the count itself below 10, else up to the next bin (two leading digits 10..19,
    20, 25, .., 35, 40, 50, .., 90, then zeros)."""
    digits = len(str(bin_))
    if digits == 1:
        return range(bin_, bin_ + 1)
    scale: int = 10 ** (digits - 2)
    lead = bin_ // scale
    step = 1 if lead < 20 else 5 if lead < 40 else 10
    return range(bin_, min(bin_ + step * scale, INT64_MAX + 1), fine_width(bin_))


def _locate(histogram: Iterable[tuple[int, int]], rank: int) -> tuple[int, int]:
    """The key of `histogram` ((key, count) ascending by key) holding the `rank`-th smallest
    item (from 0), and that item's rank among the key's items."""
    for key, count in histogram:
        if rank < count:
            return key, rank
        rank -= count
    raise IndexError("rank beyond the number of users")


class FollowerRanks:
    """The follower counts of given ranks among a range's users, from their bin histogram
    (`bins`: lower bound -> users) and the corrections it already holds (`moved`). Each step
    is one statement for all the ranks asked."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        pieces: list[Piece],
        covered: tuple[datetime, datetime],
        bins: Mapping[int, int],
        moved: Moved,
    ) -> None:
        self._conn, self._pieces, self._covered = conn, pieces, covered
        self._bins, self._moved = sorted(bins.items()), moved

    async def values_at(self, ranks: Collection[int]) -> dict[int, int]:
        in_bin = {rank: _locate(self._bins, rank) for rank in ranks}
        fine_counts = await self._fine_counts(sorted({bin_ for bin_, _ in in_bin.values()}))
        in_fine = {
            rank: _locate(sorted(fine_counts[bin_].items()), k)
            for rank, (bin_, k) in in_bin.items()
        }
        # A fine bin of one value needs no reading.
        wanted = sorted({fine for fine, _ in in_fine.values() if fine_width(fine) > 1})
        values = await self._values(wanted)
        return {
            rank: values[fine][k] if fine in values else fine for rank, (fine, k) in in_fine.items()
        }

    async def _fine_counts(self, bins: list[int]) -> dict[int, Counter[int]]:
        """Users per fine bin of each of `bins`."""
        counts: defaultdict[int, Counter[int]] = defaultdict(Counter)
        fine_bins = [fine for bin_ in bins for fine in fine_bins_of(bin_)]
        for row in await queries.count_fine_followers(self._conn, self._pieces, bins, fine_bins):
            counts[row["bin"]][row["fine"]] += row["events"]
        for (bin_, fine, _), n in self._moved.items():
            if bin_ in counts:
                counts[bin_][fine] += n
        return counts

    async def _values(self, fine_bins: list[int]) -> dict[int, list[int]]:
        """The users' follower counts in each of `fine_bins`, ascending."""
        if not fine_bins:
            return {}
        values: defaultdict[int, Counter[int]] = defaultdict(Counter)
        for row in await queries.followers_in_fine_bins(self._conn, *self._covered, fine_bins):
            values[row["fine"]][row["followers"]] += 1
        for (_, fine, followers), n in self._moved.items():
            if fine in values:
                values[fine][followers] += n
        return {fine: sorted(values[fine].elements()) for fine in fine_bins}


async def follower_stats(ranks: FollowerRanks, users: int, total: int) -> FollowerStats:
    """Min, max, exact continuous median and average (of the follower sum `total`)."""
    if users == 0:
        return FollowerStats(min=None, max=None, avg=None, median=None)
    middle = (users - 1) // 2
    at = await ranks.values_at({0, middle, users // 2, users - 1})
    return FollowerStats(
        min=at[0],
        max=at[users - 1],
        avg=round(total / users, 2),
        median=at[middle] if users % 2 else (at[middle] + at[users // 2]) / 2,
    )
