"""Hours of the publisher's pattern through `funnel up`: does anything grow with time?

    .venv/bin/python -m bench.soak [--minutes 30] [--window 5] [--retention 5m]
                                   [--retention-size 4GB] [--min 1000] [--max 50000]
                                   [--pool 200000]

Runs `funnel up --no-publisher` on a fresh data dir (embedded NATS and PostgreSQL, the
services as its own subprocesses) with `EVENTS_RETENTION_TIME` set, and posts to its webhook
like the publisher for `--minutes`: every second a bare JSON array of N events, N uniform in
min..max, one corrupted event on ~10% of requests, never waiting for earlier answers. The
events come from `bench.event_pool`: `--pool` events made once by the emulator, sent again
under fresh event, user and campaign ids and the present time, at ~2.5 us an event where the
emulator takes ~13 (a third of a core at 25,000 a second, which the real publisher spends on
its own machine); `--pool 0` makes every event with the emulator as it is sent. The driver
still runs on the machine it measures: its CPU is printed with the others'.

Every `--window` minutes it prints one row: events offered, accepted (202) and stored per
second; the backlog (how many seconds the stored count trails the accepted one, at most); the
lag p99 from a webhook's answer until a sampled event of it is queryable; the speed probe's
seconds as the window began (`bench.timing`, in a process of its own; larger: a slower
machine) and the median of its CPU seconds, probed every minute (beside the load, wall time
reads the CPU left over, CPU time how fast a core works); PostgreSQL's CPU per stored event,
the WAL bytes and the full-page images (per thousand events) it wrote (those rise after each
checkpoint), and the services' CPU per event
(the gateway's per accepted event plus the collectors' per stored one: a control, since
theirs depends on the machine's speed at the time, not on what is stored); bytes on disk per
store at the window's end (raw partitions, summaries, WAL, the NATS store, the whole data
dir); the slowest answer of each report over everything stored so far (asked every half
minute, under the load); and each process's peak memory (read every 5 s). Then each process's
CPU per stored event over the whole run, and PostgreSQL's in the last window against the
first, as measured and as a share of the services', beside the probe's CPU seconds in those
windows. At the end, once the backlog has drained:
every accepted event stored (nothing lost), the summaries counting each raw row once (raw rows
kept + dropped by retention == stored: nothing doubled), and stored beyond accepted no more
than the events of requests answered 503 (a request refused while the stream filled may have
had messages stored before the refusal).
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import asyncpg
import httpx
import psutil
import uvloop

from bench.e2e import _CORRUPT_RATIO, _SEEN, EventKey, _body, _percentile, _Usage
from bench.event_pool import EventPool
from bench.timing import speed_probed
from funnel.db import footprint
from funnel.gc_tuning import tune_for_bulk_json
from funnel.local.addresses import DATABASE_NAME
from funnel.local.ports import is_free
from funnel.local.postgres_user import server_scratch

_SAMPLES_PER_REQUEST: Final = 5
_COLLECTORS: Final = ("fb-collector", "ttk-collector")
_DRIVER: Final = psutil.Process()
_POLL_SECONDS: Final = 0.2
_SAMPLE_SECONDS: Final = 1.0
_MEMORY_EVERY: Final = 5  # samples


@dataclass(frozen=True, slots=True)
class _Counters:
    """What only grows during a run, read at one moment: a window is the difference of two."""

    stored: int = 0
    postgres_cpu: float = 0.0
    # the gateway's and the collectors' CPU: a control for PostgreSQL's, since their cost per
    # event does not depend on what is stored, only on how fast the machine is at the time
    gateway_cpu: float = 0.0
    collectors_cpu: float = 0.0
    # PostgreSQL's WAL: bytes, and full-page images among its records
    wal_bytes: int = 0
    full_pages: int = 0


@dataclass(slots=True)
class _Window:
    """What one window of the run saw."""

    offered: int = 0
    accepted: int = 0
    non_2xx: int = 0
    errors: int = 0
    start: _Counters = field(default_factory=_Counters)
    end: _Counters = field(default_factory=_Counters)
    backlog_max: float = 0.0
    lags: list[float] = field(default_factory=list)
    # the speed probe's wall seconds, taken as the window began (larger: a slower machine)
    speed: float = float("nan")
    # the probe's CPU seconds, taken every minute: how fast a core works beside the load
    probe_cpu: list[float] = field(default_factory=list)
    peaks: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)
    # report -> seconds each whole-history request of it took, under the load
    reports: dict[str, list[float]] = field(default_factory=dict)

    @property
    def stored(self) -> int:
        return self.end.stored - self.start.stored

    def postgres_per_event(self) -> float:
        return _per(self.end.postgres_cpu - self.start.postgres_cpu, self.stored)

    def probe_cpu_median(self) -> float:
        return statistics.median(self.probe_cpu) if self.probe_cpu else float("nan")

    def services_per_event(self) -> float:
        """The gateway's CPU per accepted event plus the collectors' per stored one: while
        a backlog grows, the gateway answers more events than the collectors store."""
        gateway = _per(self.end.gateway_cpu - self.start.gateway_cpu, self.accepted)
        return gateway + _per(self.end.collectors_cpu - self.start.collectors_cpu, self.stored)


@dataclass(slots=True)
class _Run:
    windows: list[_Window]
    window_seconds: float
    started: float = 0.0
    accepted_total: int = 0
    # events of requests answered other than 202: some may be stored all the same (below)
    refused_total: int = 0
    # (moment, accepted so far): the backlog is how long ago the stored count was accepted.
    accepted_at: list[tuple[float, int]] = field(default_factory=list)
    # a sampled event -> when its request was answered
    pending: dict[EventKey, float] = field(default_factory=dict)
    # role -> its CPU since the load began (the driver too)
    cpu: dict[str, _Usage] = field(default_factory=dict)
    probes: set[asyncio.Task[None]] = field(default_factory=set)

    def window(self, moment: float) -> _Window:
        index = min(int((moment - self.started) / self.window_seconds), len(self.windows) - 1)
        return self.windows[max(index, 0)]


# --- the system -----------------------------------------------------------------------------


@contextlib.contextmanager
def _funnel_up(data_dir: Path, port_base: int, env: dict[str, str]) -> Iterator[psutil.Process]:
    """`funnel up --no-publisher` until the block ends, then SIGTERM and wait."""
    log = (data_dir.parent / "funnel-up.log").open("wb")
    command = [
        str(Path(sys.executable).with_name("funnel")), "up", "--no-publisher",
        "--data-dir", str(data_dir), "--port-base", str(port_base),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield psutil.Process(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def _ready(url: str, process: psutil.Process, within: float = 300) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if not process.is_running():
                raise SystemExit("funnel up exited; see funnel-up.log")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.5)
    raise SystemExit("funnel up was not ready in time")


def _processes(root: psutil.Process, data_dir: Path) -> dict[str, list[psutil.Process]]:
    """The run's processes by role: postgres (all its processes), nats, each service."""
    found: dict[str, list[psutil.Process]] = {"postgres": _postgres(data_dir)}
    for process in root.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            line = " ".join(process.cmdline())
            name = process.name()
            if name == "nats-server":
                role = "nats"
            elif " gateway" in line:
                role = "gateway"
            elif "--source facebook" in line:
                role = "fb-collector"
            elif "--source tiktok" in line:
                role = "ttk-collector"
            elif " reporter" in line:
                role = "reporter"
            else:
                continue
            found.setdefault(role, []).append(process)
    return found


