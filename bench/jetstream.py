"""Events per second through `Publisher` -> JetStream -> `PullConsumer`, in 1,000-event batches.

    .venv/bin/python -m bench.jetstream [--messages 300] [--consumers 2] [--parse] [--sync always]

Three figures: publishing alone (requests of 50 messages, several at once, as the gateway
does), consuming alone (the durable drains what was published), and both at once (a fresh
stream, from the first publish to the last ack). Without `NATS_URL` an embedded server is
started in a temporary directory from the config `funnel up` ships; `--sync` changes only
its `sync_interval`: `always` (shipped: fsync before every ack), `default` (the line removed:
nats-server's own default, a flush every two minutes) or a duration such as `1s`, to measure
what fsync-before-ack costs.
The event loop is uvloop, as in the services. Figures move with whatever else the machine
is doing.
"""

import argparse
import asyncio
import contextlib
import os
import re
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import uvloop

from funnel.events import Subjects
from funnel.jetstream import (
    EVENT_COUNT_HEADER,
    Delivery,
    Failed,
    JetStreamConnection,
    OutboundMessage,
    Publisher,
    PullConsumer,
    declare_streams,
    delete_stream,
    ensure_consumer,
)
from funnel.local import EmbeddedNats
from funnel.local.nats import CONFIG_FILE

EVENTS_PER_MESSAGE = 1000
MESSAGES_PER_REQUEST = 50


def _event(number: int) -> dict[str, Any]:
    """A Facebook bottom-funnel event the size of the publisher's (~600 bytes as JSON)."""
    return {
        "eventId": f"fb-{uuid.UUID(int=number, version=4)}",
        "timestamp": "2026-11-25T10:00:00.123Z",
        "source": "facebook",
        "funnelStage": "bottom",
        "eventType": "checkout.complete",
        "data": {
            "user": {
                "userId": f"user-{number:08d}",
                "name": "Olena Shevchenko",
                "age": 34,
                "gender": "female",
                "location": {"country": "Ukraine", "city": "Kyiv"},
            },
            "engagement": {
                "adId": f"ad-{number % 997}",
                "campaignId": f"camp-{number % 9973:05d}",
                "clickPosition": "center",
                "device": "mobile",
                "browser": "Chrome",
                "purchaseAmount": "123.45",
            },
        },
    }


def _messages(subject: str, count: int) -> list[OutboundMessage]:
    messages = []
    for number in range(count):
        first = number * EVENTS_PER_MESSAGE
        events = [_event(first + offset) for offset in range(EVENTS_PER_MESSAGE)]
        messages.append(
            OutboundMessage(
                subject=subject,
                payload=orjson.dumps(events),
                msg_id=f"bench-{uuid.uuid4().hex}",
                headers={EVENT_COUNT_HEADER: str(EVENTS_PER_MESSAGE)},
            )
        )
    return messages


def _requests(messages: list[OutboundMessage]) -> Iterator[list[OutboundMessage]]:
    for start in range(0, len(messages), MESSAGES_PER_REQUEST):
        yield messages[start : start + MESSAGES_PER_REQUEST]


class _Counter:
    """A batch handler counting events (and parsing them when asked, as a collector would)."""

    def __init__(self, parse: bool) -> None:
        self.events = 0
        self.done = asyncio.Event()
        self.target = 0
        self._parse = parse

    async def __call__(self, deliveries: Sequence[Delivery]) -> Sequence[Failed]:
        for delivery in deliveries:
            if self._parse:
                orjson.loads(delivery.data)
            self.events += delivery.event_count or 0
        if self.events >= self.target:
            self.done.set()
        return []


async def _publish(publisher: Publisher, messages: list[OutboundMessage], parallel: int) -> None:
    """Requests of 50 messages, `parallel` of them in flight at a time, like the gateway."""
    slots = asyncio.Semaphore(parallel)

    async def request(batch: list[OutboundMessage]) -> None:
        async with slots:
            await publisher.publish_all(batch)

    await asyncio.gather(*(request(batch) for batch in _requests(messages)))


async def _declare(conn: JetStreamConnection, subjects: Subjects) -> None:
    await declare_streams(conn, subjects, max_age=3600)
    await ensure_consumer(conn, subjects.events_stream, "fb-collector", subjects.events("facebook"))


