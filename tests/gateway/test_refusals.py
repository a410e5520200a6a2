"""The webhook's refusals over real HTTP: 400, 413 and 503, each with a JSON reason."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import orjson
import pytest

from funnel.events import Subjects
from funnel.gateway import GatewaySettings
from funnel.observability import Phase
from tests.gateway.gateway_harness import (
    RunningGateway,
    start_gateway,
    stop_gateway,
    stored_events,
    stored_messages,
    until,
)


@pytest.fixture
async def limited(gateway_settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a gateway that takes at most 20,000 bytes and 10 events a request."""
    settings = gateway_settings.model_copy(update={"max_body_bytes": 20_000, "max_events": 10})
    running, thread = await start_gateway(settings)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
            yield http
    finally:
        await stop_gateway(thread)


def _assert_refused(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["error"]
    assert body["correlationId"] == response.headers["x-correlation-id"]
    return body


@pytest.mark.parametrize(
    "content", [b"", b"{not json", b'[{"eventId": "x"}', b"42", b'"event"', b"null", b"true"]
)
async def test_body_that_is_not_an_array_or_object_is_400(
    client: httpx.AsyncClient, content: bytes
) -> None:
    """Bodies that are not JSON, or JSON but neither array nor object, are answered 400."""
    _assert_refused(await client.post("/webhook", content=content), 400)


async def test_body_over_the_byte_limit_is_413_before_reading(
    limited: httpx.AsyncClient,
) -> None:
    """A Content-Length over the limit is refused with 413 without reading the body."""
    body = _assert_refused(await limited.post("/webhook", content=b" " * 50_000), 413)

    assert "20000" in body["error"]


async def test_streamed_body_over_the_byte_limit_is_413(limited: httpx.AsyncClient) -> None:
    """A chunked body with no Content-Length is refused with 413 once it crosses the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 4_000

    _assert_refused(await limited.post("/webhook", content=chunks()), 413)


async def test_more_events_than_the_limit_is_413(
    limited: httpx.AsyncClient, events_50k: list[dict[str, Any]]
) -> None:
    """More elements than `max_events` are refused with 413, and nothing is stored."""
    body = _assert_refused(
        await limited.post("/webhook", content=b"[{},{},{}" + b",{}" * 8 + b"]"), 413
    )

    assert "11 events" in body["error"]


async def test_draining_gateway_answers_503(
    client: httpx.AsyncClient, gateway: RunningGateway, events_50k: list[dict[str, Any]]
) -> None:
    """Once draining, new webhooks get 503 and readiness reports the phase."""
    gateway.readiness.phase = Phase.DRAINING

    _assert_refused(await client.post("/webhook", json=events_50k[:3]), 503)
    ready = await client.get("/health/ready")

    assert ready.status_code == 503
    assert ready.json()["checks"]["lifecycle"] == "draining"


async def test_jetstream_refusing_the_data_is_503(
    client: httpx.AsyncClient,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
) -> None:
    """With the events stream gone, the webhook answers 503 and readiness names the stream
    and the unanswered publishes."""
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(subjects.events_stream)
    finally:
        await nc.close()

    body = _assert_refused(
        await client.post("/webhook", content=orjson.dumps(events_50k[:1_500])), 503
    )
    ready = await client.get("/health/ready")

    assert body["partiallyStored"] is False
    assert body["storedMessages"] == 0
    assert ready.status_code == 503
    assert "does not exist" in ready.json()["checks"]["events_stream"]
    assert "went unanswered" in ready.json()["checks"]["publishes_answered"]


async def test_client_leaving_mid_upload_is_counted_not_crashed(
    client: httpx.AsyncClient, gateway: RunningGateway
) -> None:
    """A client that disconnects mid-body is counted as a failed request; the gateway serves on."""
    host, port = gateway.url.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /webhook HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n[" + b" " * 1_000
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()

    async def counted() -> bool:
        metrics = (await client.get("/metrics")).text
        return 'funnel_gateway_requests_total{status="499"} 1.0' in metrics

    await until(counted, "count of the abandoned upload")
    metrics = (await client.get("/metrics")).text
    assert (
        'funnel_gateway_events_failed_total{reason="client_disconnected",source="unknown"} 1.0'
        in metrics
    )
    assert (await client.get("/health/live")).status_code == 200


async def test_full_events_stream_is_503_and_loses_nothing_acknowledged(
    gateway_settings: GatewaySettings,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
) -> None:
    """Once EVENTS holds STREAM_MAX_BYTES, a webhook is answered 503 `stream_full` and
    counted; every event of every 202 before it is still in the stream."""
    settings = gateway_settings.model_copy(update={"stream_max_bytes": 3_000_000})
    running, thread = await start_gateway(settings)
    acknowledged = 0
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=60) as http:
            for start in range(0, 50_000, 2_000):
                response = await http.post(
                    "/webhook", content=orjson.dumps(events_50k[start : start + 2_000])
                )
                if response.status_code != 202:
                    break
                acknowledged += response.json()["accepted"]
            body = _assert_refused(response, 503)
            metrics = (await http.get("/metrics")).text
    finally:
        await stop_gateway(thread)

    assert 0 < acknowledged < 50_000
    assert "EVENTS" in body["error"] or "maximum bytes" in body["error"]
    assert 'reason="stream_full"' in metrics
    stored = stored_events(await stored_messages(nats_url, subjects.events_stream))
    acked_ids = {event["eventId"] for event in events_50k[:acknowledged]}
    assert acked_ids <= {event["eventId"] for event in stored}
