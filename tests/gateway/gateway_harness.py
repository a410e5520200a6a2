"""Running a gateway for a test, and reading back what it stored.

The app runs under uvicorn (httptools, uvloop) in a thread with its own event loop, so tests
talk to it over real HTTP while its lifespan holds a real JetStream connection. Streams are
read with nats-py directly, not through `funnel.jetstream`.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
import orjson
import pytest
import uvicorn
from nats.js.api import RawStreamMsg

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
