"""Dead letters: what could not be processed, kept in `DEAD_LETTERS` for `funnel dlq`.

Format: headers say what the letter is, the body carries the data.

    Funnel-Dead-Letter        "rejected-input" or "undeliverable"
    Funnel-Origin             who gave up: "gateway", or the consumer (e.g. "fb-collector")
    Funnel-Error              one-line reason (at most 1,000 characters)
    X-Correlation-ID          the request the data came from, when known
    Funnel-Event-Count        events in the body
    Nats-Msg-Id               deterministic, so a repeated dead-lettering is dropped
  undeliverable only:
    Funnel-Original-Subject   where the body was published (e.g. "events.facebook")
    Funnel-Original-Sequence  its sequence in the events stream
    Funnel-Original-Msg-Id    its Nats-Msg-Id
    Funnel-Deliveries         how many times it was delivered before giving up

Body of "undeliverable": the original message body, byte for byte, so replay republishes it
as is. Body of "rejected-input": a JSON array with one entry per rejected webhook event,
`{"index": i, "eventId": "..." | null, "errors": [{"path": ..., "message": ...}], "event": raw}`,
where `index` is the event's position in its request. The gateway dead-letters only the
rejected events of a request, one message for all of them (split past the one message limit
of `batch`), so a 50,000-event request with one bad event costs one small message. An event no
message could hold is kept as the fields that name it and a `notKept` note of its size.
"""

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import orjson

from funnel.jetstream.batch import MAX_BATCH_BYTES, json_batches
from funnel.jetstream.message import EVENT_COUNT_HEADER, Delivery, OutboundMessage
from funnel.jetstream.publisher import Publisher
from funnel.jetstream.stored import StoredMessage
from funnel.observability import CORRELATION_HEADER

KIND_HEADER: Final = "Funnel-Dead-Letter"
ORIGIN_HEADER: Final = "Funnel-Origin"
ERROR_HEADER: Final = "Funnel-Error"
ORIGINAL_SUBJECT_HEADER: Final = "Funnel-Original-Subject"
ORIGINAL_SEQUENCE_HEADER: Final = "Funnel-Original-Sequence"
ORIGINAL_MSG_ID_HEADER: Final = "Funnel-Original-Msg-Id"
DELIVERIES_HEADER: Final = "Funnel-Deliveries"

DeadLetterKind = Literal["rejected-input", "undeliverable"]

_MAX_ERROR_CHARS: Final = 1000
# What a rejected-input letter keeps of an event too large for any message.
_NAMING_FIELDS: Final = ("eventId", "source", "funnelStage", "eventType", "timestamp")
_MAX_NAMING_CHARS: Final = 256


class Rejection(Protocol):
    """A rejected webhook event (`funnel.events.Rejected` has this shape)."""

    @property
    def index(self) -> int: ...

    @property
    def event_id(self) -> str | None: ...

    @property
    def raw(self) -> Any: ...

    @property
    def errors(self) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True)
class RejectedInput:
    """The rejected events of one webhook request; `msg_id` is unique per request."""

    rejected: Sequence[Rejection]
    correlation_id: str | None
    msg_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    origin: str = "gateway"

    def messages(self, subject: str) -> Iterator[OutboundMessage]:
        entries = [orjson.Fragment(_encode_rejection(rejection)) for rejection in self.rejected]
        for number, batch in enumerate(json_batches(entries)):
            count = len(batch.items)
            yield OutboundMessage(
                subject=subject,
                payload=batch.payload,
                msg_id=f"{self.msg_id}.dlq.{number}",
                headers=_headers(
                    kind="rejected-input",
                    origin=self.origin,
                    error=f"{count} event(s) failed validation",
                    correlation_id=self.correlation_id,
                    event_count=count,
                ),
            )


