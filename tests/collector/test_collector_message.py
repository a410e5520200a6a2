"""Taking one message apart: rows for good events, reasons for bad ones."""

from datetime import UTC, datetime

import orjson
import pytest

from funnel.collector.message import UndecodableMessageError, decode_message
from funnel.db import event_key
from funnel.jetstream import Delivery
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
