"""SIGTERM on a real `funnel gateway` process while a large webhook is being uploaded."""

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from funnel.events import Subjects
from funnel.local import free_port
from funnel.observability import CORRELATION_HEADER
from tests.gateway.gateway_harness import stored_events, stored_messages, until


async def _one_request_in_flight(http: httpx.AsyncClient) -> bool:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("funnel_gateway_requests_in_flight "):
            return float(line.split()[1]) == 1
    return False


async def _refuses_connections(url: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=url, timeout=2) as fresh:
            await fresh.get("/health/live")
    except httpx.ConnectError:
        return True
    return False


async def test_sigterm_during_large_request_still_publishes_all_of_it(
    nats_url: str,
    subjects: Subjects,
    events_50k: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """SIGTERM mid-upload: 503 for ready and newcomers, 202 and every event for the upload."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PORT": str(port),
        "NATS_URL": nats_url,
        "FUNNEL_NAMESPACE": subjects.namespace,
        "LOG_FORMAT": "json",
        "SHUTDOWN_DELAY_SECONDS": "1",
        "SHUTDOWN_GRACE_SECONDS": "30",
    }
    log_path = tmp_path / "gateway.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "funnel", "gateway", env=env, stdout=log, stderr=log
        )
    corrupt = {**events_50k[0], "funnelStage": "invalid-stage"}
    body = orjson.dumps([*events_50k, corrupt])
    resume = asyncio.Event()

    async def upload() -> AsyncIterator[bytes]:
        yield body[: len(body) // 2]
        await resume.wait()
        yield body[len(body) // 2 :]

    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:

            async def ready() -> bool:
                try:
                    return (await http.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(ready, "ready gateway")
            large = asyncio.create_task(
                http.post(
                    "/webhook",
                    content=upload(),
                    headers={CORRELATION_HEADER: "sigterm-1", "Content-Length": str(len(body))},
                )
            )
            await until(lambda: _one_request_in_flight(http), "request in flight")

            process.send_signal(signal.SIGTERM)

            not_ready = await http.get("/health/ready")
            newcomer = await http.post("/webhook", json=events_50k[:2])
            await until(lambda: _refuses_connections(url), "closed listener")
            resume.set()
            response = await large
        returncode = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert not_ready.status_code == 503
    assert newcomer.status_code == 503
    assert response.status_code == 202, response.text
    assert (response.json()["accepted"], response.json()["rejected"]) == (50_000, 1)
    assert returncode == 0
    stored = stored_events(await stored_messages(nats_url, subjects.events_stream))
    assert len(stored) == 50_000
    assert len(await stored_messages(nats_url, subjects.dead_letter_stream)) == 1
    lines = [orjson.loads(line) for line in log_path.read_bytes().splitlines() if line[:1] == b"{"]
    events = [line["event"] for line in lines]
    assert events.index("webhook_accepted") < events.index("nats_closed")
    accepted = next(line for line in lines if line["event"] == "webhook_accepted")
    assert accepted["correlation_id"] == "sigterm-1"
    assert accepted["service"] == "gateway"