@dataclass(frozen=True, slots=True)
class Undeliverable:
    """A delivery a consumer gave up on (poison, or `max_deliver` reached), with the reason."""

    delivery: Delivery
    consumer: str
    error: str

    def messages(self, subject: str) -> Iterator[OutboundMessage]:
        delivery = self.delivery
        headers = _headers(
            kind="undeliverable",
            origin=self.consumer,
            error=self.error,
            correlation_id=delivery.correlation_id,
            event_count=delivery.event_count,
        )
        headers[ORIGINAL_SUBJECT_HEADER] = delivery.subject
        headers[ORIGINAL_SEQUENCE_HEADER] = str(delivery.stream_sequence)
        headers[DELIVERIES_HEADER] = str(delivery.num_delivered)
        if delivery.msg_id is not None:
            headers[ORIGINAL_MSG_ID_HEADER] = delivery.msg_id
        yield OutboundMessage(
            subject=subject,
            payload=delivery.data,
            # The same message given up twice (a crash between dead-lettering and term)
            # gets the same id, and the duplicate window drops the second letter.
            msg_id=f"dlq.{self.consumer}.{delivery.stream_sequence}",
            headers=headers,
        )


async def dead_letter(
    publisher: Publisher, subject: str, letter: RejectedInput | Undeliverable
) -> None:
    """Store `letter` on the dead-letter `subject`; raises `PublishError` if not stored."""
    await publisher.publish_all(letter.messages(subject))


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


def _headers(
    *,
    kind: DeadLetterKind,
    origin: str,
    error: str,
    correlation_id: str | None,
    event_count: int | None,
) -> dict[str, str]:
    headers = {KIND_HEADER: kind, ORIGIN_HEADER: origin, ERROR_HEADER: _one_line(error)}
    if correlation_id is not None:
        headers[CORRELATION_HEADER] = correlation_id
    if event_count is not None:
        headers[EVENT_COUNT_HEADER] = str(event_count)
    return headers


def _one_line(text: str) -> str:
    """Header values cannot hold line breaks; long reasons are cut."""
    flat = " ".join(text.split()) or "unknown error"
    return flat if len(flat) <= _MAX_ERROR_CHARS else flat[: _MAX_ERROR_CHARS - 3] + "..."


def _encode_rejection(rejection: Rejection) -> bytes:
    raw = rejection.raw
    entry = {
        "index": rejection.index,
        "eventId": rejection.event_id,
        "errors": list(rejection.errors),
        # Raw JSON bytes are embedded as they are, without a parse and re-encode.
        "event": orjson.Fragment(raw) if isinstance(raw, bytes) else raw,
    }
    try:
        encoded = orjson.dumps(entry, default=_jsonable)
    except orjson.JSONEncodeError as exc:
        # orjson writes at most 255 levels, 64-bit integers and valid UTF-8, while parsed
        # input may hold more (1,000 levels); such an event is kept as a note saying so
        # rather than failing its whole request.
        entry["event"] = f"not representable as JSON: {exc}"
        return orjson.dumps(entry, default=_jsonable)
    if len(encoded) <= MAX_BATCH_BYTES:
        return encoded
    # No message could hold it: JetStream would refuse the letter, and with it the whole
    # request. The letter keeps what names the event instead.
    entry["event"] = _named_only(raw, len(encoded))
    event_id = rejection.event_id
    entry["eventId"] = event_id if event_id and len(event_id) <= _MAX_NAMING_CHARS else None
    return orjson.dumps(entry, default=_jsonable)


def _named_only(raw: Any, size: int) -> Any:
    """What a letter keeps of an event whose entry would be `size` bytes, too many."""
    note = f"not kept: {size:,} bytes of JSON, more than a dead letter holds"
    if not isinstance(raw, Mapping):
        return note
    named = {
        key: raw[key]
        for key in _NAMING_FIELDS
        if isinstance(raw.get(key), str) and len(raw[key]) <= _MAX_NAMING_CHARS
    }
    return named | {"notKept": note}


def _jsonable(value: Any) -> Any:
    """orjson's fallback: pydantic models (validation errors) as their JSON form."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot put {type(value).__name__} in a dead letter")


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None
