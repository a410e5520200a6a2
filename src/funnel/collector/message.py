"""What one JetStream message holds, for the collector: rows to store and events to refuse.

A message is a JSON array of events of one source. Its events are validated again unless a
gateway under the same rules validated them (`funnel.events.rules`): the stream may hold data
from a gateway of other code, a replay, or anyone with publish rights, and a bad event is
refused on its own while the rest of its message is stored.
"""

from dataclasses import dataclass, field
from datetime import datetime

import orjson
import structlog

from funnel.db import NUL_ESCAPE, EventRow, RawBatch, UnstorableEventError, raw_batch, wire_row
from funnel.events import (
    RULES_ID,
    FieldError,
    Rejected,
    Source,
    Validation,
    trust_events,
    validate_events,
)
from funnel.jetstream import Delivery

_log = structlog.get_logger(__name__)


class UndecodableMessageError(ValueError):
    """The message body is not a JSON array: nothing in it can be trusted to be an event."""


@dataclass(slots=True)
class DecodedMessage:
    """A delivery taken apart: `rows` to store, `invalid` and `unstorable` events to refuse.

    `indexes[i]` is the position in the message of the event `rows[i]` was made from (the
    parsed events themselves are not kept: a fetch's would double a collector's memory).
    """

    delivery: Delivery
    events: int
    batch: RawBatch
    rows: list[EventRow] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    invalid: list[Rejected] = field(default_factory=list)
    unstorable: list[Rejected] = field(default_factory=list)

    @property
    def refused(self) -> list[Rejected]:
        """Every refused event, in message order."""
        return sorted([*self.invalid, *self.unstorable], key=lambda rejected: rejected.index)


def decode_message(delivery: Delivery, source: Source, received_at: datetime) -> DecodedMessage:
    """Parse, validate and map one message of `source`; raises `UndecodableMessageError`.

    A message whose `Funnel-Validated` header names this collector's rules (`RULES_ID`) is
    not validated again; should one of its events not even map to a row, the whole message
    is validated after all, so a bad event is still refused on its own."""
    try:
        items = orjson.loads(delivery.data)
    except orjson.JSONDecodeError as exc:
        raise UndecodableMessageError(f"not JSON: {exc}") from None
    if not isinstance(items, list):
        raise UndecodableMessageError(f"not a JSON array but a {type(items).__name__}")
    batch = raw_batch(delivery.data, delivery.correlation_id, received_at)
    if delivery.validated_by == RULES_ID:
        try:
            return _mapped(delivery, items, batch, trust_events(items), source)
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            _log.warning(
                "validated_message_unmappable",
                subject=delivery.subject,
                sequence=delivery.stream_sequence,
                error=repr(exc),
            )
    return _mapped(delivery, items, batch, validate_events(items), source)


def _mapped(
    delivery: Delivery,
    items: list[object],
    batch: RawBatch,
    validation: Validation,
    source: Source,
) -> DecodedMessage:
    """The rows of the valid events of `source`; the others refused with their reasons."""
    decoded = DecodedMessage(delivery, events=len(items), batch=batch)
    decoded.invalid.extend(validation.rejected)
    may_hold_nul = NUL_ESCAPE in delivery.data
    for valid in validation.valid:
        if valid.source != source:
            reason = FieldError("source", f"a {valid.source} event on the {source} subject")
            decoded.invalid.append(Rejected(valid.index, valid.raw, [reason]))
            continue
        try:
            decoded.rows.append(
                wire_row(valid.raw, (batch.batch_id, valid.index), may_hold_nul=may_hold_nul)
            )
        except UnstorableEventError as exc:
            decoded.unstorable.append(Rejected(valid.index, valid.raw, [FieldError("", str(exc))]))
            continue
        decoded.indexes.append(valid.index)
    return decoded
