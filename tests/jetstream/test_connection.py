"""The connection: readiness probe, loud misuse, retries at start, surviving a lost server."""

import asyncio
from pathlib import Path

import pytest
import structlog
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from funnel.events import Subjects
from funnel.jetstream import (
    ConnectionClosedError,
    ConnectionState,
    JetStreamConnection,
    JetStreamError,
    NotConnectedError,
    Publisher,
    PullConsumer,
    declare_streams,
    ensure_consumer,
)
from funnel.local import EmbeddedNats, free_port
from tests.jetstream.jetstream_traffic import Recorder, batch_message, eventually


async def test_check_passes_while_open_and_fails_loudly_after_close(nats_url: str) -> None:
    """check() returns on a live connection; any use after close raises ConnectionClosedError."""
    conn = JetStreamConnection(nats_url, "probe")
    with pytest.raises(NotConnectedError, match="not open"):
        await conn.check()
    async with conn:
        assert conn.is_connected
        await conn.check()
    assert conn.state is ConnectionState.CLOSED
    assert not conn.is_connected
    with pytest.raises(ConnectionClosedError, match="closed"):
        await conn.check()
    with pytest.raises(JetStreamError, match="open it once"):
        await conn.__aenter__()


async def test_start_gives_up_after_max_connect_attempts() -> None:
    """With nothing listening, entering fails after the allowed attempts, with the reason."""
    conn = JetStreamConnection(
        f"nats://127.0.0.1:{free_port()}", "nobody", connect_timeout=1, max_connect_attempts=2
    )
    with capture_logs() as logs, pytest.raises(NotConnectedError, match="cannot connect"):
        await conn.__aenter__()
    assert [line["attempt"] for line in logs if line["event"] == "nats_connect_failed"] == [1, 2]
    assert conn.state is ConnectionState.CLOSED


async def test_lost_server_is_survived(tmp_path: Path) -> None:
    """The server stops and comes back on the same port and store: the connection reports
    the outage, reconnects, and a publish made meanwhile and the consumer carry on unharmed."""
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    subjects = Subjects("lost")
    subject = subjects.events("facebook")
    recorder = Recorder()
    try:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            async with JetStreamConnection(server.url, "survivor", reconnect_wait_max=0.5) as conn:
                await declare_streams(conn, subjects, max_age=3600)
                await ensure_consumer(
                    conn, subjects.events_stream, "fb-collector", subject, ack_wait=30
                )
                consumer = PullConsumer(
                    conn,
                    stream=subjects.events_stream,
                    durable="fb-collector",
                    handler=recorder,
                    dead_letter_subject=subjects.dlq("fb-collector"),
                    fetch_timeout=0.5,
                )
                running = asyncio.create_task(consumer.run())
                publisher = Publisher(conn, ack_timeout=5, attempts=5)
                await publisher.publish(batch_message(subject, 0, 10))
                await eventually(lambda: len(recorder.event_ids) == 10, what="first batch")

                await asyncio.to_thread(server.stop)
                await eventually(lambda: not conn.is_connected, what="disconnect noticed")
                with pytest.raises(NotConnectedError, match="not connected"):
                    await conn.check()

                # Published during the outage: buffered, then acknowledged after reconnecting.
                during = asyncio.create_task(publisher.publish(batch_message(subject, 10, 10)))
                await asyncio.to_thread(server.start)
                await eventually(lambda: conn.is_connected, what="reconnected")
                await conn.check()
                await during
                await publisher.publish(batch_message(subject, 20, 10))
                await eventually(lambda: len(recorder.event_ids) == 30, what="later batches")

                await consumer.stop(timeout=5)
                await running
    finally:
        server.stop()

    assert sorted(recorder.event_ids) == sorted(f"ev-{n}" for n in range(30))
    events = [line["event"] for line in logs]
    assert "nats_disconnected" in events
    assert "nats_reconnected" in events


async def test_connected_gauge_follows_the_connection(tmp_path: Path) -> None:
    """funnel_nats_connected is 1 once connected, 0 while the server is gone, 1 again after
    the reconnect, and 0 once the connection is closed."""
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    registry = CollectorRegistry()

    def connected() -> float | None:
        return registry.get_sample_value("funnel_nats_connected")

    try:
        conn = JetStreamConnection(server.url, "gauged", reconnect_wait_max=0.5, registry=registry)
        assert connected() == 0
        async with conn:
            assert connected() == 1
            await asyncio.to_thread(server.stop)
            await eventually(lambda: connected() == 0, what="disconnect counted")
            await asyncio.to_thread(server.start)
            await eventually(lambda: connected() == 1, what="reconnect counted")
        assert connected() == 0
    finally:
        server.stop()


async def test_fetch_errors_never_stop_the_loop(
    conn: JetStreamConnection, streams: Subjects
) -> None:
    """A missing durable is logged (as a fetch error or as missing) and stop() still works."""
    consumer = PullConsumer(
        conn,
        stream=streams.events_stream,
        durable="nobody",
        handler=Recorder(),
        dead_letter_subject=streams.dlq("nobody"),
        fetch_timeout=0.2,
    )
    with capture_logs() as logs:
        task = asyncio.create_task(consumer.run())
        await eventually(
            lambda: any(line["event"] in ("fetch_failed", "consumer_missing") for line in logs),
            what="the missing durable noticed",
        )
        await consumer.stop(timeout=2)
        await task
    assert consumer.state.value == "stopped"


async def test_wait_connected_rides_out_a_reconnect(tmp_path: Path) -> None:
    """`wait_connected` answers at once while up, gives up after its wait while the server
    is gone, returns as soon as a reconnect comes within it, and is False once closed."""
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    try:
        async with JetStreamConnection(server.url, "waiter", reconnect_wait_max=0.5) as conn:
            assert await conn.wait_connected(0)
            await asyncio.to_thread(server.stop)
            await eventually(lambda: not conn.is_connected, what="disconnect noticed")
            started = asyncio.get_running_loop().time()
            assert not await conn.wait_connected(0.3)
            assert asyncio.get_running_loop().time() - started >= 0.3

            waiting = asyncio.create_task(conn.wait_connected(30))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            await asyncio.to_thread(server.start)
            assert await waiting
            assert conn.is_connected
        assert not await conn.wait_connected(30)
    finally:
        server.stop()
