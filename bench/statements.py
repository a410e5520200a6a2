"""PostgreSQL's CPU per stored event, statement by statement, at given transaction sizes.

    .venv/bin/python -m bench.statements [--fill 200000] [--events 80000]
                                          [--sizes 1000,2000,10000]
                                          [--history-hours 1] [--window 1h]
                                          [--no-user-filter]

One connection fills a scratch database with `--fill` events through `store_events`, then
stores `--events` more at each transaction size, running the steps of `store_events` and
`update_summaries` one statement at a time (Facebook and TikTok batches alternate). For
each step it prints the CPU its backend process spent per event: the server must run on
this machine, so that the backend's CPU can be read. Without `DATABASE_URL` an embedded
server is started (fsync on, as `funnel up`). One writer, no other load: under `bench.e2e`
eight writers share the cores with the services and the same steps cost more. With
`--history-hours 24` the fill lands in 24 hourly partitions: the repeat-user probe then asks
those within `--window` of the new events (a `7d` window asks them all). The writer keeps
its filters of seen users (`funnel.db.seen_users`) as a collector does, unless
`--no-user-filter`: then the probe asks about every new event's user.
"""

import argparse
import asyncio
import contextlib
import functools
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

import asyncpg
import psutil

from bench.postgres import postgres_server, scratch_database
from funnel.db import EventRow, SeenUsers, ingest, store_events, summaries, wire_row
from funnel.db.partitions import DEFAULT_PARTITION_WIDTH, create_partitions
from funnel.db.rows import COLUMNS
from funnel.db.schema import run_migrations
from funnel.events import SOURCES
from funnel.publisher import generate_batch
from funnel.reporting import REPEAT_USER_WINDOW
from funnel.settings import parse_duration


def _duration(text: str) -> timedelta:
    value = parse_duration(text)
    if not isinstance(value, timedelta):
        raise argparse.ArgumentTypeError(f"not a duration: {text}")
    return value


class _Rows:
    """Batches of rows of one source at a time, alternating sources."""

    def __init__(self) -> None:
        self._rng = random.Random(11)
        self._turn = 0

    def batch(self, size: int, ago: timedelta = timedelta(0)) -> list[EventRow]:
        """`size` new events of the next source, stamped `ago` before now."""
        source = SOURCES[self._turn % len(SOURCES)]
        self._turn += 1
        events = generate_batch(self._rng, size, source)
        rows = [wire_row(event) for event in events]
        return [row._replace(occurred_at=row.occurred_at - ago) for row in rows]


async def _timed_steps(
    conn: asyncpg.Connection,
    rows: list[EventRow],
    repeat_window: timedelta,
    seen: SeenUsers | None,
) -> dict[str, float]:
    """One transaction storing `rows`, step by step: backend CPU seconds per step."""
    backend = psutil.Process(await conn.fetchval("SELECT pg_backend_pid()"))
    # Untimed, as a collector makes partitions before its transaction (`Partitions.ensure`):
    # the timed batches are stamped now, which the fill's partitions need not hold.
    await create_partitions(conn, [row.occurred_at for row in rows], DEFAULT_PARTITION_WIDTH)
    spent: defaultdict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def timed(name: str) -> Iterator[None]:
        before = backend.cpu_times()
        yield
        after = backend.cpu_times()
        spent[name] += after.user + after.system - before.user - before.system

    async def step(name: str, run: Callable[[], Awaitable[object]]) -> None:
        with timed(name):
            await run()

    client_started = time.process_time()
    transaction = conn.transaction()
    await transaction.start()
    await step("prepare", lambda: ingest._prepare(conn))
    await step(
        "COPY into staging",
        lambda: conn.copy_records_to_table(ingest._STAGING, records=rows, columns=COLUMNS),
    )
    await step("turn", lambda: conn.execute(ingest._TAKE_TURN))
    await step("INSERT into events", lambda: conn.execute(ingest._MOVE_ALL_NEW))
    await step("arrivals", functools.partial(conn.execute, ingest._COUNT_ARRIVALS))
    await summaries.update_summaries(conn, repeat_window, seen, step=timed)
    await step("COMMIT", transaction.commit)
    # Not PostgreSQL's: this process's own, the filters' work included.
    spent["(writer)"] = time.process_time() - client_started
    return spent


def _print_size(size: int, stored: int, totals: dict[str, float]) -> None:
    # A step shorter than the clock's tick can read a hair below zero.
    per_event = {name: max(seconds, 0.0) / stored * 1e6 for name, seconds in totals.items()}
    writer = per_event.pop("(writer)", 0.0)
    cells = "  ".join(f"{name} {us:.1f}" for name, us in per_event.items())
    print(
        f"{size:>6,} a transaction: total {sum(per_event.values()):.1f}  {cells}"
        f"  | writer process {writer:.1f}"
    )


async def _bench(server_url: str, args: argparse.Namespace) -> None:
    async with scratch_database(server_url) as database_url:
        await run_migrations(database_url)
        conn = await asyncpg.connect(database_url, server_settings={"jit": "off"})
        try:
            rows = _Rows()
            seen = None if args.no_user_filter else SeenUsers()
            fills = args.fill // 5_000
            for number in range(fills):
                # Spread evenly over the last `--history-hours`, oldest first.
                ago = timedelta(hours=args.history_hours) * (fills - number) / fills
                async with conn.transaction():
                    await store_events(
                        conn, rows.batch(5_000, ago), repeat_window=args.window, seen_users=seen
                    )
            await conn.execute("CHECKPOINT")
            partitions = await conn.fetchval("SELECT count(*) FROM raw_partitions")
            print(
                f"filled with {args.fill:,} events over {args.history_hours} h ({partitions}"
                f" partitions), repeat-user window {args.window}; backend CPU in us per event:"
            )
            for size in args.sizes:
                batches = max(1, args.events // size)
                totals: defaultdict[str, float] = defaultdict(float)
                for _ in range(batches):
                    steps = await _timed_steps(conn, rows.batch(size), args.window, seen)
                    for name, seconds in steps.items():
                        totals[name] += seconds
                _print_size(size, batches * size, totals)
            if seen is not None:
                print(
                    f"user filters: {seen.nbytes / 2**20:.1f} MiB; new events asked about"
                    f" {seen.asked:,}, skipped {seen.skipped:,}, unfiltered {seen.unfiltered:,}"
                )
        finally:
            await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fill", type=int, default=200_000, help="events stored first")
    parser.add_argument("--events", type=int, default=80_000, help="events timed per size")
    parser.add_argument(
        "--history-hours",
        type=float,
        default=1.0,
        help="the fill is spread over this many hours before now (an hourly partition each)",
    )
    parser.add_argument(
        "--window",
        type=_duration,
        default=REPEAT_USER_WINDOW,
        help="REPEAT_USER_WINDOW (`1h`, `7d`): the partitions the repeat-user probe asks",
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        default=[1_000, 2_000, 10_000],
        help="events per transaction, comma-separated",
    )
    parser.add_argument(
        "--no-user-filter",
        action="store_true",
        help="no filters of seen users: the probe asks about every new event's user",
    )
    args = parser.parse_args()
    with postgres_server("funnel-statements-") as server_url:
        asyncio.run(_bench(server_url, args))


if __name__ == "__main__":
    main()
