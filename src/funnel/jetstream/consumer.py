"""`PullConsumer`: fetch batches from a durable consumer and hand them to an async handler.

Per fetched batch: the handler returns the deliveries it could not process for good
(`Failed`): those are dead-lettered and termed, the rest acked. If the handler raises
(`TransientError`, or anything else) the whole batch is nak'ed with `nak_delay`, except
deliveries already tried `max_deliver` times, which are dead-lettered and termed instead.
An ack happens only after the handler returned, so a crash at any point means redelivery,
never loss; handlers must therefore be idempotent (the collectors' `event_id` key is).
While the handler runs, the batch is marked in progress every `progress_interval` seconds,
so a handler may wait as long as it needs (a database outage) without the server
redelivering the batch elsewhere or counting it against `max_deliver`.

`stop()` stops fetching, lets the batch in hand finish within its timeout, and otherwise
cancels the handler and naks the batch so another replica gets it at once.

With `linger`, a fetch that comes back short keeps fetching for up to that long to fill the
batch: a handler whose cost per batch is high (a database transaction) then gets fewer,
fuller batches when traffic is light. Consumers of one process that share a `fetch_turn`
lock fetch one at a time, so only one of them lingers and batches are not split between
them; under a backlog every fetch fills at once and they still work in parallel.
"""

import asyncio
import contextlib
import functools
from enum import Enum
from typing import Final

import nats.errors
import structlog
from nats.js import JetStreamContext

from funnel.jetstream.connection import JetStreamConnection
from funnel.jetstream.deadletter import DeadLetters
from funnel.jetstream.durable import consumer_info
from funnel.jetstream.errors import (
    ConnectionClosedError,
    JetStreamError,
    PublishError,
    TransientError,
    translate,
    translated,
)
from funnel.jetstream.handler import BatchHandler, ConsumerObserver, NoObserver
from funnel.jetstream.periodic import periodically
from funnel.jetstream.publisher import Publisher
from funnel.jetstream.settlement import Received, ack, in_progress, nak, take_buffered, term
from funnel.observability import bound_correlation_id

_log = structlog.get_logger(__name__)

_ERROR_PAUSE: Final = 1.0  # seconds to wait after a failed fetch before the next one
_GRACE_AFTER_CANCEL: Final = 5.0  # seconds for settling a cancelled batch during stop()
# While idle, how often to ask whether the durable still exists: some servers answer a fetch
# on a missing consumer with silence, which would otherwise look like an empty stream.
_VERIFY_INTERVAL: Final = 5.0


