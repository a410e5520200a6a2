"""Whether JetStream answers our publishes: a readiness check built from the publishes
themselves.

A connection that answers `account_info` does not prove that publishes are stored: a stream
without a leader (its node cut off, an election under way), a route not yet re-established,
or a stale TCP connection nobody has noticed yet all leave publishes unanswered while small
API requests may still get through. A gateway whose publishes go unanswered refuses webhooks
503 after its ack timeouts and retries; saying not-ready meanwhile is what lets a balancer or
an operator see why.

Not answering means an attempt is waiting longer than `stalled_after` for its ack, or the last
attempt to end ended without an answer (timeout, no responders, no connection) and nothing
has been answered since, for at most `remembered` seconds: with no traffic there is nothing
left to tell. A refusal (the stream full, say) is an answer: the room for it is the gateway's
business, not readiness's.
"""

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager

from funnel.jetstream.errors import (
    NoRespondersError,
    NotConnectedError,
    RequestTimeoutError,
)

# Errors that mean nobody answered; any other outcome is an answer.
_UNANSWERED = (RequestTimeoutError, NoRespondersError, NotConnectedError)


class NotAnsweringError(Exception):
    """Publishes are going unanswered; the message says since when and why."""


class Answering:
    """Publish attempts in flight and the last one's outcome."""

    def __init__(self, *, stalled_after: float, remembered: float) -> None:
        if stalled_after <= 0 or remembered <= 0:
            raise ValueError("stalled_after and remembered must be > 0")
        self._stalled_after = stalled_after
        self._remembered = remembered
        self._tickets = itertools.count()
        # Insertion order is start order, so the first value is the oldest attempt waiting.
        self._waiting: dict[int, float] = {}
        self._unanswered: tuple[float, str] | None = None  # when the last one failed, why

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Around one publish attempt: it waits, then it is answered or it is not."""
        ticket = next(self._tickets)
        self._waiting[ticket] = time.monotonic()
        try:
            yield
        except _UNANSWERED as exc:
            self._unanswered = (time.monotonic(), str(exc))
            raise
        except Exception:
            self._unanswered = None
            raise
        else:
            self._unanswered = None
        finally:
            del self._waiting[ticket]

    async def check(self) -> None:
        """Readiness: raises `NotAnsweringError` while publishes go unanswered."""
        now = time.monotonic()
        oldest = next(iter(self._waiting.values()), None)
        if oldest is not None and now - oldest >= self._stalled_after:
            raise NotAnsweringError(
                f"a publish has waited {now - oldest:.1f} s for its ack "
                f"({len(self._waiting)} waiting)"
            )
        if self._unanswered is not None:
            at, reason = self._unanswered
            if now - at < self._remembered:
                raise NotAnsweringError(
                    f"the last publish went unanswered {now - at:.1f} s ago: {reason}"
                )
