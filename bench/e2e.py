"""The whole system under the publisher's load: what it takes in, how fast it stores it.

    .venv/bin/python -m bench.e2e [--pattern publisher|steady] [--rate 50000] [--seconds 120]
                                  [--min 1000] [--max 50000] [--samples 20]
                                  [--nats-sync always|default|1s] [--pregenerate]

Starts what `funnel up` starts (embedded NATS and PostgreSQL in a temporary directory unless
`NATS_URL` / `DATABASE_URL` are set, `funnel migrate`, gateway, both collectors, reporter, as
subprocesses), then posts to the webhook like the publisher: every second a bare JSON array
of N events (`publisher`: N uniform in min..max, one corrupted event on ~10% of requests;
`steady`: N = rate), never waiting for earlier answers. Measured:

- events accepted/s (the 202 answers) and committed/s (PostgreSQL, while load was offered
  and until the backlog drained), webhook latency p50/p99/max;
- ingest-to-queryable lag: `--samples` event ids of each accepted request are polled for
  in `events`; the lag of one is the time from the webhook's answer to the poll that saw it
  (a poll every 100 ms, so figures are up to 0.1 s high);
- CPU seconds and peak RSS per process (PostgreSQL: all its processes, proportional set size);
- at the end, once nothing is left to store: rows in `events` == accepted events (no loss,
  no duplicate) and the summaries count each row once.

The driver stands in for the publisher, which runs on its own machine in production; with
`--pregenerate` it makes every request body before the load starts (and before any CPU is
counted), so during the run it only sends them and the services get the CPU the publisher's
generation would otherwise take from them.

Everything, this driver included, shares the machine's cores: figures move with whatever
else it is doing. On a shared virtual machine the same code also runs faster in one minute
than in the next, so the table ends with a speed probe (`bench.timing.speed_probe`, a fixed
loop) taken before the servers start and after they stop: compare runs whose probes agree.
"""

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import signal
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
import orjson
import psutil
import uvloop

from bench.jetstream import server_config
from bench.timing import probes, speed_probe
from funnel.db import event_key
from funnel.gc_tuning import tune_for_bulk_json
from funnel.local.environment import find_config_dir, service_environment
from funnel.local.nats import EmbeddedNats, free_port
from funnel.local.postgres_user import server_scratch
from funnel.local.servers import LocalServers
from funnel.local.services import funnel_command, services
from funnel.publisher import draw_request

# (occurred_at, event_key, source): the key `events` finds an event by, and its source.
EventKey = tuple[datetime, uuid.UUID, str]

_POLL_SECONDS: Final = 0.1
_POLLED_PER_SOURCE: Final = 100
_SAMPLE_SECONDS: Final = 0.5
_CORRUPT_RATIO: Final = 0.1
_HEADERS: Final = {"Content-Type": "application/json"}


# --- load -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Load:
    """What the driver sent and what came back."""

    requests: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    non_2xx: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    # event id -> the moment its request was answered; removed once seen in `events`.
    pending: dict[EventKey, float] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)
    # (seconds since the first request was sent, lag) of each seen sample, for `_lag_by_phase`.
    lag_times: list[tuple[float, float]] = field(default_factory=list)
    first_sent: float = 0.0
    last_sent: float = 0.0
    last_answered: float = 0.0


def _body(rng: random.Random, count: int, samples: int) -> tuple[bytes, list[EventKey]]:
    """One request as the emulator makes it, and how `events` names `samples` of its valid
    events: its key and source."""
    events = draw_request(rng, count, _CORRUPT_RATIO).events
    picked = [
        (datetime.fromisoformat(event["timestamp"]), event_key(event["eventId"]), event["source"])
        for event in rng.sample(events[:count], min(samples, count))
    ]
    return orjson.dumps(events), picked


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, picked: list[EventKey], load: _Load
) -> None:
    started = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=_HEADERS)
    except httpx.HTTPError:
        load.errors += 1
        return
    answered = time.perf_counter()
    load.latencies.append(answered - started)
    load.last_answered = answered
    if response.status_code != 202:
        load.non_2xx += 1
        return
    answer = response.json()
    load.accepted += answer["accepted"]
    load.rejected += answer["rejected"]
    load.pending.update(dict.fromkeys(picked, answered))


