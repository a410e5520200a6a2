"""Scenarios 1 and 2: services stopped under load, gracefully or not, lose and double nothing."""

import asyncio
import signal

import pytest

from funnel.events import SOURCES
from tests.faults.fault_ledger import account, until_in_hand
from tests.faults.fault_load import Load
from tests.faults.fault_system import FunnelSystem


@pytest.mark.timeout(180)
async def test_sigterm_to_each_service_in_turn_loses_and_doubles_nothing(
    system: FunnelSystem,
) -> None:
    """SIGTERM to each service in turn under load, then a restart: every accepted event once."""
    load = Load(f"{system.gateway.url}/webhook", seed=1)
    load.start()
    try:
        for service in system.services:
            await asyncio.sleep(1.0)
            await service.terminate()
            await asyncio.sleep(0.5)
            await service.start()
        await asyncio.sleep(1.0)
    finally:
        await load.stop()
    tally = await account("1. SIGTERM each service in turn", system, load)
    assert tally.accepted > 0


@pytest.mark.timeout(180)
async def test_sigkill_of_a_collector_mid_batch_redelivers_without_duplicates(
    system: FunnelSystem,
) -> None:
    """SIGKILL of a collector while it stores: its batches come back, no row twice."""
    load = Load(f"{system.gateway.url}/webhook", seed=2, min_events=400, max_events=1200)
    load.start()
    try:
        for source, collector in zip(SOURCES, system.collectors, strict=True):
            await asyncio.sleep(1.0)
            # Killed while it holds messages it has not acknowledged: they must come back.
            await until_in_hand(system.nats_url, system.subjects, source)
            assert await collector.stop(signal.SIGKILL) == -signal.SIGKILL
            await collector.start()
        await asyncio.sleep(1.0)
    finally:
        await load.stop()
    tally = await account("2. SIGKILL a collector mid-batch", system, load)
    assert tally.accepted > 0
