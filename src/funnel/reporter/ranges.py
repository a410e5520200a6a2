"""Cutting a time range into pieces that summary rows answer whole, plus raw edges.

A range `[start, end)` is covered by the coarsest whole buckets that fit, then finer whole
buckets on each side, then (under the finest grain) raw events: reading cost grows with
the range's length in coarse buckets, never with the size of the events table.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from funnel.reporting import Grain

#: Stand-ins for an omitted `from` / `to`: aligned on every grain and inside PostgreSQL's range.
OPEN_START: Final = datetime(1, 1, 1, tzinfo=UTC)
OPEN_END: Final = datetime(9999, 12, 31, tzinfo=UTC)

_WIDTH: Final[dict[Grain, timedelta]] = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}


@dataclass(frozen=True, slots=True)
class Piece:
    """`[start, end)` read from the summary rows of `grain`, or from raw events when None."""

    grain: Grain | None
    start: datetime
    end: datetime


def floor_to(moment: datetime, grain: Grain) -> datetime:
    """The start of the UTC bucket of `grain` holding `moment`."""
    moment = moment.astimezone(UTC)
    if grain == "second":
        return moment.replace(microsecond=0)
    if grain == "minute":
        return moment.replace(second=0, microsecond=0)
    if grain == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_to(moment: datetime, grain: Grain) -> datetime:
    floor = floor_to(moment, grain)
    return floor if floor == moment else floor + _WIDTH[grain]


def split_range(start: datetime, end: datetime, grains: tuple[Grain, ...]) -> list[Piece]:
    """Pieces covering `[start, end)` exactly once; `grains` from finest to coarsest."""
    if start >= end:
        return []
    if not grains:
        return [Piece(None, start, end)]
    coarsest, finer = grains[-1], grains[:-1]
    inner_start, inner_end = ceil_to(start, coarsest), floor_to(end, coarsest)
    if inner_start >= inner_end:
        return split_range(start, end, finer)
    return [
        *split_range(start, inner_start, finer),
        Piece(coarsest, inner_start, inner_end),
        *split_range(inner_end, end, finer),
    ]
