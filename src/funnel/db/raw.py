"""Reading stored events back exactly as they came.

A row points into its message's batch (`raw_batches`: the message's JSON array, compressed)
by `batch_id` and `batch_index`; the batch is looked up in the partition holding the row, so
it is always there while the row is. The element is written back with orjson, as the gateway
wrote it into the message: the same bytes. Rows stored before migration `0009` give their
`payload` column instead (PostgreSQL's jsonb form of the event).
"""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import orjson

from funnel.db.errors import translate_errors
from funnel.db.rows import event_key, unpack_batch

EventKey = tuple[datetime, UUID]  # (occurred_at, event_key): how `events` names an event

_READ = """
    SELECT e.occurred_at, e.event_key, e.payload::text AS legacy, e.batch_index, b.events
    FROM unnest($1::timestamptz[], $2::uuid[]) AS k (occurred_at, event_key)
    JOIN events AS e USING (occurred_at, event_key)
    LEFT JOIN raw_partitions AS p ON e.occurred_at >= p.starts AND e.occurred_at < p.ends
    LEFT JOIN raw_batches AS b
        ON b.batch_id = e.batch_id AND b.occurred_at >= p.starts AND b.occurred_at < p.ends
"""


async def read_raw_events(
    conn: asyncpg.Connection, keys: Sequence[EventKey]
) -> dict[EventKey, bytes]:
    """The JSON of each stored event of `keys` as it came; events not stored are left out."""
    with translate_errors():
        rows = await conn.fetch(_READ, [key[0] for key in keys], [key[1] for key in keys])
    found: dict[EventKey, bytes] = {}
    unpacked: dict[bytes, list[object]] = {}
    for row in rows:
        key = (row["occurred_at"], row["event_key"])
        if row["legacy"] is not None:
            found[key] = row["legacy"].encode()
        elif row["events"] is not None:
            compressed: bytes = row["events"]
            if compressed not in unpacked:
                unpacked[compressed] = orjson.loads(unpack_batch(compressed))
            found[key] = orjson.dumps(unpacked[compressed][row["batch_index"]])
    return found


async def find_event(conn: asyncpg.Connection, event_id: str) -> list[EventKey]:
    """Every stored event with this `eventId` (one per `timestamp`); reads every partition."""
    with translate_errors():
        rows = await conn.fetch(
            "SELECT occurred_at, event_key FROM events WHERE event_key = $1 ORDER BY 1",
            event_key(event_id),
        )
    return [(row["occurred_at"], row["event_key"]) for row in rows]
