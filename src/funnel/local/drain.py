"""Watching the collectors drain JetStream before they are stopped.

The runner reads each collector's durable consumer directly: messages not yet delivered plus
those delivered but not acknowledged. Zero means everything the gateway accepted is in
PostgreSQL; the wait is bounded, and what is left is reported and stays in JetStream for the
next run.
"""

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any, Final

import nats
import nats.errors
import nats.js.errors
import structlog

from funnel.events.subjects import Subjects

_POLL_SECONDS: Final = 0.5
_PROGRESS_SECONDS: Final = 5.0
_CONNECT_SECONDS: Final = 5.0

_log = structlog.get_logger(__name__)


async def _ignore(_error: Exception) -> None:
    # Connection errors surface from `connect` itself; nats-py's own report is noise here.
    return


async def _pending(js: Any, stream: str, consumer: str) -> int:
    try:
        info = await js.consumer_info(stream, consumer)
    except nats.js.errors.NotFoundError:
        return 0
    return int(info.num_pending or 0) + int(info.num_ack_pending or 0)


async def wait_for_drain(
    nats_url: str, subjects: Subjects, consumers: Sequence[str], *, within: float
) -> dict[str, int]:
    """Poll until no consumer has pending messages or `within` seconds pass; the counts left.

    When NATS cannot be asked, the counts are unknown: an empty dict, and a warning.
    """
    started = time.monotonic()
    try:
        # nats-py retries a refused first connection forever unless attempts are capped; the
        # outer bound covers whatever else it may wait for.
        async with asyncio.timeout(_CONNECT_SECONDS):
            nc = await nats.connect(
                nats_url,
                connect_timeout=2,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.2,
                error_cb=_ignore,
            )
    except (nats.errors.Error, OSError) as exc:
        _log.warning("drain_unobservable", error=str(exc) or type(exc).__name__)
        return {}
    left: dict[str, int] = {}
    try:
        js = nc.jetstream(timeout=2)
        next_progress = started + _PROGRESS_SECONDS
        while True:
            counts = await asyncio.gather(
                *(_pending(js, subjects.events_stream, name) for name in consumers)
            )
            left = dict(zip(consumers, counts, strict=True))
            now = time.monotonic()
            if not any(counts) or now - started >= within:
                break
            if now >= next_progress:
                _log.info("draining", pending=left, elapsed_s=round(now - started))
                next_progress = now + _PROGRESS_SECONDS
            await asyncio.sleep(_POLL_SECONDS)
    except (nats.errors.Error, OSError) as exc:
        _log.warning("drain_unobservable", error=str(exc) or type(exc).__name__)
    finally:
        with contextlib.suppress(nats.errors.Error, OSError):
            await nc.close()
    duration_ms = round((time.monotonic() - started) * 1000)
    if any(left.values()):
        _log.warning("drain_incomplete", pending=left, duration_ms=duration_ms)
    else:
        _log.info("drained", duration_ms=duration_ms)
    return left
