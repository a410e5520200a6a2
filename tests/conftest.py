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
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import nats
import nats.js.errors
import pytest

from funnel.events.subjects import Subjects
from funnel.jetstream import (
    JetStreamConnection,
    declare_streams,
)
from funnel.local import EmbeddedNats, EmbeddedPostgres
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
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with server_scratch("funnel-postgres-") as root, EmbeddedPostgres(root / "data") as server:
        yield server.url


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


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@asynccontextmanager
async def temporary_database(postgres_url: str, prefix: str = "funnel_test_") -> AsyncIterator[str]:
    """A fresh, empty database on the server; dropped on exit."""
    name = unique_name(prefix)
    admin = await asyncpg.connect(with_database(postgres_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(postgres_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


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
