"""Bytes on disk per stored event, per relation: what the raw events cost PostgreSQL.

    .venv/bin/python -m bench.footprint [--events 400000] [--per-transaction 4]

Stores `--events` of the emulator's events through the collectors' own path (messages of
1,000 events of one source, as the gateway packs them, each kept as its compressed raw
batch; `--per-transaction` messages a transaction, the sources taking turns) into a scratch
database, then prints the bytes per event of the `events` partitions' heap (TOAST included)
and of each of their indexes, of `raw_batches`, of `user_hashes` and of the summaries. Sizes
are what PostgreSQL allocated (`pg_relation_size`), free space in pages included, without
`VACUUM`: what a running system holds. Without `DATABASE_URL` an embedded server is started.
"""

import argparse
import asyncio
import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from bench.collector import _events
from bench.postgres import postgres_server, scratch_database
from funnel.db import EventRow, RawBatch, raw_batch, run_migrations, store_events, wire_row
from funnel.db.summaries import SUMMARY_TABLES
from funnel.events import SOURCES

# Per relation kind: the heap with its TOAST, then each index by its name on `events`.
_SIZES = """
    WITH parts AS (
        SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf
    )
    SELECT 'heap' AS what,
           sum(pg_table_size(p.relid))::bigint AS bytes
    FROM parts AS p
    UNION ALL
    SELECT coalesce(parent.relname, i.relname::text), sum(pg_relation_size(i.oid))::bigint
    FROM parts AS p
    JOIN pg_index AS x ON x.indrelid = p.relid
    JOIN pg_class AS i ON i.oid = x.indexrelid
    LEFT JOIN pg_inherits AS h ON h.inhrelid = i.oid
    LEFT JOIN pg_class AS parent ON parent.oid = h.inhparent
    GROUP BY 1
    ORDER BY 1
"""


def _messages(count: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Messages of the two sources in turn, each as the gateway packs them."""
    streams = {source: _events(source, count // len(SOURCES)) for source in SOURCES}
    while streams:
        for source in list(streams):
            batch = next(streams[source], None)
            if batch is None:
                del streams[source]
                continue
            yield source, batch


def _stored_form(events: list[dict[str, Any]]) -> tuple[list[EventRow], RawBatch]:
    data = orjson.dumps(events)
    batch = raw_batch(data, uuid.uuid4().hex, datetime.now(UTC))
    rows = [wire_row(event, (batch.batch_id, index)) for index, event in enumerate(events)]
    return rows, batch


async def _store(url: str, events: int, per_transaction: int) -> int:
    conn = await asyncpg.connect(url)
    stored = 0
    try:
        messages = _messages(events)
        while True:
            taken = [
                _stored_form(batch) for _, batch in itertools.islice(messages, per_transaction)
            ]
            if not taken:
                return stored
            async with conn.transaction():
                stored += await store_events(
                    conn,
                    [row for rows, _ in taken for row in rows],
                    [batch for _, batch in taken],
                )
    finally:
        await conn.close()


async def _report(url: str, stored: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        print(f"{stored:,} events stored")
        total = 0
        for relation in ("events", "raw_batches"):
            for row in await conn.fetch(_SIZES, relation):
                name = f"{relation} {row['what']}"
                total += row["bytes"]
                print(f"  {name:<44} {row['bytes'] / stored:8.1f} B/event")
        # The log of users' hashes goes with the partitions: raw data too.
        log = await conn.fetchval("SELECT pg_total_relation_size('user_hashes')")
        total += log
        print(f"  {'user_hashes (with TOAST and indexes)':<44} {log / stored:8.1f} B/event")
        print(f"  {'raw events in all':<44} {total / stored:8.1f} B/event")
        summaries = await conn.fetchval(
            "SELECT sum(pg_total_relation_size(t::regclass))::bigint FROM unnest($1::text[]) AS t",
            list(SUMMARY_TABLES),
        )
        print(f"  {'summaries (all, after this load)':<44} {summaries / stored:8.1f} B/event")
    finally:
        await conn.close()


async def _bench(server_url: str, args: argparse.Namespace) -> None:
    async with scratch_database(server_url) as url:
        await run_migrations(url)
        stored = await _store(url, args.events, args.per_transaction)
        await _report(url, stored)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--per-transaction", type=int, default=4)
    args = parser.parse_args()
    with postgres_server("funnel-footprint-") as server_url:
        asyncio.run(_bench(server_url, args))


if __name__ == "__main__":
    main()
