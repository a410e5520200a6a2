"""What part of an asked range the stored data can answer exactly, once retention has run.

Retention drops raw partitions (`raw_gaps` records their ranges) and old summary rows of the
fine grains (`summary_horizons` records, per grain, the first bucket kept). Summaries keep
counting dropped events, so a range stays exact for whole buckets of the grains still kept;
what cannot be answered exactly is cut off at its edges, and the answer says which range it
covered. Reports that read raw rows across the whole range (demographics, top campaigns)
cover only the longest part of it that no gap touches.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from funnel.reporter.models import Coverage
from funnel.reporter.ranges import OPEN_END, OPEN_START, Piece, split_range
from funnel.reporter.wire import iso
from funnel.reporting import Grain

Gap = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Retained:
    """The raw gaps overlapping a range, and the first bucket kept of each pruned grain."""

    gaps: Sequence[Gap]
    horizons: dict[str, datetime]


async def read_retained(conn: asyncpg.Connection, start: datetime, end: datetime) -> Retained:
    gaps = await conn.fetch(
        "SELECT starts, ends FROM raw_gaps WHERE starts < $2 AND ends > $1 ORDER BY starts",
        start,
        end,
    )
    horizons = await conn.fetch("SELECT grain, kept_from FROM summary_horizons")
    return Retained(
        gaps=[(row["starts"], row["ends"]) for row in gaps],
        horizons={row["grain"]: row["kept_from"] for row in horizons},
    )


def _touches_gap(start: datetime, end: datetime, gaps: Sequence[Gap]) -> bool:
    return start < end and any(gap_start < end and start < gap_end for gap_start, gap_end in gaps)


def _at_horizons(pieces: Sequence[Piece], retained: Retained) -> list[Piece]:
    """`pieces` with each summary piece that starts before its grain's horizon cut there: the
    part from the horizon on is whole kept buckets, only the part before needs raw events.
    Uncut, an open `from` made the whole range one raw piece: every retained event read."""
    cut: list[Piece] = []
    for piece in pieces:
        horizon = retained.horizons.get(piece.grain) if piece.grain else None
        if horizon is not None and piece.start < horizon < piece.end:
            cut += [
                Piece(piece.grain, piece.start, horizon),
                Piece(piece.grain, horizon, piece.end),
            ]
        else:
            cut.append(piece)
    return cut


def _answerable(piece: Piece, retained: Retained) -> Piece | None:
    """`piece` as it can be read exactly: from its summary rows while its grain keeps them,
    else from raw events while no gap touches it; None when neither can."""
    horizon = retained.horizons.get(piece.grain) if piece.grain else None
    if piece.grain is not None and (horizon is None or piece.start >= horizon):
        return piece
    if _touches_gap(piece.start, piece.end, retained.gaps):
        return None
    return Piece(None, piece.start, piece.end)


def plan(
    start: datetime, end: datetime, grains: tuple[Grain, ...], retained: Retained
) -> tuple[tuple[datetime, datetime], list[Piece]]:
    """The pieces that answer `[start, end)` exactly and the range they cover: the longest
    run of consecutive pieces that stored data can still answer (all of them, normally).
    What is cut is at the range's edges, where the finest pieces lie."""
    best: list[Piece] = []
    run: list[Piece] = []
    for piece in [*_at_horizons(split_range(start, end, grains), retained), None]:
        answered = _answerable(piece, retained) if piece is not None else None
        if answered is not None:
            run.append(answered)
            continue
        if _length(run) > _length(best):
            best = run
        run = []
    if not best:
        return (start, start), []
    return (best[0].start, best[-1].end), best


def _length(pieces: Sequence[Piece]) -> timedelta:
    return sum((piece.end - piece.start for piece in pieces), timedelta())


def raw_range(start: datetime, end: datetime, retained: Retained) -> tuple[datetime, datetime]:
    """The longest part of `[start, end)` that no raw gap touches (the earliest of equals)."""
    best = (start, start)
    moment = start
    for gap_start, gap_end in [*retained.gaps, (end, end)]:
        piece = (moment, min(gap_start, end))
        if piece[1] - piece[0] > best[1] - best[0]:
            best = piece
        moment = max(moment, gap_end)
        if moment >= end:
            break
    return best


def coverage(
    asked_start: datetime | None,
    asked_end: datetime | None,
    covered: tuple[datetime, datetime],
) -> Coverage:
    """The answer's `coverage`: the range it counted, as asked where nothing was cut."""
    start, end = covered
    whole_start = start == (asked_start or OPEN_START)
    whole_end = end == (asked_end or OPEN_END)
    return Coverage(
        from_=iso(asked_start) if whole_start else iso(start),
        to=iso(asked_end) if whole_end else iso(end),
        complete=whole_start and whole_end,
    )
