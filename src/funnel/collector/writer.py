"""`BatchWriter`: the collector's batch handler, from fetched messages to committed rows.

One fetch (several messages, thousands of events) is decoded, validated and mapped, then
written in one transaction; the consumer loop acks the messages only after this returns, so
everything acked is committed. What is bad is dead-lettered and only that: a message that is
not a JSON array as a whole, a refused event on its own while its batch-mates are stored.
Should the database refuse a batch that passed validation, it is stored message by message,
and a message it refuses again event by event, so only the events it refuses are refused.

While the database is unavailable the batch waits in hand for it to come back, for as long
as it takes (the consumer marks it in progress meanwhile; shutdown bounds the wait and gives
the batch back); storing is idempotent, so a retried batch never stores an event twice.
"""

import asyncio
import functools
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import asyncpg
import orjson
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from funnel.collector.message import DecodedMessage, UndecodableMessageError, decode_message
from funnel.collector.metrics import CollectorMetrics
from funnel.db import (
    DatabaseUnavailableError,
    DataRefusedError,
    EventRow,
    Partitions,
    RawBatch,
    SeenUsers,
    store_events,
    translate_errors,
)
from funnel.events import FieldError, Rejected, Source
from funnel.jetstream import DeadLetters, Delivery, Failed, PublishError, TransientError
from funnel.observability import bound_correlation_id

_log = structlog.get_logger(__name__)

# Seconds between attempts on an unavailable database: doubling, at most `_MAX_PAUSE`, for as
# long as the outage lasts (shutdown cancels the wait and gives the batch back).
_FIRST_PAUSE: Final = 0.1
_MAX_PAUSE: Final = 2.0


