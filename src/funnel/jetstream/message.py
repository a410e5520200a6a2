"""What goes into JetStream (`OutboundMessage`) and what comes out (`Delivery`).

A message body is a batch (a JSON array of events); the headers say what the broker and the
readers need without parsing it: `Nats-Msg-Id` (dedupe), `X-Correlation-ID`, and
`Funnel-Event-Count`, and from a gateway `Funnel-Validated` (the rules its events passed,
`funnel.events.RULES_ID`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from funnel.observability import CORRELATION_HEADER

MSG_ID_HEADER: Final = "Nats-Msg-Id"
EVENT_COUNT_HEADER: Final = "Funnel-Event-Count"
VALIDATED_HEADER: Final = "Funnel-Validated"


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to publish; `msg_id` must stay the same when the same data is re-sent."""

    subject: str
    payload: bytes
    msg_id: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def wire_headers(self) -> dict[str, str]:
        return {**self.headers, MSG_ID_HEADER: self.msg_id}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a batch handler; `num_delivered` is 1 on the first delivery."""

    subject: str
    data: bytes
    headers: Mapping[str, str]
    num_delivered: int
    stream_sequence: int

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get(CORRELATION_HEADER)

    @property
    def msg_id(self) -> str | None:
        return self.headers.get(MSG_ID_HEADER)

    @property
    def validated_by(self) -> str | None:
        """The `Funnel-Validated` header: the rules the events passed, if a gateway says so."""
        return self.headers.get(VALIDATED_HEADER)

    @property
    def event_count(self) -> int | None:
        """The `Funnel-Event-Count` header, or None when it is missing or not a number."""
        value = self.headers.get(EVENT_COUNT_HEADER)
        if value is None or not value.isdigit():
            return None
        return int(value)


@dataclass(frozen=True, slots=True)
class Failed:
    """A delivery the handler gave up on for good (poison), with the reason."""

    delivery: Delivery
    error: str
