"""Dead letters: the gateway's rejected input, in its stored format."""

import contextlib
import datetime

import pytest
import structlog
from structlog.testing import capture_logs

from funnel.events import Subjects, validate_events
from funnel.jetstream import (
    EVENT_COUNT_HEADER,
    GATEWAY_ORIGIN,
    DeadLetter,
    DeadLetters,
    JetStreamConnection,
    Publisher,
    PublishError,
    StoredMessage,
    read_dead_letter,
    read_messages,
)


def _gateway_letters(conn: JetStreamConnection, subjects: Subjects) -> DeadLetters:
    return DeadLetters(Publisher(conn), subject=subjects.dlq_gateway, origin=GATEWAY_ORIGIN)


async def _letters(conn: JetStreamConnection, subjects: Subjects) -> list[DeadLetter]:
    async with contextlib.aclosing(read_messages(conn, subjects.dead_letter_stream)) as stored:
        return [read_dead_letter(message) async for message in stored]


async def test_one_bad_event_of_a_request_is_one_small_letter(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """Only the rejected events are stored: index, eventId, errors and the raw event."""
    bad = {"eventId": "fb-broken", "source": "facebook", "funnelStage": "invalid-stage"}
    validation = validate_events([{"not": "an event"}, bad])
    await _gateway_letters(conn, streams).reject(
        validation.rejected, correlation_id="cid-bad", msg_id="req-1"
    )

    [stored] = await _letters(conn, streams)
    assert (stored.kind, stored.origin, stored.subject) == (
        "rejected-input",
        "gateway",
        streams.dlq_gateway,
    )
    assert (stored.correlation_id, stored.event_count) == ("cid-bad", 2)
    entries = stored.rejected_entries()
    assert [entry["index"] for entry in entries] == [0, 1]
    assert entries[1]["eventId"] == "fb-broken"
    assert entries[1]["event"] == bad
    assert all({"path", "message"} <= set(error) for error in entries[1]["errors"])


async def test_an_event_too_large_for_a_letter_keeps_what_names_it(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """A rejected element no message could hold is stored by the fields that name it (and
    a note of its size), so its letter, and its request, are not refused."""
    huge = {"eventId": "fb-huge", "source": "facebook", "timestamp": "t", "promo": "x" * 3_000_000}
    giant_id = {"eventId": "i" * 3_000_000}
    validation = validate_events([huge, "y" * 3_000_000, giant_id, {"small": 1}])
    await _gateway_letters(conn, streams).reject(
        validation.rejected, correlation_id="cid-huge", msg_id="req-huge"
    )

    entries = [
        entry for stored in await _letters(conn, streams) for entry in stored.rejected_entries()
    ]
    assert [entry["index"] for entry in entries] == [0, 1, 2, 3]
    first, string, giant, small = entries
    assert {key: first["event"][key] for key in ("eventId", "source", "timestamp")} == {
        "eventId": "fb-huge",
        "source": "facebook",
        "timestamp": "t",
    }
    assert first["event"]["notKept"].startswith("not kept: 3,000,")
    assert string["event"].startswith("not kept: 3,000,")
    assert (giant["eventId"], set(giant["event"])) == (None, {"notKept"})
    assert small["event"] == {"small": 1}


async def test_many_rejected_events_are_split_and_stored_once(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """2,500 rejections make three letters of at most 1,000; sending again stores nothing."""
    validation = validate_events([{"n": n} for n in range(2500)])
    writer = _gateway_letters(conn, streams)
    assert await writer.reject(validation.rejected, correlation_id=None, msg_id="req-2") == 3
    await writer.reject(validation.rejected, correlation_id=None, msg_id="req-2")
    letters = await _letters(conn, streams)
    assert [stored.event_count for stored in letters] == [1000, 1000, 500]
    assert letters[2].rejected_entries()[-1]["index"] == 2499
    assert all(stored.correlation_id is None for stored in letters)


def test_foreign_messages_are_not_dead_letters() -> None:
    """A message without the dead-letter headers is refused with a ValueError."""
    foreign = StoredMessage(
        stream="S",
        sequence=4,
        subject="dlq.other",
        time=datetime.datetime.now(datetime.UTC),
        headers={EVENT_COUNT_HEADER: "1"},
        data=b"[]",
    )
    with pytest.raises(ValueError, match="not a Funnel dead letter"):
        read_dead_letter(foreign)


async def test_every_letter_is_logged_once_with_its_origin_and_correlation_id(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """A stored letter logs `dead_lettered`; one JetStream refuses logs `dead_letter_failed`
    and raises `PublishError`, for the caller to retry."""
    validation = validate_events([{"eventId": "fb-x", "source": "facebook"}])
    nowhere = DeadLetters(Publisher(conn), subject="no-stream.here", origin="fb-collector")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await _gateway_letters(conn, streams).reject(
            validation.rejected, correlation_id="cid-log", msg_id="req-log"
        )
        with pytest.raises(PublishError):
            await nowhere.reject(validation.rejected, correlation_id="cid-lost", msg_id="lost")

    [stored] = [line for line in logs if line["event"] == "dead_lettered"]
    assert (stored["origin"], stored["kind"], stored["count"]) == ("gateway", "rejected-input", 1)
    assert (stored["correlation_id"], stored["event_id"]) == ("cid-log", "fb-x")
    [failed] = [line for line in logs if line["event"] == "dead_letter_failed"]
    assert (failed["origin"], failed["correlation_id"]) == ("fb-collector", "cid-lost")
    assert "not acknowledged" in failed["error"]
