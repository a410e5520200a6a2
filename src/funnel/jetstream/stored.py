"""Messages at rest in a stream: read them in order, fetch one by sequence, delete one.

For tools (`funnel dlq`) rather than services: reading walks the stream with a short-lived
ephemeral consumer that acknowledges nothing, so it never disturbs the durable consumers.
"""

import contextlib
import datetime
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Final

from nats.js import api

from funnel.jetstream.connection import JetStreamConnection
from funnel.jetstream.errors import JetStreamError, translated

_READ_BATCH: Final = 256
_READ_TIMEOUT: Final = 5.0
_READER_IDLE_LIMIT: Final = 60.0  # the server removes a reader left behind by a crash


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as the stream keeps it: sequence, subject, time stored, headers, body."""

    stream: str
    sequence: int
    subject: str
    time: datetime.datetime
    headers: Mapping[str, str]
    data: bytes


async def read_messages(
    conn: JetStreamConnection, stream: str, subject: str | None = None
) -> AsyncGenerator[StoredMessage, None]:
    """Every message of `stream` (on `subject`, wildcards allowed), oldest first."""
    config = api.ConsumerConfig(
        deliver_policy=api.DeliverPolicy.ALL,
        ack_policy=api.AckPolicy.NONE,
        filter_subject=subject,
        inactive_threshold=_READER_IDLE_LIMIT,
        mem_storage=True,
    )
    reader = await conn.add_consumer(stream, config)
    try:
        remaining = reader.num_pending or 0
        if remaining == 0:
            return
        sub = await conn.bind(stream, reader.name)
        while remaining > 0:
            with translated(f"read stream {stream}"):
                msgs = await sub.fetch(min(_READ_BATCH, remaining), timeout=_READ_TIMEOUT)
            for msg in msgs:
                metadata = msg.metadata
                remaining = metadata.num_pending
                yield StoredMessage(
                    stream=stream,
                    sequence=metadata.sequence.stream,
                    subject=msg.subject,
                    time=metadata.timestamp,
                    headers=dict(msg.headers or {}),
                    data=msg.data,
                )
        with contextlib.suppress(JetStreamError), translated("stop reading"):
            await sub.unsubscribe()
    finally:
        with contextlib.suppress(JetStreamError):
            await conn.delete_consumer(stream, reader.name)


async def get_message(conn: JetStreamConnection, stream: str, sequence: int) -> StoredMessage:
    """The message at `sequence`; raises `MessageNotFoundError` when there is none."""
    raw = await conn.get_message(stream, sequence)
    return StoredMessage(
        stream=stream,
        sequence=raw.seq or sequence,
        subject=raw.subject or "",
        time=raw.time or datetime.datetime.fromtimestamp(0, datetime.UTC),
        headers={str(key): str(value) for key, value in (raw.headers or {}).items()},
        data=raw.data or b"",
    )


async def delete_message(conn: JetStreamConnection, stream: str, sequence: int) -> None:
    """Remove the message at `sequence`; raises `MessageNotFoundError` when there is none."""
    await conn.delete_message(stream, sequence)
