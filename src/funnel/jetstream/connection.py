"""One NATS connection with JetStream, as an async context manager.

Entering connects (`connect.connect_client`: retrying with exponential backoff,
`max_connect_attempts` times or forever; then reconnecting forever), and the connection logs
every disconnect and reconnect. Leaving drains: subscriptions stop, buffered publishes flush,
then the socket closes. The modules of this package reach JetStream through its public
methods, which translate nats-py's errors.

Given a registry, the connection keeps `funnel_nats_connected` there: 1 while connected, 0
from a disconnect until the reconnect, and after closing; the NatsUnreachable alert reads it.
"""

import asyncio
import time
from enum import Enum
from types import TracebackType
from typing import Final, Self

import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.manager import JetStreamManager
from prometheus_client import CollectorRegistry, Gauge

from funnel.jetstream.connect import connect_client
from funnel.jetstream.errors import (
    ConnectionClosedError,
    JetStreamError,
    NotConnectedError,
    translated,
)

_log = structlog.get_logger(__name__)

_REQUEST_TIMEOUT: Final = 5.0  # seconds, for JetStream API requests (not publishes)
_STREAM_NAME_IN_USE: Final = 10058  # exists with a different configuration
_RECONNECT_POLL: Final = 0.02  # seconds between looks while waiting for a reconnect


class ConnectionState(Enum):
    NEW = "new"
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSED = "closed"


