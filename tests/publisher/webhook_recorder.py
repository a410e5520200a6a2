"""A tiny real webhook for the emulator's tests: records each POST and answers as told.

A bare ASGI app under uvicorn on a free loopback port. It can answer with any status, and
can hold requests open until a number of them are open at once (to see overlap) or until
the test lets them go.
"""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import orjson
import uvicorn
from starlette.types import Receive, Scope, Send

# A held request is let go after this long even if the test forgot to: tests never hang.
_HOLD_LIMIT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Received:
    content_type: str
    body: bytes

    @property
    def events(self) -> list[object]:
        parsed = orjson.loads(self.body)
        assert isinstance(parsed, list), "the publisher sends a bare JSON array"
        return parsed


@dataclass
class WebhookRecorder:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    status_for: Callable[[int], int] = lambda _number: 202
    hold_until_open: int | None = None
    hold_all: bool = False
    open_now: int = 0
    most_open: int = 0
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _arrival: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        """Let every held request answer."""
        self._release.set()

    async def received_at_least(self, count: int) -> None:
        """Return once `count` requests have arrived."""
        while len(self.received) < count:
            self._arrival.clear()
            await self._arrival.wait()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        self.received.append(Received(headers.get(b"content-type", b"").decode(), b"".join(chunks)))
        number = len(self.received)
        self._arrival.set()
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            if self.hold_until_open is not None and self.open_now >= self.hold_until_open:
                self.release()
            if self.hold_all or self.hold_until_open is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), _HOLD_LIMIT_SECONDS)
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_for(number),
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"accepted": 0}'})
        finally:
            self.open_now -= 1


@contextlib.asynccontextmanager
async def running_webhook() -> AsyncIterator[WebhookRecorder]:
    """A `WebhookRecorder` served on 127.0.0.1 at a free port until the block ends."""
    recorder = WebhookRecorder()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(recorder, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), "the test webhook failed to start"
            await asyncio.sleep(0.01)
        recorder.url = f"http://127.0.0.1:{port}/webhook"
        yield recorder
    finally:
        recorder.release()
        server.should_exit = True
        await task
        sock.close()
