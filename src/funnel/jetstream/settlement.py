"""Settling delivered messages with JetStream: ack, nak (optionally delayed), term; and
`Settlement`, which settles each message of a handled batch by what became of it.

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

from funnel.jetstream.deadletter import DeadLetters
from funnel.jetstream.errors import JetStreamError, PublishError, TransientError, translated
from funnel.jetstream.handler import BatchHandler, ConsumerObserver
from funnel.jetstream.message import Delivery
from funnel.jetstream.periodic import periodically
from funnel.observability import bound_correlation_id

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


class Settlement:
    """Runs the handler over a fetched batch and settles every message of it.

    While the handler runs, the batch is marked in progress every `progress_interval`
    seconds. Then what it finished is acked and what it returned as `Failed` (poison) is
    dead-lettered and termed. If it raised, the whole batch is nak'ed with `nak_delay`,
    except deliveries already tried `max_deliver` times, which are dead-lettered and termed.
    A dead letter that cannot be stored means a nak instead: nothing is termed unkept.
    """

    def __init__(
        self,
        *,
        durable: str,
        handler: BatchHandler,
        dead_letters: DeadLetters,
        observer: ConsumerObserver,
        nak_delay: float,
        max_deliver: int,
        progress_interval: float,
    ) -> None:
        self._durable = durable
        self._handler = handler
        self._dead_letters = dead_letters
        self._observer = observer
        self._nak_delay = nak_delay
        self.max_deliver = max_deliver
        self._progress_interval = progress_interval

    async def handle(self, received: list[Received]) -> None:
        deliveries = [item.delivery for item in received]
        still_working = functools.partial(in_progress, received, self._durable)
        try:
            async with periodically(still_working, self._progress_interval):
                failed = await self._handler(deliveries)
        except Exception as exc:  # the handler's failure is data for the retry decision
            await self._retry_later(received, exc)
            return
        poison = {item.delivery.stream_sequence: item.error for item in failed}
        done: list[Received] = []
        for item in received:
            error = poison.get(item.delivery.stream_sequence)
            if error is None:
                done.append(item)
            else:
                await self._give_up(item, error)
        await ack(done, self._durable)
        if done:
            self._observer.on_acked([item.delivery for item in done])

    async def _retry_later(self, received: list[Received], exc: Exception) -> None:
        error = str(exc) or type(exc).__name__
        retry: list[Received] = []
        for item in received:
            if item.delivery.num_delivered >= self.max_deliver:
                await self._give_up(item, f"failed {item.delivery.num_delivered} times: {error}")
            else:
                retry.append(item)
        if not retry:
            return
        deliveries = [item.delivery for item in retry]
        correlation_ids = sorted({d.correlation_id for d in deliveries if d.correlation_id})
        if isinstance(exc, TransientError):
            _log.warning(
                "batch_retry",
                consumer=self._durable,
                count=len(retry),
                error=error,
                correlation_ids=correlation_ids,
            )
        else:
            _log.error(
                "batch_failed",
                consumer=self._durable,
                count=len(retry),
                error=error,
                correlation_ids=correlation_ids,
                exc_info=exc,
            )
        await nak(retry, self._durable, self._nak_delay)
        self._observer.on_nak(deliveries, error)

    async def _give_up(self, item: Received, error: str) -> None:
        """Dead-letter then term; if the dead letter cannot be stored, retry later instead."""
        delivery = item.delivery
        with bound_correlation_id(delivery.correlation_id):
            try:
                await self._dead_letters.give_up(delivery, error)
            except PublishError:
                await nak([item], self._durable, self._nak_delay)
                return
            await term(item, self._durable)
        self._observer.on_dead_letter(delivery, error)