_Request = tuple[int, bytes, list[EventKey]]  # events, body, sampled events


def _requests(args: argparse.Namespace) -> Iterator[_Request]:
    """The requests of the whole run, one a second, made as they are asked for."""
    rng = random.Random(args.seed)
    for _ in range(args.seconds):
        count = args.rate if args.pattern == "steady" else rng.randint(args.min, args.max)
        body, picked = _body(rng, count, args.samples)
        yield count, body, picked


async def _drive(url: str, requests: Iterator[_Request], load: _Load) -> None:
    """One request a second, each sent whether or not others are answered."""
    in_flight: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits) as client:
        load.first_sent = start = time.perf_counter()
        tick = 0
        while (request := await asyncio.to_thread(next, requests, None)) is not None:
            count, body, picked = request
            load.requests += 1
            load.last_sent = time.perf_counter()
            load.sent += count
            task = asyncio.create_task(_post(client, url, body, picked, load))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            tick += 1
            await asyncio.sleep(max(0.0, start + tick - time.perf_counter()))
        await asyncio.gather(*in_flight)


async def _watch_lag(database_url: str, load: _Load, stop: asyncio.Event) -> None:
    """Poll for the sampled ids until `stop`, set once storing is over, then once more."""
    conn = await asyncpg.connect(database_url)
    try:
        while not stop.is_set():
            await _poll_samples(conn, load)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _POLL_SECONDS)
        while await _poll_samples(conn, load):
            pass
    finally:
        await conn.close()


# Probes of the key `(occurred_at, event_key)`: the only index that finds one event.
_SEEN: Final = """
    SELECT occurred_at, event_key, source FROM events
    WHERE (occurred_at, event_key) IN (SELECT * FROM unnest($1::timestamptz[], $2::uuid[]))
"""


async def _poll_samples(conn: asyncpg.Connection, load: _Load) -> int:
    """Record the lag of the polled samples now visible; return how many were."""
    if not load.pending:
        return 0
    # Only the oldest samples of each source: rows land roughly in order, and probing every
    # pending id ten times a second would itself cost PostgreSQL a tenth of a core.
    keys = [
        *itertools.islice((k for k in load.pending if k[2] == "facebook"), _POLLED_PER_SOURCE),
        *itertools.islice((k for k in load.pending if k[2] == "tiktok"), _POLLED_PER_SOURCE),
    ]
    seen = await conn.fetch(_SEEN, [key[0] for key in keys], [key[1] for key in keys])
    now = time.perf_counter()
    for record in seen:
        answered = load.pending.pop((record["occurred_at"], record["event_key"], record["source"]))
        load.lags.append(now - answered)
        load.lag_times.append((answered - load.first_sent, now - answered))
    return len(seen)


async def _committed(conn: asyncpg.Connection) -> int:
    """Rows committed so far, from the day-grain summary (cheap, exact, same transaction)."""
    value = await conn.fetchval(
        "SELECT coalesce(sum(events), 0) FROM event_counts WHERE grain = 'day'"
    )
    return int(value)


# --- processes ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Usage:
    """CPU seconds and peak memory of one process, or of a server's processes together."""

    cpu_start: dict[int, float] = field(default_factory=dict)
    cpu_last: dict[int, float] = field(default_factory=dict)
    peak_bytes: int = 0

    def sample(
        self,
        processes: list[psutil.Process],
        proportional: bool,
        memory_too: bool = True,
        tree: bool = False,
    ) -> None:
        """CPU so far, and memory unless not `memory_too` (a server's proportional memory
        reads every process's page map: ~3 ms of CPU a process).

        With `tree`, `processes` is a server's parent and its children, counted as one: the
        parent's CPU, its exited children's (reaped) and its live children's whole lives.
        Counted per process from its first sample, PostgreSQL's autovacuum workers, forked
        and gone within seconds, would lose what they spent before they were first seen.
        """
        readings = _tree_cpu(processes) if tree else _own_cpu(processes)
        for pid, used in readings.items():
            self.cpu_start.setdefault(pid, used)
            self.cpu_last[pid] = used
        if not memory_too:
            return
        memory = 0
        for process in processes:
            with contextlib.suppress(psutil.Error):
                if proportional:
                    memory += process.memory_full_info().pss
                else:
                    memory += process.memory_info().rss
        self.peak_bytes = max(self.peak_bytes, memory)

    @property
    def cpu_seconds(self) -> float:
        return sum(last - self.cpu_start[pid] for pid, last in self.cpu_last.items())


