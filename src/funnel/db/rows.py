"""From a validated event to the row `events` stores: the one place that maps the two.

`EventRow` lists the columns in table order, which is also the order `store_events` copies
them in; each field is already the Python type asyncpg encodes for its column. The raw event
is not in the row: its message is kept once, compressed (`RawBatch`, with the message's
correlation id and arrival), and the row names the batch and the event's position in it; the
eventId is kept as its MD5 (`event_key`).

The row is read from the event's wire form (the JSON object as it came), not from its
pydantic model: validation is strict (no coercion), so a valid wire object holds exactly the
model's values, and reading a few dict keys costs a tenth of building the model. The
collector therefore validates without building models and maps with `wire_row`.
"""

import hashlib
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, NamedTuple
from uuid import UUID

import zstandard

from funnel.events import Event


class UnstorableEventError(ValueError):
    """A valid event that PostgreSQL cannot hold as it is (a NUL character in a text column)."""


class RawBatch(NamedTuple):
    """One message's events as they came (its JSON array), compressed (`unpack_batch` opens
    it), under an id made of its content: every delivery of the message is the same batch,
    another message never. The message's request (`correlation_id`) and arrival are kept
    with it, not per event."""

    batch_id: int
    events: bytes
    correlation_id: str | None = None
    received_at: datetime | None = None


# Zstandard frames begin with these bytes; a zlib stream (batches stored before zstd) never
# does (its first byte is 0x78).
_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"


def raw_batch(
    data: bytes, correlation_id: str | None = None, received_at: datetime | None = None
) -> RawBatch:
    """The batch of the message whose JSON array is `data`."""
    digest = hashlib.blake2b(data, digest_size=8).digest()
    # Zstandard level 1: a publisher event's 460 bytes become ~94 at ~0.74 us, where zlib's
    # fastest level gave ~114 at ~2.9 us (a collector's costliest step after parsing).
    compressed = zstandard.compress(data, 1)
    return RawBatch(
        int.from_bytes(digest, "big", signed=True), compressed, correlation_id, received_at
    )


def unpack_batch(compressed: bytes) -> bytes:
    """The JSON array a batch was made of, whichever way it was compressed."""
    if compressed.startswith(_ZSTD_MAGIC):
        return zstandard.decompress(compressed)
    return zlib.decompress(compressed)


def event_key(event_id: str) -> UUID:
    """How `events` names an eventId: its MD5 (as PostgreSQL's `md5(event_id)::uuid`).

    16 bytes where the id took ~37, in the row and in the key. Not for secrecy: two ids
    with one MD5 at the same millisecond would be taken for one event, and MD5's 128 bits
    make that as likely as a disk returning wrong bytes.
    """
    return UUID(bytes=hashlib.md5(event_id.encode(), usedforsecurity=False).digest())


class EventRow(NamedTuple):
    occurred_at: datetime
    event_key: UUID
    batch_id: int
    followers: int | None
    batch_index: int
    age: int | None
    source: str
    funnel_stage: str
    event_type: str
    user_id: str
    campaign_id: str | None
    purchase_amount: Decimal | None
    gender: str | None
    country: str | None
    city: str | None
    device: str | None
    payload: None  # rows stored before `0009` kept their raw event here


COLUMNS: Final[tuple[str, ...]] = EventRow._fields

#: How JSON spells U+0000, which PostgreSQL text cannot hold: a message without it has none.
NUL_ESCAPE: Final = b"\\u0000"


def _instant(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp).astimezone(UTC)


def _check_text(row: "EventRow") -> None:
    for value in (row.user_id, row.campaign_id, row.country, row.city):
        if value is not None and "\x00" in value:
            raise UnstorableEventError("a stored field contains the NUL character (\\u0000)")


def wire_row(
    raw: Mapping[str, Any],
    batch: tuple[int, int] = (0, 0),
    *,
    may_hold_nul: bool = True,
) -> EventRow:
    """The row of an event given as its wire object, which must have passed validation;
    `batch` is (its batch id, its index in the batch).

    Raises `UnstorableEventError` for the rare valid event PostgreSQL cannot hold (checked
    only when `may_hold_nul`: the caller knows its message has no NUL escape at all).
    """
    row = _map(raw, batch)
    if may_hold_nul:
        _check_text(row)
    return row


def _map(raw: Mapping[str, Any], batch: tuple[int, int]) -> EventRow:
    data = raw["data"]
    user = data["user"]
    engagement = data["engagement"]
    amount = engagement.get("purchaseAmount")
    purchase_amount = None if amount is None else Decimal(amount)
    batch_id, batch_index = batch
    if raw["source"] == "facebook":
        location = user["location"]
        return EventRow(
            _instant(raw["timestamp"]),
            event_key(raw["eventId"]),
            batch_id,
            None,
            batch_index,
            user["age"],
            "facebook",
            raw["funnelStage"],
            raw["eventType"],
            user["userId"],
            engagement.get("campaignId"),
            purchase_amount,
            user["gender"],
            location["country"],
            location["city"],
            None,
            None,
        )
    return EventRow(
        _instant(raw["timestamp"]),
        event_key(raw["eventId"]),
        batch_id,
        user["followers"],
        batch_index,
        None,
        "tiktok",
        raw["funnelStage"],
        raw["eventType"],
        user["userId"],
        None,
        purchase_amount,
        None,
        # Only top-funnel engagement has a country (and a device).
        engagement.get("country"),
        None,
        engagement.get("device"),
        None,
    )


def to_row(event: Event, raw: Mapping[str, Any], batch: tuple[int, int] = (0, 0)) -> EventRow:
    """The row for `event`, whose wire form is `raw`; raises `UnstorableEventError`.

    `event` is the proof that `raw` is valid; the values are read from `raw` (see above).
    """
    if event.event_id != raw.get("eventId"):
        raise ValueError("raw is not the wire form of event")
    return wire_row(raw, batch)
