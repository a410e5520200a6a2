"""Scenarios 3 and 4: NATS, then PostgreSQL, stopped for 10 s under load.

While NATS is down the gateway refuses (503, never 2xx) and its readiness names NATS; while
PostgreSQL is down the collectors are not ready, the events wait in JetStream, and the
reporter answers 503 with a JSON error. Nothing is restarted by hand: when the server is
back, every service recovers by itself and the collectors catch up.
"""

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.faults.fault_ledger import account, pending
from tests.faults.fault_load import Load
from tests.faults.fault_system import FaultServers, FunnelSystem

OUTAGE_SECONDS = 10.0


async def _ready_checks(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/health/ready")
    body: dict[str, Any] = response.json()
    return response.status_code, body


@pytest.mark.timeout(180)
async def test_nats_outage_refuses_with_503_and_recovers_by_itself(
    system: FunnelSystem, fault_servers: FaultServers
) -> None:
    """NATS down 10 s under load: 503s and a readiness naming NATS, then recovery, no loss."""
    load = Load(f"{system.gateway.url}/webhook", seed=3)
    load.start()
    try:
        await asyncio.sleep(2.0)
        await asyncio.to_thread(fault_servers.nats.stop)
        down_since = time.monotonic()
        seen: list[dict[str, Any]] = []
        while time.monotonic() - down_since < OUTAGE_SECONDS:
            status, body = await _ready_checks(system.gateway.url)
            assert status == 503, body
            seen.append(body["checks"])
            await asyncio.sleep(1.0)
        back_from = time.monotonic()
        await asyncio.to_thread(fault_servers.nats.start)
        for service in system.services:
            await service.wait_ready(within=60)
        await asyncio.sleep(2.0)
    finally:
        await load.stop()
    assert all(checks["nats"] != "ok" for checks in seen), seen
    acknowledged_while_down = [
        post
        for post in load.accepted
        if post.answered_at is not None and down_since < post.answered_at < back_from
    ]
    assert acknowledged_while_down == []
    assert load.statuses[503] > 0, load.statuses
    assert all(post.status in (202, 503) for post in load.posts), load.statuses
    tally = await account("3. NATS stopped 10 s", system, load)
    assert tally.accepted > 0


@pytest.mark.timeout(180)
async def test_postgres_outage_keeps_events_in_jetstream_and_catches_up(
    system: FunnelSystem, fault_servers: FaultServers
) -> None:
    """PostgreSQL down 10 s under load: collectors not ready, reporter 503 JSON, catch-up."""
    load = Load(f"{system.gateway.url}/webhook", seed=4)
    load.start()
    try:
        await asyncio.sleep(2.0)
        await asyncio.to_thread(fault_servers.postgres.stop)
        down_since = time.monotonic()
        async with httpx.AsyncClient(base_url=system.reporter.url, timeout=30) as reporter:
            while time.monotonic() - down_since < OUTAGE_SECONDS:
                for collector in system.collectors:
                    status, body = await _ready_checks(collector.url)
                    assert status == 503, body
                    assert body["checks"]["database"] != "ok", body
                report = await reporter.get("/reports/revenue")
                assert report.status_code == 503, report.text
                assert report.headers["content-type"].startswith("application/json")
                assert "error" in report.json(), report.text
                await asyncio.sleep(1.0)
            kept = await pending(system.nats_url, system.subjects)
        accepted_while_down = len(load.accepted)
        await asyncio.to_thread(fault_servers.postgres.start)
        for service in system.services:
            await service.wait_ready(within=60)
        await asyncio.sleep(2.0)
    finally:
        await load.stop()
    assert kept > 0, "nothing waited in JetStream while the database was down"
    assert accepted_while_down > 0
    assert set(load.statuses) == {202}, load.statuses
    tally = await account("4. PostgreSQL stopped 10 s", system, load)
    assert tally.accepted > 0
