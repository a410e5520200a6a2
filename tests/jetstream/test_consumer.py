"""PullConsumer: exactly-once sharing, retries, dead letters after max_deliver, clean stops."""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest
import structlog
from structlog.testing import capture_logs

from funnel.events import Subjects
from funnel.jetstream import (
    EVENT_COUNT_HEADER,
    BatchHandler,
    ConsumerState,
    DeadLetter,
    Delivery,
    Failed,
    JetStreamConnection,
    Publisher,
    PullConsumer,
    TransientError,
    consumer_info,
    ensure_consumer,
    read_dead_letter,
    read_messages,
)
from tests.jetstream.jetstream_traffic import Recorder, batch_message, event_ids, eventually

DURABLE = "fb-collector"


@pytest.fixture
async def durable(conn: JetStreamConnection, streams: Subjects) -> Subjects:
    """The facebook durable on this test's stream (max_deliver 3, ack_wait 30 s)."""
    await ensure_consumer(
        conn,
        streams.events_stream,
        DURABLE,
        streams.events("facebook"),
        max_deliver=3,
        ack_wait=30,
    )
    return streams


def _consumer(
    conn: JetStreamConnection, subjects: Subjects, handler: BatchHandler, **options: float
) -> PullConsumer:
    settings: dict[str, float] = {
        "batch_size": 10,
        "fetch_timeout": 0.5,
        "nak_delay": 0.05,
        "linger": 0.0,
    }
    settings.update(options)
    return PullConsumer(
        conn,
        stream=subjects.events_stream,
        durable=DURABLE,
        handler=handler,
        dead_letter_subject=subjects.dlq(DURABLE),
        batch_size=int(settings["batch_size"]),
        fetch_timeout=settings["fetch_timeout"],
        nak_delay=settings["nak_delay"],
        max_deliver=3,
        linger=settings["linger"],
    )


@contextlib.asynccontextmanager
async def _running(consumer: PullConsumer) -> AsyncIterator[PullConsumer]:
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        await consumer.stop(timeout=5)
        await task


async def _dead_letters(conn: JetStreamConnection, subjects: Subjects) -> list[DeadLetter]:
    async with contextlib.aclosing(read_messages(conn, subjects.dead_letter_stream)) as stored:
        return [read_dead_letter(message) async for message in stored]


async def _settled(conn: JetStreamConnection, subjects: Subjects) -> bool:
    status = await consumer_info(conn, subjects.events_stream, DURABLE)
    return status.num_pending == 0 and status.num_ack_pending == 0


async def test_two_consumers_share_20000_events_exactly_once(
    conn: JetStreamConnection, durable: Subjects, nats_url: str
) -> None:
    """A publisher and two consumers (own connections) on one durable: every event once."""
    first, second = Recorder(pause=0.002), Recorder(pause=0.002)
    subject = durable.events("facebook")
    messages = [batch_message(subject, n * 20, 20) for n in range(1000)]
    async with (
        JetStreamConnection(nats_url, "replica-1") as conn_1,
        JetStreamConnection(nats_url, "replica-2") as conn_2,
        _running(_consumer(conn_1, durable, first)),
        _running(_consumer(conn_2, durable, second)),
    ):
        await Publisher(conn).publish_all(messages)
        await eventually(
            lambda: len(first.event_ids) + len(second.event_ids) >= 20_000,
            what="20,000 events handled",
        )
        await eventually(lambda: _settled(conn, durable), what="all acked")

    handled = first.event_ids + second.event_ids
    assert len(handled) == 20_000
    assert set(handled) == {f"ev-{n}" for n in range(20_000)}
    assert first.deliveries, "both replicas took a share"
    assert second.deliveries, "both replicas took a share"


