"""Test traffic for the JetStream tests: batch messages, a recording handler, waiting."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import orjson

from funnel.jetstream import EVENT_COUNT_HEADER, Delivery, Failed, OutboundMessage
from funnel.observability import CORRELATION_HEADER


def batch_message(
    subject: str, first: int, count: int, *, correlation_id: str = "cid-test"
) -> OutboundMessage:
    """A batch of `count` small events numbered from `first`; the msg id names the range."""
    events = [{"eventId": f"ev-{number}", "n": number} for number in range(first, first + count)]
    return OutboundMessage(
        subject=subject,
        payload=orjson.dumps(events),
        msg_id=f"batch-{first}-{count}",
        headers={CORRELATION_HEADER: correlation_id, EVENT_COUNT_HEADER: str(count)},
    )


def event_ids(delivery: Delivery) -> list[str]:
    return [event["eventId"] for event in orjson.loads(delivery.data)]


class Recorder:
    """A batch handler that records every delivery it was given, then succeeds."""

    def __init__(self, pause: float = 0.0) -> None:
        self.deliveries: list[Delivery] = []
        self.calls = 0
        self._pause = pause

    async def __call__(self, deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        self.calls += 1
        if self._pause:
            await asyncio.sleep(self._pause)
        self.deliveries.extend(deliveries)
        return []

    @property
    def event_ids(self) -> list[str]:
        return [event_id for delivery in self.deliveries for event_id in event_ids(delivery)]


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float = 30.0, what: str = ""
) -> None:
    """Wait until `condition` holds; fail after `within` seconds (a hang guard, not a timing)."""
    deadline = time.monotonic() + within
    while True:
        outcome = condition()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within:g}s: {what or condition}")
        await asyncio.sleep(0.02)
