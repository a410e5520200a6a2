"""Scenario 5: the whole system (`funnel up`) stopped and started on the same data."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.fault_ledger import account, settle
from tests.faults.fault_load import Load
from tests.faults.fault_up import FunnelUp

_REPORTS = ("events", "revenue", "demographics")


async def _reports(reporter_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=reporter_url, timeout=30) as client:
        answers = {name: await client.get(f"/reports/{name}") for name in _REPORTS}
    assert all(answer.status_code == 200 for answer in answers.values()), answers
    return {name: answer.json() for name, answer in answers.items()}


@pytest.mark.timeout(300)
async def test_funnel_up_restart_keeps_reports_and_consumers_resume(fault_dir: Path) -> None:
    """`funnel up` stopped and started: the same reports, then new events stored once."""
    up = FunnelUp(fault_dir / "data")
    try:
        await up.start()
        load = Load(f"{up.gateway_url}/webhook", seed=5)
        load.start()
        await asyncio.sleep(3.0)
        await load.stop()
        await settle(up, load)
        before = await _reports(up.reporter_url)
        assert before["events"]["total"] > 0

        assert await up.stop() == 0, up.tail()
        await up.start()
        assert await _reports(up.reporter_url) == before

        await load.send(5)
        tally = await account("5. funnel up stopped and started", up, load)
        assert tally.stored > before["events"]["total"]
        assert await up.stop() == 0, up.tail()
    finally:
        await up.kill()