def _postgres(data_dir: Path) -> list[psutil.Process]:
    # The embedded server runs detached from `funnel up`: found by its cluster's pid file.
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        pid = int((data_dir / "postgres" / "data" / "postmaster.pid").read_text().split()[0])
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children()]
    return []


def _free_port_base() -> int:
    """A gateway port with the three after it free too (the other services take them)."""
    for _ in range(200):
        base = random.randrange(20_000, 40_000)
        if all(is_free(base + offset) for offset in range(4)):
            return base
    raise SystemExit("no four consecutive free ports")


def _dir_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).lstat().st_size
    return total


async def _store_bytes(conn: asyncpg.Connection, data_dir: Path) -> dict[str, int]:
    held = await footprint(conn)
    wal = await conn.fetchval("SELECT coalesce(sum(size), 0)::bigint FROM pg_ls_waldir()")
    return {
        "raw": held.raw_bytes,
        "summaries": held.summary_bytes,
        "wal": wal,
        "nats": _dir_bytes(data_dir / "nats"),
        "data dir": _dir_bytes(data_dir),
    }


async def _counters(conn: asyncpg.Connection, cpu: dict[str, _Usage]) -> _Counters:
    # A page's first change after a checkpoint writes the whole page to the WAL: how many of
    # those a window wrote tells whether checkpoints explain a change in its CPU per event.
    wal = await conn.fetchrow("SELECT wal_bytes::bigint, wal_fpi FROM pg_stat_wal")
    assert wal is not None
    return _Counters(
        stored=await _stored(conn),
        postgres_cpu=cpu["postgres"].cpu_seconds if "postgres" in cpu else 0.0,
        gateway_cpu=cpu["gateway"].cpu_seconds if "gateway" in cpu else 0.0,
        collectors_cpu=sum(cpu[role].cpu_seconds for role in _COLLECTORS if role in cpu),
        wal_bytes=wal["wal_bytes"],
        full_pages=wal["wal_fpi"],
    )


