"""The reports' query parameters: parsed strictly, every problem reported at once.

Parameters are read from the raw query string (not FastAPI's coercion) so that unknown or
repeated names, empty values and contradictions all come back together in one 400.
The FastAPI dependencies below also declare the parameters for the OpenAPI document.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Final, TypeVar, get_args

from fastapi import Query, Request

from funnel.events.source import SOURCES, FunnelStage, Source
from funnel.reporter.catalog import EVENT_KINDS, EVENT_TYPES, INTERVALS, Interval
from funnel.reporter.errors import InvalidParamsError, ParamProblem
from funnel.reporter.ranges import OPEN_END, OPEN_START

_STAGES: Final[tuple[FunnelStage, ...]] = get_args(FunnelStage)
_MAX_CAMPAIGN_ID: Final = 256
_Choice = TypeVar("_Choice", bound=str)


@dataclass(frozen=True, slots=True)
class TimeFilter:
    """`from` (inclusive) and `to` (exclusive), aware UTC; None when omitted."""

    start: datetime | None
    end: datetime | None
    source: Source | None


@dataclass(frozen=True, slots=True)
class EventsQuery(TimeFilter):
    funnel_stage: FunnelStage | None
    event_type: str | None
    interval: Interval | None


@dataclass(frozen=True, slots=True)
class RevenueQuery(TimeFilter):
    campaign_id: str | None


@dataclass(frozen=True, slots=True)
class DemographicsQuery(TimeFilter):
    pass


class _Reader:
    """Collects the problems of one query string while reading its parameters."""

    def __init__(self, request: Request, allowed: tuple[str, ...]) -> None:
        self._params = request.query_params
        self.problems: list[ParamProblem] = []
        for name in dict.fromkeys(self._params.keys()):
            if name not in allowed:
                self._fail(name, f"unknown parameter; allowed: {', '.join(allowed)}")

    def _fail(self, param: str, message: str) -> None:
        self.problems.append(ParamProblem(param, message))

    def text(self, name: str) -> str | None:
        values = self._params.getlist(name)
        if len(values) > 1:
            self._fail(name, "given more than once")
            return None
        if not values:
            return None
        if not values[0]:
            self._fail(name, "must not be empty")
            return None
        if "\x00" in values[0]:
            # PostgreSQL text cannot hold U+0000: the query would fail, not find nothing.
            self._fail(name, "must not contain the NUL character")
            return None
        return values[0]

    def choice(self, name: str, choices: tuple[_Choice, ...]) -> _Choice | None:
        value = self.text(name)
        if value is None or value in choices:
            return value
        self._fail(name, f"must be one of: {', '.join(choices)}")
        return None

    def moment(self, name: str) -> datetime | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
            # A time without an offset is read as UTC, the only zone reports speak.
            moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except ValueError:
            self._fail(name, "must be an ISO-8601 date-time, e.g. 2026-11-25T10:00:00Z")
            return None
        except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
            moment = None
        # Reports split ranges at UTC days: a moment past the open ends has no whole day.
        if moment is None or not OPEN_START <= moment <= OPEN_END:
            self._fail(name, f"must lie between {OPEN_START:%Y-%m-%d} and {OPEN_END:%Y-%m-%d} UTC")
            return None
        return moment

    def time_filter(self) -> tuple[datetime | None, datetime | None, Source | None]:
        start, end = self.moment("from"), self.moment("to")
        if start is not None and end is not None and start >= end:
            self._fail("from", "must be earlier than `to`")
        return start, end, self.choice("source", SOURCES)

    def check(self) -> None:
        if self.problems:
            raise InvalidParamsError(self.problems)

    def event_kind(self, source: Source | None) -> tuple[FunnelStage | None, str | None]:
        stage = self.choice("funnelStage", _STAGES)
        event_type = self.choice("eventType", EVENT_TYPES)
        if event_type is not None:
            kinds = [
                kind
                for kind in EVENT_KINDS
                if kind[2] == event_type and source in (None, kind[0]) and stage in (None, kind[1])
            ]
            if not kinds:
                where = " ".join(part for part in (source, stage and f"{stage}-funnel") if part)
                self._fail("eventType", f"{event_type!r} is not a {where} event type")
        return stage, event_type


_FROM_DOC: Final = "Start of the range, inclusive: ISO-8601 (UTC when no offset is given)."
_TO_DOC: Final = "End of the range, exclusive: ISO-8601; must be after `from`."

From = Annotated[
    str | None,
    Query(alias="from", description=_FROM_DOC, examples=["2026-11-25T10:00:00Z"]),
]
To = Annotated[
    str | None, Query(alias="to", description=_TO_DOC, examples=["2026-11-25T11:00:00Z"])
]
SourceParam = Annotated[
    str | None,
    Query(
        alias="source", description="Only this platform.", json_schema_extra={"enum": list(SOURCES)}
    ),
]


def events_query(
    request: Request,
    _from: From = None,
    _to: To = None,
    _source: SourceParam = None,
    _funnel_stage: Annotated[
        str | None,
        Query(alias="funnelStage", json_schema_extra={"enum": list(_STAGES)}),
    ] = None,
    _event_type: Annotated[
        str | None,
        Query(
            alias="eventType",
            description="Must exist for the given `source` and `funnelStage`.",
            json_schema_extra={"enum": list(EVENT_TYPES)},
        ),
    ] = None,
    _interval: Annotated[
        str | None,
        Query(
            alias="interval",
            description="Adds a time series of UTC buckets of this size (at most 10,000 of them).",
            json_schema_extra={"enum": list(INTERVALS)},
        ),
    ] = None,
) -> EventsQuery:
    reader = _Reader(request, ("from", "to", "source", "funnelStage", "eventType", "interval"))
    start, end, source = reader.time_filter()
    stage, event_type = reader.event_kind(source)
    interval = reader.choice("interval", INTERVALS)
    reader.check()
    return EventsQuery(start, end, source, stage, event_type, interval)


def revenue_query(
    request: Request,
    _from: From = None,
    _to: To = None,
    _source: SourceParam = None,
    _campaign_id: Annotated[
        str | None,
        Query(alias="campaignId", description="Only this campaign.", examples=["camp-ab12c"]),
    ] = None,
) -> RevenueQuery:
    reader = _Reader(request, ("from", "to", "source", "campaignId"))
    start, end, source = reader.time_filter()
    campaign_id = reader.text("campaignId")
    if campaign_id is not None and len(campaign_id) > _MAX_CAMPAIGN_ID:
        reader.problems.append(ParamProblem("campaignId", "is too long"))
    reader.check()
    return RevenueQuery(start, end, source, campaign_id)


def demographics_query(
    request: Request, _from: From = None, _to: To = None, _source: SourceParam = None
) -> DemographicsQuery:
    reader = _Reader(request, ("from", "to", "source"))
    start, end, source = reader.time_filter()
    reader.check()
    return DemographicsQuery(start, end, source)
