"""A dead letter read back from `DEAD_LETTERS`, for `funnel dlq` (the format: `deadletter`)."""

from dataclasses import dataclass
from typing import Any

import orjson

from funnel.jetstream.deadletter import (
    DELIVERIES_HEADER,
    ERROR_HEADER,
    KIND_HEADER,
    ORIGIN_HEADER,
    ORIGINAL_SEQUENCE_HEADER,
    ORIGINAL_SUBJECT_HEADER,
    DeadLetterKind,
)
from funnel.jetstream.message import EVENT_COUNT_HEADER
from funnel.jetstream.stored import StoredMessage
from funnel.observability import CORRELATION_HEADER


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A stored dead letter, read back from the stream."""

    sequence: int
    subject: str
    stored: StoredMessage
    kind: DeadLetterKind
    origin: str
    error: str
    correlation_id: str | None
    event_count: int | None
    original_subject: str | None
    original_sequence: int | None
    deliveries: int | None

    @property
    def body(self) -> bytes:
        return self.stored.data

    def rejected_entries(self) -> list[dict[str, Any]]:
        """The entries of a "rejected-input" letter (index, eventId, errors, event)."""
        if self.kind != "rejected-input":
            raise ValueError(f"dead letter {self.sequence} is {self.kind}, not rejected-input")
        entries = orjson.loads(self.body)
        if not isinstance(entries, list):
            raise ValueError(f"dead letter {self.sequence}: body is not a JSON array")
        return [entry for entry in entries if isinstance(entry, dict)]


def read_dead_letter(stored: StoredMessage) -> DeadLetter:
    """Interpret a stored message of the dead-letter stream; raises ValueError if foreign."""
    headers = stored.headers
    kind: DeadLetterKind
    match headers.get(KIND_HEADER):
        case "rejected-input":
            kind = "rejected-input"
        case "undeliverable":
            kind = "undeliverable"
        case _:
            raise ValueError(f"message {stored.sequence} is not a Funnel dead letter")
    return DeadLetter(
        sequence=stored.sequence,
        subject=stored.subject,
        stored=stored,
        kind=kind,
        origin=headers.get(ORIGIN_HEADER, "unknown"),
        error=headers.get(ERROR_HEADER, ""),
        correlation_id=headers.get(CORRELATION_HEADER),
        event_count=_int_or_none(headers.get(EVENT_COUNT_HEADER)),
        original_subject=headers.get(ORIGINAL_SUBJECT_HEADER),
        original_sequence=_int_or_none(headers.get(ORIGINAL_SEQUENCE_HEADER)),
        deliveries=_int_or_none(headers.get(DELIVERIES_HEADER)),
    )


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None
