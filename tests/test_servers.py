"""The fixtures' servers answer: NATS with JetStream, PostgreSQL with a private database."""

import asyncpg
import nats

from funnel.events.subjects import Subjects


async def test_nats_has_jetstream(nats_url: str, subjects: Subjects) -> None:
    """The session's NATS server has JetStream enabled."""
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().account_info()
        assert info.limits is not None
    finally:
        await nc.close()


async def test_each_test_gets_its_own_database(database_url: str) -> None:
    """The per-test database exists and starts empty."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetchval(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        )
        assert tables == 0
        assert await conn.fetchval("show fsync") == "on"
    finally:
        await conn.close()
