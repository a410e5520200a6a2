"""`funnel up` as a process: the whole system, its own servers under a data directory.

The embedded servers' ports are chosen free and written where `funnel up` remembers them,
so it never takes the usual ports of servers the machine may already run.
"""

import asyncio
import json
import os
import random
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from funnel.events import Subjects
from funnel.local import READY_BANNER, free_port
from funnel.local.ports import is_free
from tests.faults.fault_system import FUNNEL

_START_SECONDS: Final = 150.0
_STOP_SECONDS: Final = 90.0
_INHERITED_OUT: Final = {"NATS_URL", "DATABASE_URL", "FUNNEL_PORT_BASE", "FUNNEL_DATA_DIR"}


def free_port_base() -> int:
    """The first of four consecutive free ports."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 40_000)
        if all(is_free(base + offset) for offset in range(4)):
            return base
    raise RuntimeError("no four consecutive free ports")


@dataclass
class FunnelUp:
    """`funnel up --no-publisher` on `data_dir`; start and stop it as often as needed."""

    data_dir: Path
    port_base: int = field(default_factory=free_port_base)
    lines: list[str] = field(default_factory=list)
    nats_url: str = ""
    database_url: str = ""
    subjects: Subjects = field(default_factory=Subjects)

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ports = {"nats": free_port(), "nats_monitor": free_port(), "postgres": free_port()}
        (self.data_dir / "ports.json").write_text(json.dumps(ports))
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.port_base}"

    @property
    def reporter_url(self) -> str:
        return f"http://127.0.0.1:{self.port_base + 3}"

    async def start(self) -> None:
        """Start it and return once it says every service is ready."""
        env = {key: value for key, value in os.environ.items() if key not in _INHERITED_OUT}
        env |= {
            "APP_ENV": "development",
            "SHUTDOWN_GRACE_SECONDS": "15",
            "ACK_WAIT_SECONDS": "4",
            "PYTHONUNBUFFERED": "1",
        }
        # Leave the reader's "ready" mark of a previous run behind.
        first_line = len(self.lines)
        self._process = await asyncio.create_subprocess_exec(
            str(FUNNEL),
            "up",
            "--no-publisher",
            "--data-dir",
            str(self.data_dir),
            "--port-base",
            str(self.port_base),
            "--ready-timeout",
            str(_START_SECONDS - 30),
            env=env,
            cwd=self.data_dir.parent,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=1 << 20,
        )
        ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read(ready))
        exited = asyncio.create_task(self._process.wait())
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait({exited, waiting}, timeout=_START_SECONDS, return_when="FIRST_COMPLETED")
        waiting.cancel()
        exited.cancel()
        assert ready.is_set(), f"funnel up not ready:\n{self.tail()}"
        printed = "\n".join(self.lines[first_line:])
        nats_url = re.search(r"nats://\S+", printed)
        database_url = re.search(r"postgresql://\S+", printed)
        assert nats_url is not None, printed
        assert database_url is not None, printed
        self.nats_url, self.database_url = nats_url.group(), database_url.group()

    async def stop(self) -> int:
        """SIGTERM, as Ctrl-C would; the exit code once it has shut everything down."""
        process = self._process
        assert process is not None, "funnel up is not running"
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(_STOP_SECONDS):
                code = await process.wait()
                if self._reader is not None:
                    await self._reader
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"funnel up did not stop:\n{self.tail()}") from None
        self._process = None
        return code

    async def kill(self) -> None:
        """Whatever is left, for a test that failed half-way (children stop with it)."""
        if self._process is not None and self._process.returncode is None:
            await self.stop()

    async def _read(self, ready: asyncio.Event) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        async for raw in self._process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if line.startswith(READY_BANNER):
                ready.set()

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.lines[-n:])