_PROBE: Final = "from bench.timing import probe_seconds; print(*probe_seconds())"
_PROBE_SECONDS: Final = 60.0


async def _probe_speed(window: _Window, *, wall_too: bool) -> None:
    """The speed probe in a process of its own (in the driver's it would wait on the
    driver's own work): its CPU seconds, and with `wall_too` its wall seconds."""
    probe = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _PROBE, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await probe.communicate()
    with contextlib.suppress(ValueError):
        wall, cpu = (float(word) for word in output.split())
        window.probe_cpu.append(cpu)
        if wall_too:
            window.speed = wall


async def _stored(conn: asyncpg.Connection) -> int:
    value = await conn.fetchval(
        "SELECT coalesce(sum(events), 0) FROM event_counts WHERE grain = 'day'"
    )
    return int(value)


# --- load -----------------------------------------------------------------------------------


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, count: int, picked: Any, run: _Run
) -> None:
    sent = time.perf_counter()
    window = run.window(sent)
    try:
        response = await client.post(
            url, content=body, headers={"Content-Type": "application/json"}
        )
    except httpx.HTTPError:
        window.errors += 1
        run.refused_total += count
        return
    answered = time.perf_counter()
    if response.status_code != 202:
        window.non_2xx += 1
        run.refused_total += count
        return
    accepted = response.json()["accepted"]
    window.accepted += accepted
    run.accepted_total += accepted
    run.accepted_at.append((answered, run.accepted_total))
    for key in picked:
        run.pending[key] = answered


async def _drive(args: argparse.Namespace, url: str, run: _Run, pool: EventPool | None) -> None:
    rng = random.Random(args.seed)
    tasks: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits) as client:
        for tick in range(int(args.minutes * 60)):
            count = rng.randint(args.min, args.max)
            if pool is None:
                body, picked = await asyncio.to_thread(_body, rng, count, _SAMPLES_PER_REQUEST)
            else:
                body, picked = await asyncio.to_thread(
                    pool.body, count, _CORRUPT_RATIO, _SAMPLES_PER_REQUEST
                )
            run.window(time.perf_counter()).offered += count
            task = asyncio.create_task(_post(client, url, body, count, picked, run))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await asyncio.sleep(max(0.0, run.started + tick + 1 - time.perf_counter()))
        await asyncio.gather(*tasks)