def _own_cpu(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds each process has spent so far, by pid; one gone meanwhile is left out."""
    readings: dict[int, float] = {}
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            readings[process.pid] = times.user + times.system
    return readings


def _tree_cpu(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds the root (`processes[0]`, the rest its children) and every child it ever
    had have spent so far, as one reading under the root's pid: a child that exits moves its
    time into the root's children times once reaped (PostgreSQL's postmaster reaps at once).
    """
    if not processes:
        return {}
    root, children = processes[0], processes[1:]
    try:
        times = root.cpu_times()
    except psutil.Error:
        return {}
    used = times.user + times.system + times.children_user + times.children_system
    for child in children:
        with contextlib.suppress(psutil.Error):
            child_times = child.cpu_times()
            used += child_times.user + child_times.system
    return {root.pid: used}


def _machine_busy() -> float:
    """CPU seconds every core of the machine has spent busy so far."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _postgres_processes(cluster: Path) -> list[psutil.Process]:
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        postmaster = psutil.Process(int((cluster / "postmaster.pid").read_text().split()[0]))
        return [postmaster, *postmaster.children()]
    return []


def _nats_processes(store: Path) -> list[psutil.Process]:
    return [
        process
        for process in psutil.Process().children()
        if process.name() == "nats-server" and str(store) in " ".join(process.cmdline())
    ]


async def _watch_usage(
    watched: dict[str, Any], usage: dict[str, _Usage], stop: asyncio.Event
) -> None:
    """Sample every `_SAMPLE_SECONDS` until `stop`; values are processes or a finder of them."""
    while not stop.is_set():
        for name, target in watched.items():
            processes = target() if callable(target) else [target]
            usage.setdefault(name, _Usage()).sample(
                processes, proportional=callable(target), tree=name == "postgres"
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _SAMPLE_SECONDS)


@contextlib.asynccontextmanager
async def _services(
    env: dict[str, str], logs: Path
) -> AsyncIterator[tuple[str, dict[str, psutil.Process]]]:
    """`funnel migrate`, then the four services until each is ready; yields the webhook URL."""
    migrate = await asyncio.create_subprocess_exec(
        *funnel_command("migrate"), env=env, stdout=asyncio.subprocess.DEVNULL
    )
    if await migrate.wait() != 0:
        raise SystemExit("funnel migrate failed")
    layout = services(free_port())
    started: dict[str, asyncio.subprocess.Process] = {}
    try:
        for name, service in layout.items():
            with (logs / f"{name}.log").open("wb") as out:
                started[name] = await asyncio.create_subprocess_exec(
                    *service.argv, env=env | {"PORT": str(service.port)}, stdout=out, stderr=out
                )
        async with httpx.AsyncClient(timeout=2.0) as http:
            for name, service in layout.items():
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get(service.url("/health/ready"))).status_code == 200:
                            break
                    if started[name].returncode is not None:
                        raise SystemExit(f"{name} exited; see {logs / name}.log")
                    await asyncio.sleep(0.1)
        processes = {name: psutil.Process(process.pid) for name, process in started.items()}
        yield layout["gateway"].url("/webhook"), processes
    finally:
        for process in started.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        await asyncio.gather(*(process.wait() for process in started.values()))


# --- report ---------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(share * 1000) - 1]


def _rows(
    args: argparse.Namespace, load: _Load, result: dict[str, Any], usage: dict[str, _Usage]
) -> Iterator[tuple[str, str]]:
    offered = args.seconds
    pattern = (
        f"steady {args.rate:,}/s"
        if args.pattern == "steady"
        else f"publisher {args.min:,}..{args.max:,}"
    )
    made = "made before the run" if args.pregenerate else "made as sent"
    yield "pattern", f"{pattern} every 1 s for {offered} s, bodies {made}"
    yield "nats sync_interval", args.nats_sync if not args.given_nats else "given server (NATS_URL)"
    # A driver short of CPU draws its requests late: the load offered was then lighter.
    yield "requests sent over", f"{load.last_sent - load.first_sent + 1:.1f} s"
    yield (
        "requests",
        (
            f"{load.requests} sent, {len(load.latencies) - load.non_2xx} answered 202, "
            f"{load.non_2xx} non-2xx, {load.errors} failed"
        ),
    )
    yield (
        "events",
        f"{load.sent:,} valid sent, {load.accepted:,} accepted, {load.rejected} rejected",
    )
    yield "accepted/s (gateway)", f"{load.accepted / (load.last_answered - load.first_sent):,.0f}"
    yield "committed/s while offered", f"{result['committed_offered'] / offered:,.0f}"
    yield (
        "committed/s until drained",
        (
            f"{result['committed'] / result['drained_after']:,.0f} "
            f"(drained {result['drained_after']:.1f} s after the first request)"
        ),
    )
    latencies = load.latencies
    yield (
        "webhook latency p50/p99/max",
        (
            f"{_percentile(latencies, 0.5):.3f} / {_percentile(latencies, 0.99):.3f} / "
            f"{max(latencies, default=float('nan')):.3f} s"
        ),
    )
    yield (
        "lag answer->queryable p50/p99/max",
        (
            f"{_percentile(load.lags, 0.5):.2f} / {_percentile(load.lags, 0.99):.2f} / "
            f"{max(load.lags, default=float('nan')):.2f} s ({len(load.lags)} samples, "
            f"{len(load.pending)} never seen)"
        ),
    )
    yield "lag p99 by 30 s of load", _lag_by_phase(load, args.seconds)
    rows, summarized = result["rows"], result["summarized"]
    verdict = "OK" if rows == load.accepted == summarized else "MISMATCH"
    yield "rows == accepted", f"{rows:,} rows, {summarized:,} in summaries: {verdict}"
    seconds = result["drained_after"]
    for name, used in usage.items():
        yield (
            f"{name} CPU / peak memory",
            (
                f"{used.cpu_seconds:6.1f} s ({used.cpu_seconds / seconds:.0%} of a core)"
                f" / {used.peak_bytes / 2**20:,.0f} MB"
            ),
        )
    ours = sum(used.cpu_seconds for used in usage.values())
    busy = result["machine_busy"]
    yield "speed probe before / after", probes(*result["speed_probe"])
    yield (
        "machine CPU: all / not this run's",
        (
            f"{busy:6.1f} s ({busy / seconds:.0%} of a core) / {busy - ours:.1f} s"
            f" ({(busy - ours) / seconds:.0%} of a core)"
        ),
    )


def _lag_by_phase(load: _Load, seconds: int, phase: int = 30) -> str:
    """The lag p99 of the samples answered in each `phase` seconds: where the tail comes from."""
    parts = []
    for start in range(0, seconds, phase):
        lags = [lag for at, lag in load.lag_times if start <= at < start + phase]
        parts.append(f"{_percentile(lags, 0.99):.2f}")
    return " / ".join(parts) + " s"


def _print_table(rows: Iterator[tuple[str, str]]) -> None:
    lines = list(rows)
    width = max(len(name) for name, _ in lines)
    print(f"{'measure':<{width}} | value", flush=True)
    print(f"{'-' * width}-+-{'-' * 40}")
    for name, value in lines:
        print(f"{name:<{width}} | {value}")


# --- the run --------------------------------------------------------------------------------


async def _run(args: argparse.Namespace, scratch: Path) -> None:
    config_dir = find_config_dir()
    env_file = config_dir / "development.env" if config_dir is not None else None
    env = service_environment(env_file) | {
        "FUNNEL_NAMESPACE": f"e2e{uuid.uuid4().hex[:8]}",
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
        "HOST": "127.0.0.1",
    }
    probe_before = speed_probe()
    async with LocalServers(scratch, os.environ) as endpoints:
        env |= {"NATS_URL": endpoints.nats_url, "DATABASE_URL": endpoints.database_url}
        conn = await asyncpg.connect(endpoints.database_url)
        load, stop, usage = _Load(), asyncio.Event(), dict[str, _Usage]()
        try:
            logs = args.logs or scratch
            logs.mkdir(parents=True, exist_ok=True)
            async with _services(env, logs) as (url, processes):
                requests = await asyncio.to_thread(_requests, args)
                if args.pregenerate:
                    # Before anything is measured: the run then counts sending, not making.
                    requests = iter(await asyncio.to_thread(list, requests))
                baseline = await _committed(conn)
                rows_before = await conn.fetchval("SELECT count(*) FROM events")
                watched: dict[str, Any] = {
                    "driver": psutil.Process(),
                    **processes,
                    "nats": lambda: _nats_processes(scratch / "nats"),
                    "postgres": lambda: _postgres_processes(scratch / "postgres" / "data"),
                }
                watchers = [
                    asyncio.create_task(_watch_usage(watched, usage, stop)),
                    asyncio.create_task(_watch_lag(endpoints.database_url, load, stop)),
                ]
                machine_before = _machine_busy()
                await _drive(url, requests, load)
                committed_offered = await _committed(conn) - baseline
                print(f"load done; waiting for {load.accepted:,} events to be stored", flush=True)
                last, quiet_since = -1, time.perf_counter()
                while (now := await _committed(conn) - baseline) < load.accepted:
                    if now != last:
                        last, quiet_since = now, time.perf_counter()
                    elif time.perf_counter() - quiet_since > args.drain_timeout:
                        break
                    await asyncio.sleep(_POLL_SECONDS)
                drained_after = time.perf_counter() - load.first_sent
                machine_busy = _machine_busy() - machine_before
                stop.set()
                await asyncio.gather(*watchers)
            rows = await conn.fetchval("SELECT count(*) FROM events") - rows_before
            result = {
                "committed_offered": committed_offered,
                "committed": await _committed(conn) - baseline,
                "drained_after": drained_after,
                "machine_busy": machine_busy,
                "rows": rows,
                "summarized": await _committed(conn) - baseline,
            }
        finally:
            await conn.close()
    result["speed_probe"] = (probe_before, speed_probe())
    _print_table(_rows(args, load, result, usage))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pattern", choices=["publisher", "steady"], default="publisher")
    parser.add_argument("--rate", type=int, default=50_000, help="events a second (steady)")
    parser.add_argument("--min", type=int, default=1_000, help="fewest events a request")
    parser.add_argument("--max", type=int, default=50_000, help="most events a request")
    parser.add_argument("--seconds", type=int, default=120, help="seconds of load")
    parser.add_argument("--samples", type=int, default=20, help="ids polled per request")
    parser.add_argument(
        "--drain-timeout", type=float, default=60.0, help="give up after no progress"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pregenerate",
        action="store_true",
        help="make every request body before the load starts (the publisher's own CPU is "
        "then not taken from the services during the run)",
    )
    parser.add_argument("--logs", type=Path, help="keep the services' logs in this directory")
    parser.add_argument(
        "--nats-sync",
        default="always",
        help="embedded NATS's sync_interval: always (shipped), default, 1s (what fsync costs)",
    )
    args = parser.parse_args()
    args.given_nats = "NATS_URL" in os.environ
    # The driver stands in for the publisher, which runs elsewhere: it should take as little
    # of the services' CPU as it can (its GC walked every generated event, 8 us per event).
    tune_for_bulk_json()
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(server_scratch("funnel-e2e-"))
        if args.nats_sync != "always" and not args.given_nats:
            # The server `funnel up` would start, but for its sync_interval.
            config = server_config(args.nats_sync, scratch)
            nats = stack.enter_context(EmbeddedNats(scratch / "nats", config_file=config))
            os.environ["NATS_URL"] = nats.url
        try:
            uvloop.run(_run(args, scratch))
        except KeyboardInterrupt:
            sys.exit(130)


if __name__ == "__main__":
    main()
