"""The connection pool every database user of a service shares."""

from typing import Final

import asyncpg

from funnel.settings import DatabaseSettings

#: Session settings of every pooled connection.
#: No JIT: our statements are short, but the planner's guesses on the write path's
#: temporary tables (never analyzed) make their cost look huge, and PostgreSQL then spent
#: ~100 ms compiling each ingest transaction's repeat-user probe, longer than running it.
SERVER_SETTINGS: Final = {"jit": "off"}


def connect_pool(
    settings: DatabaseSettings, *, min_size: int = 1, max_size: int = 4
) -> asyncpg.Pool:
    """An asyncpg pool on `DATABASE_URL`; use it as `async with connect_pool(settings) as pool`.

    The URL is in libpq form (a Unix socket as `?host=/dir` included), which asyncpg takes
    as it is. Connections lost while the database restarts are replaced on the next acquire.
    """
    return asyncpg.create_pool(
        settings.database_url,
        min_size=min_size,
        max_size=max_size,
        server_settings=SERVER_SETTINGS,
    )