async def _watch(
    conn: asyncpg.Connection,
    root: psutil.Process,
    data_dir: Path,
    run: _Run,
    stop: asyncio.Event,
) -> None:
    """Every second: stored count and backlog, lags of the samples and CPU; memory every
    `_MEMORY_EVERY` seconds."""
    total = run.cpu  # CPU since the start
    peaks: dict[str, _Usage] = {}  # memory since the window's start
    current = run.window(time.perf_counter())
    current.start = await _counters(conn, total)
    run.probes.add(asyncio.create_task(_probe_speed(current, wall_too=True)))
    probed_at = time.perf_counter()
    for tick in itertools.count():
        if stop.is_set():
            break
        now = time.perf_counter()
        window = run.window(now)
        # Memory less often: reading it costs the machine more than the CPU times do.
        memory_too = tick % _MEMORY_EVERY == 0
        for role, processes in (_processes(root, data_dir) | {"driver": [_DRIVER]}).items():
            postgres = role == "postgres"
            total.setdefault(role, _Usage()).sample(
                processes, postgres, memory_too=False, tree=postgres
            )
            if memory_too:
                peaks.setdefault(role, _Usage()).sample(processes, proportional=postgres)
        counters = await _counters(conn, total)
        if window is not current:
            current.bytes = await _store_bytes(conn, data_dir)
            window.start = counters
            run.probes.add(asyncio.create_task(_probe_speed(window, wall_too=True)))
            current, peaks, probed_at = window, {}, now
        elif now - probed_at >= _PROBE_SECONDS:
            run.probes.add(asyncio.create_task(_probe_speed(current, wall_too=False)))
            probed_at = now
        current.end = counters
        for role, used in peaks.items():
            current.peaks[role] = max(current.peaks.get(role, 0), used.peak_bytes)
        behind = [at for at, total in run.accepted_at if total > counters.stored]
        current.backlog_max = max(current.backlog_max, now - behind[0] if behind else 0.0)
        await _poll_samples(conn, run)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _SAMPLE_SECONDS)
    current.bytes = await _store_bytes(conn, data_dir)
    await asyncio.gather(*run.probes)


_REPORTS: Final = ("events", "revenue", "demographics")
_REPORT_SECONDS: Final = 30.0
# The stored count stands still this many seconds once the load is done: the collectors are idle.
_SETTLED_SECONDS: Final = 15


async def _probe_reports(reporter: str, run: _Run, stop: asyncio.Event) -> None:
    """Every half minute, each report over everything stored so far, timed."""
    async with httpx.AsyncClient(base_url=reporter, timeout=60) as http:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _REPORT_SECONDS)
            for report in _REPORTS:
                started = time.perf_counter()
                response = await http.get(f"/reports/{report}")
                took = time.perf_counter() - started
                if response.status_code == 200:
                    run.window(started).reports.setdefault(report, []).append(took)


async def _poll_samples(conn: asyncpg.Connection, run: _Run) -> None:
    if not run.pending:
        return
    keys = list(run.pending)[:200]
    seen = await conn.fetch(_SEEN, [key[0] for key in keys], [key[1] for key in keys])
    now = time.perf_counter()
    for record in seen:
        answered = run.pending.pop(
            (record["occurred_at"], record["event_key"], record["source"]), None
        )
        if answered is not None:
            run.window(answered).lags.append(now - answered)


# --- report ---------------------------------------------------------------------------------


def _report_maxima(window: _Window) -> str:
    return " / ".join(
        f"{max(window.reports[report]):.2f}" if window.reports.get(report) else "-"
        for report in _REPORTS
    )


def _per(amount: float, events: float) -> float:
    return amount / events if events else float("nan")


