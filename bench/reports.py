"""Reports over 10,000,000 stored events: latency per endpoint; the ingest cost of summaries.

    .venv/bin/python -m bench.reports [--events 10000000] [--hours 10] [--requests 200] [--keep]
                                      [--drop-hours 0]

1. load: the events are generated inside PostgreSQL (`INSERT ... SELECT FROM generate_series`,
   the fastest bulk path, `bench.report_data`), spread evenly over `--hours` (1,000,000 an
   hour by default), shaped like the emulator's: a new user per event, 249 countries, cities
   drawn apart from countries (~34,700 distinct per 100,000 events), nearly unique campaigns
   (5% reuse one of 1,000); then `rebuild_summaries` and `VACUUM ANALYZE`.
2. reports: each endpoint called through the real app (in-process ASGI) with random filters
   and ranges from one second to the whole span (ends at random milliseconds, some open).
   Prints p50/p95/max per endpoint, and for demographics per range length too (under a
   minute, up to an hour, longer), so the long ranges' figures show.
3. ingest: `store_events` of emulator events of one source in transactions of 1,000 and of
   10,000, with and without `update_summaries` (alternating): the cost of the summaries.
4. with `--drop-hours H`: retention drops the raw events of the first H hours, and each
   report is timed again on ranges crossing that boundary (up to two hours before it, any
   length after): answered from summaries where raw rows are gone, saying what they cover.

Without `DATABASE_URL` an embedded server is started in a temporary directory. The database
`funnel_bench_reports` is dropped at the end unless `--keep` (a second run with `--keep`
reuses a loaded one). Figures move with whatever else the machine is doing.
"""

import argparse
import asyncio
import contextlib
import math
import random
import statistics
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import asyncpg
import httpx

import funnel.db.ingest
from bench.postgres import postgres_server, with_database
from bench.report_data import CAMPAIGN_POOL, generate_events
from funnel.db import run_migrations
from funnel.db.ingest import store_events
from funnel.db.partitions import batches_of, create_partitions
from funnel.db.retention import RetentionPolicy, maintain
from funnel.db.rows import wire_row
from funnel.db.summaries import SUMMARY_TABLES, rebuild_summaries, update_summaries
from funnel.events.source import SOURCES, Source
from funnel.observability import Readiness
from funnel.publisher import generate_batch
from funnel.reporter import ReporterSettings, create_app
from funnel.reporter.catalog import EVENT_KINDS

_DATABASE = "funnel_bench_reports"
START = datetime(2026, 11, 20, tzinfo=UTC)


async def _load(url: str, events: int, hours: float) -> None:
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT count(*) FROM event_counts WHERE grain = 'day'"):
            stored = await conn.fetchval("SELECT count(*) FROM events")
            print(f"reusing the loaded database ({stored:,} events)")
            return
        started = time.perf_counter()
        hourly = [START + timedelta(hours=k) for k in range(math.ceil(hours) + 1)]
        await create_partitions(conn, hourly, timedelta(hours=1))
        await generate_events(conn, events, START, timedelta(hours=hours))
        summarizing = time.perf_counter()
        async with conn.transaction():
            await rebuild_summaries(conn)
        print(f"rebuild_summaries: {time.perf_counter() - summarizing:.0f} s")
        await conn.execute("VACUUM ANALYZE")
        for table in SUMMARY_TABLES:
            held = await conn.fetchval(f"SELECT count(*) FROM {table}")
            print(f"  {table:<20} {held:>11,} rows ({held / events:.4f} a stored event)")
        print(f"loaded in {time.perf_counter() - started:.0f} s")
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def _reporter(url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ReporterSettings(database_url=url, log_level="WARNING"), Readiness())
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://reporter") as client:
            yield client


def _range(rng: random.Random, span: timedelta, length: timedelta | None = None) -> dict[str, str]:
    """A random range inside the data; log-uniform length from 1 s to the span, ms ends."""
    if length is None:
        if rng.random() < 0.1:
            return {} if rng.random() < 0.5 else {"from": (START + span / 2).isoformat()}
        length = timedelta(seconds=10 ** rng.uniform(0, math.log10(span.total_seconds())))
    offset = timedelta(milliseconds=rng.randrange(int((span - length).total_seconds() * 1000) + 1))
    start = START + offset
    return {"from": start.isoformat(), "to": (start + length).isoformat()}


def _events_params(rng: random.Random, span: timedelta) -> dict[str, str]:
    params = _range(rng, span)
    source, stage, kind = rng.choice(EVENT_KINDS)
    chosen = {"source": source, "funnelStage": stage, "eventType": kind}
    params |= {name: value for name, value in chosen.items() if rng.random() < 0.3}
    if rng.random() < 0.3:
        params["interval"] = rng.choice(["minute", "hour", "day"])
    return params


