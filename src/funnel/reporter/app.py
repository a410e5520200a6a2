"""The reporter as an ASGI app: the report routes, health, metrics, OpenAPI at /docs and the
dashboard page at /dashboard/ (its live panels ask the services `DASHBOARD_SERVICES` names).

Start-up, in order: migrate the database (waiting for it if need be), open the pool, turn
ready. Shutdown: turn not ready, let requests in flight finish (uvicorn), close the pool.
"""

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from funnel.dashboard import DashboardSettings, LiveSource, install_dashboard
from funnel.db import connect_pool, migration_status, run_migrations
from funnel.observability import (
    CorrelationIdMiddleware,
    Phase,
    Readiness,
    health_router,
    metrics_router,
)
from funnel.reporter import queries
from funnel.reporter.catalog import EVENT_KINDS, INTERVALS
from funnel.reporter.docs import install_docs
from funnel.reporter.errors import install_error_handlers
from funnel.reporter.index import index_router
from funnel.reporter.metrics import ReporterMetrics
from funnel.reporter.routes import reports_router
from funnel.reporter.settings import ReporterSettings
from funnel.server import run_service

_log = structlog.get_logger(__name__)

_DESCRIPTION = """
Reports over the stored events. Ranges are `[from, to)` (ISO-8601, UTC when no offset is
given; either end may be omitted); every answer echoes its filters; money is an exact
decimal string with two places. Bad or unknown parameters answer 400 with a `details` list
naming each one.
"""


async def _check_database(pool: asyncpg.Pool) -> None:
    async with queries.snapshot(pool, timeout_seconds=2.0) as conn:
        await queries.check_database(conn)


async def _check_migrations(pool: asyncpg.Pool) -> None:
    async with queries.snapshot(pool, timeout_seconds=2.0) as conn:
        await migration_status(conn)


def create_app(
    settings: ReporterSettings, readiness: Readiness, dashboard: DashboardSettings | None = None
) -> FastAPI:
    """The reporter; `readiness` is what `/health/ready` asks; `dashboard` (by default from
    the environment) names the services the dashboard's live panels show."""
    dashboard = dashboard or DashboardSettings()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        registry = CollectorRegistry()
        metrics = ReporterMetrics(registry)
        await run_migrations(settings.database_url, timeout=settings.startup_timeout_seconds)
        async with (
            connect_pool(settings, max_size=settings.pool_max_size) as pool,
            LiveSource(dashboard) as live,
        ):
            readiness.add("database", functools.partial(_check_database, pool))
            readiness.add("migrations", functools.partial(_check_migrations, pool))
            readiness.phase = Phase.RUNNING
            _log.info("reporter_started", port=settings.port)
            yield {
                "readiness": readiness,
                "registry": registry,
                "metrics": metrics,
                "pool": pool,
                "dashboard": live,
                "statement_timeout": settings.statement_timeout_seconds,
                "repeat_user_window": settings.repeat_user_window,
            }
            readiness.phase = Phase.DRAINING
            _log.info("reporter_stopping")
        readiness.phase = Phase.STOPPED
        _log.info("reporter_stopped")

    app = FastAPI(
        title="Funnel reporter",
        description=_DESCRIPTION,
        version="1",
        lifespan=lifespan,
        docs_url=None,  # served by `install_docs`, without a CDN
        redoc_url=None,
    )
    app.add_middleware(CorrelationIdMiddleware)
    install_error_handlers(app)
    install_docs(app)
    app.include_router(index_router())
    app.include_router(reports_router())
    app.include_router(health_router())
    app.include_router(metrics_router())
    install_dashboard(app, EVENT_KINDS, INTERVALS)
    return app


def run(settings: ReporterSettings) -> None:
    """`funnel reporter`: serve until SIGTERM or Ctrl-C, then shut down in order."""
    run_service("reporter", settings, create_app)
