"""A real gateway for each test (uvicorn on a free port, in the test's own namespace)
and the publisher-like events the tests send it."""

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from funnel.events import Subjects
from funnel.gateway import GatewaySettings
from funnel.local import free_port
from funnel.publisher import generate_batch
from tests.gateway.gateway_harness import RunningGateway, start_gateway, stop_gateway


@pytest.fixture
def gateway_settings(nats_url: str, subjects: Subjects) -> GatewaySettings:
    """Settings for a gateway on a free port, in this test's namespace."""
    return GatewaySettings(
        nats_url=nats_url,
        funnel_namespace=subjects.namespace,
        port=free_port(),
        shutdown_grace_seconds=10,
    )


@pytest.fixture
async def gateway(gateway_settings: GatewaySettings) -> AsyncIterator[RunningGateway]:
    """A running gateway with the default limits."""
    running, thread = await start_gateway(gateway_settings)
    try:
        yield running
    finally:
        await stop_gateway(thread)


@pytest.fixture
async def client(gateway: RunningGateway) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the gateway."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as http:
        yield http


@pytest.fixture(scope="session")
def events_50k() -> list[dict[str, Any]]:
    """50,000 valid events as the emulator makes them (made once per session; copy before
    mutating)."""
    return generate_batch(random.Random(50_000), 50_000)


@pytest.fixture
def rng() -> random.Random:
    """A seeded random source, so failures are reproducible."""
    return random.Random(1234)
