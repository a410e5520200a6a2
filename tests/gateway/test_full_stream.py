"""A full `EVENTS`: webhooks refused before their bodies are read, and taken again once the
stream has room, without a restart."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import orjson
import pytest
from structlog.testing import capture_logs

from funnel.events import Subjects
from funnel.gateway import GatewaySettings
from tests.gateway.gateway_harness import (
    RawUpload,
    RunningGateway,
    metric,
    start_gateway,
    stop_gateway,
    stored_events,
    stored_messages,
    until,
)

# Three batches of ~650 KB fill it: a request of 2,000 events is two batches.
_STREAM_BYTES = 3_000_000
_REQUEST_EVENTS = 2_000


@pytest.fixture
async def small_stream(gateway_settings: GatewaySettings) -> AsyncIterator[RunningGateway]:
    """A gateway whose EVENTS takes 3 MB, looked at every 0.1 s while full."""
    settings = gateway_settings.model_copy(
        update={"stream_max_bytes": _STREAM_BYTES, "full_stream_check_seconds": 0.1}
    )
    running, thread = await start_gateway(settings)
    try:
        yield running
    finally:
        await stop_gateway(thread)


async def _stream_details(http: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    ready = await http.get("/health/ready")
    stream: dict[str, Any] = ready.json()["details"]["stream"]
    return ready.status_code, stream


async def _fill(
    http: httpx.AsyncClient, events: list[dict[str, Any]]
) -> tuple[int, httpx.Response]:
    """Post requests until one is refused; how many events were acknowledged, and the refusal."""
    acknowledged = 0
    for start in range(0, len(events), _REQUEST_EVENTS):
        response = await http.post(
            "/webhook", content=orjson.dumps(events[start : start + _REQUEST_EVENTS])
        )
        if response.status_code != 202:
            return acknowledged, response
        acknowledged += response.json()["accepted"]
    pytest.fail("the stream never filled")


async def _purge(nats_url: str, stream: str) -> None:
    """What the collectors do when they catch up: the stream empties."""
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().purge_stream(stream)
    finally:
        await nc.close()


async def test_full_stream_refuses_unread_and_takes_again_once_drained(
    small_stream: RunningGateway,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
) -> None:
    """Once a publish finds EVENTS full, webhooks get 503 `stream_full` with Retry-After
    before their bodies are read, counted and not logged one by one, while readiness stays
    200 and says so; nothing acknowledged is lost; emptied, the stream takes webhooks again."""
    async with httpx.AsyncClient(base_url=small_stream.url, timeout=60) as http:
        with capture_logs() as logs:
            acknowledged, first = await _fill(http, events_50k[:30_000])
            assert first.status_code == 503
            assert first.json()["reason"] == "stream_full"

            async def looked_full() -> bool:
                return (await _stream_details(http))[1]["full"] is True

            await until(looked_full, "look finding the stream full", within=10)
            # Only the head and one byte of a 100 kB body: the answer cannot wait for the rest.
            upload = await RawUpload.start(small_stream.url, 100_000, b"[")
            try:
                unread = await upload.answer()
            finally:
                await upload.close()
            refused = [
                await http.post("/webhook", content=orjson.dumps(events_50k[40_000:40_010]))
                for _ in range(3)
            ]
            status, details = await _stream_details(http)
            gauge = await metric(http, "funnel_gateway_stream_full")
            failed = await metric(
                http, "funnel_gateway_events_failed_total", reason="stream_full", source="unknown"
            )
            requests = await metric(
                http, "funnel_gateway_requests_refused_total", reason="stream_full"
            )
            stored = stored_events(await stored_messages(nats_url, subjects.events_stream))

            await _purge(nats_url, subjects.events_stream)

            async def has_room() -> bool:
                return (await _stream_details(http))[1]["full"] is False

            await until(has_room, "look finding room again", within=10)
            after = [
                await http.post(
                    "/webhook", content=orjson.dumps(events_50k[start : start + _REQUEST_EVENTS])
                )
                for start in range(30_000, 30_000 + 3 * _REQUEST_EVENTS, _REQUEST_EVENTS)
            ]
            cleared = await metric(http, "funnel_gateway_stream_full")

    assert unread.status == 503
    assert unread.headers["retry-after"] == "5"
    assert unread.body["reason"] == "stream_full"
    assert subjects.events_stream in unread.body["error"]
    assert unread.body["partiallyStored"] is False
    assert [response.status_code for response in refused] == [503] * 3
    assert all(response.headers["retry-after"] == "5" for response in refused)
    assert status == 200
    assert details["refusedRequests"] == 4
    assert details["maxBytes"] == _STREAM_BYTES
    assert details["fullSince"] is not None
    assert gauge == 1
    assert failed == 4  # one `unknown` event per request refused unread
    assert requests == 5  # and the one refused at publish time
    assert acknowledged > 0
    acked_ids = {event["eventId"] for event in events_50k[:acknowledged]}
    assert acked_ids <= {event["eventId"] for event in stored}
    assert [response.status_code for response in after] == [202] * 3
    assert cleared == 0
    names = [line["event"] for line in logs]
    assert names.count("stream_full") == 1
    assert names.count("stream_has_room") == 1
    room = next(line for line in logs if line["event"] == "stream_has_room")
    assert room["count"] == 4
    refusals = [line for line in logs if line["event"] == "webhook_refused"]
    assert [line["reason"] for line in refusals] == ["stream_full"]


async def test_stream_with_room_is_never_looked_at(
    client: httpx.AsyncClient, events_50k: list[dict[str, Any]]
) -> None:
    """Without a refused publish the gateway never looks at the stream, and never refuses."""
    response = await client.post("/webhook", content=orjson.dumps(events_50k[:10]))
    status, details = await _stream_details(client)

    assert response.status_code == 202
    assert status == 200
    assert details["full"] is False
    assert details["lookedAt"] is None
