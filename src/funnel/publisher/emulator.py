"""The emulator of the upstream publisher image: POST a bare JSON array every interval.

Faithful to contract section 1: N uniform in [min, max] events a request, one corrupted event
appended with probability `corrupt_ratio` (`draw_request`), a new request every interval
whether or not the previous ones were answered, no retries, the answer's body ignored.
Unlike upstream it stops (after `duration_seconds`, `max_requests`, or when `stop` is set),
lets the requests in flight finish for a bounded time, and adds up what happened in a
`Summary`.
"""

import asyncio
import contextlib
import gc
import random
import signal
import time
from dataclasses import dataclass
from typing import Final

import httpx
import orjson
import structlog

from funnel.observability import configure_logging
from funnel.publisher.request import draw_request
from funnel.publisher.settings import PublisherSettings
from funnel.publisher.summary import Summary

__all__ = ["PublisherSettings", "Summary", "publish", "run"]

_log = structlog.get_logger(__name__)
_HEADERS: Final = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class _Request:
    body: bytes
    count: int
    corrupted: bool
    unchanged: bool


def _next_request(settings: PublisherSettings, rng: random.Random) -> _Request:
    """Draw one request's events and encode them; the only user of `rng` while running."""
    # A batch is ~250,000 short-lived acyclic containers; collecting over them while they
    # are made would double the cost of making them.
    gc.disable()
    try:
        count = rng.randint(settings.min_events, settings.max_events)
        drawn = draw_request(rng, count, settings.corrupt_ratio)
        return _Request(
            orjson.dumps(drawn.events), len(drawn.events), drawn.corrupted, drawn.unchanged
        )
    finally:
        gc.enable()


async def _send(client: httpx.AsyncClient, url: str, request: _Request, summary: Summary) -> None:
    started = time.perf_counter()
    try:
        response = await client.post(url, content=request.body, headers=_HEADERS)
    except httpx.HTTPError as exc:
        summary.failed()
        _log.warning(
            "batch_failed",
            count=request.count,
            corrupted=request.corrupted,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            error=repr(exc),
        )
        return
    except asyncio.CancelledError:
        summary.failed()
        _log.warning("batch_abandoned", count=request.count, corrupted=request.corrupted)
        raise
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    summary.answered(response.status_code, duration_ms)
    _log.info(
        "batch_sent",
        count=request.count,
        corrupted=request.corrupted,
        status=response.status_code,
        duration_ms=duration_ms,
    )


async def _sleep_until(deadline: float, stop: asyncio.Event) -> None:
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)


async def _drain(in_flight: set[asyncio.Task[None]], grace_seconds: float) -> None:
    """Let requests in flight finish for up to `grace_seconds`, then abandon the rest."""
    if not in_flight:
        return
    _, pending = await asyncio.wait(set(in_flight), timeout=grace_seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def publish(settings: PublisherSettings, stop: asyncio.Event | None = None) -> Summary:
    """Send requests until `duration_seconds` or `max_requests` is reached or `stop` is set."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    rng = random.Random(settings.seed)
    summary = Summary()
    in_flight: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(
        max_connections=settings.max_in_flight, max_keepalive_connections=settings.max_in_flight
    )
    timeout = httpx.Timeout(settings.request_timeout_seconds)
    _log.info(
        "publisher_started",
        url=settings.url,
        min_events=settings.min_events,
        max_events=settings.max_events,
        interval_seconds=settings.interval_seconds,
        seed=settings.seed,
    )
    started = loop.time()
    end = None if settings.duration_seconds is None else started + settings.duration_seconds
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        tick = started
        while not stop.is_set() and (end is None or loop.time() < end):
            if settings.max_requests is not None and summary.requests >= settings.max_requests:
                break
            if len(in_flight) >= settings.max_in_flight:
                summary.skipped += 1
                _log.warning("tick_skipped", in_flight=len(in_flight))
            else:
                # Drawn off the event loop, so answers keep being read while 50,000 events
                # are made; one at a time, so the seed decides every request's content.
                request = await asyncio.to_thread(_next_request, settings, rng)
                summary.sent(request.count, request.corrupted, request.unchanged)
                task = asyncio.create_task(_send(client, settings.url, request, summary))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            # Like a timer, never a burst to catch up: a late tick just fires late.
            tick = max(tick + settings.interval_seconds, loop.time())
            await _sleep_until(tick if end is None else min(tick, end), stop)
        await _drain(in_flight, settings.drain_timeout_seconds)
    _log.info(
        "publisher_stopped",
        requests=summary.requests,
        count=summary.events,
        corrupted=summary.corrupted,
        unchanged=summary.unchanged,
        ok=summary.ok,
        non_2xx=summary.non_2xx,
        errors=summary.errors,
        skipped=summary.skipped,
        p50_ms=summary.latency_ms(0.5),
        p99_ms=summary.latency_ms(0.99),
    )
    return summary


async def _publish_until_signal(settings: PublisherSettings) -> Summary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        return await publish(settings, stop)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


def run(settings: PublisherSettings) -> Summary:
    """`funnel publish`: send until stopped (Ctrl-C, SIGTERM, or the limits), print a summary."""
    configure_logging("publisher", settings.log_level, settings.effective_log_format)
    summary = asyncio.run(_publish_until_signal(settings))
    print(summary.render(), flush=True)
    return summary
