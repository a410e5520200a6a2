"""The shared connection pool: every connection carries the session settings we rely on."""

from funnel.db import connect_pool
from funnel.settings import DatabaseSettings


async def test_pooled_connections_never_compile_plans(database_url: str) -> None:
    """JIT is off on every pooled connection: on the write path's never-analyzed temporary
    tables the planner's cost guesses made PostgreSQL compile each transaction's statements
    for longer than they ran."""
    settings = DatabaseSettings(database_url=database_url)
    async with (
        connect_pool(settings, max_size=2) as pool,
        pool.acquire() as first,
        pool.acquire() as second,
    ):
        assert await first.fetchval("SHOW jit") == "off"
        assert await second.fetchval("SHOW jit") == "off"
