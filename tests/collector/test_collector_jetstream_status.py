"""The collector's JetStream gauges: one poll of a real NATS reads the durable's counts, both
streams' sizes and the dead letters by origin."""

import asyncio
import contextlib
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from prometheus_client import CollectorRegistry

from funnel.collector import jetstream_status
from funnel.collector.jetstream_status import poll_jetstream, tracking_jetstream
from funnel.collector.metrics import CollectorMetrics
from funnel.events import Subjects
from funnel.jetstream import (
    JetStreamConnection,
    Publisher,
    delete_message,
    ensure_consumer,
    read_messages,
)
from tests.jetstream.jetstream_traffic import batch_message

_DURABLE = "fb-collector"


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def _hold_one(nats_url: str, subjects: Subjects) -> Client:
    """A client that has fetched one message of the durable and not acknowledged it."""
    client = await nats.connect(nats_url)
    subscription = await client.jetstream().pull_subscribe_bind(_DURABLE, subjects.events_stream)
    (message,) = await subscription.fetch(1, timeout=5)
    assert message.data
    return client


async def test_one_poll_sets_every_jetstream_gauge(
    conn: JetStreamConnection, streams: Subjects, nats_url: str
) -> None:
    """Pending, ack-pending, stream messages and bytes (under the contract's stream names, not
    the namespaced ones) and dead letters per origin all come from one poll."""
    await ensure_consumer(conn, streams.events_stream, _DURABLE, streams.events("facebook"))
    publisher = Publisher(conn)
    await publisher.publish_all(
        [batch_message(streams.events("facebook"), 10 * n, 10) for n in range(3)]
        + [batch_message(streams.events("tiktok"), 100, 10)]
        + [batch_message(streams.dlq_gateway, 200 + n, 1) for n in range(2)]
        + [batch_message(streams.dlq(_DURABLE), 300, 5)]
    )
    holder = await _hold_one(nats_url, streams)
    registry = CollectorRegistry()
    try:
        await poll_jetstream(conn, streams, _DURABLE, CollectorMetrics(registry, "facebook"))
    finally:
        await holder.close()

    consumer = {"source": "facebook"}
    assert _sample(registry, "funnel_collector_consumer_pending_messages", **consumer) == 2
    assert _sample(registry, "funnel_collector_consumer_ack_pending_messages", **consumer) == 1
    assert _sample(registry, "funnel_collector_stream_messages", stream="EVENTS") == 4
    assert _sample(registry, "funnel_collector_stream_messages", stream="DEAD_LETTERS") == 3
    assert (_sample(registry, "funnel_collector_stream_bytes", stream="EVENTS") or 0) > 0
    assert (_sample(registry, "funnel_collector_stream_bytes", stream="DEAD_LETTERS") or 0) > 0
    assert _sample(registry, "funnel_collector_dead_letter_messages", origin="gateway") == 2
    assert _sample(registry, "funnel_collector_dead_letter_messages", origin=_DURABLE) == 1


async def test_an_emptied_origin_disappears_and_a_failed_read_keeps_the_rest(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """Once an origin's letters are gone (replayed) its series goes; a durable that cannot be
    read leaves its gauges as they were while the streams are still read."""
    await ensure_consumer(conn, streams.events_stream, _DURABLE, streams.events("facebook"))
    publisher = Publisher(conn)
    await publisher.publish(batch_message(streams.events("facebook"), 0, 10))
    await publisher.publish(batch_message(streams.dlq_gateway, 1, 1))
    registry = CollectorRegistry()
    metrics = CollectorMetrics(registry, "facebook")
    await poll_jetstream(conn, streams, _DURABLE, metrics)
    assert _sample(registry, "funnel_collector_dead_letter_messages", origin="gateway") == 1
    assert _sample(registry, "funnel_collector_consumer_pending_messages", source="facebook") == 1

    (letter,) = [stored async for stored in read_messages(conn, streams.dead_letter_stream)]
    await delete_message(conn, streams.dead_letter_stream, letter.sequence)
    await publisher.publish(batch_message(streams.events("facebook"), 10, 10))
    await poll_jetstream(conn, streams, "no-such-durable", metrics)

    assert _sample(registry, "funnel_collector_dead_letter_messages", origin="gateway") is None
    assert _sample(registry, "funnel_collector_stream_messages", stream="DEAD_LETTERS") == 0
    assert _sample(registry, "funnel_collector_stream_messages", stream="EVENTS") == 2
    assert _sample(registry, "funnel_collector_consumer_pending_messages", source="facebook") == 1


async def test_tracking_ends_even_when_a_poll_swallows_its_cancellation(
    monkeypatch: pytest.MonkeyPatch, conn: JetStreamConnection, subjects: Subjects
) -> None:
    """nats-py swallows a CancelledError that lands while it flushes a request; the poll loop
    must still end when the block does (it once hung a collector's shutdown)."""
    polls = 0

    async def poll_like_nats_py(*_args: Any) -> None:
        nonlocal polls
        polls += 1
        with contextlib.suppress(asyncio.CancelledError):  # as nats-py's flush does
            await asyncio.sleep(0.2)

    monkeypatch.setattr(jetstream_status, "poll_jetstream", poll_like_nats_py)
    metrics = CollectorMetrics(CollectorRegistry(), "facebook")
    async with asyncio.timeout(5):
        async with tracking_jetstream(conn, subjects, _DURABLE, metrics, interval=0.01):
            await asyncio.sleep(0.05)
    assert polls >= 1
