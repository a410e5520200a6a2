"""The one packer of JetStream messages: JSON arrays of consecutive items within one limit.

Every message Funnel writes to a stream is a batch: the gateway's validated events, the
dead letters of rejected events, and the events a replay publishes again. The limit is the
contract's (section 4): at most `MAX_BATCH_EVENTS` items and `MAX_BATCH_BYTES` of JSON. One
event per message cannot reach the publisher's ~25,000 events a second on two cores; the
byte bound (1,000 publisher events are ~0.4 MB) keeps a message under the servers'
`max_payload` and the streams' `max_msg_size` (`stream.MAX_MESSAGE_BYTES`), with room left
for the headers.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

MAX_BATCH_EVENTS: Final = 1000
MAX_BATCH_BYTES: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class JsonBatch:
    """Consecutive items and the JSON array holding them."""

    items: Sequence[Any]
    payload: bytes


def json_batches(
    items: list[Any],
    *,
    max_items: int = MAX_BATCH_EVENTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[JsonBatch]:
    """`items` as JSON arrays of consecutive items within both limits, in order.

    Items are anything orjson writes; one already serialized travels as `orjson.Fragment`,
    copied as it is. Whole slices are serialized in one call (far cheaper than one call per
    item); a slice over `max_bytes` is halved until it fits. An item over `max_bytes` on its
    own comes alone, still over it: the caller decides what to do with it.
    """
    if max_items < 1 or max_bytes < 2:
        raise ValueError("max_items must be >= 1 and max_bytes >= 2")
    for start in range(0, len(items), max_items):
        pending = [items[start : start + max_items]]
        while pending:
            chunk = pending.pop()
            payload = orjson.dumps(chunk)
            if len(payload) <= max_bytes or len(chunk) == 1:
                yield JsonBatch(chunk, payload)
                continue
            middle = len(chunk) // 2
            # Last in, first out: push the second half first to keep the input order.
            pending.append(chunk[middle:])
            pending.append(chunk[:middle])
