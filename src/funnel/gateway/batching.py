"""Turning a request's valid events into JetStream batch messages (contract section 4).

A message holds a JSON array of events of one source: at most `max_events` of them and at
most `max_bytes` of JSON. Its `Nats-Msg-Id` is `<request key>:<source>:<n>`, where the
request key is `<correlation id>:<crc32 of the body>` (see `request_key`) and `n` counts the
source's batches in input order.
"""

import zlib
from collections.abc import Iterator
from typing import Any

import orjson

from funnel.events import SOURCES, Source, Subjects
from funnel.jetstream import EVENT_COUNT_HEADER, OutboundMessage
from funnel.observability import CORRELATION_HEADER


def request_key(correlation_id: str, body: bytes | bytearray) -> str:
    """The prefix of every message id of one request.

    The same body retried under the same `X-Correlation-ID` yields the same ids, so
    JetStream's duplicate window drops what it already stored; a different body sent under
    a reused id (a client that pins the header) differs in its checksum, so it is never
    mistaken for a duplicate and silently dropped.
    """
    return f"{correlation_id}:{zlib.crc32(body):08x}"


def _payloads(
    events: list[dict[str, Any]], max_events: int, max_bytes: int
) -> Iterator[tuple[list[dict[str, Any]], bytes]]:
    """JSON arrays of consecutive events within both limits, each with its events.

    Whole slices are serialized in one call (far cheaper than one call per event); a slice
    over `max_bytes` is halved until it fits. An event over the limit on its own comes
    alone, still over it: the caller refuses it.
    """
    for start in range(0, len(events), max_events):
        pending = [events[start : start + max_events]]
        while pending:
            chunk = pending.pop()
            payload = orjson.dumps(chunk)
            if len(payload) <= max_bytes or len(chunk) == 1:
                yield chunk, payload
                continue
            middle = len(chunk) // 2
            # Last in, first out: push the second half first to keep the input order.
            pending.append(chunk[middle:])
            pending.append(chunk[:middle])


class Batcher:
    """Packs one request's valid events into messages as they are validated.

    `add` returns the messages that became full, so they can be published while the rest
    of the request is still being validated; `flush` returns what is left at the end.
    A valid event whose JSON alone is over `max_bytes` fits no message (contract section
    4): it is kept out of them, in `oversized`, for the caller to refuse.
    """

    def __init__(
        self,
        *,
        subjects: Subjects,
        correlation_id: str,
        key: str,
        max_events: int,
        max_bytes: int,
    ) -> None:
        self._subjects = subjects
        self._correlation_id = correlation_id
        self._key = key
        self._max_events = max_events
        self.max_bytes = max_bytes
        self._pending: dict[Source, list[dict[str, Any]]] = {source: [] for source in SOURCES}
        self._numbers: dict[Source, int] = dict.fromkeys(SOURCES, 0)
        self.oversized: list[tuple[dict[str, Any], int]] = []
        """Each event left out of the messages, with the size of its JSON in bytes."""

    def add(self, source: Source, events: list[dict[str, Any]]) -> list[OutboundMessage]:
        """Take valid events of `source` (in input order); the batches that are now full."""
        pending = self._pending[source]
        pending.extend(events)
        full = len(pending) - len(pending) % self._max_events
        if full == 0:
            return []
        ready, self._pending[source] = pending[:full], pending[full:]
        return self._pack(source, ready)

    def flush(self) -> list[OutboundMessage]:
        """The last, partly filled batch of each source."""
        messages: list[OutboundMessage] = []
        for source in SOURCES:
            messages.extend(self._pack(source, self._pending[source]))
            self._pending[source] = []
        return messages

    def _pack(self, source: Source, events: list[dict[str, Any]]) -> list[OutboundMessage]:
        subject = self._subjects.events(source)
        messages = []
        for chunk, payload in _payloads(events, self._max_events, self.max_bytes):
            if len(payload) > self.max_bytes:
                self.oversized.append((chunk[0], len(payload) - 2))  # without the brackets
                continue
            number = self._numbers[source]
            self._numbers[source] = number + 1
            messages.append(
                OutboundMessage(
                    subject=subject,
                    payload=payload,
                    msg_id=f"{self._key}:{source}:{number}",
                    headers={
                        CORRELATION_HEADER: self._correlation_id,
                        EVENT_COUNT_HEADER: str(len(chunk)),
                    },
                )
            )
        return messages