def _print(run: _Run, args: argparse.Namespace) -> None:
    seconds = run.window_seconds
    head = (
        f"{'minutes':>8} | {'offered/s':>9} | {'accepted/s':>10} | {'stored/s':>8} | "
        f"{'backlog':>7} | {'lag p99':>7} | {'speed s':>7} | {'cpu s':>5} | "
        f"{'PG us/ev':>8} | {'svc us/ev':>9} | "
        f"{'WAL B/ev':>8} | {'FPI/kev':>7} | "
        f"{'raw MB':>7} | {'sum MB':>6} | "
        f"{'WAL MB':>6} | {'NATS MB':>7} | {'dir MB':>7} | reports max s (ev/rev/demo) | peak MB"
    )
    print(head)
    print("-" * len(head))
    for number, w in enumerate(run.windows):
        stored = w.stored
        mb = {name: value / 2**20 for name, value in w.bytes.items()}
        peaks = " ".join(f"{role}={peak / 2**20:.0f}" for role, peak in sorted(w.peaks.items()))
        print(
            f"{number * args.window:>3}-{(number + 1) * args.window:<4} | "
            f"{w.offered / seconds:>9,.0f} | {w.accepted / seconds:>10,.0f} | "
            f"{stored / seconds:>8,.0f} | {w.backlog_max:>6.1f}s | "
            f"{_percentile(w.lags, 0.99):>6.2f}s | "
            f"{w.speed:>7.2f} | {w.probe_cpu_median():>5.3f} | "
            f"{w.postgres_per_event() * 1e6:>8.1f} | "
            f"{w.services_per_event() * 1e6:>9.1f} | "
            f"{_per(w.end.wal_bytes - w.start.wal_bytes, stored):>8.0f} | "
            f"{_per(w.end.full_pages - w.start.full_pages, stored / 1000):>7.1f} | "
            f"{mb.get('raw', 0):>7,.0f} | {mb.get('summaries', 0):>6,.0f} | "
            f"{mb.get('wal', 0):>6,.0f} | {mb.get('nats', 0):>7,.0f} | "
            f"{mb.get('data dir', 0):>7,.0f} | {_report_maxima(w):<27} | {peaks}"
        )
        if w.non_2xx or w.errors:
            print(f"          ({w.non_2xx} requests answered non-2xx, {w.errors} failed)")
    stored = sum(w.stored for w in run.windows)
    if stored:
        print(
            "CPU per stored event, whole run: "
            + ", ".join(
                f"{role} {usage.cpu_seconds * 1e6 / stored:.1f} us"
                for role, usage in sorted(run.cpu.items(), key=lambda item: -item[1].cpu_seconds)
            )
        )
    if len(run.windows) > 1:
        print(_last_against_first(run.windows[0], run.windows[-1]))


def _last_against_first(first: _Window, last: _Window) -> str:
    """PostgreSQL's CPU per event in the last window against the first, as measured and
    against the services' in the same windows: a machine slowing for everyone moves the first
    figure, only PostgreSQL costing more moves the second."""

    def per_event(window: _Window) -> tuple[float, float]:
        postgres = window.postgres_per_event()
        return postgres, _per(postgres, window.services_per_event())

    (postgres_first, ratio_first), (postgres_last, ratio_last) = per_event(first), per_event(last)
    probe_first, probe_last = first.probe_cpu_median(), last.probe_cpu_median()
    return (
        "PostgreSQL CPU per event, last window against the first: "
        f"{(postgres_last / postgres_first - 1) * 100:+.1f}%; as a share of the services' "
        f"({ratio_first:.3f} -> {ratio_last:.3f}): {(ratio_last / ratio_first - 1) * 100:+.1f}%"
        f"; the probe's CPU seconds meanwhile ({probe_first:.3f} -> {probe_last:.3f}): "
        f"{(probe_last / probe_first - 1) * 100:+.1f}%"
    )


