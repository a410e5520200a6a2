"""Streams and durable consumers are declared idempotently and updated in place."""

from dataclasses import replace

import nats
import pytest
from nats.js import api

from funnel.events import Subjects
from funnel.jetstream import (
    ConsumerNotFoundError,
    JetStreamConnection,
    StreamNotFoundError,
    check_consumer,
    check_stream,
    consumer_info,
    dead_letter_stream,
    declare_streams,
    ensure_consumer,
    ensure_stream,
    events_stream,
    stream_exists,
    stream_status,
)


async def _stream_config(nats_url: str, stream: str) -> nats.js.api.StreamConfig:
    client = await nats.connect(nats_url)
    try:
        info = await client.jetstream().stream_info(stream)
    finally:
        await client.close()
    return info.config


_GIB = 1024**3


async def test_ensure_stream_twice_then_updated(
    conn: JetStreamConnection, subjects: Subjects, nats_url: str
) -> None:
    """Declaring a stream twice is a no-op; declaring it with a new max age updates it."""
    await ensure_stream(conn, events_stream(subjects, max_age=3600, max_bytes=_GIB))
    await ensure_stream(conn, events_stream(subjects, max_age=3600, max_bytes=_GIB))
    config = await _stream_config(nats_url, subjects.events_stream)
    assert config.max_age == 3600
    assert sorted(config.subjects or []) == sorted(
        [subjects.events("facebook"), subjects.events("tiktok")]
    )
    assert config.duplicate_window == 120

    await ensure_stream(conn, events_stream(subjects, max_age=7200, max_bytes=_GIB))
    assert (await _stream_config(nats_url, subjects.events_stream)).max_age == 7200


async def test_events_hold_the_backlog_and_refuse_when_full(
    conn: JetStreamConnection, subjects: Subjects, nats_url: str
) -> None:
    """EVENTS keeps a batch only until its durable acks it and refuses past its byte bound;
    DEAD_LETTERS drops its oldest letters instead, so it never refuses."""
    await declare_streams(conn, subjects, max_age=3600, max_bytes=_GIB, dead_letter_max_bytes=_GIB)
    events = await _stream_config(nats_url, subjects.events_stream)
    assert (events.retention, events.discard, events.max_bytes) == (
        api.RetentionPolicy.INTEREST,
        api.DiscardPolicy.NEW,
        _GIB,
    )
    letters = await _stream_config(nats_url, subjects.dead_letter_stream)
    assert (letters.retention, letters.discard, letters.max_bytes) == (
        api.RetentionPolicy.LIMITS,
        api.DiscardPolicy.OLD,
        _GIB,
    )


async def test_stream_status_says_how_much_room_is_left(
    conn: JetStreamConnection, subjects: Subjects
) -> None:
    """A stream's status gives its bytes against its byte bound, so a caller can tell when a
    full stream has room again; an unbounded stream has no bound to tell."""
    # With the durables, so the interest-retention stream keeps the message.
    await declare_streams(conn, subjects, max_age=3600, max_bytes=_GIB)
    await conn.publish(subjects.events("facebook"), b"x" * 10_000, headers={}, ack_timeout=5)

    status = await stream_status(conn, subjects.events_stream)

    assert status.max_bytes == _GIB
    assert status.bytes > 10_000
    assert status.free_bytes == _GIB - status.bytes
    assert replace(status, max_bytes=None).free_bytes is None


async def test_declaring_streams_makes_missing_durables_and_keeps_existing_ones(
    conn: JetStreamConnection, subjects: Subjects
) -> None:
    """Whoever declares the streams creates each collector's durable when it is missing (so
    no batch meets a stream without interest), and leaves a declared one as it is."""
    await declare_streams(conn, subjects, max_age=3600)
    stream = subjects.events_stream
    for source in ("facebook", "tiktok"):
        await check_consumer(conn, stream, subjects.collector(source))
    await ensure_consumer(
        conn, stream, subjects.collector("facebook"), subjects.events("facebook"), max_deliver=3
    )
    await declare_streams(conn, subjects, max_age=3600)
    assert (await consumer_info(conn, stream, subjects.collector("facebook"))).max_deliver == 3


async def test_dead_letter_stream_takes_every_dlq_subject(
    conn: JetStreamConnection, subjects: Subjects, nats_url: str
) -> None:
    """The dead-letter stream holds `dlq.gateway` and every `dlq.<consumer>`."""
    await ensure_stream(conn, dead_letter_stream(subjects, max_bytes=_GIB))
    config = await _stream_config(nats_url, subjects.dead_letter_stream)
    assert config.subjects == [subjects.all_dead_letters]
    assert config.max_age == 30 * 24 * 3600


async def test_ensure_consumer_twice_then_updated(
    conn: JetStreamConnection, subjects: Subjects
) -> None:
    """Declaring a durable twice is a no-op; new limits update it in place."""
    await ensure_stream(conn, events_stream(subjects, max_age=3600, max_bytes=_GIB))
    stream, durable = subjects.events_stream, subjects.collector("facebook")
    await ensure_consumer(conn, stream, durable, subjects.events("facebook"), max_deliver=5)
    await ensure_consumer(conn, stream, durable, subjects.events("facebook"), max_deliver=5)
    status = await consumer_info(conn, stream, durable)
    assert (status.max_deliver, status.ack_wait) == (5, 60)

    await ensure_consumer(
        conn, stream, durable, subjects.events("facebook"), max_deliver=3, ack_wait=30
    )
    status = await consumer_info(conn, stream, durable)
    assert (status.max_deliver, status.ack_wait) == (3, 30)
    assert (status.num_pending, status.num_ack_pending) == (0, 0)


async def test_missing_stream_and_consumer_are_named(
    conn: JetStreamConnection, subjects: Subjects
) -> None:
    """Health checks say which stream or consumer is missing."""
    assert not await stream_exists(conn, subjects.events_stream)
    with pytest.raises(StreamNotFoundError, match=subjects.events_stream):
        await check_stream(conn, subjects.events_stream)

    await ensure_stream(conn, events_stream(subjects, max_age=3600, max_bytes=_GIB))
    assert await stream_exists(conn, subjects.events_stream)
    await check_stream(conn, subjects.events_stream)
    with pytest.raises(ConsumerNotFoundError, match="fb-collector"):
        await check_consumer(conn, subjects.events_stream, "fb-collector")
