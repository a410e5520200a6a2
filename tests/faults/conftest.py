"""Servers the fault tests may stop: their own NATS and PostgreSQL, never the shared ones.

Both are embedded, in temporary directories, for the whole session (start-up is the slow
part); each test gets its own namespace and database on them, and a server a test left
stopped is started again when its system is torn down.
"""

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from funnel.local import EmbeddedNats, EmbeddedPostgres
from tests.faults.fault_system import FaultServers, FunnelSystem, running_system


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
