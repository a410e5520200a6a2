"""The report endpoints: parse the query, read one snapshot, answer JSON."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Annotated, Any, Final

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from funnel.events.source import SOURCES
from funnel.reporter import queries
from funnel.reporter.demographics import demographics_report
from funnel.reporter.events import events_report
from funnel.reporter.metrics import Category, ReporterMetrics
from funnel.reporter.models import DemographicsReport, EventsReport, RevenueReport
from funnel.reporter.params import (
    DemographicsQuery,
    EventsQuery,
    RevenueQuery,
    demographics_query,
    events_query,
    revenue_query,
)
from funnel.reporter.revenue import revenue_report

_log = structlog.get_logger(__name__)

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": 'Bad parameters: `{"error": "...", "details": [{"param", "message"}]}`'},
    503: {"description": "The database is unavailable or too slow right now; try again"},
}


@asynccontextmanager
async def _report(request: Request, category: Category) -> AsyncIterator[asyncpg.Connection]:
    """A snapshot for one report, timed (metric and log line) from asking for a connection
    to the answer."""
    metrics: ReporterMetrics = request.state.metrics
    started = perf_counter()
    with metrics.timed(category):
        async with queries.snapshot(request.state.pool, request.state.statement_timeout) as conn:
            yield conn
    _log.info(
        "report_served",
        category=category,
        query=str(request.query_params),
        duration_ms=round((perf_counter() - started) * 1000, 1),
    )


def _answer(report: BaseModel, exclude: set[str] | None = None) -> JSONResponse:
    return JSONResponse(report.model_dump(mode="json", by_alias=True, exclude=exclude))


def reports_router() -> APIRouter:
    router = APIRouter(prefix="/reports", tags=["reports"], responses=_ERRORS)

    @router.get("/events", response_model=EventsReport, summary="Event counts")
    async def events(
        request: Request, query: Annotated[EventsQuery, Depends(events_query)]
    ) -> JSONResponse:
        """Events in `[from, to)` by source, funnel stage and event type (every kind the
        filters allow, zeros included); with `interval`, a series of UTC buckets covering
        the range, zeros included."""
        async with _report(request, "events") as conn:
            report = await events_report(conn, query)
        return _answer(report, None if query.interval else {"series"})

    @router.get("/revenue", response_model=RevenueReport, summary="Revenue")
    async def revenue(
        request: Request, query: Annotated[RevenueQuery, Depends(revenue_query)]
    ) -> JSONResponse:
        """Exact revenue of transactional events (Facebook `checkout.complete`, TikTok
        `purchase`, with an amount) in `[from, to)`, and the 10 best campaigns."""
        async with _report(request, "revenue") as conn:
            report = await revenue_report(conn, query)
        return _answer(report)

    @router.get("/demographics", response_model=DemographicsReport, summary="Demographics")
    async def demographics(
        request: Request, query: Annotated[DemographicsQuery, Depends(demographics_query)]
    ) -> JSONResponse:
        """Distinct users with an event in `[from, to)`, each described by their latest
        event there (TikTok devices and countries: by their latest top-funnel event)."""
        async with _report(request, "demographics") as conn:
            report = await demographics_report(conn, query, request.state.repeat_user_window)
        # With `source`, only that source's object is present.
        return _answer(report, {other for other in SOURCES if query.source not in (None, other)})

    return router