@contextlib.asynccontextmanager
async def _consuming(
    conns: Sequence[JetStreamConnection], subjects: Subjects, counter: _Counter, batch: int
) -> AsyncIterator[None]:
    """PullConsumers on one durable, one per connection, running inside the block."""
    consumers = [
        PullConsumer(
            conn,
            stream=subjects.events_stream,
            durable="fb-collector",
            handler=counter,
            dead_letter_subject=subjects.dlq("fb-collector"),
            batch_size=batch,
        )
        for conn in conns
    ]
    tasks = [asyncio.create_task(consumer.run()) for consumer in consumers]
    try:
        yield
    finally:
        for consumer in consumers:
            await consumer.stop(timeout=10)
        await asyncio.gather(*tasks)


def _rate(label: str, events: int, seconds: float) -> None:
    messages = events / EVENTS_PER_MESSAGE
    print(
        f"{label:<11} {events:>9,} events in {seconds:6.2f} s = {events / seconds:>10,.0f} "
        f"events/s ({messages / seconds:,.0f} msg/s)"
    )


async def _bench(url: str, args: argparse.Namespace) -> None:
    total = args.messages * EVENTS_PER_MESSAGE
    async with contextlib.AsyncExitStack() as stack:
        conns = [
            await stack.enter_async_context(JetStreamConnection(url, f"bench-{n}"))
            for n in range(1 + args.consumers)
        ]
        publisher_conn, consumer_conns = conns[0], conns[1:]
        publisher = Publisher(publisher_conn, max_in_flight=args.in_flight)

        first = Subjects(f"bench{uuid.uuid4().hex[:8]}")
        await _declare(publisher_conn, first)
        messages = _messages(first.events("facebook"), args.messages)
        size = len(messages[0].payload)
        print(f"{EVENTS_PER_MESSAGE} events/message, {size / 1024:,.0f} KiB/message")

        started = time.perf_counter()
        await _publish(publisher, messages, args.parallel)
        _rate("publish", total, time.perf_counter() - started)

        counter = _Counter(args.parse)
        counter.target = total
        started = time.perf_counter()
        async with _consuming(consumer_conns, first, counter, args.batch_size):
            await counter.done.wait()
            _rate("consume", counter.events, time.perf_counter() - started)

        second = Subjects(f"bench{uuid.uuid4().hex[:8]}")
        await _declare(publisher_conn, second)
        messages = _messages(second.events("facebook"), args.messages)
        counter = _Counter(args.parse)
        counter.target = total
        async with _consuming(consumer_conns, second, counter, args.batch_size):
            started = time.perf_counter()
            await _publish(publisher, messages, args.parallel)
            await counter.done.wait()
            _rate("end-to-end", counter.events, time.perf_counter() - started)

        for subjects in (first, second):
            for stream in (subjects.events_stream, subjects.dead_letter_stream):
                await delete_stream(publisher_conn, stream)


def server_config(sync: str, directory: Path) -> Path:
    """The shipped embedded-server config with its `sync_interval` set to `sync`.

    `default` drops the setting, leaving nats-server's own default.
    """
    setting = re.compile(r"^(\s*)sync_interval:.*$", re.MULTILINE)
    shipped = CONFIG_FILE.read_text()
    if not setting.search(shipped):
        raise SystemExit(f"no sync_interval in {CONFIG_FILE}")
    replacement = "" if sync == "default" else rf"\1sync_interval: {sync}"
    config = directory / "nats-server.conf"
    config.write_text(setting.sub(replacement, shipped))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="batch messages per phase")
    parser.add_argument("--consumers", type=int, default=2, help="PullConsumers, own connections")
    parser.add_argument("--batch-size", type=int, default=10, help="messages per fetch")
    parser.add_argument("--parallel", type=int, default=2, help="publish requests at once")
    parser.add_argument("--in-flight", type=int, default=256, help="Publisher max_in_flight")
    parser.add_argument("--parse", action="store_true", help="handlers parse each batch")
    parser.add_argument(
        "--sync", default="always", help="embedded server's sync_interval: always, default, 1s"
    )
    args = parser.parse_args()

    if url := os.environ.get("NATS_URL"):
        print(f"server: NATS_URL={url}")
        uvloop.run(_bench(url, args))
        return
    with tempfile.TemporaryDirectory() as scratch:
        config = server_config(args.sync, Path(scratch))
        with EmbeddedNats(Path(scratch) / "store", config_file=config) as server:
            print(f"server: embedded nats-server, sync_interval {args.sync}")
            uvloop.run(_bench(server.url, args))


if __name__ == "__main__":
    main()
