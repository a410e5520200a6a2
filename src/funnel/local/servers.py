"""NATS and PostgreSQL for `funnel up`: the ones the environment names, or embedded ones.

Without `NATS_URL` an embedded nats-server (JetStream, 127.0.0.1) keeps its store in
`<data dir>/nats`; without `DATABASE_URL` an embedded PostgreSQL keeps its cluster in
`<data dir>/postgres/data` and gets a `funnel` database. Servers this module started are
stopped on exit, gracefully, so the next run finds every acknowledged event again.
"""

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

import asyncpg
import psutil
import structlog

from funnel.local.addresses import DATABASE_NAME
from funnel.local.nats import EmbeddedNats
from funnel.local.ports import choose_server_ports
from funnel.local.postgres import EmbeddedPostgres, postgres_url

_STALE_STOP_SECONDS: Final = 10.0

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the services find their servers; `embedded` names the servers we run."""

    nats_url: str
    database_url: str
    nats_monitor_url: str | None = None
    embedded: tuple[str, ...] = ()


def _running_postgres_port(cluster: Path) -> int | None:
    """The port of a PostgreSQL still serving `cluster` (left by a run that was killed)."""
    try:
        lines = (cluster / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    return port if psutil.pid_exists(pid) else None


def _stop_stale_nats(store_dir: Path) -> None:
    """Stop a nats-server left on this store by a run that was killed: two must not share it."""
    needle = str(store_dir)
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "nats-server" and needle in cmdline:
            _log.warning("stale_nats_server_stopped", pid=process.pid)
            with contextlib.suppress(psutil.Error):
                process.terminate()
                try:
                    process.wait(_STALE_STOP_SECONDS)
                except psutil.TimeoutExpired:
                    process.kill()


async def _ensure_database(server_url: str) -> None:
    conn = await asyncpg.connect(server_url, timeout=10)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", DATABASE_NAME)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            _log.info("database_created", database=DATABASE_NAME)
    finally:
        await conn.close()


class LocalServers:
    """Async context manager yielding the `Endpoints`; starts what the environment lacks."""

    def __init__(self, data_dir: Path, environ: Mapping[str, str]) -> None:
        self._data_dir = data_dir
        self._nats_url = environ.get("NATS_URL") or None
        self._database_url = environ.get("DATABASE_URL") or None
        self._nats: EmbeddedNats | None = None
        self._postgres: EmbeddedPostgres | None = None

    async def __aenter__(self) -> Endpoints:
        """Start the embedded servers this run needs; raises `EmbeddedServerError`."""
        try:
            return await self._start()
        except BaseException:
            await self._stop()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _start(self) -> Endpoints:
        embedded: list[str] = []
        monitor_url = None
        if self._nats_url is None or self._database_url is None:
            cluster = self._data_dir / "postgres" / "data"
            held = {}
            if self._database_url is None and (port := _running_postgres_port(cluster)):
                held["postgres"] = port
            ports = choose_server_ports(self._data_dir, held)
            if self._nats_url is None:
                store = (self._data_dir / "nats").resolve()
                await asyncio.to_thread(_stop_stale_nats, store)
                self._nats = EmbeddedNats(store, port=ports.nats, monitor_port=ports.nats_monitor)
                await asyncio.to_thread(self._nats.start)
                self._nats_url, monitor_url = self._nats.url, self._nats.monitor_url
                embedded.append("nats")
                _log.info("nats_started", url=self._nats_url, store=str(store))
            if self._database_url is None:
                self._postgres = EmbeddedPostgres(cluster.resolve(), port=ports.postgres)
                await asyncio.to_thread(self._postgres.start)
                await _ensure_database(self._postgres.url)
                self._database_url = postgres_url(self._postgres.port, DATABASE_NAME)
                embedded.append("postgres")
                _log.info("postgres_started", url=self._database_url, cluster=str(cluster))
        assert self._nats_url is not None
        assert self._database_url is not None
        return Endpoints(self._nats_url, self._database_url, monitor_url, tuple(embedded))

    async def _stop(self) -> None:
        # NATS flushes JetStream to disk on SIGTERM; PostgreSQL's `fast` mode checkpoints.
        if self._nats is not None:
            await asyncio.to_thread(self._nats.stop)
            self._nats = None
            _log.info("nats_stopped")
        if self._postgres is not None:
            await asyncio.to_thread(self._postgres.stop)
            self._postgres = None
            _log.info("postgres_stopped")
