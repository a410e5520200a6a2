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
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, Protocol

import orjson
import structlog

from funnel.jetstream.batch import MAX_BATCH_BYTES, json_batches
from funnel.jetstream.errors import PublishError
from funnel.jetstream.message import EVENT_COUNT_HEADER, Delivery, OutboundMessage
from funnel.jetstream.publisher import Publisher
from funnel.observability import CORRELATION_HEADER, bound_correlation_id

_log = structlog.get_logger(__name__)

KIND_HEADER: Final = "Funnel-Dead-Letter"
ORIGIN_HEADER: Final = "Funnel-Origin"
ERROR_HEADER: Final = "Funnel-Error"
ORIGINAL_SUBJECT_HEADER: Final = "Funnel-Original-Subject"
ORIGINAL_SEQUENCE_HEADER: Final = "Funnel-Original-Sequence"
ORIGINAL_MSG_ID_HEADER: Final = "Funnel-Original-Msg-Id"
DELIVERIES_HEADER: Final = "Funnel-Deliveries"

DeadLetterKind = Literal["rejected-input", "undeliverable"]
GATEWAY_ORIGIN: Final = "gateway"

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


class DeadLetters:
    """The one way Funnel writes dead letters: `origin`'s letters, stored on `subject`.

    `origin` is who gives up: "gateway", or a consumer such as "fb-collector" (its subject
    is `dlq.<origin>`). Every letter is published with retries, acknowledged, and logged as
    `dead_lettered` (or `dead_letter_failed`) with the correlation id of its data.
    """

    def __init__(self, publisher: Publisher, *, subject: str, origin: str) -> None:
        self._publisher = publisher
        self.subject = subject
        self.origin = origin

    async def reject(
        self,
        rejected: Sequence[Rejection],
        *,
        correlation_id: str | None,
        msg_id: str | None = None,
    ) -> int:
        """Store rejected events (of one request, or one message) as one "rejected-input"
        letter, split past the message limit; returns how many messages it took.

        `msg_id` must be the same when the same events are rejected again (a retried
        request, a redelivered message), so JetStream drops the repeat; raises `PublishError`.
        """
        entries = [orjson.Fragment(_encode_rejection(rejection)) for rejection in rejected]
        key = msg_id if msg_id is not None else uuid.uuid4().hex
        messages = [
            OutboundMessage(
                subject=self.subject,
                payload=batch.payload,
                msg_id=f"{key}.dlq.{number}",
                headers=_headers(
                    kind="rejected-input",
                    origin=self.origin,
                    error=f"{len(batch.items)} event(s) failed validation",
                    correlation_id=correlation_id,
                    event_count=len(batch.items),
                ),
            )
            for number, batch in enumerate(json_batches(entries))
        ]
        first = rejected[0] if rejected else None
        reason = first.errors[0] if first is not None and first.errors else None
        await self._write(
            messages,
            correlation_id,
            kind="rejected-input",
            count=len(rejected),
            event_id=first.event_id if first is not None else None,
            error=f"{reason.path}: {reason.message}" if reason is not None else "",
            msg_id=key,
        )
        return len(messages)

    async def give_up(self, delivery: Delivery, error: str) -> None:
        """Store a delivery a consumer gives up on (poison, or `max_deliver` reached) as an
        "undeliverable" letter holding its body byte for byte; raises `PublishError`."""
        headers = _headers(
            kind="undeliverable",
            origin=self.origin,
            error=error,
            correlation_id=delivery.correlation_id,
            event_count=delivery.event_count,
        )
        headers[ORIGINAL_SUBJECT_HEADER] = delivery.subject
        headers[ORIGINAL_SEQUENCE_HEADER] = str(delivery.stream_sequence)
        headers[DELIVERIES_HEADER] = str(delivery.num_delivered)
        if delivery.msg_id is not None:
            headers[ORIGINAL_MSG_ID_HEADER] = delivery.msg_id
        # The same message given up twice (a crash between dead-lettering and term) gets the
        # same id, and the duplicate window drops the second letter.
        msg_id = f"dlq.{self.origin}.{delivery.stream_sequence}"
        message = OutboundMessage(
            subject=self.subject, payload=delivery.data, msg_id=msg_id, headers=headers
        )
        await self._write(
            [message],
            delivery.correlation_id,
            kind="undeliverable",
            count=delivery.event_count,
            subject=delivery.subject,
            error=error,
            msg_id=msg_id,
        )

    async def _write(
        self,
        messages: list[OutboundMessage],
        correlation_id: str | None,
        *,
        kind: DeadLetterKind,
        **fields: object,
    ) -> None:
        with bound_correlation_id(correlation_id):
            try:
                await self._publisher.publish_all(messages)
            except PublishError as exc:
                failure = fields | {"error": str(exc)}
                _log.error("dead_letter_failed", origin=self.origin, kind=kind, **failure)
                raise
            # A client's invalid input is routine at the gateway (the publisher corrupts ~10%
            # of its requests); a service giving up on data it was handed is not.
            log = _log.info if self.origin == GATEWAY_ORIGIN else _log.warning
            log("dead_lettered", origin=self.origin, kind=kind, **fields)


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
