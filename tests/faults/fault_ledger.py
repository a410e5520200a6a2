"""What a fault scenario ends with: every accepted event stored once, every rejected one in
the dead letters, and a row of figures for the scenario table.

`settle` waits, bounded, for the collectors to have nothing left in JetStream; `account`
then compares what the load recorded with the `events` table, the reporter's total and the
dead-letter stream, and asserts the promise.
"""

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import asyncpg
import httpx
import nats
import orjson
import pytest

from funnel.db.raw import read_raw_events
from funnel.events import SOURCES, Source, Subjects
from funnel.jetstream import JetStreamConnection, read_dead_letter, read_messages
from tests.faults.fault_load import Load


class Deployment(Protocol):
    """Where a running Funnel keeps its events, and where its reports are."""

    @property
    def nats_url(self) -> str: ...

    @property
    def database_url(self) -> str: ...

    @property
    def subjects(self) -> Subjects: ...

    @property
    def reporter_url(self) -> str: ...


@dataclass(frozen=True)
class Tally:
    """One row of the scenario table."""

    scenario: str
    sent: int
    accepted: int
    stored: int
    duplicates: int
    dead_letters: int

    def line(self) -> str:
        return (
            f"| {self.scenario} | {self.sent} | {self.accepted} | {self.stored} "
            f"| {self.duplicates} | {self.dead_letters} |"
        )


async def stored_ids(database_url: str) -> Counter[str]:
    """Every eventId stored, with how many rows carry it: read back from each row's raw
    batch (a row keeps only the id's MD5), so every row's raw event is checked too."""
    conn = await asyncpg.connect(database_url)
    try:
        keys = await conn.fetch("SELECT occurred_at, event_key FROM events")
        raw = await read_raw_events(conn, [(key["occurred_at"], key["event_key"]) for key in keys])
    finally:
        await conn.close()
    assert len(raw) == len(keys), "a stored row without its raw event"
    return Counter(orjson.loads(event)["eventId"] for event in raw.values())


async def pending(nats_url: str, subjects: Subjects) -> int:
    """Messages the collectors have not yet acknowledged, both consumers together."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        total = 0
        for source in SOURCES:
            info = await js.consumer_info(subjects.events_stream, subjects.collector(source))
            total += info.num_pending + info.num_ack_pending
        return total
    finally:
        await nc.close()


async def until_in_hand(nats_url: str, subjects: Subjects, source: Source) -> None:
    """Return once a collector of `source` holds fetched, unacknowledged messages."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        async with asyncio.timeout(30):
            while True:
                info = await js.consumer_info(subjects.events_stream, subjects.collector(source))
                if info.num_ack_pending > 0:
                    return
                await asyncio.sleep(0.02)
    finally:
        await nc.close()


async def until_stored(database_url: str, ids: set[str], within: float = 60.0) -> None:
    """Return once every one of `ids` is in the events table."""
    try:
        async with asyncio.timeout(within):
            while True:
                if ids <= (await stored_ids(database_url)).keys():
                    return
                await asyncio.sleep(0.5)
    except TimeoutError:
        pytest.fail(f"events not stored within {within:g}s")


async def settle(system: Deployment, load: Load, within: float = 90.0) -> None:
    """Wait until every accepted event is stored and JetStream holds nothing unacknowledged."""
    accepted = load.accepted_ids()
    try:
        async with asyncio.timeout(within):
            while True:
                stored = await stored_ids(system.database_url)
                missing = len(accepted - stored.keys())
                if not missing and await pending(system.nats_url, system.subjects) == 0:
                    return
                await asyncio.sleep(0.5)
    except TimeoutError:
        pytest.fail(f"{missing} accepted events not stored within {within:g}s")


async def gateway_dead_letters(nats_url: str, subjects: Subjects) -> dict[str, list[int]]:
    """Indexes of the rejected events in the gateway's dead letters, by correlation id."""
    indexes: dict[str, list[int]] = {}
    async with JetStreamConnection(nats_url, name="fault-ledger") as conn:
        async for stored in read_messages(conn, subjects.dead_letter_stream, subjects.dlq_gateway):
            letter = read_dead_letter(stored)
            entries = indexes.setdefault(letter.correlation_id or "", [])
            entries.extend(int(entry["index"]) for entry in letter.rejected_entries())
    return indexes


async def collector_dead_letters(nats_url: str, subjects: Subjects) -> int:
    """Messages the collectors gave up on."""
    async with JetStreamConnection(nats_url, name="fault-ledger") as conn:
        return len(
            [
                stored
                async for stored in read_messages(
                    conn, subjects.dead_letter_stream, subjects.all_dead_letters
                )
                if read_dead_letter(stored).kind == "undeliverable"
            ]
        )


async def reported_total(reporter_url: str) -> int:
    async with httpx.AsyncClient(base_url=reporter_url, timeout=30) as client:
        response = await client.get("/reports/events")
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


async def account(scenario: str, system: Deployment, load: Load) -> Tally:
    """Settle, then assert that nothing accepted was lost or doubled and every rejected
    event of an accepted request is dead-lettered once; the scenario's figures."""
    await settle(system, load)
    stored = await stored_ids(system.database_url)
    accepted = load.accepted_ids()
    sent = load.sent_ids()
    assert accepted <= stored.keys(), f"{len(accepted - stored.keys())} accepted events lost"
    assert stored.keys() <= sent, "rows of events nobody sent"
    doubled = sum(count - 1 for count in stored.values())
    # The reports read summary tables kept up at ingest: a redelivered batch counted twice
    # there would show as a total above the rows.
    over_reported = await reported_total(system.reporter_url) - len(stored)
    assert doubled == 0, f"{doubled} events stored twice"
    assert over_reported == 0, f"the reports count {over_reported} events more than stored"
    assert await collector_dead_letters(system.nats_url, system.subjects) == 0
    letters = await gateway_dead_letters(system.nats_url, system.subjects)
    dead = 0
    for post in load.accepted:
        assert post.answer is not None
        assert post.answer["rejected"] == len(post.bad_indexes), post.answer
        dead_lettered = [] if post.fixed else post.bad_indexes
        assert sorted(letters.get(post.correlation_id, [])) == dead_lettered
        dead += len(dead_lettered)
    tally = Tally(
        scenario=scenario,
        sent=sum(post.events for post in load.posts),
        accepted=sum(len(post.stored_ids) for post in load.accepted),
        stored=len(stored),
        duplicates=doubled + over_reported,
        dead_letters=dead,
    )
    print(f"\nfault scenario table row: {tally.line()}")
    return tally