async def _run(args: argparse.Namespace, scratch: Path) -> None:
    data_dir = scratch / "data"
    port_base = _free_port_base()
    env = {
        **os.environ,
        "EVENTS_RETENTION_TIME": args.retention,
        "EVENTS_RETENTION_SIZE": args.retention_size,
        "LOG_FORMAT": "json",
    }
    env.pop("NATS_URL", None)
    env.pop("DATABASE_URL", None)
    windows = int(args.minutes / args.window + 0.999)
    pool = EventPool(random.Random(args.seed), args.pool) if args.pool else None
    run = _Run([_Window() for _ in range(windows)], args.window * 60.0)
    with _funnel_up(data_dir, port_base, env) as root:
        await _ready(f"http://127.0.0.1:{port_base}/health/ready", root)
        await _ready(f"http://127.0.0.1:{port_base + 2}/health/ready", root)
        ports = json.loads((data_dir / "ports.json").read_text())
        database = f"postgresql://postgres@127.0.0.1:{ports['postgres']}/{DATABASE_NAME}"
        # The watcher has a connection of its own: one connection runs one query at a time.
        conn, watching = await asyncpg.connect(database), await asyncpg.connect(database)
        try:
            baseline = await _stored(conn)
            stop, load_done = asyncio.Event(), asyncio.Event()
            run.started = time.perf_counter()
            watcher = asyncio.create_task(_watch(watching, root, data_dir, run, stop))
            probe = asyncio.create_task(
                _probe_reports(f"http://127.0.0.1:{port_base + 3}", run, load_done)
            )
            await _drive(args, f"http://127.0.0.1:{port_base}/webhook", run, pool)
            load_done.set()
            await probe
            print(f"load done; waiting for {run.accepted_total:,} events to be stored", flush=True)
            deadline = time.monotonic() + args.drain_timeout
            # Until every accepted event is stored and the count has stood still for a while:
            # a refused request may have had messages published before the refusal.
            last, still = -1, 0
            while time.monotonic() < deadline and still < _SETTLED_SECONDS:
                stored = await _stored(conn) - baseline
                still = still + 1 if stored == last and stored >= run.accepted_total else 0
                last = stored
                await asyncio.sleep(1)
            stop.set()
            await watcher
            stored = await _stored(conn) - baseline
            kept = await conn.fetchval("SELECT coalesce(sum(events), 0) FROM raw_arrivals")
            dropped = await conn.fetchval("SELECT coalesce(sum(events), 0) FROM raw_gaps")
        finally:
            await conn.close()
            await watching.close()
    _print(run, args)
    # Nothing lost: every accepted event is stored. Nothing doubled: the summaries count each
    # raw row once. A request answered 503 may have had some messages stored before the
    # stream refused the rest; its retry would store those once (the key), so stored may
    # exceed accepted by at most the refused requests' events.
    beyond = stored - run.accepted_total
    fits = run.accepted_total <= stored <= run.accepted_total + run.refused_total
    verdict = "OK" if fits and stored == kept + dropped else "MISMATCH"
    print(
        f"accepted {run.accepted_total:,}; stored (summaries) {stored:,}; raw kept {kept:,}"
        f" + dropped {dropped:,} = {kept + dropped:,}; stored beyond accepted {beyond:,} of"
        f" {run.refused_total:,} events in refused requests: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--window", type=float, default=5, help="minutes a row")
    parser.add_argument("--retention", default="5m", help="EVENTS_RETENTION_TIME")
    parser.add_argument("--retention-size", default="20GB", help="EVENTS_RETENTION_SIZE")
    parser.add_argument("--min", type=int, default=1_000)
    parser.add_argument("--max", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pool",
        type=int,
        default=200_000,
        help="events the emulator makes once and every request reuses under new ids and "
        "times (bench.event_pool); 0: the emulator makes every event as it is sent",
    )
    parser.add_argument("--drain-timeout", type=float, default=600)
    args = parser.parse_args()
    tune_for_bulk_json()
    with speed_probed(), server_scratch("funnel-soak-") as scratch:
        try:
            uvloop.run(_run(args, scratch))
        except KeyboardInterrupt:
            sys.exit(130)


if __name__ == "__main__":
    main()
