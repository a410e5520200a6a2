"""Fixtures for the storage tests."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from funnel.db import run_migrations


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a freshly migrated database of this test's own."""
    await run_migrations(database_url)
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()
