"""Migrations: applied under a lock, idempotent, and checked by readiness."""

import asyncio
import os
import sys

import asyncpg
import pytest

from funnel.db import SchemaNotCurrentError, head_revisions, migration_status, run_migrations


async def test_concurrent_migrations_both_succeed(database_url: str) -> None:
    """Several replicas migrating one empty database at once all succeed, and it ends at head."""
    await asyncio.gather(*(run_migrations(database_url) for _ in range(3)))
    conn = await asyncpg.connect(database_url)
    try:
        await migration_status(conn)
        versions = await conn.fetch("SELECT version_num FROM alembic_version")
    finally:
        await conn.close()
    assert {row["version_num"] for row in versions} == head_revisions()


async def test_migrations_run_twice_change_nothing(database_url: str) -> None:
    """Running the migrations again on a migrated database is a no-op."""
    await run_migrations(database_url)
    await run_migrations(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await migration_status(conn)
    finally:
        await conn.close()


async def test_status_fails_before_migrations(database_url: str) -> None:
    """An empty database is reported as not migrated."""
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(SchemaNotCurrentError, match="no migrations"):
            await migration_status(conn)
    finally:
        await conn.close()


async def test_status_fails_when_behind(database_url: str) -> None:
    """A database at an older known revision is reported as behind."""
    await run_migrations(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE alembic_version SET version_num = '0001_events'")
        if head_revisions() == {"0001_events"}:
            await migration_status(conn)
            return
        with pytest.raises(SchemaNotCurrentError, match="0001_events"):
            await migration_status(conn)
    finally:
        await conn.close()


async def test_events_table_has_report_indexes(database_url: str) -> None:
    """The events table carries the primary key and the indexes the reports rely on."""
    await run_migrations(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'events'")
    finally:
        await conn.close()
    assert {row["indexname"] for row in rows} >= {
        "pk_events",
        "ix_events_user_id",
        "ix_events_revenue",
        "ix_events_campaign_revenue",
        "ix_events_tiktok_followers_fine_bin",
    }


async def test_status_accepts_newer_revision(database_url: str) -> None:
    """A revision unknown to this code (written by a newer release) counts as current."""
    await run_migrations(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        await migration_status(conn)
    finally:
        await conn.close()


async def test_migrate_command_brings_the_schema_to_head(database_url: str) -> None:
    """`funnel migrate` applies the migrations to DATABASE_URL and exits 0."""
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_FORMAT": "json"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "funnel",
        "migrate",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    assert b'"migrations_applied"' in output
    conn = await asyncpg.connect(database_url)
    try:
        await migration_status(conn)
    finally:
        await conn.close()