async def test_transient_failure_is_retried(conn: JetStreamConnection, durable: Subjects) -> None:
    """A handler raising TransientError sees the batch again and its success acks it."""
    seen: list[tuple[int, int]] = []

    async def flaky(deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        seen.extend((d.stream_sequence, d.num_delivered) for d in deliveries)
        if any(d.num_delivered == 1 for d in deliveries):
            raise TransientError("database restarting")
        return []

    await Publisher(conn).publish_all(
        batch_message(durable.events("facebook"), n, 1) for n in range(5)
    )
    async with _running(_consumer(conn, durable, flaky)):
        await eventually(lambda: len({s for s, n in seen if n == 2}) == 5, what="redelivery")
        await eventually(lambda: _settled(conn, durable), what="all acked")
    assert {n for _, n in seen} == {1, 2}
    assert await _dead_letters(conn, durable) == []


async def test_always_failing_batch_ends_in_dead_letters_after_max_deliver(
    conn: JetStreamConnection, durable: Subjects
) -> None:
    """After max_deliver failures the message is dead-lettered as is, and termed."""
    attempts: Counter[int] = Counter()

    async def broken(deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        attempts.update(d.stream_sequence for d in deliveries)
        raise RuntimeError("relation events does not exist")

    message = batch_message(durable.events("facebook"), 0, 7, correlation_id="cid-poison")
    await Publisher(conn).publish(message)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with _running(_consumer(conn, durable, broken)):

            async def dead_lettered() -> bool:
                return len(await _dead_letters(conn, durable)) == 1

            await eventually(dead_lettered, what="a dead letter")
            await eventually(lambda: _settled(conn, durable), what="termed")

    assert list(attempts.values()) == [3]
    [letter] = await _dead_letters(conn, durable)
    assert letter.subject == durable.dlq(DURABLE)
    assert letter.kind == "undeliverable"
    assert letter.origin == DURABLE
    assert letter.original_subject == durable.events("facebook")
    assert letter.deliveries == 3
    assert letter.event_count == 7
    assert letter.correlation_id == "cid-poison"
    assert "relation events does not exist" in letter.error
    assert letter.body == message.payload
    [logged] = [line for line in logs if line["event"] == "dead_lettered"]
    assert logged["correlation_id"] == "cid-poison"


async def test_poison_from_the_handler_is_dead_lettered_at_once(
    conn: JetStreamConnection, durable: Subjects
) -> None:
    """Deliveries the handler returns as Failed are dead-lettered; the rest are acked."""
    acked: list[int] = []
    fetched: list[int] = []
    dead: list[str] = []

    class Observer:
        def on_fetched(self, deliveries: Sequence[Delivery]) -> None:
            fetched.extend(d.stream_sequence for d in deliveries)

        def on_acked(self, deliveries: Sequence[Delivery]) -> None:
            acked.extend(d.stream_sequence for d in deliveries)

        def on_nak(self, deliveries: Sequence[Delivery], error: str) -> None:
            raise AssertionError("nothing is retried here")

        def on_dead_letter(self, delivery: Delivery, error: str) -> None:
            dead.append(error)

    async def picky(deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        return [Failed(d, "not a JSON array") for d in deliveries if "ev-2" in event_ids(d)]

    await Publisher(conn).publish_all(
        batch_message(durable.events("facebook"), n, 1) for n in range(4)
    )
    consumer = PullConsumer(
        conn,
        stream=durable.events_stream,
        durable=DURABLE,
        handler=picky,
        dead_letter_subject=durable.dlq(DURABLE),
        fetch_timeout=0.5,
        observer=Observer(),
    )
    async with _running(consumer):
        await eventually(lambda: len(acked) == 3 and len(dead) == 1, what="settled")
    assert sorted(fetched) == [1, 2, 3, 4]
    assert dead == ["not a JSON array"]
    [letter] = await _dead_letters(conn, durable)
    assert (letter.deliveries, letter.error, letter.original_sequence) == (
        1,
        "not a JSON array",
        3,
    )


async def test_stop_mid_batch_loses_nothing(conn: JetStreamConnection, durable: Subjects) -> None:
    """A batch still running when stop() times out is given back and redelivered at once."""
    started = asyncio.Event()

    async def stuck(deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        started.set()
        await asyncio.Event().wait()
        return []

    messages = [batch_message(durable.events("facebook"), n * 10, 10) for n in range(6)]
    await Publisher(conn).publish_all(messages)
    first = _consumer(conn, durable, stuck, batch_size=6)
    task = asyncio.create_task(first.run())
    await started.wait()
    await first.stop(timeout=0.1)
    await task
    assert first.state is ConsumerState.STOPPED

    recorder = Recorder()
    async with _running(_consumer(conn, durable, recorder)):
        await eventually(lambda: len(recorder.event_ids) == 60, what="redelivery")
    assert sorted(recorder.event_ids) == sorted(f"ev-{n}" for n in range(60))
    assert all(d.num_delivered == 2 for d in recorder.deliveries)


async def test_stop_lets_the_batch_in_hand_finish(
    conn: JetStreamConnection, durable: Subjects
) -> None:
    """stop() waits for a batch that finishes within its timeout, which is then acked."""
    started, release = asyncio.Event(), asyncio.Event()
    handled: list[Delivery] = []

    async def slow(deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        started.set()
        await release.wait()
        handled.extend(deliveries)
        return []

    await Publisher(conn).publish_all(
        batch_message(durable.events("facebook"), n, 1) for n in range(3)
    )
    consumer = _consumer(conn, durable, slow)
    task = asyncio.create_task(consumer.run())
    await started.wait()
    stopping = asyncio.create_task(consumer.stop(timeout=30))
    await asyncio.sleep(0.05)
    assert consumer.state is ConsumerState.STOPPING
    release.set()
    await stopping
    await task
    assert len(handled) == 3
    await eventually(lambda: _settled(conn, durable), what="acked")
    assert sum(int(d.headers[EVENT_COUNT_HEADER]) for d in handled) == 3


async def test_server_max_deliver_wins_when_lower(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """A durable declared with a lower max_deliver still ends in dead letters, at its limit."""
    await ensure_consumer(
        conn, streams.events_stream, DURABLE, streams.events("facebook"), max_deliver=2
    )
    attempts: Counter[int] = Counter()

    async def broken(deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        attempts.update(d.stream_sequence for d in deliveries)
        raise TransientError("still down")

    await Publisher(conn).publish(batch_message(streams.events("facebook"), 0, 1))
    consumer = _consumer(conn, streams, broken)  # asks for max_deliver=3

    async def dead_lettered() -> bool:
        return len(await _dead_letters(conn, streams)) == 1

    async with _running(consumer):
        await eventually(dead_lettered, what="a dead letter")
    assert list(attempts.values()) == [2]
    [letter] = await _dead_letters(conn, streams)
    assert letter.deliveries == 2


async def test_slow_handler_keeps_its_batch_past_the_ack_wait(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """A handler busy for several ack waits keeps its batch: no replica gets it again."""
    await ensure_consumer(
        conn, streams.events_stream, DURABLE, streams.events("facebook"), max_deliver=3, ack_wait=1
    )
    seen: list[tuple[int, int]] = []

    async def slow(deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        seen.extend((d.stream_sequence, d.num_delivered) for d in deliveries)
        await asyncio.sleep(3.5)  # several ack waits, as during a database outage
        return []

    def replica() -> PullConsumer:
        return PullConsumer(
            conn,
            stream=streams.events_stream,
            durable=DURABLE,
            handler=slow,
            dead_letter_subject=streams.dlq(DURABLE),
            fetch_timeout=0.5,
            max_deliver=3,
            progress_interval=0.25,
        )

    await Publisher(conn).publish(batch_message(streams.events("facebook"), 0, 1))
    # The second replica keeps fetching, so it would receive any redelivery.
    async with _running(replica()), _running(replica()):
        await eventually(lambda: len(seen) >= 1, what="the batch taken")
        await asyncio.sleep(4)
        await eventually(lambda: _settled(conn, streams), what="the slow batch acked")
    assert seen == [(1, 1)]
    assert await _dead_letters(conn, streams) == []


async def test_a_short_fetch_lingers_to_fill_its_batch(
    conn: JetStreamConnection, durable: Subjects
) -> None:
    """With `linger`, messages that arrive while a short batch lingers join it: one call."""
    subject = durable.events("facebook")
    handler = Recorder()
    async with _running(_consumer(conn, durable, handler, linger=2.0)):
        await Publisher(conn).publish_all([batch_message(subject, 0, 5)])
        await asyncio.sleep(0.3)
        await Publisher(conn).publish_all([batch_message(subject, 5, 5)])
        await eventually(lambda: len(handler.event_ids) == 10, what="ten events handled")
    assert handler.calls == 1


async def test_without_linger_a_short_fetch_is_handled_at_once(
    conn: JetStreamConnection, durable: Subjects
) -> None:
    """Without `linger` the same two arrivals are two batches."""
    subject = durable.events("facebook")
    handler = Recorder()
    async with _running(_consumer(conn, durable, handler)):
        await Publisher(conn).publish_all([batch_message(subject, 0, 5)])
        await eventually(lambda: len(handler.event_ids) == 5, what="first five handled")
        await Publisher(conn).publish_all([batch_message(subject, 5, 5)])
        await eventually(lambda: len(handler.event_ids) == 10, what="ten events handled")
    assert handler.calls == 2
