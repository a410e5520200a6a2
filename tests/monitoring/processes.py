"""Child processes the live monitoring test runs: Funnel's four services and Prometheus.

Each starts in a session of its own with its output in a log file, is awaited until its
readiness endpoint answers 200, and is stopped with SIGTERM (then SIGKILL past a bound) on
the way out. A child that dies or never turns ready fails the test with its last lines.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from funnel.local.services import SERVICES, funnel_command, services

_STOP_SECONDS: Final = 15.0
_POLL_SECONDS: Final = 0.25
_LAST_LINES: Final = 20


@dataclass(frozen=True, slots=True)
class Child:
    """A started process and where it listens and writes."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def last_lines(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()[-_LAST_LINES:]
        return "\n".join(lines)


def _start(name: str, argv: Sequence[str], port: int, env: Mapping[str, str], logs: Path) -> Child:
    log = logs / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv, env=dict(env), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Child(name, port, process, log)


async def _stop(child: Child) -> None:
    if child.process.poll() is None:
        child.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(child.process.wait, _STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.process.kill()
            await asyncio.to_thread(child.process.wait)


async def wait_ready(children: Sequence[Child], path: str, *, within: float) -> None:
    """Return once every child answers `path` with 200; fail with its log if one exits or
    is not ready within `within` seconds."""
    deadline = time.monotonic() + within
    waiting = list(children)
    async with httpx.AsyncClient(timeout=2.0) as client:
        while waiting:
            for child in list(waiting):
                if child.process.poll() is not None:
                    raise AssertionError(f"{child.name} exited:\n{child.last_lines()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(child.url(path))).status_code == 200:
                        waiting.remove(child)
            if waiting and time.monotonic() > deadline:
                logs = "\n".join(f"--- {c.name}\n{c.last_lines()}" for c in waiting)
                raise AssertionError(f"not ready within {within:g} s:\n{logs}")
            if waiting:
                await asyncio.sleep(_POLL_SECONDS)


@contextlib.asynccontextmanager
async def running_services(
    ports: Mapping[str, int], env: Mapping[str, str], logs: Path, *, within: float
) -> AsyncIterator[dict[str, Child]]:
    """Gateway, both collectors and reporter, each as its container runs it, on `ports`,
    all ready; stopped on exit."""
    children: dict[str, Child] = {}
    try:
        for name in SERVICES:
            argv = funnel_command(*services()[name].args)
            child_env = {**env, "PORT": str(ports[name])}
            children[name] = _start(name, argv, ports[name], child_env, logs)
        await wait_ready(list(children.values()), "/health/ready", within=within)
        yield children
    finally:
        await asyncio.gather(*(_stop(child) for child in children.values()))


@contextlib.asynccontextmanager
async def running_prometheus(
    binary: Path, config: Path, data_dir: Path, port: int, *, within: float
) -> AsyncIterator[Child]:
    """Prometheus with `config`, storing under `data_dir`, ready on `port`; stopped on exit."""
    argv = (
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    )
    child = _start("prometheus", argv, port, os.environ, config.parent)
    try:
        await wait_ready([child], "/-/ready", within=within)
        yield child
    finally:
        await _stop(child)
