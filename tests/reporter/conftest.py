"""Fixtures for the reporter tests: one loaded database for the folder, and clients.

The data set is stored the way collectors store events (`store_events`, several
transactions, one batch stored twice), so the summaries are the ones ingest maintains.
"""

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from funnel.db import run_migrations
from funnel.db.ingest import store_events
from funnel.db.rows import EventRow
from funnel.observability import Readiness
from funnel.reporter import ReporterSettings, create_app
from tests.conftest import temporary_database
from tests.reporter.report_dataset import generate


async def load(database_url: str, rows: list[EventRow], batch: int = 400) -> None:
    """Store `rows` in shuffled batches, one transaction each, as a collector would."""
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    conn = await asyncpg.connect(database_url)
    try:
        for offset in range(0, len(shuffled), batch):
            async with conn.transaction():
                await store_events(conn, shuffled[offset : offset + batch])
        # A redelivered batch is stored once: the summaries must not count it again.
        async with conn.transaction():
            await store_events(conn, shuffled[:batch])
    finally:
        await conn.close()


@dataclass(frozen=True)
class Loaded:
    url: str
    rows: list[EventRow]


@pytest.fixture(scope="session")
async def loaded(postgres_url: str) -> AsyncIterator[Loaded]:
    """A migrated database holding the generated data set, shared by the folder's tests."""
    async with temporary_database(postgres_url, prefix="funnel_reports_") as url:
        await run_migrations(url)
        rows = generate()
        await load(url, rows)
        yield Loaded(url, rows)


def _with_state(app: ASGIApp, state: dict[str, object]) -> ASGIApp:
    # httpx's ASGI transport sends no lifespan events: hand the state over as uvicorn would.
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = dict(state)
        await app(scope, receive, send)

    return wrapped


@asynccontextmanager
async def running_reporter(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a reporter app whose lifespan has started on `database_url`."""
    app = create_app(ReporterSettings(database_url=database_url), Readiness())
    async with app.router.lifespan_context(app) as state:
        transport = httpx.ASGITransport(app=_with_state(app, dict(state or {})))
        async with httpx.AsyncClient(transport=transport, base_url="http://reporter") as client:
            yield client


@pytest.fixture(scope="session")
async def client(loaded: Loaded) -> AsyncIterator[httpx.AsyncClient]:
    """A reporter over the loaded data set."""
    async with running_reporter(loaded.url) as client:
        yield client