class ConsumerState(Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class PullConsumer:
    """Runs a handler over batches of a durable pull consumer until `stop()`.

    Several `PullConsumer`s (in one process or many) on the same durable share its messages.
    """

    def __init__(
        self,
        conn: JetStreamConnection,
        *,
        stream: str,
        durable: str,
        handler: BatchHandler,
        dead_letter_subject: str,
        batch_size: int = 10,
        fetch_timeout: float = 1.0,
        nak_delay: float = 2.0,
        max_deliver: int = 5,
        progress_interval: float = 10.0,
        linger: float = 0.0,
        fetch_turn: asyncio.Lock | None = None,
        observer: ConsumerObserver | None = None,
    ) -> None:
        if batch_size < 1 or fetch_timeout <= 0 or max_deliver < 1 or nak_delay < 0:
            raise ValueError("batch_size, max_deliver >= 1; fetch_timeout > 0; nak_delay >= 0")
        if linger < 0:
            raise ValueError("linger must be >= 0")
        if progress_interval <= 0:
            raise ValueError("progress_interval must be > 0 (and well below the ack wait)")
        self._conn = conn
        self._stream = stream
        self._durable = durable
        self._handler = handler
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._nak_delay = nak_delay
        self._max_deliver = max_deliver
        self._progress_interval = progress_interval
        self._linger = linger
        self._fetch_turn = fetch_turn if fetch_turn is not None else asyncio.Lock()
        self._observer: ConsumerObserver = observer or NoObserver()
        self._dead_letters = DeadLetters(
            Publisher(conn, max_in_flight=16), subject=dead_letter_subject, origin=durable
        )
        self._state = ConsumerState.NEW
        self._started = False
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._current: asyncio.Task[object] | None = None
        self._verified_at = 0.0

    @property
    def state(self) -> ConsumerState:
        return self._state

    async def run(self) -> None:
        """Fetch and handle batches until `stop()`; survives disconnects and fetch errors.

        Raises `ConnectionClosedError` if the connection is closed under it.
        """
        if self._state is ConsumerState.STOPPED and not self._started:
            return  # stop() came before the task that runs us got its first turn
        if self._state is not ConsumerState.NEW:
            raise JetStreamError(f"consumer {self._durable} is {self._state.value}; run it once")
        self._started = True
        self._state = ConsumerState.RUNNING
        _log.info("consumer_started", stream=self._stream, consumer=self._durable)
        sub: JetStreamContext.PullSubscription | None = None
        try:
            with translated(f"bind to consumer {self._durable}"):
                sub = await self._conn._jetstream.pull_subscribe_bind(
                    consumer=self._durable, stream=self._stream
                )
            await self._adopt_server_max_deliver()
            while not self._stopping.is_set():
                received = await self._fetch(sub)
                if not received:
                    continue
                if self._stopping.is_set():
                    # Fetched after stop() began: not in hand, so give it straight back.
                    await nak(received, self._durable)
                    break
                await self._process(received)
        finally:
            if sub is not None:
                await self._release(sub)
            self._state = ConsumerState.STOPPED
            self._stopped.set()
            _log.info("consumer_stopped", stream=self._stream, consumer=self._durable)

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 - bounds the batch, not the call
        """Stop fetching, let the batch in hand finish within `timeout`, then return.

        A batch still running after `timeout` is cancelled and nak'ed for redelivery.
        """
        if self._state is ConsumerState.NEW:
            self._state = ConsumerState.STOPPED
            self._stopped.set()
        if self._state is ConsumerState.STOPPED:
            return
        self._state = ConsumerState.STOPPING
        self._stopping.set()
        try:
            await asyncio.wait_for(self._stopped.wait(), timeout)
            return
        except TimeoutError:
            pass
        current = self._current
        if current is not None:
            _log.warning("consumer_stop_timeout", consumer=self._durable, timeout=timeout)
            current.cancel()
        try:
            await asyncio.wait_for(self._stopped.wait(), _GRACE_AFTER_CANCEL)
        except TimeoutError:
            _log.error("consumer_stop_stuck", consumer=self._durable)

    async def _adopt_server_max_deliver(self) -> None:
        """The server stops redelivering at its own `max_deliver`: give up no later than it."""
        try:
            status = await consumer_info(self._conn, self._stream, self._durable)
        except JetStreamError as exc:
            _log.warning("consumer_info_failed", consumer=self._durable, error=str(exc))
            return
        declared = status.max_deliver
        if declared is not None and 0 < declared < self._max_deliver:
            _log.warning(
                "max_deliver_lowered",
                consumer=self._durable,
                configured=self._max_deliver,
                server=declared,
            )
            self._max_deliver = declared

    # --- one step at a time, each a task that stop() may cancel ---------------------------

    async def _run_step(self, task: "asyncio.Task[object]") -> None:
        """Await `task` as the current step; stop() may cancel it, cancelling us cancels it."""
        self._current = task
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            self._current = None

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Received]:
        """One batch: what the first fetch brings, topped up for up to `linger` seconds."""
        async with self._fetch_turn:
            if self._stopping.is_set():
                return []
            received = await self._fetch_some(sub, self._batch_size, self._fetch_timeout)
            if received is None:
                await self._verify_while_idle()
            if not received:
                return []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._linger
            while len(received) < self._batch_size and not self._stopping.is_set():
                left = deadline - loop.time()
                if left <= 0:
                    break
                more = await self._fetch_some(sub, self._batch_size - len(received), left)
                if not more:
                    break
                received += more
            return received

    async def _fetch_some(
        self, sub: JetStreamContext.PullSubscription, count: int, wait: float
    ) -> list[Received] | None:
        """Up to `count` messages, waiting up to `wait` seconds for the first; None when none
        came in that time (idle), an empty list on a stop, a disconnect or an error."""
        if not self._conn._nats.is_connected:
            # Pull requests sent while disconnected would all arrive at once on reconnect.
            await self._pause(min(self._fetch_timeout, _ERROR_PAUSE))
            return []
        task: asyncio.Task[object] = asyncio.create_task(sub.fetch(count, timeout=wait))
        await self._run_step(task)
        if task.cancelled():
            return []
        exc = task.exception()
        if exc is None:
            msgs = task.result()
            assert isinstance(msgs, list)
            return [Received.of(msg) for msg in msgs]
        if isinstance(exc, nats.errors.TimeoutError | TimeoutError):
            return None  # nothing to fetch within `wait`: the normal idle case
        error = translate(exc, f"fetch from {self._durable}")
        if isinstance(error, ConnectionClosedError) or isinstance(
            exc, nats.errors.ConnectionClosedError | nats.errors.ConnectionDrainingError
        ):
            raise ConnectionClosedError(str(error)) from exc
        _log.warning("fetch_failed", consumer=self._durable, error=str(error))
        await self._pause(_ERROR_PAUSE)
        return []

    async def _verify_while_idle(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._verified_at < _VERIFY_INTERVAL:
            return
        self._verified_at = now
        try:
            await consumer_info(self._conn, self._stream, self._durable)
        except JetStreamError as exc:
            _log.warning("consumer_missing", consumer=self._durable, error=str(exc))

    async def _process(self, received: list[Received]) -> None:
        self._observer.on_fetched([item.delivery for item in received])
        task: asyncio.Task[object] = asyncio.create_task(self._handle(received))
        try:
            await self._run_step(task)
        except asyncio.CancelledError:
            await nak(received, self._durable)
            raise
        if task.cancelled():
            # stop() ran out of time: give the whole batch back for redelivery now.
            await nak(received, self._durable)
            self._observer.on_nak(
                [item.delivery for item in received], "stopped before the batch finished"
            )
        elif (exc := task.exception()) is not None:
            raise exc

    async def _handle(self, received: list[Received]) -> None:
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
        error = _describe(exc)
        retry: list[Received] = []
        for item in received:
            if item.delivery.num_delivered >= self._max_deliver:
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

    async def _release(self, sub: JetStreamContext.PullSubscription) -> None:
        """Give back what the server pushed but we never handed out, then unsubscribe."""
        await nak(take_buffered(sub), self._durable)
        with contextlib.suppress(JetStreamError), translated("unsubscribe"):
            await sub.unsubscribe()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up at once when stop() is called."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
