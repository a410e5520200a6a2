"""The bound on webhook bodies held at once: 503 `overloaded` before reading past it, 413
first for a body over the size limit, and the held bytes back to 0 once requests end."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from pydantic import ValidationError

from funnel.gateway import GatewaySettings
from tests.gateway.gateway_harness import (
    RawUpload,
    RunningGateway,
    metric,
    start_gateway,
    stop_gateway,
    until,
)

_BOUND = 100_000
_MAX_BODY = 60_000
_GAUGE = "funnel_gateway_in_flight_bytes"


@pytest.fixture
async def bounded(gateway_settings: GatewaySettings) -> AsyncIterator[RunningGateway]:
    """A gateway holding at most 100 kB of bodies, each at most 60 kB."""
    settings = gateway_settings.model_copy(
        update={"max_in_flight_bytes": _BOUND, "max_body_bytes": _MAX_BODY}
    )
    running, thread = await start_gateway(settings)
    try:
        yield running
    finally:
        await stop_gateway(thread)


def _padded(events: list[dict[str, Any]], size: int) -> bytes:
    """The events as a JSON array, padded with trailing spaces to exactly `size` bytes."""
    body = orjson.dumps(events)
    assert len(body) <= size
    return body + b" " * (size - len(body))


async def test_bodies_past_the_bound_are_refused_unread(
    bounded: RunningGateway, events_50k: list[dict[str, Any]]
) -> None:
    """With 60 kB held by an upload in progress: 50 kB more is 503 `overloaded` with
    Retry-After, 70 kB is 413 (the size limit answers first), a chunked body is refused once
    it crosses the bound, a small good request still gets 202; once all end, 0 is held."""
    held = _padded(events_50k[:40], _MAX_BODY)
    async with httpx.AsyncClient(base_url=bounded.url, timeout=30) as http:
        upload = await RawUpload.start(bounded.url, len(held), held[:1_000])
        try:

            async def holding() -> bool:
                return await metric(http, _GAUGE) == _MAX_BODY

            await until(holding, "the upload's bytes held", within=10)
            over_bound = await http.post("/webhook", content=_padded(events_50k[40:80], 50_000))
            over_limit = await http.post("/webhook", content=b" " * 70_000)

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(5):
                    yield b" " * 10_000

            chunked = await http.post("/webhook", content=chunks())
            small = await http.post("/webhook", content=orjson.dumps(events_50k[80:85]))
            during = await metric(http, _GAUGE)
            await upload.send(held[1_000:])
            finished = await upload.answer()
        finally:
            await upload.close()
        after = await metric(http, _GAUGE)
        overloaded = await metric(
            http, "funnel_gateway_events_failed_total", reason="overloaded", source="unknown"
        )

    assert over_bound.status_code == 503
    assert over_bound.headers["retry-after"] == "1"
    assert over_bound.json()["reason"] == "overloaded"
    assert over_limit.status_code == 413
    assert "retry-after" not in over_limit.headers
    assert chunked.status_code == 503
    assert chunked.json()["reason"] == "overloaded"
    assert small.status_code == 202
    assert small.json()["accepted"] == 5
    assert during == _MAX_BODY
    assert finished.status == 202
    assert finished.body["accepted"] == 40
    assert after == 0
    assert overloaded == 2


def test_bound_below_the_largest_body_is_refused_at_start() -> None:
    """A bound smaller than `MAX_BODY_BYTES` would refuse the largest bodies forever: the
    settings refuse it and say why."""
    with pytest.raises(ValidationError, match="MAX_BODY_BYTES"):
        GatewaySettings(max_in_flight_bytes=1_000_000, max_body_bytes=2_000_000)
