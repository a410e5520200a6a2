"""Taking one message apart: rows for good events, reasons for bad ones."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from funnel.collector.message import UndecodableMessageError, decode_message
from funnel.db import event_key
from funnel.events import RULES_ID
from funnel.jetstream import VALIDATED_HEADER, Delivery
from funnel.observability import CORRELATION_HEADER
from tests.collector.collector_traffic import make_events


def _delivery(body: bytes, correlation_id: str | None = "corr-9") -> Delivery:
    headers = {CORRELATION_HEADER: correlation_id} if correlation_id else {}
    return Delivery("events.facebook", body, headers, num_delivered=1, stream_sequence=42)


def test_good_events_become_rows_of_a_batch_with_the_message_correlation_id() -> None:
    """Every valid event of the message's source is a row pointing into the message's
    batch, which carries the message's correlation id and arrival."""
    events = make_events("facebook", 20)
    received_at = datetime.now(UTC)
    decoded = decode_message(_delivery(orjson.dumps(events)), "facebook", received_at)
    assert decoded.events == 20
    assert [row.event_key for row in decoded.rows] == [
        event_key(event["eventId"]) for event in events
    ]
    assert (decoded.batch.correlation_id, decoded.batch.received_at) == ("corr-9", received_at)
    assert [(row.batch_id, row.batch_index) for row in decoded.rows] == [
        (decoded.batch.batch_id, index) for index in range(20)
    ]
    assert decoded.refused == []


def test_events_of_the_other_source_are_refused() -> None:
    """A TikTok event on the Facebook subject is refused, naming `source`."""
    body = orjson.dumps(make_events("tiktok", 1))
    decoded = decode_message(_delivery(body), "facebook", datetime.now(UTC))
    assert decoded.rows == []
    [refused] = decoded.invalid
    assert refused.errors[0].path == "source"


def test_invalid_events_are_refused_alone() -> None:
    """An invalid event is refused with its field errors; the others still become rows."""
    events = make_events("facebook", 3)
    events[1]["funnelStage"] = "invalid-stage"
    decoded = decode_message(_delivery(orjson.dumps(events)), "facebook", datetime.now(UTC))
    assert len(decoded.rows) == 2
    [refused] = decoded.refused
    assert refused.index == 1
    assert refused.event_id == events[1]["eventId"]


@pytest.mark.parametrize("body", [b"{not json", b'{"eventId": "fb-1"}', b"42"])
def test_a_body_that_is_not_an_array_is_undecodable(body: bytes) -> None:
    """Anything but a JSON array cannot be taken apart, so the whole message is refused."""
    with pytest.raises(UndecodableMessageError):
        decode_message(_delivery(body), "facebook", datetime.now(UTC))


def _validated(body: bytes, rules: str) -> Delivery:
    headers = {CORRELATION_HEADER: "corr-9", VALIDATED_HEADER: rules}
    return Delivery("events.facebook", body, headers, num_delivered=1, stream_sequence=42)


def test_events_a_gateway_validated_under_these_rules_are_not_validated_again() -> None:
    """The header names this collector's rules: its events are taken as they are (an event
    that could not have passed shows it), and still mapped, event by event, to rows."""
    events = make_events("facebook", 3)
    events[1]["funnelStage"] = "invalid-stage"
    decoded = decode_message(
        _validated(orjson.dumps(events), RULES_ID), "facebook", datetime.now(UTC)
    )
    assert len(decoded.rows) == 3
    assert decoded.rows[1].funnel_stage == "invalid-stage"
    assert decoded.refused == []


def test_events_validated_under_other_rules_are_validated_again() -> None:
    """A gateway of other code (another `RULES_ID`) is not trusted: the bad event is refused."""
    events = make_events("facebook", 3)
    events[1]["funnelStage"] = "invalid-stage"
    decoded = decode_message(
        _validated(orjson.dumps(events), "0123456789abcdef"), "facebook", datetime.now(UTC)
    )
    assert len(decoded.rows) == 2
    [refused] = decoded.refused
    assert (refused.index, refused.errors[0].path) == (1, "funnelStage")


@pytest.mark.parametrize(
    "spoil",
    [
        lambda event: event.pop("data"),
        lambda event: event.update(timestamp="yesterday"),
        lambda event: event["data"]["engagement"].update(purchaseAmount="a lot"),
    ],
)
def test_a_validated_message_whose_event_cannot_be_mapped_is_validated_after_all(
    spoil: Callable[[dict[str, Any]], object],
) -> None:
    """Whatever the header says, an event that does not even map to a row makes the whole
    message validated: that event is refused on its own, the others become rows."""
    events = make_events("facebook", 3)
    spoil(events[2])
    decoded = decode_message(
        _validated(orjson.dumps(events), RULES_ID), "facebook", datetime.now(UTC)
    )
    assert [row.event_key for row in decoded.rows] == [
        event_key(event["eventId"]) for event in events[:2]
    ]
    assert [refused.index for refused in decoded.refused] == [2]
