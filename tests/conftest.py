"""Fixtures giving each test real servers and names of its own.

`NATS_URL` / `DATABASE_URL` point the suite at running servers; without them the session
starts embedded ones on free ports in temporary directories and stops them at the end.
Every test gets its own stream/subject namespace and its own database.
"""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import nats
import nats.js.errors
import pytest
from bench.postgres import postgres_server, scratch_database

from funnel.events.subjects import Subjects
from funnel.jetstream import (
    JetStreamConnection,
    declare_streams,
)
from funnel.local import EmbeddedNats
from funnel.local.postgres_user import server_scratch


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS server with JetStream: `NATS_URL`, or an embedded one for the session."""
    if url := os.environ.get("NATS_URL"):
        yield url
        return
    with EmbeddedNats(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture
def server_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """This test's directory for an embedded PostgreSQL's data, which its server user can
    reach when the tests run as root (see `server_scratch`)."""
    with server_scratch(f"funnel-{request.node.name[:40]}-") as path:
        yield path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server's maintenance URL: `DATABASE_URL`, or an embedded one."""
    with postgres_server("funnel-postgres-") as url:
        yield url


def unique_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def temporary_subjects(nats_url: str, prefix: str = "t") -> AsyncIterator[Subjects]:
    """Stream and subject names no one else uses; their streams are deleted on exit."""
    names = Subjects(namespace=unique_name(prefix))
    yield names
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for stream in (names.events_stream, names.dead_letter_stream):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(stream)
    finally:
        await nc.close()


def temporary_database(
    postgres_url: str, prefix: str = "funnel_test_"
) -> contextlib.AbstractAsyncContextManager[str]:
    """A fresh, empty database on the server; dropped on exit."""
    return scratch_database(postgres_url, prefix)


@pytest.fixture
async def subjects(nats_url: str) -> AsyncIterator[Subjects]:
    """Stream and subject names no other test uses; its streams are deleted afterwards."""
    async with temporary_subjects(nats_url) as names:
        yield names


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh, empty database for this test, dropped afterwards."""
    async with temporary_database(postgres_url) as url:
        yield url


@pytest.fixture
async def conn(nats_url: str) -> AsyncIterator[JetStreamConnection]:
    """A `funnel.jetstream` connection to the session's NATS server, drained after the test."""
    async with JetStreamConnection(nats_url, "test") as connection:
        yield connection


@pytest.fixture
async def streams(conn: JetStreamConnection, subjects: Subjects) -> Subjects:
    """This test's `EVENTS` and `DEAD_LETTERS` streams, declared; returns their names."""
    await declare_streams(conn, subjects, max_age=3600)
    return subjects
