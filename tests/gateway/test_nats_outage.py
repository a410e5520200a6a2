"""A gateway whose NATS goes away: a short outage is waited out, a long one refused 503."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from funnel.events import Subjects
from funnel.gateway import GatewaySettings
from funnel.local import EmbeddedNats, free_port
from tests.gateway.gateway_harness import start_gateway, stop_gateway, until


async def _not_ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/health/ready")).status_code == 503


@contextlib.asynccontextmanager
async def _gateway_without_nats(
    tmp_path: Path, subjects: Subjects, grace: float
) -> AsyncIterator[tuple[httpx.AsyncClient, EmbeddedNats]]:
    """A client of a gateway whose NATS server has stopped (readiness says so already)."""
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    settings = GatewaySettings(
        nats_url=server.url,
        funnel_namespace=subjects.namespace,
        port=free_port(),
        shutdown_grace_seconds=5,
        nats_reconnect_grace_seconds=grace,
    )
    running, thread = await start_gateway(settings)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as http:
            await asyncio.to_thread(server.stop)
            await until(lambda: _not_ready(http), "not ready while NATS is gone")
            yield http, server
    finally:
        await stop_gateway(thread)
        server.stop()


async def test_a_webhook_waits_out_a_reconnect_within_the_grace(
    tmp_path: Path, subjects: Subjects, events_50k: list[dict[str, Any]]
) -> None:
    """NATS gone when the webhook comes and back within the grace: 202, not 503."""
    async with _gateway_without_nats(tmp_path, subjects, grace=30) as (http, server):
        posted = asyncio.create_task(http.post("/webhook", json=events_50k[:100]))
        await asyncio.sleep(0.5)
        assert not posted.done(), "answered while NATS was still gone"
        await asyncio.to_thread(server.start)
        response = await posted
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 100


async def test_a_webhook_is_refused_once_the_grace_runs_out(
    tmp_path: Path, subjects: Subjects, events_50k: list[dict[str, Any]]
) -> None:
    """NATS still gone after the grace: 503 `publish`, after waiting the grace, not before."""
    async with _gateway_without_nats(tmp_path, subjects, grace=0.5) as (http, _server):
        started = asyncio.get_running_loop().time()
        response = await http.post("/webhook", json=events_50k[:100])
        waited = asyncio.get_running_loop().time() - started
    assert response.status_code == 503, response.text
    assert response.json()["reason"] == "publish"
    assert "not connected" in response.json()["error"]
    assert waited >= 0.5
