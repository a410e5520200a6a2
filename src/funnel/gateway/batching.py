"""Turning a request's valid events into JetStream batch messages (contract section 4).

A message holds a JSON array of events of one source, packed by the one packer of
`funnel.jetstream` within its limit (or lower `max_events` / `max_bytes`). Its `Nats-Msg-Id`
is `<request key>:<source>:<n>`, where the request key is `<correlation id>:<crc32 of the
body>` (see `request_key`) and `n` counts the source's batches in input order. Its
`Funnel-Validated` header names the rules its events passed (`funnel.events.RULES_ID`): a
collector under the same rules does not validate them again.
"""

import zlib
from typing import Any

from funnel.events import RULES_ID, SOURCES, Source, Subjects
from funnel.jetstream import EVENT_COUNT_HEADER, VALIDATED_HEADER, OutboundMessage, json_batches
from funnel.observability import CORRELATION_HEADER


def request_key(correlation_id: str, body: bytes | bytearray) -> str:
    """The prefix of every message id of one request.

    The same body retried under the same `X-Correlation-ID` yields the same ids, so
    JetStream's duplicate window drops what it already stored; a different body sent under
    a reused id (a client that pins the header) differs in its checksum, so it is never
    mistaken for a duplicate and silently dropped.
    """
    return f"{correlation_id}:{zlib.crc32(body):08x}"


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
        for batch in json_batches(events, max_items=self._max_events, max_bytes=self.max_bytes):
            if len(batch.payload) > self.max_bytes:
                # Without the brackets: the size of the event's own JSON.
                self.oversized.append((batch.items[0], len(batch.payload) - 2))
                continue
            number = self._numbers[source]
            self._numbers[source] = number + 1
            messages.append(
                OutboundMessage(
                    subject=subject,
                    payload=batch.payload,
                    msg_id=f"{self._key}:{source}:{number}",
                    headers={
                        CORRELATION_HEADER: self._correlation_id,
                        EVENT_COUNT_HEADER: str(len(batch.items)),
                        VALIDATED_HEADER: RULES_ID,
                    },
                )
            )
        return messages
