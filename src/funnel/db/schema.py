"""Bringing the schema to the head revision, and checking that it is there.

Every service that touches the database calls `run_migrations` at start. The upgrade runs
in one transaction that first takes a transaction-level advisory lock, so replicas starting
together queue behind each other: the first applies the migrations, the rest find the
schema at head and do nothing.
"""

from functools import cache
from pathlib import Path
from typing import Final

import asyncpg
import structlog
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential_jitter,
)

from funnel.db.errors import DatabaseUnavailableError, SchemaNotCurrentError, translate_errors
from funnel.settings import to_sqlalchemy_url

_MIGRATIONS: Final = Path(__file__).with_name("migrations")
# Any constant works as long as every Funnel service uses the same one: b"funnel-m".
_LOCK_KEY: Final = int.from_bytes(b"funnel-m", "big") >> 1

_log = structlog.get_logger(__name__)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@cache
def head_revisions() -> frozenset[str]:
    """The head revision(s) this code's migrations end at."""
    return frozenset(ScriptDirectory.from_config(_config()).get_heads())


@cache
def _known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(_config())
    return frozenset(revision.revision for revision in script.walk_revisions())


def _upgrade(connection: Connection, revision: str) -> None:
    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def run_migrations(
    database_url: str,
    *,
    timeout: float = 0,  # noqa: ASYNC109 - bounds waiting for the server, not the call
    revision: str = "head",
) -> None:
    """Apply every pending migration (up to `revision`) to the (existing) database at
    `database_url`.

    Safe to call from many processes at once. While the server is unavailable (starting,
    restarting) it retries for up to `timeout` seconds, then raises
    `DatabaseUnavailableError`; a failing migration rolls back entirely.
    """
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(DatabaseUnavailableError),
        stop=stop_after_delay(timeout),
        wait=wait_exponential_jitter(multiplier=0.2, max=5.0),
        before_sleep=_log_wait,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            await _upgrade_once(database_url, revision)
    applied = ",".join(sorted(head_revisions())) if revision == "head" else revision
    _log.info("migrations_applied", revision=applied)


def _log_wait(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    _log.warning("database_not_available", attempt=state.attempt_number, error=str(error))


async def _upgrade_once(database_url: str, revision: str) -> None:
    engine = create_async_engine(to_sqlalchemy_url(database_url), poolclass=NullPool)
    try:
        with translate_errors():
            async with engine.begin() as connection:
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
                )
                await connection.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()


async def migration_status(conn: asyncpg.Connection) -> None:
    """Return when the schema is at head; raise `SchemaNotCurrentError` saying why otherwise.

    A revision this code does not know was written by a newer release, whose migrations
    only add to the schema: that counts as current, so rolling upgrades keep old replicas
    ready.
    """
    with translate_errors():
        try:
            rows = await conn.fetch("SELECT version_num FROM alembic_version")
        except asyncpg.UndefinedTableError:
            raise SchemaNotCurrentError("no migrations applied") from None
    applied = frozenset(row["version_num"] for row in rows)
    if applied == head_revisions() or (applied and not applied <= _known_revisions()):
        return
    found = ",".join(sorted(applied)) or "none"
    raise SchemaNotCurrentError(f"schema at {found}, expected {','.join(sorted(head_revisions()))}")