class JetStreamConnection:
    """A NATS connection with a JetStream context; use `async with` to open and drain it."""

    def __init__(
        self,
        url: str,
        name: str,
        *,
        connect_timeout: float = 5,
        max_connect_attempts: int | None = None,
        reconnect_wait_max: float = 5.0,
        drain_timeout: float = 10.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self._connect_timeout = connect_timeout
        self._max_connect_attempts = max_connect_attempts
        self._reconnect_wait_max = reconnect_wait_max
        self._drain_timeout = drain_timeout
        self._state = ConnectionState.NEW
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._last_error: str | None = None
        self._connected = (
            None
            if registry is None
            else Gauge(
                "funnel_nats_connected",
                "1 while this service's NATS connection is up, else 0.",
                registry=registry,
            )
        )

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def is_connected(self) -> bool:
        return (
            self._state is ConnectionState.OPEN
            and self._client is not None
            and self._client.is_connected
        )

    async def wait_connected(self, within: float) -> bool:
        """Whether the connection is up, waiting up to `within` seconds for a reconnect;
        False at once once it is closed."""
        deadline = time.monotonic() + within
        while not self.is_connected:
            if self._state is not ConnectionState.OPEN or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_RECONNECT_POLL)
        return True

    async def __aenter__(self) -> Self:
        if self._state is not ConnectionState.NEW:
            raise JetStreamError(f"connection {self.name!r} is {self._state.value}; open it once")
        self._state = ConnectionState.CONNECTING
        try:
            self._client = await connect_client(
                self.url,
                self.name,
                connect_timeout=self._connect_timeout,
                max_attempts=self._max_connect_attempts,
                reconnect_wait_max=self._reconnect_wait_max,
                drain_timeout=self._drain_timeout,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
                last_error=lambda: self._last_error,
            )
        except BaseException:
            self._state = ConnectionState.CLOSED
            raise
        self._last_error = None
        self._js = self._client.jetstream(timeout=_REQUEST_TIMEOUT)
        self._state = ConnectionState.OPEN
        self._set_connected(True)
        _log.info("nats_connected", url=self.url, connection=self.name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.drain()

    async def drain(self) -> None:
        """Stop subscriptions, flush what is buffered, close. Safe to call twice."""
        client = self._client
        if self._state is ConnectionState.CLOSED or client is None:
            self._state = ConnectionState.CLOSED
            return
        self._state = ConnectionState.CLOSED
        self._set_connected(False)
        try:
            if client.is_connected:
                await client.drain()
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            # Draining needs a live server; without one there is nothing left to flush to.
            _log.warning("nats_drain_failed", error=str(exc) or type(exc).__name__)
        finally:
            if not client.is_closed:
                await client.close()
        _log.info("nats_closed", connection=self.name)

    async def check(self) -> None:
        """Readiness probe: returns if JetStream answers now, else raises with the reason."""
        client = self._require_client()
        if not client.is_connected:
            reason = f": {self._last_error}" if self._last_error else ""
            raise NotConnectedError(f"not connected to NATS at {self.url}{reason}")
        with translated("JetStream account info"):
            await self._manager.account_info()

    # --- the JetStream calls of this package's modules, nats-py errors translated ----------

    async def publish(
        self, subject: str, payload: bytes, *, headers: dict[str, str], ack_timeout: float
    ) -> None:
        """Publish and wait up to `ack_timeout` seconds for JetStream's ack (one attempt)."""
        with translated(f"publish to {subject}"):
            await self._jetstream.publish(subject, payload, timeout=ack_timeout, headers=headers)

    async def bind(self, stream: str, consumer: str) -> JetStreamContext.PullSubscription:
        """A pull subscription on an existing consumer of `stream`."""
        with translated(f"bind to consumer {consumer} of {stream}"):
            return await self._jetstream.pull_subscribe_bind(consumer=consumer, stream=stream)

    async def declare_stream(self, config: api.StreamConfig) -> None:
        """Create the stream, or update it to `config` when it exists with other settings."""
        with translated(f"declare stream {config.name}"):
            try:
                await self._manager.add_stream(config)
            except nats.js.errors.BadRequestError as exc:
                if exc.err_code != _STREAM_NAME_IN_USE:
                    raise
                await self._manager.update_stream(config)

    async def stream_info(self, stream: str, *, subjects: str | None = None) -> api.StreamInfo:
        """The stream's state, with per-subject counts of the subjects matching `subjects`."""
        with translated(f"stream info {stream}"):
            return await self._manager.stream_info(stream, subjects_filter=subjects)

    async def delete_stream(self, stream: str) -> None:
        with translated(f"delete stream {stream}"):
            await self._manager.delete_stream(stream)

    async def add_consumer(self, stream: str, config: api.ConsumerConfig) -> api.ConsumerInfo:
        """Create a consumer (a durable one with the same name is updated to `config`); an
        ephemeral one reads the stream."""
        durable = config.durable_name
        action = f"declare consumer {durable} on" if durable else "read stream"
        with translated(f"{action} {stream}"):
            return await self._manager.add_consumer(stream, config)

    async def consumer_info(self, stream: str, consumer: str) -> api.ConsumerInfo:
        with translated(f"consumer info {stream}/{consumer}"):
            info: api.ConsumerInfo = await self._manager.consumer_info(stream, consumer)
        return info

    async def delete_consumer(self, stream: str, consumer: str) -> None:
        with translated(f"delete consumer {stream}/{consumer}"):
            await self._manager.delete_consumer(stream, consumer)

    async def get_message(self, stream: str, sequence: int) -> api.RawStreamMsg:
        with translated(f"get message {sequence} of {stream}"):
            return await self._manager.get_msg(stream, sequence)

    async def delete_message(self, stream: str, sequence: int) -> None:
        with translated(f"delete message {sequence} of {stream}"):
            await self._manager.delete_msg(stream, sequence)

    @property
    def _jetstream(self) -> JetStreamContext:
        self._require_client()
        assert self._js is not None
        return self._js

    @property
    def _manager(self) -> JetStreamManager:
        return self._jetstream._jsm

    def _require_client(self) -> Client:
        if self._state is ConnectionState.CLOSED:
            raise ConnectionClosedError(f"connection {self.name!r} is closed")
        if self._state is not ConnectionState.OPEN or self._client is None:
            raise NotConnectedError(f"connection {self.name!r} is not open; use `async with`")
        return self._client

    async def _on_error(self, exc: Exception) -> None:
        self._last_error = str(exc) or type(exc).__name__
        if self._state is ConnectionState.OPEN:
            _log.warning("nats_error", connection=self.name, error=self._last_error)

    def _set_connected(self, connected: bool) -> None:
        if self._connected is not None:
            self._connected.set(1 if connected else 0)

    async def _on_disconnected(self) -> None:
        self._set_connected(False)
        if self._state is ConnectionState.OPEN:
            _log.warning("nats_disconnected", url=self.url, connection=self.name)

    async def _on_reconnected(self) -> None:
        self._set_connected(self._state is ConnectionState.OPEN)
        self._last_error = None
        _log.info("nats_reconnected", url=self.url, connection=self.name)
