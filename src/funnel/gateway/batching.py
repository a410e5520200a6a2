"""Turning a request's valid events into JetStream batch messages (contract section 4).

A message holds a JSON array of events of one source: at most `max_events` of them and at
most `max_bytes` of JSON. Its `Nats-Msg-Id` is `<request key>:<source>:<n>`, where the
request key is `<correlation id>:<crc32 of the body>` (see `request_key`).
"""

import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from funnel.events import Source, Subjects
from funnel.jetstream import EVENT_COUNT_HEADER, OutboundMessage
from funnel.observability import CORRELATION_HEADER


def _payloads(
    events: list[dict[str, Any]], max_events: int, max_bytes: int
) -> Iterator[tuple[int, bytes]]:
    """JSON arrays of consecutive events within both limits, each with its length.

    Whole slices are serialized in one call (far cheaper than one call per event); a slice
    over `max_bytes` is halved until it fits. One event larger than the limit on its own
    still goes alone: the stream's maximum message size is the hard bound for it.
    """
    for start in range(0, len(events), max_events):
        pending = [events[start : start + max_events]]
        while pending:
            chunk = pending.pop()
            payload = orjson.dumps(chunk)
            if len(payload) <= max_bytes or len(chunk) == 1:
                yield len(chunk), payload
                continue
            middle = len(chunk) // 2
            # Last in, first out: push the second half first to keep the input order.
            pending.append(chunk[middle:])
            pending.append(chunk[:middle])


def request_key(correlation_id: str, body: bytes | bytearray) -> str:
    """The prefix of every message id of one request.

    The same body retried under the same `X-Correlation-ID` yields the same ids, so
    JetStream's duplicate window drops what it already stored; a different body sent under
    a reused id (a client that pins the header) differs in its checksum, so it is never
    mistaken for a duplicate and silently dropped.
    """
    return f"{correlation_id}:{zlib.crc32(body):08x}"


def batch_messages(
    events_by_source: Mapping[Source, list[dict[str, Any]]],
    *,
    subjects: Subjects,
    correlation_id: str,
    key: str,
    max_events: int,
    max_bytes: int,
) -> list[OutboundMessage]:
    """Every message for the valid events of one request, in input order per source."""
    messages: list[OutboundMessage] = []
    for source, events in events_by_source.items():
        subject = subjects.events(source)
        batches = _payloads(events, max_events, max_bytes)
        for number, (count, payload) in enumerate(batches):
            messages.append(
                OutboundMessage(
                    subject=subject,
                    payload=payload,
                    msg_id=f"{key}:{source}:{number}",
                    headers={CORRELATION_HEADER: correlation_id, EVENT_COUNT_HEADER: str(count)},
                )
            )
    return messages
