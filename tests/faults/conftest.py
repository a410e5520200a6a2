"""Servers the fault tests may stop: their own NATS and PostgreSQL, never the shared ones.

Both are embedded, in temporary directories, for the whole session (start-up is the slow
part); each test gets its own namespace and database on them, and a test that stops a
server starts it again before it ends (`running_servers` checks).
"""

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from funnel.local import EmbeddedNats, EmbeddedPostgres
from tests.conftest import unique_name
from tests.faults.fault_system import FaultServers, FunnelSystem, with_database


@pytest.fixture(scope="session")
def fault_root() -> Iterator[Path]:
    """A directory of the fault tests' own, outside pytest's temporary root.

    Another pytest session starting meanwhile makes that root private again (and may delete
    older sessions' directories), and PostgreSQL, which runs as its own user when we are
    root, could then no longer reach its data directory to be stopped or started.
    """
    root = Path(tempfile.mkdtemp(prefix="funnel-faults-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fault_dir(fault_root: Path, request: pytest.FixtureRequest) -> Path:
    """A directory for this test's logs and data, under `fault_root`."""
    return Path(tempfile.mkdtemp(prefix=f"{request.node.name[:40]}-", dir=fault_root))


@pytest.fixture(scope="session")
def fault_servers(fault_root: Path) -> Iterator[FaultServers]:
    """An embedded NATS and PostgreSQL that only the fault tests use."""
    nats_server = EmbeddedNats(fault_root / "nats")
    postgres = EmbeddedPostgres(fault_root / "postgres" / "data")
    nats_server.start()
    try:
        postgres.start()
        try:
            yield FaultServers(nats=nats_server, postgres=postgres)
        finally:
            postgres.stop()
    finally:
        nats_server.stop()


@pytest.fixture
async def fault_database(fault_servers: FaultServers) -> AsyncIterator[str]:
    """A fresh database on the fault PostgreSQL, dropped afterwards."""
    fault_servers.ensure_running()
    name = unique_name("funnel_fault_")
    admin_url = fault_servers.postgres.url
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield with_database(admin_url, name)
    fault_servers.ensure_running()
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def system(
    fault_servers: FaultServers, fault_database: str, fault_dir: Path
) -> AsyncIterator[FunnelSystem]:
    """Gateway, both collectors and reporter as processes, in a namespace of this test."""
    funnel = FunnelSystem(
        nats_url=fault_servers.nats.url,
        database_url=fault_database,
        namespace=unique_name("f"),
        log_dir=fault_dir,
    )
    try:
        await funnel.start()
        yield funnel
    finally:
        await funnel.stop()
        fault_servers.ensure_running()
        await funnel.delete_streams()
