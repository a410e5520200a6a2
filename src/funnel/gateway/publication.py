"""The publishes of one webhook request: started as its batches are ready, awaited together.

Starting a batch's publish as soon as it is packed lets JetStream store (and fsync) the
first batches while the rest of the request is still being validated, so the answer waits
for the last acks only, not for all of them after all the validation.
"""

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any

from funnel.jetstream import JetStreamError, OutboundMessage, Publisher, PublishError


class Publication:
    """Messages of one request in flight; `finish` waits for every ack."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        # Each task ends with how many messages it stored.
        self._tasks: list[asyncio.Task[int]] = []
        self._messages = 0

    @property
    def messages(self) -> int:
        """How many messages the request published, once `finish` has returned."""
        return self._messages

    def start(self, messages: Iterable[OutboundMessage]) -> None:
        """Begin publishing; the publisher bounds how many are in flight at once."""
        for message in messages:
            self._tasks.append(asyncio.create_task(self._publish(message)))

    def start_write(self, write: Coroutine[Any, Any, int]) -> None:
        """Begin a write of its own (a dead letter) that ends with how many messages it
        stored, or raises `PublishError` naming how many it did not."""
        self._tasks.append(asyncio.create_task(write))

    async def finish(self) -> None:
        """Return once every message is acknowledged.

        Raises `PublishError` naming how many were not (the others are stored), after every
        publish has ended; cancelling the wait cancels the publishes still running.
        """
        try:
            results = await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            # Cancels what still runs (nothing, once gathered) and lets the tasks go.
            self.cancel()
        stored = failed = 0
        full = False
        first_error: JetStreamError | None = None
        for result in results:
            if isinstance(result, int):
                stored += result
                continue
            if not isinstance(result, JetStreamError):
                raise result  # a bug, not an outage: let it surface as one
            first_error = first_error or result
            if isinstance(result, PublishError):
                failed += result.failed
                stored += result.total - result.failed
                full = full or result.full
            else:
                failed += 1
        self._messages = stored + failed
        if first_error is not None:
            raise PublishError(
                f"{failed} of {self._messages} messages not acknowledged: {first_error}",
                failed=failed,
                total=self._messages,
                full=full,
            )

    def cancel(self) -> None:
        """Stop the publishes still running (the request is being abandoned) and let them go:
        a failed task's traceback holds `_publish`'s frame, whose `self` would hold the task
        again, a cycle only a rare full collection frees."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()

    async def _publish(self, message: OutboundMessage) -> int:
        await self._publisher.publish(message)
        return 1
