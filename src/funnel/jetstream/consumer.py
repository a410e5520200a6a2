"""`PullConsumer`: fetch batches from a durable consumer and hand them to an async handler.

Each batch is fetched (`fetch.Fetcher`, lingering to fill it), handled and settled
(`settlement.Settlement`: acked once the handler returned, poison dead-lettered and termed,
the rest nak'ed for a retry). An ack happens only after the handler returned, so a crash at
any point means redelivery, never loss; handlers must therefore be idempotent (the
collectors' `event_id` key is).

`stop()` stops fetching, lets the batch in hand finish within its timeout, and otherwise
cancels the handler and naks the batch so another replica gets it at once.
"""

import asyncio
import contextlib
from enum import Enum
from typing import Final

import structlog
from nats.js import JetStreamContext

from funnel.jetstream.connection import JetStreamConnection
from funnel.jetstream.deadletter import DeadLetters
from funnel.jetstream.durable import consumer_info
from funnel.jetstream.errors import JetStreamError, translated
from funnel.jetstream.fetch import Fetcher
from funnel.jetstream.handler import BatchHandler, ConsumerObserver, NoObserver
from funnel.jetstream.publisher import Publisher
from funnel.jetstream.settlement import Received, Settlement, nak, take_buffered

_log = structlog.get_logger(__name__)

_GRACE_AFTER_CANCEL: Final = 5.0  # seconds for settling a cancelled batch during stop()


class ConsumerState(Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class PullConsumer:
    """Runs a handler over batches of a durable pull consumer until `stop()`.

    Several `PullConsumer`s (in one process or many) on the same durable share its messages;
    those of one process that share a `fetch_turn` lock fetch one at a time (see `fetch`).
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
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._linger = linger
        self._fetch_turn = fetch_turn if fetch_turn is not None else asyncio.Lock()
        self._observer: ConsumerObserver = observer or NoObserver()
        self._settlement = Settlement(
            durable=durable,
            handler=handler,
            dead_letters=DeadLetters(
                Publisher(conn, max_in_flight=16), subject=dead_letter_subject, origin=durable
            ),
            observer=self._observer,
            nak_delay=nak_delay,
            max_deliver=max_deliver,
            progress_interval=progress_interval,
        )
        self._state = ConsumerState.NEW
        self._started = False
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._current: asyncio.Task[object] | None = None

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
            sub = await self._conn.bind(self._stream, self._durable)
            await self._adopt_server_max_deliver()
            fetcher = Fetcher(
                self._conn,
                sub,
                stream=self._stream,
                durable=self._durable,
                batch_size=self._batch_size,
                fetch_timeout=self._fetch_timeout,
                linger=self._linger,
                fetch_turn=self._fetch_turn,
                stopping=self._stopping,
                run_step=self._run_step,
            )
            while not self._stopping.is_set():
                received = await fetcher.fetch()
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
        configured = self._settlement.max_deliver
        if declared is not None and 0 < declared < configured:
            _log.warning(
                "max_deliver_lowered",
                consumer=self._durable,
                configured=configured,
                server=declared,
            )
            self._settlement.max_deliver = declared

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

    async def _process(self, received: list[Received]) -> None:
        self._observer.on_fetched([item.delivery for item in received])
        task: asyncio.Task[object] = asyncio.create_task(self._settlement.handle(received))
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

    async def _release(self, sub: JetStreamContext.PullSubscription) -> None:
        """Give back what the server pushed but we never handed out, then unsubscribe."""
        await nak(take_buffered(sub), self._durable)
        with contextlib.suppress(JetStreamError), translated("unsubscribe"):
            await sub.unsubscribe()
