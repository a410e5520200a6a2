"""`/reports/events`: counts by source, funnel stage and event type, with a time series."""

from collections import Counter
from datetime import datetime, timedelta
from typing import Final

import asyncpg

from funnel.events.source import SOURCES
from funnel.reporter import queries
from funnel.reporter.catalog import EVENT_KINDS, Interval
from funnel.reporter.coverage import coverage, plan, read_retained
from funnel.reporter.errors import InvalidParamsError, ParamProblem
from funnel.reporter.models import EventsFilters, EventsReport, EventTypeCount, SeriesPoint
from funnel.reporter.params import EventsQuery
from funnel.reporter.ranges import OPEN_END, OPEN_START, ceil_to, floor_to
from funnel.reporter.wire import iso
from funnel.reporting import EVENT_GRAINS

#: A series longer than this asks for a coarser interval instead (400).
MAX_SERIES_POINTS: Final = 10_000

_STEP: Final[dict[Interval, timedelta]] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}


def _check_series_length(first: datetime, last: datetime, interval: Interval) -> None:
    points = (last - first) // _STEP[interval] + 1
    if points > MAX_SERIES_POINTS:
        message = f"the range holds {points} {interval}s, more than {MAX_SERIES_POINTS}"
        raise InvalidParamsError([ParamProblem("interval", f"{message}: choose a coarser one")])


def _series(counts: Counter[datetime], query: EventsQuery, interval: Interval) -> list[SeriesPoint]:
    """Every bucket from the one holding `from` to the one before `to`, zeros included;
    an open end stops at the last bucket holding events."""
    if query.start is not None:
        first = floor_to(query.start, interval)
    elif counts:
        first = min(counts)
    else:
        return []
    if query.end is not None:
        last = ceil_to(query.end, interval) - _STEP[interval]
    elif counts:
        last = max(counts)
    else:
        return []
    _check_series_length(first, last, interval)
    points, moment = [], first
    while moment <= last:
        points.append(SeriesPoint(start=iso(moment), count=counts[moment]))
        moment += _STEP[interval]
    return points


async def events_report(conn: asyncpg.Connection, query: EventsQuery) -> EventsReport:
    interval = query.interval
    if interval is not None and query.start is not None and query.end is not None:
        last = ceil_to(query.end, interval) - _STEP[interval]
        _check_series_length(floor_to(query.start, interval), last, interval)
    grains = EVENT_GRAINS if interval is None else EVENT_GRAINS[: EVENT_GRAINS.index(interval) + 1]
    asked = (query.start or OPEN_START, query.end or OPEN_END)
    covered, pieces = plan(*asked, grains, await read_retained(conn, *asked))
    sources = [query.source] if query.source else list(SOURCES)
    rows = await queries.count_events(
        conn, pieces, sources, query.funnel_stage, query.event_type, interval
    )
    by_kind: Counter[tuple[str, str, str]] = Counter()
    by_bucket: Counter[datetime] = Counter()
    for row in rows:
        by_kind[(row["source"], row["funnel_stage"], row["event_type"])] += row["events"]
        if interval is not None:
            by_bucket[row["bucket"]] += row["events"]
    kinds = [
        kind
        for kind in EVENT_KINDS
        if kind[0] in sources
        and query.funnel_stage in (None, kind[1])
        and query.event_type in (None, kind[2])
    ]
    return EventsReport(
        filters=EventsFilters(
            from_=iso(query.start),
            to=iso(query.end),
            source=query.source,
            funnel_stage=query.funnel_stage,
            event_type=query.event_type,
            interval=interval,
        ),
        total=sum(by_kind.values()),
        by_source={s: sum(n for k, n in by_kind.items() if k[0] == s) for s in SOURCES},
        by_funnel_stage={
            stage: sum(n for k, n in by_kind.items() if k[1] == stage)
            for stage in ("top", "bottom")
        },
        by_event_type=[
            EventTypeCount(
                source=source,
                funnel_stage=stage,
                event_type=kind,
                count=by_kind[(source, stage, kind)],
            )
            for source, stage, kind in kinds
        ],
        series=None if interval is None else _series(by_bucket, query, interval),
        coverage=coverage(query.start, query.end, covered),
    )
