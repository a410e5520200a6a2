"""Replaying dead letters republishes once, where the content belongs, and removes them."""

import contextlib

import orjson
import pytest

from funnel.dlq.inventory import Selection, get_dead_letter, list_dead_letters
from funnel.dlq.replay import replay
from funnel.events import Subjects
from funnel.jetstream import (
    EVENT_COUNT_HEADER,
    JetStreamConnection,
    MessageNotFoundError,
    StoredMessage,
    read_messages,
)
from funnel.observability import CORRELATION_HEADER
from tests.dlq.dlq_letters import broken, facebook_event, give_up, reject, tiktok_event


async def _events(conn: JetStreamConnection, subjects: Subjects) -> list[StoredMessage]:
    async with contextlib.aclosing(read_messages(conn, subjects.events_stream)) as stored:
        return [message async for message in stored]


async def test_list_shows_both_kinds_oldest_first(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """Listing returns every dead letter with origin, count and correlation id; by origin too."""
    await reject(conn, streams, [facebook_event(), broken(facebook_event())], "cid-gw")
    await give_up(conn, streams, [facebook_event()] * 3, "cid-col")

    gateway, collector = await list_dead_letters(conn, streams)
    assert (gateway.origin, gateway.event_count, gateway.correlation_id) == ("gateway", 1, "cid-gw")
    assert (collector.origin, collector.event_count, collector.deliveries) == (
        "fb-collector",
        3,
        5,
    )
    assert [letter.origin for letter in await list_dead_letters(conn, streams, "gateway")] == [
        "gateway"
    ]
    assert (await get_dead_letter(conn, streams, collector.sequence)).error == "database is down"


async def test_collector_batch_goes_back_as_it_was_once(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """An undeliverable batch is republished byte for byte; a second replay is a no-op."""
    body = await give_up(conn, streams, [facebook_event(), facebook_event()], "cid-col")

    [outcome] = await replay(conn, streams, Selection(origin="fb-collector"))
    assert (outcome.kind, outcome.events, outcome.messages, outcome.removed) == (
        "undeliverable",
        2,
        1,
        True,
    )
    [republished] = await _events(conn, streams)
    assert republished.subject == streams.events("facebook")
    assert republished.data == body
    assert republished.headers[CORRELATION_HEADER] == "cid-col"
    assert republished.headers[EVENT_COUNT_HEADER] == "2"

    assert await replay(conn, streams, Selection(origin="fb-collector")) == []
    assert len(await _events(conn, streams)) == 1
    assert await list_dead_letters(conn, streams) == []


async def test_still_invalid_input_is_kept_untouched(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """Rejected events that are still invalid publish nothing and stay where they are."""
    await reject(conn, streams, [broken(facebook_event())], "cid-gw")
    [outcome] = await replay(conn, streams, Selection(origin="gateway"))
    assert (outcome.events, outcome.still_invalid, outcome.removed) == (0, 1, False)
    assert await _events(conn, streams) == []
    assert len(await list_dead_letters(conn, streams)) == 1


async def test_fixed_events_are_validated_and_only_valid_ones_published(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """Fixed events from a file replace the letter's; valid ones go to their source's subject,
    still-invalid ones to a new dead letter, and the old letter is removed."""
    await reject(conn, streams, [broken(facebook_event()), broken(tiktok_event())], "cid-gw")
    [letter] = await list_dead_letters(conn, streams)
    fixed = [facebook_event(), tiktok_event(), broken(tiktok_event())]

    [outcome] = await replay(
        conn, streams, Selection(sequences=(letter.sequence,)), fixed_events=fixed
    )
    assert (outcome.events, outcome.messages, outcome.still_invalid) == (2, 2, 1)

    stored = await _events(conn, streams)
    assert sorted(message.subject for message in stored) == sorted(
        [streams.events("facebook"), streams.events("tiktok")]
    )
    published = [event for message in stored for event in orjson.loads(message.data)]
    assert sorted(event["eventId"] for event in published) == sorted(
        event["eventId"] for event in fixed[:2]
    )
    assert all(message.headers[CORRELATION_HEADER] == "cid-gw" for message in stored)

    with pytest.raises(MessageNotFoundError):
        await get_dead_letter(conn, streams, letter.sequence)
    [leftover] = await list_dead_letters(conn, streams)
    assert leftover.correlation_id == "cid-gw"
    assert [entry["index"] for entry in leftover.rejected_entries()] == [2]


async def test_interrupted_replay_repeated_stores_once(
    conn: JetStreamConnection, streams: Subjects, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay that dies after publishing, before removing the letter, is safe to repeat."""
    await give_up(conn, streams, [facebook_event()], "cid-col")

    async def crash(*_args: object) -> None:
        raise RuntimeError("killed before removal")

    with monkeypatch.context() as patched:
        patched.setattr("funnel.dlq.replay.delete_message", crash)
        with pytest.raises(RuntimeError, match="killed"):
            await replay(conn, streams, Selection(origin="fb-collector"))
    [outcome] = await replay(conn, streams, Selection(origin="fb-collector"))
    assert outcome.removed
    assert len(await _events(conn, streams)) == 1


async def test_dry_run_changes_nothing(conn: JetStreamConnection, streams: Subjects) -> None:
    """--dry-run reports what would be published and leaves everything in place."""
    await give_up(conn, streams, [facebook_event()], "cid-col")
    [outcome] = await replay(conn, streams, Selection(origin="fb-collector"), dry_run=True)
    assert (outcome.events, outcome.removed) == (1, False)
    assert await _events(conn, streams) == []
    assert len(await list_dead_letters(conn, streams)) == 1


async def test_fixed_events_need_exactly_one_rejected_input_letter(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """A file of fixed events cannot be spread over several letters, or a collector's batch."""
    await give_up(conn, streams, [facebook_event()], "cid-col")
    with pytest.raises(ValueError, match="exactly one rejected-input"):
        await replay(conn, streams, Selection(), fixed_events=[facebook_event()])
