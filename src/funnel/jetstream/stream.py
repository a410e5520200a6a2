"""The streams of contract section 4, declared idempotently at start.

`ensure_stream` creates a stream or brings an existing one to the declared configuration, so
every replica of every service can call it on start without coordinating.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from nats.js import api

from funnel.events.source import SOURCES
from funnel.events.subjects import Subjects
from funnel.jetstream.connection import JetStreamConnection
from funnel.jetstream.errors import StreamNotFoundError

DEFAULT_DUPLICATE_WINDOW: Final = 120.0  # seconds: a retried publish within it is dropped
DEAD_LETTER_MAX_AGE: Final = 30 * 24 * 3600.0
# Batches are at most `batch.MAX_BATCH_BYTES` of events; the headers need a little more.
MAX_MESSAGE_BYTES: Final = 2 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """A file-backed stream bounded by age and bytes; times are in seconds.

    `interest`: a message goes once every durable consumer has acknowledged it (else it is
    kept until `max_age`). `refuse_when_full`: past `max_bytes` a publish is refused (discard
    new) instead of the oldest messages being deleted (discard old).
    """

    name: str
    subjects: tuple[str, ...]
    max_age: float
    max_bytes: int
    interest: bool = False
    refuse_when_full: bool = False
    duplicate_window: float = DEFAULT_DUPLICATE_WINDOW
    replicas: int = 1
    max_message_bytes: int = MAX_MESSAGE_BYTES
    description: str = ""

    def _to_nats(self) -> api.StreamConfig:
        return api.StreamConfig(
            name=self.name,
            description=self.description or None,
            subjects=list(self.subjects),
            retention=api.RetentionPolicy.INTEREST if self.interest else api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.NEW if self.refuse_when_full else api.DiscardPolicy.OLD,
            max_bytes=self.max_bytes,
            max_age=self.max_age,
            # JetStream refuses a duplicate window longer than the stream keeps messages.
            duplicate_window=min(self.duplicate_window, self.max_age),
            num_replicas=self.replicas,
            max_msg_size=self.max_message_bytes,
        )


def events_stream(
    subjects: Subjects, *, max_age: float, max_bytes: int, replicas: int = 1
) -> StreamConfig:
    """`EVENTS`: validated batches of every source, each kept until its collector stored it.

    Interest retention: an acknowledged batch leaves at once, so the stream holds the
    backlog, not the history (PostgreSQL keeps that). A full stream refuses new batches, so
    the gateway answers 503 rather than the stream deleting batches it acknowledged; `max_age`
    still drops a batch no collector took in that long.
    """
    return StreamConfig(
        name=subjects.events_stream,
        subjects=tuple(subjects.events(source) for source in SOURCES),
        max_age=max_age,
        max_bytes=max_bytes,
        interest=True,
        refuse_when_full=True,
        replicas=replicas,
        description="Validated event batches, one JSON array per message",
    )


def dead_letter_stream(
    subjects: Subjects,
    *,
    max_bytes: int,
    max_age: float = DEAD_LETTER_MAX_AGE,
    replicas: int = 1,
) -> StreamConfig:
    """`DEAD_LETTERS`: rejected input (`dlq.gateway`) and given-up batches (`dlq.<consumer>`).

    Past `max_bytes` the oldest letters go, so a full dead-letter stream never refuses the
    letter of a request whose good events are waiting on it."""
    return StreamConfig(
        name=subjects.dead_letter_stream,
        subjects=(subjects.all_dead_letters,),
        max_age=max_age,
        max_bytes=max_bytes,
        replicas=replicas,
        description="Dead letters; see funnel.jetstream.deadletter for the format",
    )


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """What a stream holds now and its byte bound (None: unbounded); `by_subject` is filled
    only when asked for."""

    stream: str
    messages: int
    bytes: int
    max_bytes: int | None = None
    by_subject: Mapping[str, int] = field(default_factory=dict)

    @property
    def free_bytes(self) -> int | None:
        """Bytes the stream takes before it is at its bound; None when unbounded."""
        return None if self.max_bytes is None else max(self.max_bytes - self.bytes, 0)


async def stream_status(
    conn: JetStreamConnection, stream: str, *, subjects: str | None = None
) -> StreamStatus:
    """The stream's message and byte counts, its byte bound, and per-subject counts of the
    subjects matching the `subjects` filter (the server lists every matching subject: keep it
    to small streams). Raises `StreamNotFoundError` when it is absent."""
    info = await conn.stream_info(stream, subjects=subjects)
    state = info.state
    max_bytes = info.config.max_bytes
    return StreamStatus(
        stream=stream,
        messages=state.messages,
        bytes=state.bytes,
        # JetStream says -1 (or nothing) for a stream without a byte bound.
        max_bytes=max_bytes if max_bytes is not None and max_bytes >= 0 else None,
        by_subject=dict(state.subjects or {}),
    )


async def ensure_stream(conn: JetStreamConnection, config: StreamConfig) -> None:
    """Create the stream, or update it to `config` when it exists with other settings."""
    await conn.declare_stream(config._to_nats())


async def stream_exists(conn: JetStreamConnection, stream: str) -> bool:
    """Whether the stream exists; other failures (no connection, ...) raise."""
    try:
        await conn.stream_info(stream)
    except StreamNotFoundError:
        return False
    return True


async def delete_stream(conn: JetStreamConnection, stream: str) -> None:
    """Delete the stream and everything in it; raises `StreamNotFoundError` if absent."""
    await conn.delete_stream(stream)


async def check_stream(conn: JetStreamConnection, stream: str) -> None:
    """Readiness probe: returns if the stream is there, else raises with the reason."""
    if not await stream_exists(conn, stream):
        raise StreamNotFoundError(f"stream {stream} does not exist")
