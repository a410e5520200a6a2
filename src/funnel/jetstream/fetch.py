"""Fetching a `PullConsumer`'s next batch from its pull subscription.

With `linger`, a fetch that comes back short keeps fetching for up to that long to fill the
batch: a handler whose cost per batch is high (a database transaction) then gets fewer,
fuller batches when traffic is light. Consumers of one process that share a `fetch_turn`
lock fetch one at a time, so only one of them lingers and batches are not split between
them; under a backlog every fetch fills at once and they still work in parallel.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

import nats.errors
import structlog
from nats.js import JetStreamContext

from funnel.jetstream.connection import ConnectionState, JetStreamConnection
from funnel.jetstream.durable import consumer_info
from funnel.jetstream.errors import ConnectionClosedError, JetStreamError, translate
from funnel.jetstream.settlement import Received

_log = structlog.get_logger(__name__)

_ERROR_PAUSE: Final = 1.0  # seconds to wait after a failed fetch before the next one
# While idle, how often to ask whether the durable still exists: some servers answer a fetch
# on a missing consumer with silence, which would otherwise look like an empty stream.
_VERIFY_INTERVAL: Final = 5.0

RunStep = Callable[["asyncio.Task[object]"], Awaitable[None]]
"""Awaits a task as the consumer's current step, which `PullConsumer.stop()` may cancel."""


class Fetcher:
    """The batches of one subscription, until `stopping` is set."""

    def __init__(
        self,
        conn: JetStreamConnection,
        sub: JetStreamContext.PullSubscription,
        *,
        stream: str,
        durable: str,
        batch_size: int,
        fetch_timeout: float,
        linger: float,
        fetch_turn: asyncio.Lock,
        stopping: asyncio.Event,
        run_step: RunStep,
    ) -> None:
        self._conn = conn
        self._sub = sub
        self._stream = stream
        self._durable = durable
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._linger = linger
        self._fetch_turn = fetch_turn
        self._stopping = stopping
        self._run_step = run_step
        self._verified_at = 0.0

    async def fetch(self) -> list[Received]:
        """One batch: what the first fetch brings, topped up for up to `linger` seconds.

        Empty when nothing came, on a stop, a disconnect or an error; raises
        `ConnectionClosedError` if the connection is closed under it.
        """
        async with self._fetch_turn:
            if self._stopping.is_set():
                return []
            received = await self._fetch_some(self._batch_size, self._fetch_timeout)
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
                more = await self._fetch_some(self._batch_size - len(received), left)
                if not more:
                    break
                received += more
            return received

    async def _fetch_some(self, count: int, wait: float) -> list[Received] | None:
        """Up to `count` messages, waiting up to `wait` seconds for the first; None when none
        came in that time (idle), an empty list on a stop, a disconnect or an error."""
        if not self._conn.is_connected:
            if self._conn.state is ConnectionState.CLOSED:
                raise ConnectionClosedError(f"connection {self._conn.name!r} is closed")
            # Pull requests sent while disconnected would all arrive at once on reconnect.
            await self._pause(min(self._fetch_timeout, _ERROR_PAUSE))
            return []
        task: asyncio.Task[object] = asyncio.create_task(self._sub.fetch(count, timeout=wait))
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

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up at once when the consumer is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
