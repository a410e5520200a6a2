"""The collector draining a pre-filled stream into PostgreSQL: rows stored per second.

    .venv/bin/python -m bench.collector [--events 200000] [--source facebook]
                                         [--consumers 2] [--fetch 10]

The stream is filled first (messages of 1,000 events, as the gateway publishes them), then
one `funnel collector` process starts and drains it; the figure is rows committed per
second between the first and the last sample of its `processed` counter, with the CPU
seconds the collector process and PostgreSQL spent meanwhile. Without `NATS_URL` /
`DATABASE_URL` embedded servers are started (fsync on, as `funnel up`). Everything shares
this machine's cores: figures move with whatever else it is doing, and the speed probe
printed last (`bench.timing.speed_probed`) says how fast the machine was meanwhile.
"""

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
import uvloop

from bench.postgres import postgres_server, scratch_database
from bench.timing import speed_probed
from funnel.events import Source, Subjects
from funnel.jetstream import (
    EVENT_COUNT_HEADER,
    JetStreamConnection,
    OutboundMessage,
    Publisher,
    StreamNotFoundError,
    declare_streams,
    delete_stream,
)
from funnel.local import EmbeddedNats, free_port
from funnel.observability import CORRELATION_HEADER
from funnel.publisher import generate_batch

_PER_MESSAGE = 1_000


def _events(source: Source, count: int) -> Iterator[list[dict[str, Any]]]:
    """Messages' worth of the emulator's events of `source`, taken from requests of both
    sources as the gateway splits them."""
    rng = random.Random(7)
    pending: list[dict[str, Any]] = []
    made = 0
    while made < count:
        pending.extend(e for e in generate_batch(rng, 2 * _PER_MESSAGE) if e["source"] == source)
        while len(pending) >= _PER_MESSAGE and made < count:
            take = min(_PER_MESSAGE, count - made)
            yield pending[:take]
            pending, made = pending[take:], made + take


async def _prefill(nats_url: str, subjects: Subjects, source: Source, count: int) -> None:
    async with JetStreamConnection(nats_url, "bench-prefill") as conn:
        await declare_streams(conn, subjects, max_age=3600)
        messages = (
            OutboundMessage(
                subject=subjects.events(source),
                payload=orjson.dumps(batch),
                msg_id=uuid.uuid4().hex,
                headers={
                    EVENT_COUNT_HEADER: str(len(batch)),
                    CORRELATION_HEADER: uuid.uuid4().hex,
                },
            )
            for batch in _events(source, count)
        )
        await Publisher(conn).publish_all(messages)


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine (the embedded server's)."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] in ("postgres", "postmaster") and process.info["cpu_times"]:
            times = process.info["cpu_times"]
            total += times.user + times.system
    return total


async def _processed(http: httpx.AsyncClient) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("funnel_collector_events_processed_total{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _drain(
    nats_url: str, database_url: str, subjects: Subjects, args: argparse.Namespace, log: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "COLLECTOR_SOURCE": args.source,
        "PORT": str(port),
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "FUNNEL_NAMESPACE": subjects.namespace,
        "LOG_FORMAT": "json",
        "CONSUMERS": str(args.consumers),
        "FETCH_MESSAGES": str(args.fetch),
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "funnel", "collector", env=env, stdout=out, stderr=out
        )
    collector = psutil.Process(process.pid)
    samples: list[tuple[float, float, float, float]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/health/ready")).status_code == 200:
                        break
                if process.returncode is not None:
                    raise SystemExit(f"collector exited; see {log}")
                await asyncio.sleep(0.02)
            while not samples or samples[-1][1] < args.events:
                cpu = collector.cpu_times()
                samples.append(
                    (time.perf_counter(), await _processed(http), cpu.user + cpu.system, 0.0)
                )
                samples[-1] = (*samples[-1][:3], _postgres_cpu())
                await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    (t0, p0, c0, g0), (t1, p1, c1, g1) = samples[0], samples[-1]
    seconds = t1 - t0
    print(
        f"drained {p1 - p0:,.0f} {args.source} events in {seconds:.2f} s: "
        f"{(p1 - p0) / seconds:,.0f} rows/s   "
        f"(collector CPU {c1 - c0:.2f} s, PostgreSQL CPU {g1 - g0:.2f} s; "
        f"consumers={args.consumers}, fetch={args.fetch} messages)"
    )


async def _bench(nats_url: str, postgres_url: str, args: argparse.Namespace) -> None:
    subjects = Subjects(namespace=f"bench{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    await _prefill(nats_url, subjects, args.source, args.events)
    print(f"pre-filled {args.events:,} events in {time.perf_counter() - started:.1f} s")
    try:
        async with scratch_database(postgres_url) as database_url:
            with tempfile.TemporaryDirectory() as scratch:
                await _drain(nats_url, database_url, subjects, args, Path(scratch) / "log")
            conn = await asyncpg.connect(database_url)
            try:
                rows = await conn.fetchval("SELECT count(*) FROM events")
            finally:
                await conn.close()
            print(f"rows in events: {rows:,} (expected {args.events:,})")
    finally:
        async with JetStreamConnection(nats_url, "bench-cleanup") as conn:
            for stream in (subjects.events_stream, subjects.dead_letter_stream):
                with contextlib.suppress(StreamNotFoundError):
                    await delete_stream(conn, stream)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--source", choices=["facebook", "tiktok"], default="facebook")
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--fetch", type=int, default=10, help="messages per fetch")
    args = parser.parse_args()
    with (
        speed_probed(),
        contextlib.ExitStack() as stack,
        postgres_server("funnel-collector-") as postgres_url,
    ):
        nats_url = os.environ.get("NATS_URL")
        if nats_url is None:
            store = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            nats_url = stack.enter_context(EmbeddedNats(store / "nats")).url
        uvloop.run(_bench(nats_url, postgres_url, args))


if __name__ == "__main__":
    main()