def _revenue_params(rng: random.Random, span: timedelta) -> dict[str, str]:
    params = _range(rng, span)
    if source := rng.choice([None, None, "facebook", "tiktok"]):
        params["source"] = source
    if rng.random() < 0.1:
        params["campaignId"] = rng.choice(CAMPAIGN_POOL)
    return params


def _demographics_params(rng: random.Random, span: timedelta) -> dict[str, str]:
    params = _range(rng, span)
    if source := rng.choice([None, None, "facebook", "tiktok"]):
        params["source"] = source
    return params


# Range lengths the demographics figures are also given for: (label, shortest), ascending.
_BANDS: Final = (
    ("  < 1 min", timedelta()),
    ("  1 min-1 h", timedelta(minutes=1)),
    ("  1 h-whole", timedelta(hours=1)),
)


def _band(params: dict[str, str], span: timedelta) -> str:
    """The band of a range's length; an open end counts to the end of the data."""
    start = datetime.fromisoformat(params["from"]) if "from" in params else START
    end = datetime.fromisoformat(params["to"]) if "to" in params else START + span
    return next(label for label, shortest in reversed(_BANDS) if end - start >= shortest)


def _print_figures(label: str, durations: list[float]) -> None:
    durations = sorted(durations)
    if not durations:
        print(f"{label:<22} n=0")
        return
    p95 = durations[int(0.95 * (len(durations) - 1))]
    print(
        f"{label:<22} n={len(durations):<4} p50={statistics.median(durations):7.1f} ms"
        f"  p95={p95:7.1f} ms  max={durations[-1]:7.1f} ms"
    )


async def _time(
    client: httpx.AsyncClient,
    path: str,
    make: Callable[[random.Random, timedelta], dict[str, str]],
    requests: int,
    span: timedelta,
    *,
    by_band: bool = False,
    label: str = "",
) -> None:
    """Time `requests` calls of `path`; with `by_band`, also per band of range length."""
    rng = random.Random(path)
    durations: defaultdict[str, list[float]] = defaultdict(list)
    for _ in range(requests):
        params = make(rng, span)
        started = time.perf_counter()
        response = await client.get(path, params=params)
        if response.status_code == 400:
            continue
        took = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params}: {response.status_code} {response.text}")
        durations[path].append(took)
        if by_band:
            durations[_band(params, span)].append(took)
    _print_figures(f"{path} {label}".rstrip(), durations[path])
    for label, _ in _BANDS if by_band else ():
        _print_figures(label, durations[label])


def _across(
    make: Callable[[random.Random, timedelta], dict[str, str]], boundary: datetime
) -> Callable[[random.Random, timedelta], dict[str, str]]:
    """`make`'s parameters over a range crossing `boundary`: from up to two hours before it
    to anywhere after it, each side log-uniform from one second."""

    def crossing(rng: random.Random, span: timedelta) -> dict[str, str]:
        params = make(rng, span)
        before = timedelta(seconds=10 ** rng.uniform(0, math.log10(7200)))
        later = (START + span - boundary).total_seconds()
        after = timedelta(seconds=10 ** rng.uniform(0, math.log10(max(later, 1.0))))
        return params | {
            "from": (boundary - before).isoformat(),
            "to": (boundary + after).isoformat(),
        }

    return crossing


# What `store_events` records and a bulk load does not: rows per partition and source, which
# retention reads to know what a dropped partition held.
_COUNT_ARRIVALS: Final = """
    INSERT INTO raw_arrivals (partition, source, events, last_received_at)
    SELECT tableoid::regclass::text, source, count(*), now() FROM events GROUP BY 1, 2
    ON CONFLICT DO NOTHING
"""


async def _raw_bytes(conn: asyncpg.Connection, partitions: list[str]) -> int:
    """Bytes of the `events` partitions named and of their raw batches."""
    tables = [table for name in partitions for table in (name, batches_of(name))]
    held: int = await conn.fetchval(
        "SELECT coalesce(sum(pg_total_relation_size(t::regclass)), 0)::bigint"
        " FROM unnest($1::text[]) AS t",
        tables,
    )
    return held


async def _drop_oldest(url: str, hours: float) -> datetime:
    """Retention drops the raw partitions of the first `hours` (by a size bound the rest fits
    in, as a full disk would); return where the raw events kept now start."""
    boundary = START + timedelta(hours=hours)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(_COUNT_ARRIVALS)
        # A first round makes the partitions ahead, so the sizes below include them.
        unbounded = RetentionPolicy(timedelta(days=3650), None, timedelta(hours=1))
        await maintain(conn, unbounded, datetime.now(UTC))
        partitions = await conn.fetch("SELECT name, starts FROM raw_partitions")
        before = [row["name"] for row in partitions if row["starts"] < boundary]
        total = await _raw_bytes(conn, [row["name"] for row in partitions])
        kept = total - await _raw_bytes(conn, before)
        policy = RetentionPolicy(unbounded.time, kept, unbounded.width)
        dropped = await maintain(conn, policy, datetime.now(UTC))
        # Where the kept raw events start: later than asked when more had to go to fit.
        boundary = await conn.fetchval("SELECT max(ends) FROM raw_gaps") or boundary
    finally:
        await conn.close()
    events = sum(partition.events for partition in dropped)
    print(f"retention dropped {len(dropped)} partitions ({events:,} events) before {boundary}")
    return boundary


