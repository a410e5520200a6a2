"""The publishes of one webhook request: started as its batches are ready, awaited together.

Starting a batch's publish as soon as it is packed lets JetStream store (and fsync) the
first batches while the rest of the request is still being validated, so the answer waits
for the last acks only, not for all of them after all the validation.
"""

import asyncio
from collections.abc import Iterable

from funnel.jetstream import JetStreamError, OutboundMessage, Publisher, PublishError


class Publication:
    """Messages of one request in flight; `finish` waits for every ack."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def messages(self) -> int:
        return len(self._tasks)

    def start(self, messages: Iterable[OutboundMessage]) -> None:
        """Begin publishing; the publisher bounds how many are in flight at once."""
        for message in messages:
            self._tasks.append(asyncio.create_task(self._publisher.publish(message)))

    async def finish(self) -> None:
        """Return once every message is acknowledged.

        Raises `PublishError` naming how many were not (the others are stored), after every
        publish has ended; cancelling the wait cancels the publishes still running.
        """
        try:
            results = await asyncio.gather(*self._tasks, return_exceptions=True)
        except BaseException:
            self.cancel()
            raise
        failed = [result for result in results if isinstance(result, BaseException)]
        for error in failed:
            if not isinstance(error, JetStreamError):
                raise error  # a bug, not an outage: let it surface as one
        if failed:
            raise PublishError(
                f"{len(failed)} of {len(results)} messages not acknowledged: {failed[0]}",
                failed=len(failed),
                total=len(results),
                full=any(isinstance(error, PublishError) and error.full for error in failed),
            )

    def cancel(self) -> None:
        """Stop the publishes still running (the request is being abandoned)."""
        for task in self._tasks:
            task.cancel()
