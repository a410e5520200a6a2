"""Servers the fault tests may stop: their own NATS and PostgreSQL, never the shared ones.

Both are embedded, in temporary directories, for the whole session (start-up is the slow
part); each test gets its own namespace and database on them, and a server a test left
stopped is started again when its system is torn down.
"""

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from funnel.local import EmbeddedNats, EmbeddedPostgres
from funnel.local.postgres_user import server_scratch
from tests.faults.fault_system import FaultServers, FunnelSystem, running_system


@pytest.fixture(scope="session")
def fault_root() -> Iterator[Path]:
    """A directory of the fault tests' own, outside pytest's temporary root (another pytest
    session starting meanwhile may delete older sessions' directories), that PostgreSQL's
    system user can enter (`server_scratch`)."""
    with server_scratch("funnel-faults-") as root:
        yield root


@pytest.fixture
def fault_dir(fault_root: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A directory for this test's logs and data, under `fault_root`."""
    with server_scratch(f"{request.node.name[:40]}-", fault_root) as path:
        yield path


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
async def system(fault_servers: FaultServers, fault_dir: Path) -> AsyncIterator[FunnelSystem]:
    """Gateway, both collectors and reporter as processes, in a namespace of this test."""
    async with running_system(fault_servers, fault_dir) as funnel:
        yield funnel


@pytest.fixture(scope="module")
async def module_system(
    fault_servers: FaultServers, fault_root: Path
) -> AsyncIterator[FunnelSystem]:
    """The same as `system`, shared by the tests of one module that leave it as it was."""
    log_dir = Path(tempfile.mkdtemp(prefix="module-", dir=fault_root))
    async with running_system(fault_servers, log_dir) as funnel:
        yield funnel
