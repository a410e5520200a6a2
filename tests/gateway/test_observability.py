"""Correlation ids, health endpoints and metrics of a running gateway."""

import copy
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from funnel.events import Subjects
from funnel.observability import CORRELATION_HEADER
from tests.gateway.gateway_harness import header, stored_messages


async def test_sent_correlation_id_reaches_answer_and_every_message(
    client: httpx.AsyncClient,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
) -> None:
    """The caller's X-Correlation-ID is echoed and carried on every batch and dead letter."""
    bad = copy.deepcopy(events_50k[0])
    bad["funnelStage"] = "invalid-stage"
    body = orjson.dumps([*events_50k[:2_500], bad])

    response = await client.post("/webhook", content=body, headers={CORRELATION_HEADER: "req-42"})

    assert response.headers[CORRELATION_HEADER] == "req-42"
    assert response.json()["correlationId"] == "req-42"
    messages = await stored_messages(nats_url, subjects.events_stream)
    letters = await stored_messages(nats_url, subjects.dead_letter_stream)
    assert len(messages) >= 3
    assert len(letters) == 1
    assert {header(m, CORRELATION_HEADER) for m in [*messages, *letters]} == {"req-42"}


async def test_generated_correlation_id_is_the_same_everywhere(
    client: httpx.AsyncClient,
    subjects: Subjects,
    nats_url: str,
    events_50k: list[dict[str, Any]],
) -> None:
    """Without a usable header the gateway makes one id and uses it in answer and messages."""
    response = await client.post(
        "/webhook", json=events_50k[:5], headers={CORRELATION_HEADER: "not a token!"}
    )

    generated = response.headers[CORRELATION_HEADER]
    assert generated != "not a token!"
    assert response.json()["correlationId"] == generated
    messages = await stored_messages(nats_url, subjects.events_stream)
    assert {header(m, CORRELATION_HEADER) for m in messages} == {generated}


async def test_health_endpoints_report_each_dependency(client: httpx.AsyncClient) -> None:
    """Live is 200; ready is 200 with NATS, publishes, both streams and the lifecycle checked."""
    live = await client.get("/health/live")
    ready = await client.get("/health/ready")

    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "nats": "ok",
        "publishes_answered": "ok",
        "events_stream": "ok",
        "dead_letter_stream": "ok",
        "lifecycle": "ok",
    }


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_count_events_by_source_and_reason(
    client: httpx.AsyncClient, events_50k: list[dict[str, Any]]
) -> None:
    """Accepted, processed and failed events are counted by source and reason, per request."""
    good = events_50k[:40]
    facebook_bad = next(copy.deepcopy(e) for e in events_50k if e["source"] == "facebook")
    facebook_bad["timestamp"] = "invalid-timestamp"
    await client.post("/webhook", content=orjson.dumps([*good, facebook_bad, "not an event"]))
    await client.post("/webhook", content=b"{oops")

    samples = _samples((await client.get("/metrics")).text)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    per_source = {s: sum(1 for e in good if e["source"] == s) for s in ("facebook", "tiktok")}
    for source, count in per_source.items():
        assert value("funnel_gateway_events_accepted_total", source=source) == count
        assert value("funnel_gateway_events_processed_total", source=source) == count
    failed = "funnel_gateway_events_failed_total"
    assert value(failed, source="facebook", reason="validation") == 1
    assert value(failed, source="unknown", reason="validation") == 1
    assert value(failed, source="unknown", reason="bad_json") == 1
    assert value("funnel_gateway_requests_total", status="202") == 1
    assert value("funnel_gateway_requests_total", status="400") == 1
    assert value("funnel_gateway_request_duration_seconds_count") == 2
    assert value("funnel_gateway_requests_in_flight") == 0
