"""Running a gateway for a test, and reading back what it stored.

The app runs under uvicorn (httptools, uvloop) in a thread with its own event loop, so tests
talk to it over real HTTP while its lifespan holds a real JetStream connection. Streams are
read with nats-py directly, not through `funnel.jetstream`.
"""

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import orjson
import pytest
import uvicorn
from nats.js.api import RawStreamMsg
from prometheus_client.parser import text_string_to_metric_families

from funnel.gateway import GatewaySettings, create_app
from funnel.observability import Readiness


@dataclass
class RunningGateway:
    """A gateway serving on `url`; `readiness` is the object its lifespan reports through."""

    url: str
    settings: GatewaySettings
    readiness: Readiness
    server: uvicorn.Server


class _ServerThread(threading.Thread):
    def __init__(self, server: uvicorn.Server) -> None:
        super().__init__(name="gateway-under-test", daemon=True)
        self.server = server
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # surfaced by the fixture, never swallowed
            self.error = exc


async def start_gateway(settings: GatewaySettings) -> tuple[RunningGateway, _ServerThread]:
    readiness = Readiness()
    config = uvicorn.Config(
        create_app(settings, readiness),
        host="127.0.0.1",
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    server = uvicorn.Server(config)
    thread = _ServerThread(server)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"gateway did not start: {thread.error!r}")
        await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{settings.port}"
    return RunningGateway(url, settings, readiness, server), thread


async def stop_gateway(thread: _ServerThread) -> None:
    thread.server.should_exit = True
    await asyncio.to_thread(thread.join, 30)
    assert not thread.is_alive(), "gateway did not stop"


async def stored_messages(nats_url: str, stream: str) -> list[RawStreamMsg]:
    """Every message in `stream`, oldest first."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        state = (await js.stream_info(stream)).state
        if state.messages == 0:
            return []
        return [await js.get_msg(stream, seq) for seq in range(state.first_seq, state.last_seq + 1)]
    finally:
        await nc.close()


def batch_events(message: RawStreamMsg) -> list[dict[str, Any]]:
    """The events of one batch message."""
    assert message.data is not None
    events = orjson.loads(message.data)
    assert isinstance(events, list)
    return events


def stored_events(messages: list[RawStreamMsg]) -> list[dict[str, Any]]:
    """The events of every batch message, in stream order."""
    return [event for message in messages for event in batch_events(message)]


def header(message: RawStreamMsg, name: str) -> str | None:
    headers = message.headers or {}
    value = headers.get(name)
    return value if isinstance(value, str) else None


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float = 30.0) -> None:
    """Poll a condition with a bound; the bound fails the test instead of hanging it."""
    try:
        async with asyncio.timeout(within):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"no {what} within {within:g}s")


async def metric(http: httpx.AsyncClient, name: str, **labels: str) -> float:
    """One sample of the gateway's `/metrics` (0 when it has none yet)."""
    wanted = tuple(sorted(labels.items()))
    for family in text_string_to_metric_families((await http.get("/metrics")).text):
        for sample in family.samples:
            if sample.name == name and tuple(sorted(sample.labels.items())) == wanted:
                return float(sample.value)
    return 0.0


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


class RawUpload:
    """`POST /webhook` over a bare socket, its body sent when the test says, so a test can
    hold a request open or see it answered before its body arrives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def start(cls, url: str, content_length: int, first: bytes = b"") -> "RawUpload":
        """Send the head with `Content-Length: content_length`, then `first` of the body."""
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /webhook HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (content_length, first)
        )
        await writer.drain()
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def answer(self, within: float = 10.0) -> RawAnswer:
        """The response, whether or not the whole body was sent."""
        async with asyncio.timeout(within):
            head = await self._reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines if line)
            }
            body = await self._reader.readexactly(int(headers["content-length"]))
        return RawAnswer(int(status_line.split()[1]), headers, orjson.loads(body))

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