class BatchWriter:
    """Stores each fetched batch of one source's messages; see the module docstring."""

    def __init__(
        self,
        *,
        source: Source,
        pool: asyncpg.Pool,
        partitions: Partitions,
        repeat_window: timedelta,
        seen_users: SeenUsers,
        dead_letters: DeadLetters,
        metrics: CollectorMetrics,
    ) -> None:
        self._source = source
        self._pool = pool
        self._partitions = partitions
        self._repeat_window = repeat_window
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._seen_users = seen_users

    async def __call__(self, deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        started = time.perf_counter()
        messages, failed = self._decode(deliveries)
        await self._store(messages)
        await self._refuse(messages)
        self._metrics.batch_duration.observe(time.perf_counter() - started)
        return failed

    # --- decoding --------------------------------------------------------------------------

    def _decode(self, deliveries: Sequence[Delivery]) -> tuple[list[DecodedMessage], list[Failed]]:
        received_at = datetime.now(UTC)
        messages: list[DecodedMessage] = []
        failed: list[Failed] = []
        for delivery in deliveries:
            try:
                message = decode_message(delivery, self._source, received_at)
            except UndecodableMessageError as exc:
                self._metrics.accepted(delivery.event_count or 1)
                with bound_correlation_id(delivery.correlation_id):
                    _log.warning(
                        "message_undecodable",
                        subject=delivery.subject,
                        sequence=delivery.stream_sequence,
                        error=str(exc),
                    )
                failed.append(Failed(delivery, f"undecodable: {exc}"))
                continue
            self._metrics.accepted(message.events)
            messages.append(message)
        return messages, failed

    # --- storing ---------------------------------------------------------------------------

    async def _store(self, messages: list[DecodedMessage]) -> None:
        rows = [row for message in messages for row in message.rows]
        if not rows:
            return
        try:
            inserted = await self._write(rows, [message.batch for message in messages])
        except DataRefusedError as exc:
            # Validation should make this impossible; find the events at fault.
            _log.error("batch_refused", count=len(rows), error=str(exc))
            await self._store_each(messages)
            return
        self._metrics.processed(len(rows), inserted)
        self._metrics.seen_users(self._seen_users)
        self._observe_lag(messages)
        self._log_stored(messages)
        _log.debug("batch_stored", count=len(rows), inserted=inserted)

    def _observe_lag(self, messages: list[DecodedMessage]) -> None:
        # A message's events share the moment the publisher sent them: one sample each.
        committed_at = datetime.now(UTC)
        for message in messages:
            if message.rows:
                lag = (committed_at - message.rows[0].occurred_at).total_seconds()
                self._metrics.ingest_lag.observe(max(lag, 0.0))

    def _log_stored(self, messages: list[DecodedMessage]) -> None:
        """One INFO line per stored message, under the correlation id of its request."""
        for message in messages:
            if message.rows:
                with bound_correlation_id(message.delivery.correlation_id):
                    _log.info(
                        "message_stored", subject=message.delivery.subject, count=len(message.rows)
                    )

    async def _store_each(self, messages: list[DecodedMessage]) -> None:
        """Store message by message; a message refused again, event by event."""
        for message in messages:
            if not message.rows:
                continue
            try:
                inserted = await self._write(message.rows, [message.batch])
            except DataRefusedError as exc:
                with bound_correlation_id(message.delivery.correlation_id):
                    _log.error(
                        "message_refused",
                        sequence=message.delivery.stream_sequence,
                        count=len(message.rows),
                        error=str(exc),
                    )
                await self._store_one_by_one(message)
                continue
            self._metrics.processed(len(message.rows), inserted)
            self._observe_lag([message])
            self._log_stored([message])

    async def _store_one_by_one(self, message: DecodedMessage) -> None:
        """Store each row of `message` alone; the events of rows refused become unstorable."""
        kept: list[EventRow] = []
        inserted = 0
        events = orjson.loads(message.delivery.data)  # decoded once already: a JSON array
        for row, index in zip(message.rows, message.indexes, strict=True):
            try:
                inserted += await self._write([row], [message.batch])
            except DataRefusedError as exc:
                reason = FieldError("", f"refused by the database: {exc}")
                message.unstorable.append(Rejected(index, events[index], [reason]))
                continue
            kept.append(row)
        message.rows = kept
        self._metrics.processed(len(kept), inserted)
        self._observe_lag([message])
        self._log_stored([message])

    async def _write(self, rows: list[EventRow], batches: list[RawBatch]) -> int:
        """Commit `rows` and their `batches` in one transaction, waiting out any database
        outage."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(DatabaseUnavailableError),
            wait=wait_exponential(multiplier=_FIRST_PAUSE, max=_MAX_PAUSE),
            before_sleep=functools.partial(self._on_unavailable, len(rows)),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                # In a short transaction of its own: the batch's never waits on DDL.
                await self._partitions.ensure(self._pool, [row.occurred_at for row in rows])
                with translate_errors():
                    async with self._pool.acquire() as conn, conn.transaction():
                        inserted = await store_events(
                            conn,
                            rows,
                            batches,
                            partition_width=self._partitions.width,
                            repeat_window=self._repeat_window,
                            seen_users=self._seen_users,
                        )
        if (attempts := attempt.retry_state.attempt_number) > 1:
            _log.info("database_available", attempts=attempts)
        return inserted

    def _on_unavailable(self, count: int, state: RetryCallState) -> None:
        # Retention may have dropped a partition this writer still knew.
        self._partitions.forget()
        self._metrics.database_unavailable()
        if state.attempt_number == 1 and state.outcome is not None:
            _log.warning("database_unavailable", count=count, error=str(state.outcome.exception()))

    # --- refusing single events ------------------------------------------------------------

    async def _refuse(self, messages: list[DecodedMessage]) -> None:
        """Dead-letter the refused events of stored messages, one letter per message."""
        refusing = [message for message in messages if message.refused]
        if not refusing:
            return
        try:
            await asyncio.gather(*(self._refuse_one(message) for message in refusing))
        except PublishError as exc:
            # The rows are committed and storing again changes nothing: retry the batch.
            raise TransientError(f"dead letters not stored: {exc}") from exc
        for message in refusing:
            self._metrics.failed("invalid", len(message.invalid))
            self._metrics.failed("unstorable", len(message.unstorable))

    async def _refuse_one(self, message: DecodedMessage) -> None:
        delivery = message.delivery
        # Stable per message, so a redelivered batch's letters are dropped as duplicates.
        origin = self._dead_letters.origin
        await self._dead_letters.reject(
            message.refused,
            correlation_id=delivery.correlation_id,
            msg_id=f"{origin}.{delivery.msg_id or delivery.stream_sequence}",
        )
