"""The real services as processes, on the fault tests' own servers.

Each service runs as `funnel gateway|collector|reporter` on a free port, with its output in a
log file; `start` waits for `/health/ready`, `stop` sends a signal and waits for the exit.
The knobs shorten what a fault test would otherwise wait for: a killed collector's batch is
redelivered after `ACK_WAIT_SECONDS`, and a graceful stop is bounded by the grace period.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import asyncpg
import httpx
import nats
import nats.js.errors
from bench.postgres import with_database

from funnel.events import Subjects
from funnel.local import EmbeddedNats, EmbeddedPostgres, free_port
from tests.conftest import unique_name

FUNNEL: Final = Path(sys.executable).with_name("funnel")

# Settings every service of a fault test runs with, on top of its address and names.
_KNOBS: Final = {
    "APP_ENV": "development",
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "INFO",
    "SHUTDOWN_GRACE_SECONDS": "20",
    "ACK_WAIT_SECONDS": "4",
    "NAK_DELAY_SECONDS": "0.5",
    "STARTUP_TIMEOUT_SECONDS": "60",
    "LAG_INTERVAL_SECONDS": "1",
}
# Variables that would point a service elsewhere than the test says.
_INHERITED_OUT: Final = ("NATS_URL", "DATABASE_URL", "FUNNEL_NAMESPACE", "PORT", "EVENT_ENDPOINT")


@dataclass
class FaultServers:
    """The fault tests' NATS and PostgreSQL, which a test may stop and start."""

    nats: EmbeddedNats
    postgres: EmbeddedPostgres

    def ensure_running(self) -> None:
        """Start whichever server a failed test left stopped."""
        if not self.nats.is_running:
            self.nats.start()
        if not self.postgres.is_running:
            self.postgres.start()


class ServiceProcess:
    """One `funnel <command>` process; it can be started again after it stopped."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.port = free_port()
        self._args = args
        self._env = env | {"PORT": str(self.port)}
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.exit_codes: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def start(self, within: float = 90.0) -> None:
        """Start the process and return once `/health/ready` answers 200."""
        assert not self.is_running, f"{self.name} is already running"
        with self._log_path.open("ab") as log:
            # Popen returns once the child is forked; only waiting for it would block.
            self._process = subprocess.Popen(  # noqa: ASYNC220
                [str(FUNNEL), *self._args],
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await self.wait_ready(within)

    async def wait_ready(self, within: float = 90.0) -> None:
        """Return once `/health/ready` answers 200; fail with the log's end if it never does."""
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            try:
                async with asyncio.timeout(within):
                    while True:
                        if not self.is_running:
                            raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
                        with contextlib.suppress(httpx.TransportError):
                            if (await client.get("/health/ready")).status_code == 200:
                                return
                        await asyncio.sleep(0.2)
            except TimeoutError:
                raise AssertionError(
                    f"{self.name} not ready within {within:g}s:\n{self.log_tail()}"
                ) from None

    async def stop(self, sig: signal.Signals = signal.SIGTERM, within: float = 60.0) -> int:
        """Send `sig` and wait for the exit; its code is returned and kept in `exit_codes`."""
        process = self._process
        assert process is not None, f"{self.name} was never started"
        if process.poll() is None:
            process.send_signal(sig)
            try:
                await asyncio.to_thread(process.wait, within)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
                raise AssertionError(
                    f"{self.name} did not exit within {within:g}s of {sig.name}"
                ) from None
        self._process = None
        self.exit_codes.append(process.returncode)
        return process.returncode

    async def terminate(self) -> None:
        """SIGTERM, and assert the shutdown was the orderly one.

        uvicorn re-raises the signal once it has shut down, so an orderly exit is 0 or
        "killed by SIGTERM" after the lifespan's shutdown completed.
        """
        code = await self.stop(signal.SIGTERM)
        assert code in (0, -signal.SIGTERM), f"{self.name} exited {code}:\n{self.log_tail()}"
        assert "Application shutdown complete" in self.log_tail(5), self.log_tail()

    def log_tail(self, lines: int = 40) -> str:
        if not self._log_path.exists():
            return "(no output)"
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_text(self) -> str:
        return self._log_path.read_text(errors="replace") if self._log_path.exists() else ""


class FunnelSystem:
    """Gateway, fb-collector, ttk-collector and reporter of one namespace, as processes."""

    def __init__(self, *, nats_url: str, database_url: str, namespace: str, log_dir: Path) -> None:
        self.nats_url = nats_url
        self.database_url = database_url
        self.subjects = Subjects(namespace)
        env = {key: value for key, value in os.environ.items() if key not in _INHERITED_OUT}
        env |= _KNOBS | {
            "NATS_URL": nats_url,
            "DATABASE_URL": database_url,
            "FUNNEL_NAMESPACE": namespace,
        }
        self.env = env
        self.gateway = ServiceProcess("gateway", ["gateway"], env, log_dir / "gateway.log")
        self.fb_collector = ServiceProcess(
            "fb-collector",
            ["collector", "--source", "facebook"],
            env,
            log_dir / "fb-collector.log",
        )
        self.ttk_collector = ServiceProcess(
            "ttk-collector",
            ["collector", "--source", "tiktok"],
            env,
            log_dir / "ttk-collector.log",
        )
        self.reporter = ServiceProcess("reporter", ["reporter"], env, log_dir / "reporter.log")

    @property
    def reporter_url(self) -> str:
        return self.reporter.url

    @property
    def services(self) -> list[ServiceProcess]:
        return [self.gateway, self.fb_collector, self.ttk_collector, self.reporter]

    @property
    def collectors(self) -> list[ServiceProcess]:
        return [self.fb_collector, self.ttk_collector]

    async def start(self) -> None:
        # All at once: the three that migrate queue behind one advisory lock.
        await asyncio.gather(*(service.start() for service in self.services))

    async def stop(self) -> None:
        """SIGTERM to every service still running, all at once."""
        running = [service for service in self.services if service.is_running]
        await asyncio.gather(*(service.stop() for service in running))

    async def delete_streams(self) -> None:
        nc = await nats.connect(self.nats_url)
        try:
            js = nc.jetstream()
            for stream in (self.subjects.events_stream, self.subjects.dead_letter_stream):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(stream)
        finally:
            await nc.close()


@contextlib.asynccontextmanager
async def running_system(servers: FaultServers, log_dir: Path) -> AsyncIterator[FunnelSystem]:
    """A `FunnelSystem` on a fresh database and namespace; everything removed afterwards."""
    servers.ensure_running()
    admin_url = servers.postgres.url
    database = unique_name("funnel_fault_")
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    funnel = FunnelSystem(
        nats_url=servers.nats.url,
        database_url=with_database(admin_url, database),
        namespace=unique_name("f"),
        log_dir=log_dir,
    )
    try:
        await funnel.start()
        yield funnel
    finally:
        await funnel.stop()
        servers.ensure_running()
        await funnel.delete_streams()
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()