async def _ingest(url: str) -> None:
    """Transactions of 1,000 and of 10,000 emulator events of one source, stored with and
    without the summaries' upkeep (alternating, after a warm-up): the median per 1,000."""
    conn = await asyncpg.connect(url)
    rng = random.Random()  # fresh event ids on every run: all of them are new rows

    async def skip(*_args: object) -> None:
        return None

    async def store(source: Source, size: int) -> float:
        events = generate_batch(rng, size, source)
        rows = [wire_row(event) for event in events]
        started = time.perf_counter()
        async with conn.transaction():
            await store_events(conn, rows)
        return (time.perf_counter() - started) * 1000 * 1000 / size

    try:
        await _rows_written(conn, store)
        for source in SOURCES:
            for size in (1000, 10_000):
                took: dict[str, list[float]] = {"without": [], "with summaries": []}
                for round_ in range(4):
                    for label, upkeep in (("without", skip), ("with summaries", update_summaries)):
                        setattr(funnel.db.ingest, "update_summaries", upkeep)  # noqa: B010 - for the comparison
                        elapsed = await store(source, size)
                        if round_:
                            took[label].append(elapsed)
                without, with_ = (statistics.median(took[label]) for label in took)
                print(
                    f"store_events {source:<8} {size:>6,} events/transaction: {without:5.1f} ms"
                    f" per 1,000 without summaries, {with_:5.1f} ms with (+{with_ - without:.1f})"
                )
    finally:
        setattr(funnel.db.ingest, "update_summaries", update_summaries)  # noqa: B010
        await conn.close()


_WRITES = """
    SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS written FROM pg_stat_user_tables
    WHERE relname = ANY($1::text[])
"""


async def _rows_written(conn: asyncpg.Connection, store: Callable[[Source, int], Any]) -> None:
    """Summary rows the write path inserts, updates or deletes per stored event, per table,
    over transactions of 8,000 events of each source (a collector's usual fetch)."""
    stats = "SELECT pg_stat_force_next_flush()"
    await conn.execute(stats)
    before = {row["relname"]: row["written"] for row in await conn.fetch(_WRITES, SUMMARY_TABLES)}
    stored = 0
    for _ in range(5):
        for source in SOURCES:
            await store(source, 8_000)
            stored += 8_000
    await conn.execute(stats)
    await asyncio.sleep(0.6)  # the statistics collector's flush
    after = {row["relname"]: row["written"] for row in await conn.fetch(_WRITES, SUMMARY_TABLES)}
    total = 0.0
    for table in SUMMARY_TABLES:
        per_event = (after[table] - before[table]) / stored
        total += per_event
        print(f"summary rows written per stored event: {table:<20} {per_event:.4f}")
    print(f"summary rows written per stored event: {'all summaries':<20} {total:.4f}")


async def _main(args: argparse.Namespace) -> None:
    with postgres_server("funnel-reports-") as server_url:
        admin = await asyncpg.connect(with_database(server_url, "postgres"))
        try:
            exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", _DATABASE)
            if not exists:
                await admin.execute(f'CREATE DATABASE "{_DATABASE}"')
            url = with_database(server_url, _DATABASE)
            await run_migrations(url)
            await _load(url, args.events, args.hours)
            span = timedelta(hours=args.hours)
            async with _reporter(url) as client:
                await _time(client, "/reports/events", _events_params, args.requests, span)
                await _time(client, "/reports/revenue", _revenue_params, args.requests, span)
                await _time(
                    client,
                    "/reports/demographics",
                    _demographics_params,
                    args.requests // 2,
                    span,
                    by_band=True,
                )
            await _ingest(url)
            if args.drop_hours:
                boundary = await _drop_oldest(url, args.drop_hours)
                async with _reporter(url) as client:
                    for path, make in (
                        ("/reports/events", _events_params),
                        ("/reports/revenue", _revenue_params),
                        ("/reports/demographics", _demographics_params),
                    ):
                        crossing = _across(make, boundary)
                        await _time(
                            client, path, crossing, args.requests // 2, span, label="across"
                        )
            if not args.keep:
                await admin.execute(f'DROP DATABASE "{_DATABASE}" WITH (FORCE)')
        finally:
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--hours", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the loaded database")
    parser.add_argument(
        "--drop-hours",
        type=float,
        default=0,
        help="at the end, retention drops the raw events of the first hours; then every "
        "report is timed on ranges across that boundary (a kept database keeps the gap)",
    )
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
