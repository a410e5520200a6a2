"""The PostgreSQL a benchmark (or the test suite) runs on: `DATABASE_URL`'s server, else an
embedded one, and a scratch database on it that is dropped afterwards."""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from funnel.local import EmbeddedPostgres
from funnel.local.postgres_user import server_scratch


def with_database(url: str, name: str) -> str:
    """`url` naming the database `name` instead of its own."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextlib.contextmanager
def postgres_server(prefix: str) -> Iterator[str]:
    """The URL of `DATABASE_URL`'s server, or of an embedded one (fsync on, as `funnel up`)
    started in a scratch directory named after `prefix` for as long as the block lasts."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with server_scratch(prefix) as store, EmbeddedPostgres(store / "pg") as server:
        yield server.url


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, prefix: str = "bench_") -> AsyncIterator[str]:
    """A new database (named `prefix` and a random suffix) on the server at `server_url`,
    dropped when the block ends well."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(server_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
