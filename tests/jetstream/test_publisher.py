"""The Publisher stores every message once, bounds what is in flight, and says what failed."""

import asyncio
import contextlib

import nats
import pytest
from structlog.testing import capture_logs

from funnel.events import Subjects
from funnel.jetstream import (
    EVENT_COUNT_HEADER,
    MSG_ID_HEADER,
    JetStreamConnection,
    NotAnsweringError,
    OutboundMessage,
    Publisher,
    PublishError,
    StoredMessage,
    get_message,
    read_messages,
)
from funnel.observability import CORRELATION_HEADER
from tests.jetstream.jetstream_traffic import batch_message, eventually


async def _stored(conn: JetStreamConnection, stream: str) -> list[StoredMessage]:
    async with contextlib.aclosing(read_messages(conn, stream)) as messages:
        return [message async for message in messages]


async def test_publish_all_stores_each_message_with_its_headers(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """Every message is stored once, in order per caller, with msg id and Funnel headers."""
    messages = [batch_message(streams.events("facebook"), n * 10, 10) for n in range(50)]
    await Publisher(conn, max_in_flight=8).publish_all(messages)

    stored = await _stored(conn, streams.events_stream)
    assert [m.headers[MSG_ID_HEADER] for m in stored] == [m.msg_id for m in messages]
    first = stored[0]
    assert first.headers[CORRELATION_HEADER] == "cid-test"
    assert first.headers[EVENT_COUNT_HEADER] == "10"
    assert first.data == messages[0].payload
    assert (await get_message(conn, streams.events_stream, first.sequence)).data == first.data


async def test_same_msg_id_is_stored_once(conn: JetStreamConnection, streams: Subjects) -> None:
    """Publishing the same msg id again within the duplicate window stores nothing new."""
    publisher = Publisher(conn)
    message = batch_message(streams.events("tiktok"), 0, 3)
    await publisher.publish(message)
    await publisher.publish(message)
    await publisher.publish_all([message, message])
    assert len(await _stored(conn, streams.events_stream)) == 1


async def test_timed_out_publish_is_retried_with_the_same_msg_id(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """An ack that never arrives in time means retries with one msg id: stored once, then
    a PublishError."""
    publisher = Publisher(conn, ack_timeout=0.000_001, attempts=3)
    message = batch_message(streams.events("facebook"), 0, 5)
    with capture_logs() as logs, pytest.raises(PublishError) as raised:
        await publisher.publish(message)
    assert (raised.value.failed, raised.value.total) == (1, 1)
    retries = [line for line in logs if line["event"] == "publish_retry"]
    assert [(line["attempt"], line["msg_id"]) for line in retries] == [
        (1, message.msg_id),
        (2, message.msg_id),
    ]

    async def landed() -> bool:
        return len(await _stored(conn, streams.events_stream)) == 1

    await eventually(landed, what="the timed-out publish landed")
    assert len(await _stored(conn, streams.events_stream)) == 1


async def test_missing_stream_is_a_publish_error(
    conn: JetStreamConnection, subjects: Subjects
) -> None:
    """Without a stream on the subject (no responders) publish raises PublishError."""
    publisher = Publisher(conn, attempts=2)
    with pytest.raises(PublishError, match="no stream"):
        await publisher.publish(batch_message(subjects.events("facebook"), 0, 1))


async def test_a_closed_connection_is_not_retried(nats_url: str, streams: Subjects) -> None:
    """Publishing on a closed connection fails at once: no retry can help it."""
    async with JetStreamConnection(nats_url, "closed-soon") as conn:
        publisher = Publisher(conn, attempts=5)
    with capture_logs() as logs, pytest.raises(PublishError, match="closed"):
        await publisher.publish(batch_message(streams.events("facebook"), 0, 1))
    assert [line for line in logs if line["event"] == "publish_retry"] == []


async def test_publish_all_counts_what_was_not_acknowledged(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """A mixed batch raises PublishError naming how many failed; the rest is stored."""
    good = [batch_message(streams.events("facebook"), n, 1) for n in range(4)]
    bad = [batch_message(f"{streams.namespace}.nowhere", n, 1) for n in range(3)]
    with pytest.raises(PublishError, match="3 of 7") as raised:
        await Publisher(conn, attempts=1).publish_all([*good, *bad])
    assert (raised.value.failed, raised.value.total) == (3, 7)
    assert len(await _stored(conn, streams.events_stream)) == 4


async def test_in_flight_bound_is_shared_by_all_callers(
    conn: JetStreamConnection, streams: Subjects, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Publisher never has more than `max_in_flight` publishes out, whoever calls."""
    in_flight = peak = 0
    real = Publisher._publish_once

    async def counting(self: Publisher, message: OutboundMessage) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.001)
            await real(self, message)
        finally:
            in_flight -= 1

    monkeypatch.setattr(Publisher, "_publish_once", counting)
    publisher = Publisher(conn, max_in_flight=3)
    subject = streams.events("tiktok")
    await asyncio.gather(
        publisher.publish_all(batch_message(subject, n, 1) for n in range(0, 20)),
        publisher.publish_all(batch_message(subject, n, 1) for n in range(20, 40)),
        *(publisher.publish(batch_message(subject, n, 1)) for n in range(40, 45)),
    )
    assert peak == 3
    assert len(await _stored(conn, streams.events_stream)) == 45


async def test_readiness_says_when_publishes_go_unanswered(
    conn: JetStreamConnection, nats_url: str, subjects: Subjects
) -> None:
    """An attempt waiting past `stalled_after` and an attempt that timed out make `check`
    raise; an answered publish, or `ack_timeout` without news, makes it pass again."""
    silent = f"{subjects.namespace}.silent"
    listener = await nats.connect(nats_url)
    try:
        # A core subscriber takes the publish and never acks it: no "no responders", no ack.
        await listener.subscribe(silent)
        await listener.flush()
        publisher = Publisher(conn, ack_timeout=1.0, attempts=1, stalled_after=0.2)
        await publisher.check()
        waiting = asyncio.create_task(publisher.publish(batch_message(silent, 0, 1)))
        await asyncio.sleep(0.5)
        with pytest.raises(NotAnsweringError, match="has waited"):
            await publisher.check()
        with pytest.raises(PublishError):
            await waiting
        with pytest.raises(NotAnsweringError, match="went unanswered"):
            await publisher.check()
        await asyncio.sleep(1.0)
        await publisher.check()  # nothing heard for an ack timeout: nothing left to tell

        with pytest.raises(PublishError):
            await publisher.publish(batch_message(silent, 1, 1))
        with pytest.raises(NotAnsweringError):
            await publisher.check()
    finally:
        await listener.close()


async def test_an_answered_publish_clears_the_unanswered_one(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    publisher = Publisher(conn, ack_timeout=5.0, attempts=1)
    with pytest.raises(PublishError):
        await publisher.publish(batch_message(f"{streams.namespace}.nowhere", 0, 1))
    with pytest.raises(NotAnsweringError, match="no stream"):
        await publisher.check()
    await publisher.publish(batch_message(streams.events("facebook"), 0, 1))
    await publisher.check()
