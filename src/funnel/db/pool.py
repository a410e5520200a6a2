"""The connection pool every database user of a service shares."""

import asyncpg

from funnel.settings import DatabaseSettings


def connect_pool(
    settings: DatabaseSettings, *, min_size: int = 1, max_size: int = 4
) -> asyncpg.Pool:
    """An asyncpg pool on `DATABASE_URL`; use it as `async with connect_pool(settings) as pool`.

    The URL is in libpq form (a Unix socket as `?host=/dir` included), which asyncpg takes
    as it is. Connections lost while the database restarts are replaced on the next acquire.
    """
    return asyncpg.create_pool(settings.database_url, min_size=min_size, max_size=max_size)
