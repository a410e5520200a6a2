"""Declaring both streams, and the collectors' durables they need, in one call.

`EVENTS` keeps a message only while a durable consumer has yet to acknowledge it (interest
retention), so a batch published before its collector's durable exists would be dropped at
once. Whoever declares the streams (the gateway, each collector, a test) therefore also
creates any missing durable, with default settings; a collector then brings its own durable
to its own settings, and nobody else ever changes an existing one.
"""

from funnel.events.source import SOURCES
from funnel.events.subjects import Subjects
from funnel.jetstream.connection import JetStreamConnection
from funnel.jetstream.durable import create_consumer_if_missing
from funnel.jetstream.stream import (
    DEAD_LETTER_MAX_AGE,
    dead_letter_stream,
    ensure_stream,
    events_stream,
)
from funnel.settings import DEFAULT_DEAD_LETTER_MAX_BYTES, DEFAULT_STREAM_MAX_BYTES, NatsSettings


async def declare_streams(
    conn: JetStreamConnection,
    subjects: Subjects,
    *,
    max_age: float,
    max_bytes: int = DEFAULT_STREAM_MAX_BYTES,
    dead_letter_max_bytes: int = DEFAULT_DEAD_LETTER_MAX_BYTES,
    dead_letter_max_age: float = DEAD_LETTER_MAX_AGE,
    replicas: int = 1,
) -> None:
    """Create or update `EVENTS` and `DEAD_LETTERS`, then create each collector's durable
    that does not exist yet."""
    await ensure_stream(
        conn, events_stream(subjects, max_age=max_age, max_bytes=max_bytes, replicas=replicas)
    )
    await ensure_stream(
        conn,
        dead_letter_stream(
            subjects,
            max_bytes=dead_letter_max_bytes,
            max_age=dead_letter_max_age,
            replicas=replicas,
        ),
    )
    for source in SOURCES:
        await create_consumer_if_missing(
            conn, subjects.events_stream, subjects.collector(source), subjects.events(source)
        )


async def declare_configured_streams(conn: JetStreamConnection, settings: NatsSettings) -> None:
    """`declare_streams` with the bounds a service's settings give."""
    await declare_streams(
        conn,
        Subjects(settings.funnel_namespace),
        max_age=settings.stream_max_age_seconds,
        max_bytes=settings.stream_max_bytes,
        dead_letter_max_bytes=settings.dead_letter_max_bytes,
        replicas=settings.stream_replicas,
    )
