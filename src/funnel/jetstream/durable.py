"""Durable pull consumers: declared idempotently at start, inspected for health and lag.

Every replica of a collector declares the same durable with the same settings and pulls from
it; JetStream hands each message to one of them, which is how collectors scale out.
"""

from dataclasses import dataclass
from typing import Final

from nats.js import api

from funnel.jetstream.connection import JetStreamConnection
from funnel.jetstream.errors import ConsumerNotFoundError

DEFAULT_MAX_ACK_PENDING: Final = 1000


@dataclass(frozen=True, slots=True)
class ConsumerStatus:
    """A durable's progress: `num_pending` not yet delivered, `num_ack_pending` in flight."""

    stream: str
    durable: str
    num_pending: int
    num_ack_pending: int
    num_redelivered: int
    num_waiting: int
    max_deliver: int | None
    ack_wait: float | None


async def ensure_consumer(
    conn: JetStreamConnection,
    stream: str,
    durable: str,
    filter_subject: str,
    *,
    max_deliver: int = 5,
    ack_wait: float = 60,
    max_ack_pending: int = DEFAULT_MAX_ACK_PENDING,
) -> None:
    """Create the durable pull consumer, or update an existing one to these settings.

    Explicit acks; `ack_wait` must outlast one batch's database transaction, and
    `max_ack_pending` bounds the messages out with all replicas together.
    """
    config = api.ConsumerConfig(
        durable_name=durable,
        description=f"{durable}: pulls {filter_subject}",
        deliver_policy=api.DeliverPolicy.ALL,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=max_deliver,
        max_ack_pending=max_ack_pending,
        filter_subject=filter_subject,
        replay_policy=api.ReplayPolicy.INSTANT,
    )
    await conn.add_consumer(stream, config)


async def create_consumer_if_missing(
    conn: JetStreamConnection, stream: str, durable: str, filter_subject: str
) -> None:
    """Create the durable with default settings unless it exists; an existing one is left as
    its owner declared it."""
    try:
        await consumer_info(conn, stream, durable)
    except ConsumerNotFoundError:
        await ensure_consumer(conn, stream, durable, filter_subject)


async def consumer_info(conn: JetStreamConnection, stream: str, durable: str) -> ConsumerStatus:
    """The durable's counters; raises `ConsumerNotFoundError` / `StreamNotFoundError`."""
    info = await conn.consumer_info(stream, durable)
    return ConsumerStatus(
        stream=stream,
        durable=durable,
        num_pending=info.num_pending or 0,
        num_ack_pending=info.num_ack_pending or 0,
        num_redelivered=info.num_redelivered or 0,
        num_waiting=info.num_waiting or 0,
        max_deliver=info.config.max_deliver,
        ack_wait=info.config.ack_wait,
    )


async def check_consumer(conn: JetStreamConnection, stream: str, durable: str) -> None:
    """Readiness probe: returns if the durable exists, else raises with the reason."""
    try:
        await consumer_info(conn, stream, durable)
    except ConsumerNotFoundError as exc:
        raise ConsumerNotFoundError(f"consumer {durable} does not exist on {stream}") from exc
