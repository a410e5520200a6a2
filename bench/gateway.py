"""The gateway under load: `funnel gateway` in its own process, a real NATS, real HTTP.

    .venv/bin/python -m bench.gateway [--requests 20] [--seconds 20] [--rate 50000]

Three figures, each with every answer waiting for JetStream's fsync'd acks:
  1. single: 50,000-event requests (~21 MB, one corrupted event appended) one after another:
     request latency p50/p99/max.
  2. health: `/health/live` polled every 20 ms while those large requests run: how long the
     event loop is held (latency p50/p99/max of the probe).
  3. sustained: the publisher emulator (`funnel.publisher.publish`) offering `--rate` events/s
     in requests of 1,000..50,000 events (its own shape) for `--seconds`: events/s stored, as
     the gateway's `processed` counter says, and request latency.
Without `NATS_URL` an embedded server is started (fsync before every ack, as `funnel up`).
The emulator, the gateway and NATS share this machine's cores: figures move with whatever
else it is doing, and the speed probe printed last (`bench.timing.speed_probed`) says how
fast the machine was meanwhile.
"""

import argparse
import asyncio
import contextlib
import math
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import psutil
import uvloop

from bench.timing import speed_probed
from funnel.events import Subjects
from funnel.jetstream import JetStreamConnection, delete_stream
from funnel.local import EmbeddedNats, free_port
from funnel.observability import configure_logging
from funnel.publisher import PublisherSettings, draw_request, publish

LARGE = 50_000


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _latency(label: str, values_ms: list[float]) -> None:
    print(
        f"{label:<10} n={len(values_ms):<5} p50 {_quantile(values_ms, 0.5):7.1f} ms   "
        f"p99 {_quantile(values_ms, 0.99):7.1f} ms   max {max(values_ms):7.1f} ms"
    )


async def _processed(http: httpx.AsyncClient) -> float:
    total = 0.0
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("funnel_gateway_events_processed_total{"):
            total += float(line.split()[-1])
    return total


@contextlib.asynccontextmanager
async def _gateway(
    nats_url: str, subjects: Subjects, log: Path
) -> AsyncIterator[tuple[str, psutil.Process]]:
    """`funnel gateway` as a child process; its URL and process once it is ready."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "NATS_URL": nats_url,
        "FUNNEL_NAMESPACE": subjects.namespace,
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
    }
    with log.open("wb") as out:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "funnel", "gateway", env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/health/ready")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"gateway not ready; see {log}")
        yield url, psutil.Process(child.pid)
    finally:
        child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), 60)


async def _single(url: str, requests: int) -> None:
    body = orjson.dumps(draw_request(random.Random(7), LARGE, corrupt_ratio=1.0).events)
    print(f"single     {LARGE:,} events + 1 corrupted = {len(body) / 1e6:.1f} MB a request")
    latencies: list[float] = []
    probes: list[float] = []
    done = asyncio.Event()

    async def probe(http: httpx.AsyncClient) -> None:
        while not done.is_set():
            started = time.perf_counter()
            await http.get("/health/live")
            probes.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.02)

    async with (
        httpx.AsyncClient(base_url=url, timeout=60) as http,
        httpx.AsyncClient(base_url=url, timeout=60) as prober,
    ):
        prober_task = asyncio.create_task(probe(prober))
        for _ in range(requests):
            started = time.perf_counter()
            response = await http.post(
                "/webhook", content=body, headers={"Content-Type": "application/json"}
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 202:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
        done.set()
        await prober_task
    _latency("single", latencies)
    _latency("health", probes)


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _cpu_per_event(label: str, seconds: float, events: float) -> None:
    """The gateway's own CPU per event: what bounds one process on a free core."""
    per_event_us = seconds / events * 1e6
    print(
        f"{label:<10} gateway CPU {per_event_us:.1f} us/event "
        f"(one free core: ~{1e6 / per_event_us:,.0f} events/s)"
    )


async def _sustained(url: str, rate: int, seconds: float) -> float:
    # The emulator's own shape (1,000..50,000 events a request, uniform, ~10% corrupted),
    # with the interval chosen so the offered load averages `rate` events/s.
    interval = 25_500 / rate
    settings = PublisherSettings(
        url=f"{url}/webhook",
        interval_seconds=interval,
        duration_seconds=seconds,
        seed=11,
        log_level="WARNING",
        drain_timeout_seconds=60,
    )
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        before = await _processed(http)
        started = time.perf_counter()
        sending = asyncio.create_task(publish(settings))
        # What was stored while load was offered, before the emulator waits for stragglers.
        await asyncio.sleep(seconds)
        in_window = await _processed(http) - before
        summary = await sending
        elapsed = time.perf_counter() - started
        stored = await _processed(http) - before
    print(
        f"sustained  offered ~{rate:,} events/s for {seconds:g} s: {summary.requests} requests, "
        f"{summary.events:,} events, {summary.ok} answered 2xx, {summary.non_2xx} non-2xx, "
        f"{summary.errors} unanswered, {summary.skipped} ticks skipped"
    )
    print(f"sustained  stored while offered: {in_window / seconds:,.0f} events/s")
    print(
        f"sustained  stored all {stored:,.0f} events in {elapsed:.1f} s = "
        f"{stored / elapsed:,.0f} events/s"
    )
    p50, p99 = summary.latency_ms(0.5), summary.latency_ms(0.99)
    if p50 is not None and p99 is not None:
        print(f"sustained  request latency p50 {p50:.0f} ms   p99 {p99:.0f} ms")
    return stored


async def _bench(nats_url: str, args: argparse.Namespace) -> None:
    subjects = Subjects(f"bench{uuid.uuid4().hex[:8]}")
    with tempfile.TemporaryDirectory() as scratch:
        try:
            log = Path(scratch) / "gateway.log"
            async with _gateway(nats_url, subjects, log) as (url, process):
                cpu = _cpu_seconds(process)
                await _single(url, args.requests)
                _cpu_per_event("single", _cpu_seconds(process) - cpu, args.requests * LARGE)
                cpu = _cpu_seconds(process)
                stored = await _sustained(url, args.rate, args.seconds)
                _cpu_per_event("sustained", _cpu_seconds(process) - cpu, stored)
        finally:
            async with JetStreamConnection(nats_url, "bench-cleanup") as conn:
                for stream in (subjects.events_stream, subjects.dead_letter_stream):
                    with contextlib.suppress(Exception):
                        await delete_stream(conn, stream)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="50,000-event requests in turn")
    parser.add_argument("--rate", type=int, default=50_000, help="offered events/s, sustained")
    parser.add_argument("--seconds", type=float, default=20, help="length of the sustained run")
    args = parser.parse_args()
    configure_logging("bench", "WARNING", "console")

    with speed_probed():
        if url := os.environ.get("NATS_URL"):
            print(f"server: NATS_URL={url}")
            uvloop.run(_bench(url, args))
            return
        with tempfile.TemporaryDirectory() as store, EmbeddedNats(Path(store)) as server:
            print("server: embedded nats-server, fsync before every ack")
            uvloop.run(_bench(server.url, args))


if __name__ == "__main__":
    main()
