"""Poison: only what is bad goes to the dead letters, its batch-mates are stored."""

from typing import Any

import asyncpg
import orjson

from funnel.db import run_migrations
from funnel.events import Subjects
from funnel.jetstream import DeadLetter, JetStreamConnection, read_dead_letter, read_messages
from tests.collector.collector_traffic import (
    collector_settings,
    count_rows,
    eventually,
    make_events,
    message,
    publish,
    running,
)


async def _dead_letters(nats_url: str, subjects: Subjects) -> list[DeadLetter]:
    async with JetStreamConnection(nats_url, "test-reader") as conn:
        return [
            read_dead_letter(stored)
            async for stored in read_messages(
                conn, subjects.dead_letter_stream, subjects.dlq("fb-collector")
            )
        ]


def _bad_events() -> list[dict[str, Any]]:
    invalid, nul, foreign = (
        make_events("facebook", 2, seed=7)[1],
        make_events("facebook", 3, seed=8)[2],
        make_events("tiktok", 1, seed=9)[0],
    )
    invalid["timestamp"] = "invalid-timestamp"
    nul["data"]["user"]["location"]["city"] = "Nul\x00City"
    return [invalid, nul, foreign]


async def test_poison_goes_to_dead_letters_and_batch_mates_are_stored(
    subjects: Subjects, nats_url: str, database_url: str
) -> None:
    """A garbage message and three bad events are dead-lettered; every good event is stored."""
    good = make_events("facebook", 500, seed=6)
    bad = _bad_events()
    mixed = [*good[300:], *bad]
    await publish(
        nats_url,
        subjects,
        [
            message(subjects, "facebook", orjson.dumps(good[:300]), count=300),
            message(subjects, "facebook", b"\x00 not json", count=7, correlation_id="poison"),
            message(subjects, "facebook", orjson.dumps(mixed), count=203, correlation_id="mixed"),
        ],
    )
    async with running(collector_settings(nats_url, database_url, subjects)) as collector:

        async def both_letters() -> bool:
            return len(await _dead_letters(nats_url, subjects)) == 2

        await eventually(both_letters, what="two dead letters")
        failed = {
            reason: collector.metric("funnel_collector_events_failed_total", reason=reason)
            for reason in ("undecodable", "invalid", "unstorable")
        }
    assert await count_rows(database_url) == 500
    letters = {letter.kind: letter for letter in await _dead_letters(nats_url, subjects)}
    undeliverable, rejected = letters["undeliverable"], letters["rejected-input"]
    assert undeliverable.body == b"\x00 not json"
    assert undeliverable.error.startswith("undecodable")
    assert undeliverable.correlation_id == "poison"
    assert rejected.correlation_id == "mixed"
    entries = rejected.rejected_entries()
    assert [entry["eventId"] for entry in entries] == [event["eventId"] for event in bad]
    assert [entry["index"] for entry in entries] == [200, 201, 202]
    assert failed == {"undecodable": 7, "invalid": 2, "unstorable": 1}


async def test_an_event_the_database_refuses_costs_its_batch_mates_nothing(
    subjects: Subjects, nats_url: str, database_url: str
) -> None:
    """Should the database refuse a valid event (here a check constraint the test adds), only
    that event is dead-lettered, as unstorable; the rest of its message and of its fetch are
    stored."""
    await run_migrations(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "ALTER TABLE events ADD CONSTRAINT no_atlantis CHECK (city IS DISTINCT FROM 'Atlantis')"
        )
    finally:
        await conn.close()
    events = make_events("facebook", 400, seed=12)
    events[250]["data"]["user"]["location"]["city"] = "Atlantis"
    await publish(
        nats_url,
        subjects,
        [
            message(subjects, "facebook", orjson.dumps(events[:200]), count=200),
            message(
                subjects, "facebook", orjson.dumps(events[200:]), count=200, correlation_id="x"
            ),
        ],
    )
    async with running(collector_settings(nats_url, database_url, subjects)) as collector:

        async def one_letter() -> bool:
            return len(await _dead_letters(nats_url, subjects)) == 1

        await eventually(one_letter, what="one dead letter")
        unstorable = collector.metric("funnel_collector_events_failed_total", reason="unstorable")
    assert await count_rows(database_url) == 399
    [letter] = await _dead_letters(nats_url, subjects)
    assert (letter.kind, letter.correlation_id) == ("rejected-input", "x")
    [entry] = letter.rejected_entries()
    assert (entry["index"], entry["eventId"]) == (50, events[250]["eventId"])
    assert "no_atlantis" in str(entry["errors"])
    assert unstorable == 1
