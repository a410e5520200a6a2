"""Settling delivered messages with JetStream: ack, nak (optionally delayed), term.

A settlement is a plain publish into the client's buffer, not a request: nothing waits for
the server. One that cannot be sent is logged, and the message comes back after `ack_wait`,
so a lost settlement costs a redelivery, never data.
"""

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from funnel.jetstream.errors import JetStreamError, translated
from funnel.jetstream.message import Delivery

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """A fetched message (kept inside this package) and the `Delivery` handlers see."""

    msg: Msg
    delivery: Delivery

    @classmethod
    def of(cls, msg: Msg) -> "Received":
        metadata = msg.metadata
        delivery = Delivery(
            subject=msg.subject,
            data=msg.data,
            headers=dict(msg.headers or {}),
            num_delivered=metadata.num_delivered,
            stream_sequence=metadata.sequence.stream,
        )
        return cls(msg, delivery)


async def ack(received: Sequence[Received], consumer: str) -> None:
    for item in received:
        await _settle(item, "ack", item.msg.ack, consumer)


async def nak(received: Sequence[Received], consumer: str, delay: float | None = None) -> None:
    """Ask for redelivery, after `delay` seconds (at once when None or 0)."""
    for item in received:
        send = functools.partial(item.msg.nak, delay=delay or None)
        await _settle(item, "nak", send, consumer)


async def in_progress(received: Sequence[Received], consumer: str) -> None:
    """Reset the ack wait: the batch is still being worked on (may be sent many times)."""
    for item in received:
        await _settle(item, "in_progress", item.msg.in_progress, consumer)


async def term(item: Received, consumer: str) -> None:
    """Never deliver this message again."""
    await _settle(item, "term", item.msg.term, consumer)


def take_buffered(sub: JetStreamContext.PullSubscription) -> list[Received]:
    """Messages the server already pushed to the subscription but no fetch returned."""
    # nats-py offers no public way to take them; its own fetch reads this queue the same way.
    queue = sub._sub._pending_queue
    taken: list[Received] = []
    while not queue.empty():
        msg = queue.get_nowait()
        if not JetStreamContext.is_status_msg(msg):
            taken.append(Received.of(msg))
    return taken


async def _settle(
    item: Received, action: str, send: Callable[[], Awaitable[None]], consumer: str
) -> None:
    if item.msg.is_acked:
        return  # already settled, e.g. acked just before stop() cancelled the batch
    try:
        with translated(f"{action} message {item.delivery.stream_sequence}"):
            await send()
    except JetStreamError as exc:
        _log.warning("settle_failed", consumer=consumer, action=action, error=str(exc))
