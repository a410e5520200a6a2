"""Publishing to JetStream with acknowledgements, many messages in flight, bounded.

Every message is a request that JetStream answers with an ack once the message is stored. A
publish that gets no answer in time is sent again with the same `Nats-Msg-Id`, so the
stream's duplicate window drops it if the first one did land. One semaphore per `Publisher`
bounds the messages in flight across all concurrent callers.
"""

import asyncio
from collections.abc import Iterable
from typing import Final

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from funnel.jetstream.answering import Answering
from funnel.jetstream.connection import JetStreamConnection
from funnel.jetstream.errors import (
    ConnectionClosedError,
    JetStreamError,
    NoRespondersError,
    NotConnectedError,
    PublishError,
    RequestTimeoutError,
    StreamFullError,
)
from funnel.jetstream.message import OutboundMessage

_log = structlog.get_logger(__name__)

_RETRY_PAUSE: Final = 0.1  # seconds before the 2nd attempt, doubled after each
_RETRY_PAUSE_MAX: Final = 2.0
# An ack normally comes within milliseconds; one awaited this long means the publish path is
# stuck (no stream leader, a stale connection), and readiness says so before the ack timeout.
_STALLED_AFTER: Final = 3.0


def _is_retryable(exc: BaseException) -> bool:
    """Timeouts and outages may clear up; a closed connection or a refusal will not."""
    if isinstance(exc, ConnectionClosedError):
        return False
    return isinstance(exc, RequestTimeoutError | NoRespondersError | NotConnectedError)


def _log_retry(state: RetryCallState) -> None:
    message: OutboundMessage = state.args[0]
    error = state.outcome.exception() if state.outcome is not None else None
    _log.warning(
        "publish_retry",
        subject=message.subject,
        msg_id=message.msg_id,
        attempt=state.attempt_number,
        error=str(error),
    )


class Publisher:
    """Publishes `OutboundMessage`s and returns only when JetStream has stored them."""

    def __init__(
        self,
        conn: JetStreamConnection,
        *,
        max_in_flight: int = 256,
        ack_timeout: float = 5.0,
        attempts: int = 3,
        stalled_after: float = _STALLED_AFTER,
    ) -> None:
        if max_in_flight < 1 or attempts < 1 or ack_timeout <= 0:
            raise ValueError("max_in_flight and attempts must be >= 1, ack_timeout > 0")
        self._conn = conn
        self._slots = asyncio.Semaphore(max_in_flight)
        self._ack_timeout = ack_timeout
        self._attempts = attempts
        # An unanswered attempt is remembered as long as the next one may wait for its ack.
        self._answering = Answering(
            stalled_after=min(stalled_after, ack_timeout), remembered=ack_timeout
        )

    async def check(self) -> None:
        """Readiness: raises while publishes go unanswered (see `funnel.jetstream.answering`)."""
        await self._answering.check()

    async def wait_connected(self, within: float) -> bool:
        """Whether the connection is up, waiting up to `within` seconds for a reconnect."""
        return await self._conn.wait_connected(within)

    async def publish(self, message: OutboundMessage) -> None:
        """Publish one message and wait for its ack; raises `PublishError` if none comes."""
        async with self._slots:
            error = await self._publish_with_retry(message)
        if error is not None:
            raise PublishError(
                f"message not acknowledged: {error}",
                failed=1,
                total=1,
                full=isinstance(error, StreamFullError),
            )

    async def publish_all(self, messages: Iterable[OutboundMessage]) -> None:
        """Publish every message, many at a time, and wait for every ack.

        Raises `PublishError` naming how many were not acknowledged; the others are stored.
        """
        tasks: list[asyncio.Task[JetStreamError | None]] = []
        try:
            for message in messages:
                await self._slots.acquire()
                task = asyncio.create_task(self._publish_with_retry(message))
                # Released by a callback: a task cancelled before it starts runs no `finally`.
                task.add_done_callback(self._release_slot)
                tasks.append(task)
            results = await asyncio.gather(*tasks, return_exceptions=True)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        errors = [result for result in results if result is not None]
        if errors:
            raise PublishError(
                f"{len(errors)} of {len(tasks)} messages not acknowledged: {errors[0]}",
                failed=len(errors),
                total=len(tasks),
                full=any(isinstance(error, StreamFullError) for error in errors),
            )

    def _release_slot(self, _task: "asyncio.Task[JetStreamError | None]") -> None:
        self._slots.release()

    async def _publish_with_retry(self, message: OutboundMessage) -> JetStreamError | None:
        """None once acknowledged; otherwise the last error, after the retries it deserves."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=_RETRY_PAUSE, max=_RETRY_PAUSE_MAX),
            # Not a partial over the message: tenacity's retrying object is a reference
            # cycle, and whatever it holds waits for the cyclic collector.
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            await retrying(self._publish_once, message)
        except JetStreamError as exc:
            # A value from here on, kept without the frames it was raised through: they
            # hold the payload, and in reference cycles they waited for a full collection.
            return exc.with_traceback(None)
        return None

    async def _publish_once(self, message: OutboundMessage) -> None:
        with self._answering.attempt():
            await self._conn.publish(
                message.subject,
                message.payload,
                headers=message.wire_headers(),
                ack_timeout=self._ack_timeout,
            )
