"""How a service process ends: 0 after a graceful stop, not the stop signal; non-zero when
it could not start."""

import asyncio
import os
import signal
import sys

import httpx

from funnel.local import free_port


async def _start_reporter(database_url: str, port: int) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "LOG_FORMAT": "json",
        "STARTUP_TIMEOUT_SECONDS": "2",
        "SHUTDOWN_GRACE_SECONDS": "5",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "funnel",
        "reporter",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _until_ready(url: str, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client, asyncio.timeout(60):
        while process.returncode is None:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the service ended with {process.returncode} before it was ready")


async def test_a_graceful_stop_exits_0(database_url: str) -> None:
    """SIGTERM on a ready service shuts it down in order and the process exits 0."""
    port = free_port()
    process = await _start_reporter(database_url, port)
    try:
        await _until_ready(f"http://127.0.0.1:{port}/health/ready", process)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_service_that_cannot_start_exits_non_zero() -> None:
    """Without its database the service gives up after its start-up timeout: status 3."""
    process = await _start_reporter(f"postgresql://postgres@127.0.0.1:{free_port()}/x", free_port())
    try:
        assert await asyncio.wait_for(process.wait(), 60) == 3
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
