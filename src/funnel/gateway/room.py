"""Whether `EVENTS` has room, so that while it has none webhooks are refused unread.

A publish refused because the stream is full makes the gateway look at the stream; from then
on, every `FULL_STREAM_CHECK_SECONDS`, it reads the stream's bytes against its bound until a
batch of the largest size the gateway packs (`BATCH_MAX_BYTES`) fits again. While the last
look found no room, a webhook is answered 503 `stream_full` before its body is read: it could
not be stored, and reading, parsing and validating it would only pile bodies up in memory.

Looking at the stream rather than letting a probe request through now and then: a look is
one small JetStream API request, says exactly when there is room (with no traffic too), and
spends no client's request on finding out, where a probe is a whole upload read, parsed,
validated and most likely refused (and the publisher never sends it again).

A refused publish alone never makes the gateway refuse: it only asks for a look. A refusal
may be stale by the time it is seen (the collectors free bytes all the time), so a webhook is
refused only on a look that found no room (one interval old at most, while looks succeed),
and the first look with room reopens.
"""

import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import structlog

from funnel.gateway.errors import StreamStillFullError
from funnel.gateway.metrics import GatewayMetrics
from funnel.jetstream import (
    JetStreamConnection,
    JetStreamError,
    StreamStatus,
    periodically,
    stream_status,
)

_log = structlog.get_logger(__name__)


class StreamRoom:
    """What the gateway knows of `EVENTS`'s room; `look` refreshes it while it is in doubt."""

    def __init__(
        self,
        conn: JetStreamConnection,
        stream: str,
        *,
        needed_bytes: int,
        metrics: GatewayMetrics,
    ) -> None:
        self._conn = conn
        self._stream = stream
        self._needed = needed_bytes
        self._metrics = metrics
        self._full_since: datetime | None = None
        self._started = 0.0  # monotonic time the stream was found full
        self._refused = 0  # requests refused unread since then
        self._in_doubt = False  # a publish was refused as full: look at the next tick
        self._status: StreamStatus | None = None
        self._looked_at: datetime | None = None
        self._look_failing = False

    @property
    def is_full(self) -> bool:
        """Whether the last look found no room for a batch."""
        return self._full_since is not None

    def notice_refusal(self) -> None:
        """A publish was refused because the stream was full: look at it at the next tick."""
        self._in_doubt = True

    def refuse_if_full(self) -> None:
        """Raise `StreamStillFullError` while the last look found the stream without room."""
        if self._full_since is None:
            return
        self._refused += 1
        status = self._status
        held = (
            f" ({status.bytes:,} of {status.max_bytes:,} bytes)"
            if status is not None and status.max_bytes is not None
            else ""
        )
        raise StreamStillFullError(
            f"JetStream stream {self._stream} is full{held}: the collectors are behind; "
            "the request was refused before its body was read"
        )

    async def look(self) -> None:
        """Read the stream's bytes and bound, if a refusal or a full stream asks for it."""
        if not (self._in_doubt or self.is_full):
            return
        self._in_doubt = False
        try:
            status = await stream_status(self._conn, self._stream)
        except JetStreamError as exc:
            # The state stays as it was (refusing unread is what keeps memory bounded), and the
            # next tick looks again; `/health/ready` names a lost stream or connection.
            self._in_doubt = True
            if not self._look_failing:
                _log.warning("stream_look_failed", stream=self._stream, error=str(exc))
            self._look_failing = True
            return
        self._look_failing = False
        self._status = status
        self._looked_at = datetime.now(UTC)
        free = status.free_bytes
        self._record(status, full=free is not None and free < self._needed)

    def details(self) -> dict[str, Any]:
        """For `/health/ready`: whether the stream is full, since when, and the last look."""
        status = self._status
        return {
            "stream": self._stream,
            "full": self.is_full,
            "fullSince": self._full_since.isoformat() if self._full_since else None,
            "refusedRequests": self._refused,
            "bytes": status.bytes if status else None,
            "maxBytes": status.max_bytes if status else None,
            "lookedAt": self._looked_at.isoformat() if self._looked_at else None,
        }

    def _record(self, status: StreamStatus, *, full: bool) -> None:
        """Turn full or back to having room, logging the change; nothing if it is the same."""
        if full == self.is_full:
            return
        self._metrics.stream_full.set(1 if full else 0)
        sizes = {"stream": self._stream, "bytes": status.bytes, "max_bytes": status.max_bytes}
        if full:
            self._full_since = datetime.now(UTC)
            self._started = time.monotonic()
            self._refused = 0
            _log.warning("stream_full", **sizes)
            return
        self._full_since = None
        duration_ms = round((time.monotonic() - self._started) * 1000, 1)
        _log.info("stream_has_room", **sizes, count=self._refused, duration_ms=duration_ms)


@contextlib.asynccontextmanager
async def watching_room(
    conn: JetStreamConnection,
    stream: str,
    *,
    needed_bytes: int,
    interval: float,
    metrics: GatewayMetrics,
) -> AsyncIterator[StreamRoom]:
    """A `StreamRoom` for `stream`, looked at every `interval` seconds while in doubt, until
    the block ends."""
    room = StreamRoom(conn, stream, needed_bytes=needed_bytes, metrics=metrics)
    async with periodically(room.look, interval):
        yield room
