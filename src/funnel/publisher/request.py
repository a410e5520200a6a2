"""One request's events as the upstream publisher draws them: a batch, then maybe one
corrupted event more (made after the batch, corrupted as `corrupt` does)."""

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from funnel.publisher.corruption import corrupt
from funnel.publisher.generator import generate_batch, generate_event


@dataclass(frozen=True, slots=True)
class RequestEvents:
    """The events of one request, in order; when a corrupted event was appended, it is the
    last one and `original` is the event it was made from (else `original` is None)."""

    events: list[dict[str, Any]]
    original: dict[str, Any] | None

    @property
    def corrupted(self) -> bool:
        """The request ends with a corrupted event."""
        return self.original is not None

    @property
    def unchanged(self) -> bool:
        """Its corrupted event's corruption changed nothing, so a receiver accepts it."""
        return self.original is not None and self.events[-1] == self.original


def draw_request(
    rng: random.Random, count: int, corrupt_ratio: float, *, now: datetime | None = None
) -> RequestEvents:
    """`count` events, and with probability `corrupt_ratio` one corrupted event after them."""
    events = generate_batch(rng, count, now=now)
    if rng.random() >= corrupt_ratio:
        return RequestEvents(events, None)
    original = generate_event(rng, now=now)
    events.append(corrupt(original, rng))
    return RequestEvents(events, original)
