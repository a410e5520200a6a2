"""`periodically`: an action repeated every few seconds while a block runs.

The repetition ends on an event, not on cancellation alone: nats-py swallows a
`CancelledError` that lands while it flushes a publish or a request, and a loop that missed
its cancel ran on for the life of the process (a collector's shutdown once waited for it
forever). On leaving the block the event is set, the task is also cancelled (to cut a sleep
or a request short), and leaving waits a bounded time for it to end.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

# Longest an action in flight may hold up leaving: JetStream requests time out sooner.
_STOP_SECONDS: Final = 10.0


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def _repeat(
    action: Callable[[], Awaitable[None]], interval: float, stop: asyncio.Event, immediately: bool
) -> None:
    if not immediately and await _stopped_within(stop, interval):
        return
    while True:
        await action()
        if await _stopped_within(stop, interval):
            return


@contextlib.asynccontextmanager
async def periodically(
    action: Callable[[], Awaitable[None]], interval: float, *, immediately: bool = False
) -> AsyncIterator[None]:
    """Run `action` every `interval` seconds (first at once with `immediately`, else after
    one interval) until the block ends."""
    stop = asyncio.Event()
    task = asyncio.create_task(_repeat(action, interval, stop, immediately))
    try:
        yield
    finally:
        stop.set()
        task.cancel()
        await asyncio.wait({task}, timeout=_STOP_SECONDS)
