"""Funnel services as real child processes (`python -m funnel ...`), as they run deployed."""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import orjson

from funnel.local import free_port


async def eventually(
    condition: Callable[[], Awaitable[bool]], what: str, seconds: float = 60.0
) -> None:
    """Poll `condition` until it holds; fail naming `what` past the bound instead of hanging."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                if await condition():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"no {what} within {seconds:g}s") from None


@contextlib.asynccontextmanager
async def funnel_services(
    commands: dict[str, list[str]], env: dict[str, str], log_dir: Path
) -> AsyncIterator[dict[str, str]]:
    """`funnel <command>` for each name, on free ports, started together; yields each one's
    base URL once all answer `/health/ready` with 200. Logs go to `<log_dir>/<name>.log`.

    Leaving the block sends SIGTERM to each and waits for the graceful exits (SIGKILL past a
    bound).
    """
    processes: dict[str, asyncio.subprocess.Process] = {}
    urls: dict[str, str] = {}
    try:
        for name, command in commands.items():
            port = free_port()
            with (log_dir / f"{name}.log").open("wb") as out:
                processes[name] = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "funnel",
                    *command,
                    env={**os.environ, **env, "PORT": str(port)},
                    stdout=out,
                    stderr=out,
                )
            urls[name] = f"http://127.0.0.1:{port}"
        await asyncio.gather(
            *(_ready(name, processes[name], urls[name], log_dir) for name in commands)
        )
        yield urls
    finally:
        await asyncio.gather(*(_stop(process) for process in processes.values()))


async def _ready(name: str, process: asyncio.subprocess.Process, url: str, log_dir: Path) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:

        async def ready() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"{name} exited; see {log_dir / name}.log")
            with contextlib.suppress(httpx.TransportError):
                return (await http.get("/health/ready")).status_code == 200
            return False

        await eventually(ready, f"ready {name} (log: {log_dir / name}.log)")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()


def logged_errors(log_dir: Path, name: str) -> str:
    """The error records of `<log_dir>/<name>.log` (JSON lines), for an assertion's message:
    the log is gone with the test's temporary directory on CI."""
    errors = []
    for line in (log_dir / f"{name}.log").read_bytes().splitlines():
        with contextlib.suppress(orjson.JSONDecodeError):
            record = orjson.loads(line)
            if isinstance(record, dict) and record.get("level") == "error":
                errors.append(line.decode(errors="replace"))
    return "\n".join(errors) or f"no errors logged by {name}"
