"""Packing JSON items into batch messages: a JSON array of at most N items and ~M bytes.

Items arrive already serialized, so packing is joining bytes; nothing is parsed twice.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

MAX_BATCH_EVENTS: Final = 1000
MAX_BATCH_BYTES: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class JsonBatch:
    """Serialized items and the JSON array holding them."""

    items: Sequence[bytes]
    payload: bytes


def json_batches(
    items: Iterable[bytes],
    *,
    max_items: int = MAX_BATCH_EVENTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[JsonBatch]:
    """Consecutive batches, in order; an item larger than `max_bytes` travels alone."""
    if max_items < 1 or max_bytes < 2:
        raise ValueError("max_items must be >= 1 and max_bytes >= 2")
    pending: list[bytes] = []
    size = 2  # the brackets
    for item in items:
        added = len(item) + (1 if pending else 0)  # the comma
        if pending and (len(pending) == max_items or size + added > max_bytes):
            yield _pack(pending)
            pending, size, added = [], 2, len(item)
        pending.append(item)
        size += added
    if pending:
        yield _pack(pending)


def _pack(items: list[bytes]) -> JsonBatch:
    return JsonBatch(items=items, payload=b"[" + b",".join(items) + b"]")
